/**
 * Pure policy decisions: may this person ask for this role for this ServiceAccount, who approves,
 * and what may a person choose from in the request form.
 */
import { AZURE_SCHEDULE_MIN_SECONDS } from './azure-schedule';
import { ok, refuse, type Result } from './errors';
import { formatDuration, type RequestCommand, type RevokeCommand } from './grammar';
import { validateNamespace, validateServiceAccountName } from './names';
import { roleKey, isPrivilegedRole } from './roles';
import { isScopePattern, scopeAllowed, validateScope } from './scopes';
import { listOf, show } from './text';
import type { Actor, Policy, PolicyCluster, PolicyNamespace, PolicyRole, Principals } from './types';

/** What a grant request resolves to under the policy. */
export interface RequestDecision {
  kind: 'grant';
  cluster: PolicyCluster;
  namespace: PolicyNamespace;
  serviceAccount: string;
  role: PolicyRole;
  /** Normalised ARM scope. */
  scope: string;
  /** Set for time-bound roles: the requested duration, or the role's maximum when none was asked. */
  durationSeconds?: number;
}

/** What a revoke request resolves to; the grants to remove come from the requests that made them. */
export interface RevokeDecision {
  kind: 'revoke';
  cluster: PolicyCluster;
  namespace: PolicyNamespace;
  serviceAccount: string;
}

export interface EvaluationInput<C extends RequestCommand | RevokeCommand> {
  requester: Actor;
  /** Slack user-group ids the requester belongs to. */
  requesterGroups: readonly string[];
  command: C;
  /** The CLI dry run has no Slack identity to check; everything else is still checked. */
  skipRequesterCheck?: boolean;
}

export function principalsInclude(p: Principals, actorId: string, actorGroups: readonly string[]): boolean {
  return p.anyone || p.users.includes(actorId) || p.groups.some((g) => actorGroups.includes(g));
}

export function describePrincipals(p: Principals): string {
  // Stryker disable next-line ConditionalExpression,StringLiteral: only named for principals that just refused someone, which "anyone" never does
  if (p.anyone) return 'anyone';
  const parts = [...p.users.map((u) => `<@${u}>`), ...p.groups.map((g) => `<!subteam^${g}>`)];
  return listOf(parts, 'nobody');
}

export function findCluster(policy: Policy, name: string | undefined): Result<PolicyCluster> {
  const wanted = name ?? policy.defaultCluster;
  const cluster = policy.clusters.find((c) => c.name === wanted);
  if (cluster) return ok(cluster);
  return refuse('unknown-cluster', `There is no cluster ${show(wanted, 40)} in the policy. Known clusters: ${listOf(policy.clusters.map((c) => c.name))}.`, 'cluster');
}

export function findNamespace(policy: Policy, name: string): PolicyNamespace | undefined {
  return policy.namespaces.find((n) => n.name === name);
}

export function findRole(policy: Policy, name: string): PolicyRole | undefined {
  const key = roleKey(name);
  return policy.roles.find((r) => roleKey(r.name) === key);
}

/** Check a grant or revoke request against the policy. */
export function evaluateRequest(policy: Policy, input: EvaluationInput<RequestCommand>): Result<RequestDecision>;
export function evaluateRequest(policy: Policy, input: EvaluationInput<RevokeCommand>): Result<RevokeDecision>;
export function evaluateRequest(policy: Policy, input: EvaluationInput<RequestCommand | RevokeCommand>): Result<RequestDecision | RevokeDecision>;
export function evaluateRequest(policy: Policy, input: EvaluationInput<RequestCommand | RevokeCommand>): Result<RequestDecision | RevokeDecision> {
  const { command } = input;
  const ns = validateNamespace(command.namespace, { allowReserved: policy.allowReservedNamespaces });
  if (!ns.ok) return ns;
  const sa = validateServiceAccountName(command.serviceAccount);
  if (!sa.ok) return sa;
  const cluster = findCluster(policy, command.cluster);
  if (!cluster.ok) return cluster;
  const namespace = findNamespace(policy, command.namespace);
  if (!namespace) {
    return refuse(
      'namespace-not-in-policy',
      `The namespace "${command.namespace}" is not in the policy, so nobody can request Azure access for it. Namespaces in the policy: ${listOf(policy.namespaces.map((n) => n.name))}. Ask the platform team to add it.`,
      'namespace',
    );
  }

  if (command.verb === 'revoke') {
    if (!input.skipRequesterCheck) {
      const allowed =
        principalsInclude(namespace.requesters, input.requester.id, input.requesterGroups) ||
        isApprover(policy, namespace.name, input.requester.id, input.requesterGroups);
      if (!allowed) {
        return refuse('requester-not-allowed', `You may not revoke access in "${namespace.name}": only its requesters (${describePrincipals(namespace.requesters)}) and approvers may.`, 'namespace');
      }
    }
    return ok({ kind: 'revoke', cluster: cluster.value, namespace, serviceAccount: command.serviceAccount });
  }

  if (!input.skipRequesterCheck && !principalsInclude(namespace.requesters, input.requester.id, input.requesterGroups)) {
    return refuse('requester-not-allowed', `You may not request access for "${namespace.name}": the policy lets ${describePrincipals(namespace.requesters)} request there.`, 'namespace');
  }

  const allowedHere = namespace.roles.join(', ') || 'none';
  const role = findRole(policy, command.roleName);
  if (!role) {
    const why = isPrivilegedRole(command.roleName)
      ? `"${command.roleName}" is a privileged role and this policy does not allow it anywhere.`
      : `The role ${show(command.roleName, 60)} is not in the policy's roles catalogue.`;
    return refuse('role-not-in-catalogue', `${why} Roles "${namespace.name}" may request: ${allowedHere}.`, 'roleName');
  }
  if (!namespace.roles.includes(role.name)) {
    return refuse('role-not-allowed', `"${role.name}" may not be requested for "${namespace.name}". Roles "${namespace.name}" may request: ${allowedHere}.`, 'roleName');
  }

  const scope = resolveScope(namespace, role, command.scope);
  if (!scope.ok) return scope;

  let durationSeconds: number | undefined;
  if (command.durationSeconds !== undefined) {
    if (role.maxDurationSeconds === undefined) {
      return refuse('duration-not-allowed', `"${role.name}" is granted without an end date in this policy, so --for does not apply; leave it out.`, 'durationSeconds');
    }
    if (command.durationSeconds > role.maxDurationSeconds) {
      return refuse(
        'duration-too-long',
        `--for ${formatDuration(command.durationSeconds)} is longer than the ${formatDuration(role.maxDurationSeconds)} the policy allows for "${role.name}".`,
        'durationSeconds',
      );
    }
    if (role.expiry === 'azure' && command.durationSeconds < AZURE_SCHEDULE_MIN_SECONDS) {
      return refuse(
        'duration-too-short',
        `--for ${formatDuration(command.durationSeconds)} is shorter than the 5m Azure's own schedule allows for "${role.name}" (the policy sets expiry: azure); ask for --for 5m or more.`,
        'durationSeconds',
      );
    }
    durationSeconds = command.durationSeconds;
  } else if (role.maxDurationSeconds !== undefined) {
    durationSeconds = role.maxDurationSeconds;
  }

  return ok({
    kind: 'grant',
    cluster: cluster.value,
    namespace,
    serviceAccount: command.serviceAccount,
    role,
    scope: scope.value,
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
  });
}

