/**
 * Loads the policy file (YAML) and checks it completely: every problem is reported at once, each
 * with the path of the field and what is expected, so a platform engineer fixes the file in one go.
 * The YAML shape is documented in policy.example.yaml at the repository root.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { TerminalError } from '../domain/errors';
import { parseDuration } from '../domain/grammar';
import { normaliseScope, validateClusterName, validateNamespace } from '../domain/names';
import { findBuiltInRole, isGuid, isPrivilegedRole, PRIVILEGED_ROLE_NAMES, roleDefinitionGuid, roleKey } from '../domain/roles';
import { isScopePattern, scopeAllowed, scopePatternProblem, validateScope } from '../domain/scopes';
import { listOf, show } from '../domain/text';
import { RESERVED_NAMESPACES, TAG_MANAGED_BY, type IdentitySearchScope, type Policy, type PolicyBreakGlass, type PolicyNamespace, type PolicyRole, type Principals } from '../domain/types';
import { parseSearchScope } from '../domain/search-scopes';

export interface PolicyProblem {
  /** Field path, e.g. `roles[2].approvals`; empty for the whole file. */
  path: string;
  message: string;
}

/** The policy file cannot be used; the message lists every problem. */
export class PolicyError extends TerminalError {
  constructor(readonly source: string, readonly problems: PolicyProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const lines = problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`);
    super(`${source} is not a valid wid-bot policy (${count}):\n${lines.join('\n')}`, 'InvalidPolicy');
    this.name = 'PolicyError';
  }
}

const DEFAULT_REQUEST_TTL = '24h';
const DEFAULT_REMIND_AFTER = '4h';

// ───────────────────────────── YAML shape ─────────────────────────────

const text = z.string().trim().min(1, { error: 'expected a non-empty text' });
const guid = z.string().trim().refine(isGuid, { error: 'expected a GUID like 00000000-0000-0000-0000-000000000000' });
const slackId = (kind: string, example: string) =>
  z
    .string()
    .trim()
    .min(1)
    .refine((s) => !/^[@#]/.test(s) && !/\s/.test(s), { error: `expected a Slack ${kind} id like ${example}, not a handle or display name` });

const principalsObject = z.strictObject(
  {
    users: z.array(slackId('member', 'U012AB3CD')).optional(),
    groups: z.array(slackId('user-group', 'S012AB3CD')).optional(),
    anyone: z.boolean().optional(),
  },
  { error: (iss) => (iss.code === 'invalid_type' ? 'expected "anyone" or a map with users: [U…] and/or groups: [S…]' : undefined) },
);
/** `anyone`, or {users, groups, anyone}. */
const principals = z.preprocess((v) => (v === 'anyone' ? { anyone: true } : v), principalsObject);

const tagValue = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a text value' }).transform(String);

const clusterSchema = z.strictObject({
  name: text,
  subscription: guid,
  resourceGroup: text,
  aksName: text,
  issuerUrl: z.url({ protocol: /^https$/, error: 'expected an https URL (the cluster\'s OIDC issuer, copied exactly)' }).optional(),
});

const roleSchema = z.strictObject({
  name: text,
  roleDefinitionId: text.optional(),
  scopes: z.array(text).min(1, { error: 'expected at least one scope (an ARM id or pattern)' }),
  approvals: z.union([z.literal(1), z.literal(2)], { error: 'expected 1 or 2' }).optional(),
  maxDuration: text.optional(),
  privileged: z.boolean().optional(),
  selfExtend: z.boolean({ error: 'expected true or false: may the requester extend a grant within maxDuration without a new approval' }).optional(),
  expiry: z.enum(['bot', 'azure'], { error: 'expected "bot" (wid-bot removes the assignment at the end) or "azure" (Azure\'s own schedule, needs Entra ID P2)' }).optional(),
  breakGlass: z.lazy(() => breakGlassSchema).optional(),
});

/** `breakGlass: { maxDuration: 1h, twoApproverRoles: false }` on a role or a namespace. */
const breakGlassSchema = z.strictObject({
  maxDuration: text,
  twoApproverRoles: z.boolean({ error: 'expected true or false: may break-glass also skip a second approver' }).optional(),
});

const namespaceSchema = z.strictObject({
  name: text,
  requesters: principals,
  approvers: principals.optional(),
  roles: z.array(text).min(1, { error: 'expected at least one role name from the roles catalogue' }),
  defaultScopes: z.record(z.string(), text).optional(),
  approvalsChannel: text.optional(),
  breakGlass: z.lazy(() => breakGlassSchema).optional(),
});

/** The top level; list items are checked one by one afterwards so one bad item does not hide the others' problems. */
const policySchema = z.strictObject({
  tenantId: guid.optional(),
  clusters: z.array(z.unknown()).min(1, { error: 'expected at least one cluster' }),
  defaultCluster: text.optional(),
  identities: z.strictObject({
    subscription: guid,
    resourceGroup: text,
    location: z.string().trim().regex(/^[a-z0-9]+$/, { error: 'expected an Azure region name such as westeurope (lowercase, no spaces)' }),
    tags: z.record(z.string(), tagValue).optional(),
  }),
  roles: z.array(z.unknown()).min(1, { error: 'expected at least one requestable role' }),
  namespaces: z.array(z.unknown()).min(1, { error: 'expected at least one namespace' }),
  approvers: principals.optional(),
  operators: principals.optional(),
  approvalsChannel: text.optional(),
  allowReservedNamespaces: z.boolean().optional(),
  identitySearchScopes: z.array(text).optional(),
  settings: z
    .strictObject({
      requestTtl: text.optional(),
      remindAfter: z.union([text, z.literal(0)], { error: 'expected a duration like 4h, or "never"' }).optional(),
      grantReminder: z.union([text, z.literal(0)], { error: 'expected a duration like 30m before a grant ends, or "never"' }).optional(),
      refederateKeepOldCredentials: z.boolean({ error: 'expected true (keep credentials for a recreated cluster\'s old issuer after /wid refederate) or false' }).optional(),
    })
    .optional(),
});

type PolicyFile = Omit<z.infer<typeof policySchema>, 'clusters' | 'roles' | 'namespaces'> & {
  clusters: z.infer<typeof clusterSchema>[];
  roles: z.infer<typeof roleSchema>[];
  namespaces: z.infer<typeof namespaceSchema>[];
};

// ───────────────────────────── messages ─────────────────────────────

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `the text ${show(v, 40)}`;
  return `${typeof v} ${String(v)}`;
}

const EXPECTED: Record<string, string> = { string: 'a text', number: 'a number', boolean: 'true or false', array: 'a list', object: 'a map' };

/** Friendlier wording for zod's built-in issues; schema-specific messages win over this. */
function zodMessage(iss: { code?: string; expected?: string; input?: unknown; keys?: string[] }): string | undefined {
  if (iss.code === 'invalid_type') {
    const expected = EXPECTED[iss.expected ?? ''] ?? iss.expected ?? 'a value';
    return iss.input === undefined ? `is required (expected ${expected})` : `expected ${expected}, got ${describe(iss.input)}`;
  }
  if (iss.code === 'unrecognized_keys') {
    return `unknown field${(iss.keys?.length ?? 0) > 1 ? 's' : ''} ${listOf((iss.keys ?? []).map((k) => show(k, 40)))}; check the spelling against policy.example.yaml`;
  }
  return undefined;
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(String(p))}]`;
  }
  return out;
}

