/**
 * The policy against the live world: every approver, requester and operator named by id is a Slack user who
 * is not deleted; every usergroup has at least one active member; every scope and role exists in Azure; every
 * cluster answers with its OIDC issuer and workload identity on. Each problem names the file, the field and
 * the fix. Used by `wid policy check --live`, `/wid policy check` and at `serve` start (warnings only).
 */
import type { AuthorizationPort, ClusterPort } from '../domain/ports';
import { concreteScope, policyReferences, type PolicyReference } from '../domain/policy-refs';
import type { Policy } from '../domain/types';

/** Slack's directory as the check needs it (src/slack/directory.ts). */
export interface SlackDirectory {
  /** users.info: undefined when Slack has no such user (user_not_found). */
  user(id: string): Promise<{ deleted: boolean; isBot: boolean; name?: string } | undefined>;
  /** usergroups.users.list: the member ids, undefined when there is no such usergroup (no_such_subteam). */
  usergroupMembers(id: string): Promise<string[] | undefined>;
}

export interface ScopeReader {
  getScope(scope: string): Promise<{ exists: boolean; checked: string }>;
}

export interface PolicyCheckDeps {
  policy: Policy;
  /** The policy file, named in every problem. */
  file: string;
  directory?: SlackDirectory;
  scopes?: ScopeReader;
  authorization?: Pick<AuthorizationPort, 'findRoleDefinitionId'>;
  clusters?: ClusterPort;
}

export type PolicyCheckKind = 'slack-user' | 'slack-usergroup' | 'azure-scope' | 'azure-role' | 'cluster';

export interface PolicyProblem {
  check: PolicyCheckKind;
  file: string;
  /** The field, e.g. `namespaces.finance.approvers.users[0]`. */
  path: string;
  problem: string;
  fix: string;
}