function resolveScope(namespace: PolicyNamespace, role: PolicyRole, requested: string | undefined): Result<string> {
  const allowed = `Allowed scopes for "${role.name}": ${listOf(role.scopes)}.`;
  if (requested === undefined) {
    const fallback = namespace.defaultScopes[role.name];
    if (fallback !== undefined) return ok(fallback);
    const exact = role.scopes.filter((s) => !isScopePattern(s));
    if (role.scopes.length === 1 && exact.length === 1) return ok(exact[0] as string);
    return refuse('scope-required', `"${role.name}" has no default scope in "${namespace.name}": give --scope <ARM id>. ${allowed}`, 'scope');
  }
  const v = validateScope(requested);
  if (!v.ok) return v;
  if (!scopeAllowed(role.scopes, v.value)) {
    return refuse('scope-not-allowed', `The scope ${show(requested, 160)} is outside what the policy allows for "${role.name}". ${allowed}`, 'scope');
  }
  return ok(v.value);
}

/** Namespace approvers plus global approvers. */
export function isApprover(policy: Policy, namespaceName: string, actorId: string, actorGroups: readonly string[]): boolean {
  const ns = findNamespace(policy, namespaceName);
  return principalsInclude(policy.approvers, actorId, actorGroups) || (ns !== undefined && principalsInclude(ns.approvers, actorId, actorGroups));
}

/** Whether the actor is one of the policy's operators (the people who run wid-bot). */
export function isOperator(policy: Policy, actorId: string, actorGroups: readonly string[]): boolean {
  return principalsInclude(policy.operators, actorId, actorGroups);
}

/** The Slack channel for a namespace's approval messages, if the policy names one. */
export function approvalsChannelFor(policy: Policy, namespaceName: string): string | undefined {
  return findNamespace(policy, namespaceName)?.approvalsChannel ?? policy.approvalsChannel;
}

export interface RoleOption {
  name: string;
  scopes: string[];
  defaultScope?: string;
  maxDurationSeconds?: number;
  approvals: 1 | 2;
  privileged: boolean;
}

export interface RequestOptions {
  clusters: string[];
  defaultCluster: string;
  namespaces: Array<{ name: string; roles: RoleOption[] }>;
}

/** What this person may request: namespaces and their roles, for the request form's menus. */
export function requestOptionsFor(policy: Policy, userId: string, groups: readonly string[]): RequestOptions {
  const namespaces = policy.namespaces
    .filter((n) => principalsInclude(n.requesters, userId, groups))
    .map((n) => ({
      name: n.name,
      roles: n.roles
        .map((name) => findRole(policy, name))
        .filter((r): r is PolicyRole => r !== undefined)
        .map((r) => {
          const defaultScope = n.defaultScopes[r.name];
          return {
            name: r.name,
            scopes: [...r.scopes],
            ...(defaultScope !== undefined ? { defaultScope } : {}),
            ...(r.maxDurationSeconds !== undefined ? { maxDurationSeconds: r.maxDurationSeconds } : {}),
            approvals: r.approvals,
            privileged: r.privileged,
          };
        }),
    }));
  return { clusters: policy.clusters.map((c) => c.name), defaultCluster: policy.defaultCluster, namespaces };
}