// ───────────────────────────── loading ─────────────────────────────

export function loadPolicyFile(path: string): Policy {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (e as Error).message;
    throw new PolicyError(path, [{ path: '', message: `cannot read the policy file: ${why}` }]);
  }
  return parsePolicy(content, path);
}

export function parsePolicy(yamlText: string, source: string): Policy {
  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    // The first line of a pretty YAML error already says "at line L, column C".
    throw new PolicyError(source, doc.errors.map((e) => ({ path: '', message: `YAML: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}` })));
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) throw new PolicyError(source, [{ path: '', message: 'the file is empty; start from policy.example.yaml' }]);
  const problems: PolicyProblem[] = [];
  const top = policySchema.safeParse(data, { error: friendly });
  if (!top.success) problems.push(...top.error.issues.map((i) => ({ path: pathText(i.path), message: i.message })));
  const raw = (typeof data === 'object' && !Array.isArray(data) ? data : {}) as Record<string, unknown>;
  const clusters = parseEach(clusterSchema, raw.clusters, 'clusters', problems);
  const roles = parseEach(roleSchema, raw.roles, 'roles', problems);
  const namespaces = parseEach(namespaceSchema, raw.namespaces, 'namespaces', problems);
  if (!top.success || clusters.length === 0) throw new PolicyError(source, problems);
  // Roles that failed to parse still count as named, so namespaces referring to them are not blamed too.
  const brokenRoleNames = (Array.isArray(raw.roles) ? raw.roles : [])
    .map((r: unknown) => (r && typeof r === 'object' ? (r as Record<string, unknown>).name : undefined))
    .filter((n): n is string => typeof n === 'string');
  const policy = build({ ...top.data, clusters, roles, namespaces }, source, problems, brokenRoleNames);
  if (problems.length) throw new PolicyError(source, problems);
  return policy;
}