export interface PolicyCheckReport {
  file: string;
  problems: PolicyProblem[];
  /** How many distinct things were looked up, per kind. */
  checked: Record<PolicyCheckKind, number>;
  /** Kinds that were not checked, and why (no Slack token, no Azure credential…). */
  skipped: string[];
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** One lookup per distinct key, however many fields name it. */
function memo<T>(fn: (key: string) => Promise<T>): { get(key: string): Promise<T>; size(): number } {
  const seen = new Map<string, Promise<T>>();
  return {
    get(key) {
      let p = seen.get(key);
      if (!p) {
        p = fn(key);
        seen.set(key, p);
      }
      return p;
    },
    size: () => seen.size,
  };
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };
const settle = <T>(p: Promise<T>): Promise<Outcome<T>> => p.then((value) => ({ ok: true as const, value }), (e: unknown) => ({ ok: false as const, error: errorText(e) }));

export async function checkPolicyLive(deps: PolicyCheckDeps): Promise<PolicyCheckReport> {
  const { policy, file, directory, scopes, authorization, clusters } = deps;
  const refs = policyReferences(policy);
  const problems: PolicyProblem[] = [];
  const add = (check: PolicyCheckKind, ref: PolicyReference, problem: string, fix: string) => problems.push({ check, file, path: ref.path, problem, fix });
  const skipped: string[] = [];
  if (!directory) skipped.push('Slack users and usergroups (no Slack bot token)');
  if (!scopes || !authorization) skipped.push('Azure scopes and roles (no Azure credential)');
  if (!clusters) skipped.push('clusters (no Azure credential)');

  const users = memo((id) => settle((directory as SlackDirectory).user(id)));
  const groups = memo((id) => settle((directory as SlackDirectory).usergroupMembers(id)));
  const scopeReads = memo((s) => settle((scopes as ScopeReader).getScope(s)));
  const roleReads = memo((k) => {
    const [scope, roleName] = JSON.parse(k) as [string, string];
    return settle((authorization as Pick<AuthorizationPort, 'findRoleDefinitionId'>).findRoleDefinitionId(scope, roleName));
  });
  const clusterReads = memo((name) => {
    const c = policy.clusters.find((x) => x.name === name);
    return c ? settle((clusters as ClusterPort).getClusterFacts(c)) : Promise.resolve<Outcome<never>>({ ok: false, error: 'not in the policy' });
  });

  const active = async (id: string): Promise<boolean> => {
    const u = await users.get(id);
    return u.ok && u.value !== undefined && !u.value.deleted;
  };

  await Promise.all(
    refs.map(async (ref) => {
      switch (ref.kind) {
        case 'user': {
          if (!directory) return;
          const u = await users.get(ref.id);
          if (!u.ok) return add('slack-user', ref, `wid-bot could not look up Slack user ${ref.id}: ${u.error}`, 'give the Slack app the users:read scope, then check again');
          if (!u.value) return add('slack-user', ref, `Slack has no user ${ref.id}`, `replace ${ref.id} with the Slack member id of a current person (profile → ⋮ → Copy member ID), or remove it`);
          if (u.value.deleted) return add('slack-user', ref, `Slack user ${ref.id}${u.value.name ? ` (${u.value.name})` : ''} is deactivated`, `remove ${ref.id}, or put someone who still works here in its place`);
          return;
        }
        case 'usergroup': {
          if (!directory) return;
          const g = await groups.get(ref.id);
          if (!g.ok) return add('slack-usergroup', ref, `wid-bot could not read the members of usergroup ${ref.id}: ${g.error}`, 'give the Slack app the usergroups:read scope, then check again');
          if (!g.value) return add('slack-usergroup', ref, `Slack has no usergroup ${ref.id} (or it is disabled)`, `replace ${ref.id} with the id of an existing usergroup (S…), or remove it`);
          const members = await Promise.all(g.value.map(active));
          if (!members.some(Boolean)) {
            return add('slack-usergroup', ref, `usergroup ${ref.id} has no active member${g.value.length ? ` (its ${g.value.length} member${g.value.length === 1 ? ' is' : 's are'} deactivated)` : ''}, so it approves or requests for nobody`, `add people to usergroup ${ref.id} in Slack, or name other approvers here`);
          }
          return;
        }
        case 'scope': {
          if (!scopes) return;
          const target = ref.pattern ? concreteScope(ref.scope) : ref.scope;
          if (target === '/') return;
          const s = await scopeReads.get(target);
          if (!s.ok) return add('azure-scope', ref, `wid-bot could not read ${target}: ${s.error}`, "give wid-bot's identity Reader on it (or check the id), then check again");
          if (!s.value.exists) {
            const what = s.value.checked.toLowerCase() === target.toLowerCase() ? target : `${s.value.checked} (holding ${target})`;
            return add('azure-scope', ref, `${ref.pattern ? `the scope pattern ${ref.scope} starts at` : 'the scope'} ${what}, which does not exist in Azure`, 'correct the ARM id (az resource show --ids <id>), or remove the scope');
          }
          return;
        }
        case 'role': {
          if (!authorization) return;
          const r = await roleReads.get(JSON.stringify([ref.scope, ref.roleName]));
          if (!r.ok) return add('azure-role', ref, `wid-bot could not look up the role "${ref.roleName}" at ${ref.scope}: ${r.error}`, "give wid-bot's identity Reader at that scope, then check again");
          if (!r.value) return add('azure-role', ref, `Azure has no role named "${ref.roleName}" at ${ref.scope}`, `use the exact display name of a built-in or custom role (az role definition list --name "${ref.roleName}" --scope ${ref.scope}), or create the custom role`);
          return;
        }
        case 'cluster': {
          if (!clusters) return;
          const c = policy.clusters.find((x) => x.name === ref.clusterName);
          const f = await clusterReads.get(ref.clusterName);
          const az = c ? `az aks update -g ${c.resourceGroup} -n ${c.aksName} --subscription ${c.subscriptionId}` : 'az aks update';
          if (!f.ok) return add('cluster', ref, `cluster ${ref.clusterName} did not answer: ${f.error}`, 'correct subscription, resourceGroup and aksName, or give wid-bot Reader on the cluster');
          if (!f.value.oidcIssuerEnabled || !f.value.issuerUrl) add('cluster', ref, `cluster ${ref.clusterName} has no OIDC issuer, so no federated credential can trust it`, `${az} --enable-oidc-issuer`);
          if (!f.value.workloadIdentityEnabled) add('cluster', ref, `cluster ${ref.clusterName} has workload identity off, so pods get no Azure token`, `${az} --enable-workload-identity`);
          return;
        }
      }
    }),
  );
  problems.sort((a, b) => a.path.localeCompare(b.path, 'en') || a.problem.localeCompare(b.problem, 'en'));
  return {
    file,
    problems,
    checked: { 'slack-user': users.size(), 'slack-usergroup': groups.size(), 'azure-scope': scopeReads.size(), 'azure-role': roleReads.size(), cluster: clusterReads.size() },
    skipped,
  };
}

/** One line per problem: `file: path: problem. Fix: fix.` */
export function problemLines(report: PolicyCheckReport): string[] {
  return report.problems.map((p) => `${p.file}: ${p.path}: ${p.problem}. Fix: ${p.fix}.`);
}