function friendly(iss: unknown): string | undefined {
  return zodMessage(iss as Parameters<typeof zodMessage>[0]);
}

/** Parse each item of a list on its own, keeping the good ones and recording the problems of the rest. */
function parseEach<S extends z.ZodType>(schema: S, items: unknown, at: string, problems: PolicyProblem[]): z.infer<S>[] {
  if (!Array.isArray(items)) return [];
  const good: z.infer<S>[] = [];
  items.forEach((item, i) => {
    const r = schema.safeParse(item, { error: friendly });
    if (r.success) good.push(r.data);
    else problems.push(...r.error.issues.map((iss) => ({ path: pathText([at, i, ...iss.path]), message: iss.message })));
  });
  return good;
}

function toPrincipals(p: z.infer<typeof principalsObject> | undefined): Principals {
  return { users: p?.users ?? [], groups: p?.groups ?? [], anyone: p?.anyone ?? false };
}

function duration(value: string, path: string, problems: PolicyProblem[]): number | undefined {
  const d = parseDuration(value);
  if (d.ok) return d.value;
  problems.push({ path, message: `${show(value, 40)} is not a duration: expected e.g. 30m, 8h, 7d or 1h30m` });
  return undefined;
}

function duplicates(names: string[]): string[] {
  return names.filter((n, i) => names.indexOf(n) !== i);
}

/** Semantic checks zod cannot express, and the conversion into the domain's Policy. */
function build(file: PolicyFile, source: string, problems: PolicyProblem[], brokenRoleNames: string[]): Policy {
  const add = (path: string, message: string) => problems.push({ path, message });
  const breakGlassOf = (bg: { maxDuration: string; twoApproverRoles?: boolean } | undefined, at: string): { breakGlass?: PolicyBreakGlass } => {
    if (!bg) return {};
    const maxDurationSeconds = duration(bg.maxDuration, `${at}.maxDuration`, problems);
    if (maxDurationSeconds === undefined) return {};
    return { breakGlass: { maxDurationSeconds, ...(bg.twoApproverRoles !== undefined ? { twoApproverRoles: bg.twoApproverRoles } : {}) } };
  };

  // clusters
  file.clusters.forEach((c, i) => {
    const r = validateClusterName(c.name);
    if (!r.ok) add(`clusters[${i}].name`, r.error.message);
  });
  for (const d of new Set(duplicates(file.clusters.map((c) => c.name)))) add('clusters', `the cluster name "${d}" is used twice; names must be unique`);
  const clusterNames = file.clusters.map((c) => c.name);
  const defaultCluster = file.defaultCluster ?? (clusterNames[0] as string);
  if (!clusterNames.includes(defaultCluster)) add('defaultCluster', `${show(defaultCluster)} is not one of the clusters (${listOf(clusterNames)})`);

  // identity tags
  const tags = file.identities.tags ?? {};
  for (const [k, v] of Object.entries(tags)) {
    const path = pathText(['identities', 'tags', k]);
    if (k === TAG_MANAGED_BY || k.startsWith('wid-')) add(path, `the tag "${k}" is set by wid-bot itself; remove it`);
    else if (/[<>%&\\?/]/.test(k) || k.length > 512 || k.trim() === '') add(path, 'Azure tag names must be 1–512 characters without < > % & \\ ? /');
    if (v.length > 256) add(path, `Azure tag values are at most 256 characters; this one has ${v.length}`);
  }

  // roles catalogue
  const roles: PolicyRole[] = file.roles.map((r, i) => {
    const at = `roles[${i}]`;
    const builtIn = findBuiltInRole(r.name);
    let roleDefinitionId = builtIn?.id;
    if (r.roleDefinitionId !== undefined) {
      const g = roleDefinitionGuid(r.roleDefinitionId);
      if (!g) add(`${at}.roleDefinitionId`, `expected a role definition GUID or id, got ${show(r.roleDefinitionId)}`);
      else if (builtIn && g !== builtIn.id) add(`${at}.roleDefinitionId`, `"${builtIn.name}" is a built-in role with id ${builtIn.id}, not ${g}; remove roleDefinitionId`);
      else roleDefinitionId = g;
    }
    const privilegedRole = isPrivilegedRole(r.name) || (roleDefinitionId !== undefined && isPrivilegedRole(roleDefinitionId));
    if (privilegedRole && r.privileged !== true) {
      add(at, `"${r.name}" is a privileged role (${listOf(PRIVILEGED_ROLE_NAMES)}); to allow it at all, set privileged: true (it then always needs 2 approvals)`);
    }
    const privileged = r.privileged === true || privilegedRole;
    if (privileged && r.approvals === 1) add(`${at}.approvals`, `"${r.name}" is privileged and always needs 2 approvals; set approvals: 2 or leave it out`);
    r.scopes.forEach((s, j) => {
      const why = scopePatternProblem(s);
      if (why) add(`${at}.scopes[${j}]`, `${show(s, 120)}: ${why}`);
    });
    const maxDurationSeconds = r.maxDuration !== undefined ? duration(r.maxDuration, `${at}.maxDuration`, problems) : undefined;
    if (r.selfExtend === true && r.maxDuration === undefined) add(`${at}.selfExtend`, `"${r.name}" has no maxDuration, so its grants have no end to extend; set maxDuration or remove selfExtend`);
    if (r.expiry !== undefined && r.maxDuration === undefined) add(`${at}.expiry`, `"${r.name}" has no maxDuration, so its grants never end; set maxDuration or remove expiry`);
    if (r.expiry === 'azure' && maxDurationSeconds !== undefined && maxDurationSeconds < 300) add(`${at}.maxDuration`, `Azure's schedules last at least 5 minutes; with expiry: azure set maxDuration to 5m or more`);
    return {
      name: builtIn && roleKey(builtIn.name) === roleKey(r.name) ? builtIn.name : r.name.replace(/\s+/gu, ' '),
      ...(roleDefinitionId ? { roleDefinitionId } : {}),
      scopes: r.scopes.map((s) => normaliseScope(s)),
      approvals: privileged ? 2 : (r.approvals ?? 1),
      ...(maxDurationSeconds !== undefined ? { maxDurationSeconds } : {}),
      privileged,
      ...(r.selfExtend !== undefined ? { selfExtend: r.selfExtend } : {}),
      ...(r.expiry !== undefined ? { expiry: r.expiry } : {}),
      ...breakGlassOf(r.breakGlass, `${at}.breakGlass`),
    };
  });
  for (const d of new Set(duplicates(roles.map((r) => roleKey(r.name))))) add('roles', `the role "${d}" is listed twice; list each role once`);
  // The first entry wins when a role is listed twice (that is reported above).
  const roleByKey = new Map([...roles].reverse().map((r) => [roleKey(r.name), r]));

  // namespaces
  const allowReserved = file.allowReservedNamespaces ?? false;
  const globalApprovers = toPrincipals(file.approvers);
  const hasAnyone = (p: Principals) => p.anyone || p.users.length > 0 || p.groups.length > 0;
  const namespaces: PolicyNamespace[] = file.namespaces.map((n, i) => {
    const at = `namespaces[${i}]`;
    const nsOk = validateNamespace(n.name, { allowReserved });
    if (!nsOk.ok) {
      const reserved = (RESERVED_NAMESPACES as readonly string[]).includes(n.name);
      add(`${at}.name`, reserved ? `"${n.name}" is a reserved namespace; set allowReservedNamespaces: true at the top level to allow it` : nsOk.error.message);
    }
    const roleNames: string[] = [];
    n.roles.forEach((name, j) => {
      const role = roleByKey.get(roleKey(name));
      if (!role) {
        if (!brokenRoleNames.some((b) => roleKey(b) === roleKey(name))) {
          add(`${at}.roles[${j}]`, `${show(name)} is not in the roles catalogue (${listOf(roles.map((r) => r.name))})`);
        }
      } else roleNames.push(role.name);
    });
    const defaultScopes: Record<string, string> = {};
    for (const [name, scope] of Object.entries(n.defaultScopes ?? {})) {
      const path = pathText(['namespaces', i, 'defaultScopes', name]);
      const role = roleByKey.get(roleKey(name));
      if (!role || !roleNames.includes(role.name)) {
        add(path, `${show(name)} is not one of this namespace's roles (${listOf(roleNames)})`);
        continue;
      }
      if (isScopePattern(scope)) {
        add(path, 'a default scope must be an exact ARM id, not a pattern');
        continue;
      }
      const v = validateScope(scope);
      if (!v.ok) add(path, v.error.message);
      else if (!scopeAllowed(role.scopes, v.value)) add(path, `${show(scope, 120)} is outside the scopes of "${role.name}" (${listOf(role.scopes)})`);
      else defaultScopes[role.name] = v.value;
    }
    const approvers = toPrincipals(n.approvers);
    if (!hasAnyone(approvers) && !hasAnyone(globalApprovers)) {
      add(`${at}.approvers`, `nobody can approve requests for "${n.name}": name approvers here or global approvers at the top level`);
    }
    return {
      name: n.name,
      requesters: toPrincipals(n.requesters),
      approvers,
      roles: roleNames,
      defaultScopes,
      ...(n.approvalsChannel !== undefined ? { approvalsChannel: n.approvalsChannel } : {}),
      ...breakGlassOf(n.breakGlass, `${at}.breakGlass`),
    };
  });
  for (const d of new Set(duplicates(namespaces.map((n) => n.name)))) add('namespaces', `the namespace "${d}" is listed twice; merge the entries`);

  // settings
  const requestTtlSeconds = duration(file.settings?.requestTtl ?? DEFAULT_REQUEST_TTL, 'settings.requestTtl', problems) ?? 0;
  const remind = file.settings?.remindAfter ?? DEFAULT_REMIND_AFTER;
  const reminderAfterSeconds = remind === 0 || remind === 'never' || remind === '0' ? 0 : (duration(String(remind), 'settings.remindAfter', problems) ?? 0);
  const grantRemind = file.settings?.grantReminder;
  const grantReminderSeconds =
    grantRemind === undefined ? undefined : grantRemind === 0 || grantRemind === 'never' || grantRemind === '0' ? 0 : duration(String(grantRemind), 'settings.grantReminder', problems);

  return {
    source,
    ...(file.tenantId ? { tenantId: file.tenantId.toLowerCase() } : {}),
    clusters: file.clusters.map((c) => ({
      name: c.name,
      subscriptionId: c.subscription.toLowerCase(),
      resourceGroup: c.resourceGroup,
      aksName: c.aksName,
      ...(c.issuerUrl !== undefined ? { issuerUrl: c.issuerUrl } : {}),
    })),
    defaultCluster,
    identities: {
      subscriptionId: file.identities.subscription.toLowerCase(),
      resourceGroup: file.identities.resourceGroup,
      location: file.identities.location,
      tags,
    },
    roles,
    namespaces,
    approvers: globalApprovers,
    operators: toPrincipals(file.operators),
    ...(file.approvalsChannel !== undefined ? { approvalsChannel: file.approvalsChannel } : {}),
    allowReservedNamespaces: allowReserved,
    requestTtlSeconds,
    reminderAfterSeconds,
    ...(grantReminderSeconds !== undefined ? { grantReminderSeconds } : {}),
    ...(file.identitySearchScopes ? { identitySearchScopes: searchScopes(file.identitySearchScopes, add) } : {}),
    ...(file.settings?.refederateKeepOldCredentials !== undefined ? { refederateKeepOldCredentials: file.settings.refederateKeepOldCredentials } : {}),
  };
}

/** `identitySearchScopes:` entries, each parsed; a bad one is a problem at its index. */
function searchScopes(items: readonly string[], add: (path: string, message: string) => void): IdentitySearchScope[] {
  const out: IdentitySearchScope[] = [];
  items.forEach((item, i) => {
    const r = parseSearchScope(item);
    if (r.ok) out.push(r.value);
    else add(`identitySearchScopes[${i}]`, r.error.message);
  });
  return out;
}
