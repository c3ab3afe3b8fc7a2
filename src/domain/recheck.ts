/**
 * Before a Retry re-runs a frozen plan, and before a grant is extended, the access is checked again against the
 * policy as it is now: a role or scope the policy stopped allowing since the approval is not granted by a
 * retry or kept by an extension. Pure: no I/O.
 */
import { ok, refuse, type Result } from './errors';
import { evaluateRequest, findRole } from './policy';
import type { RequestCommand } from './grammar';
import type { Actor, Policy, WidRequest } from './types';

/** The access a request or grant gives, as the policy sees it. */
export interface AccessToRecheck {
  kind: 'grant' | 'revoke' | 'migrate' | 'federate';
  requester: Actor;
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleName: string;
  scope: string;
  /** The grant's length, checked against the role's current maximum. */
  durationSeconds?: number;
  /** How many approvals the request had to collect. */
  approvalsRequired?: number;
}

export interface RecheckInput {
  policy: Policy;
  access: AccessToRecheck;
  /** Slack user-group ids of the requester now; undefined when unknown (the requester is then not checked again). */
  requesterGroups?: readonly string[];
  /** What is being done, for the message: 'retry' or 'extend'. */
  action: 'retry' | 'extend';
}

/** The policy field a refusal code points at, so the message names the rule to look at. */
function ruleOf(code: string, a: AccessToRecheck, roleName: string): string {
  switch (code) {
    case 'unknown-cluster':
      return 'clusters';
    case 'namespace-not-in-policy':
      return 'namespaces';
    case 'requester-not-allowed':
      return `namespaces.${a.namespace}.requesters`;
    case 'role-not-in-catalogue':
      return 'roles';
    case 'role-not-allowed':
      return `namespaces.${a.namespace}.roles`;
    case 'scope-not-allowed':
    case 'scope-required':
      return `roles[${roleName}].scopes`;
    case 'duration-too-long':
    case 'duration-too-short':
    case 'duration-not-allowed':
      return `roles[${roleName}].maxDuration`;
    default:
      return 'the policy';
  }
}

/**
 * Ok when the current policy still allows the access; otherwise a refusal saying which rule forbids it now and
 * what to do. A revoke only takes access away and is never refused here; a migration keeps the roles its
 * identity already holds and a federation (another cluster's credential) adds no role, so only their cluster,
 * namespace and requester are checked.
 */
export function recheckAccess(input: RecheckInput): Result<void> {
  const { policy, access: a, action } = input;
  if (a.kind === 'revoke') return ok(undefined);
  const doing = action === 'retry' ? 'retry' : 'extension';
  const what = `${a.namespace}/${a.serviceAccount}`;
  const fix =
    action === 'retry'
      ? 'Nothing was changed in Azure or Kubernetes. Ask for the access again with /wid request, within what the policy allows now, or ask the platform team to change the policy back if the change was a mistake.'
      : 'The grant keeps its current end. Ask for the access again with /wid request, within what the policy allows now, or ask the platform team to change the policy back if the change was a mistake.';
  const refused = (code: string, message: string, rule: string) =>
    refuse(`policy-changed-${code}`, `The policy changed since this was approved, so wid-bot refuses the ${doing} of ${what}: ${message} (rule: ${rule}) ${fix}`);

  const role = findRole(policy, a.roleName);
  const command: RequestCommand = {
    verb: 'request',
    namespace: a.namespace,
    serviceAccount: a.serviceAccount,
    cluster: a.clusterName,
    roleName: a.roleName,
    scope: a.scope,
    // a grant without an end under a role that now has one is checked by the approval count only: its length stays the role's cap
    ...(a.durationSeconds !== undefined && role?.maxDurationSeconds !== undefined ? { durationSeconds: a.durationSeconds } : {}),
  };
  const decision = evaluateRequest(policy, { requester: a.requester, requesterGroups: input.requesterGroups ?? [], command, ...(input.requesterGroups === undefined ? { skipRequesterCheck: true } : {}) });
  if (!decision.ok) {
    // a migration holds the roles its identity had, a federation adds no role: only where and who matter
    if ((a.kind === 'migrate' || a.kind === 'federate') && !['unknown-cluster', 'namespace-not-in-policy', 'requester-not-allowed'].includes(decision.error.code)) return ok(undefined);
    return refused(decision.error.code, decision.error.message, ruleOf(decision.error.code, a, role?.name ?? a.roleName));
  }
  if (a.kind === 'grant' && a.approvalsRequired !== undefined && decision.value.role.approvals > a.approvalsRequired) {
    return refused(
      'more-approvals',
      `"${decision.value.role.name}" now needs ${decision.value.role.approvals} approvals and this request had ${a.approvalsRequired}.`,
      `roles[${decision.value.role.name}].approvals`,
    );
  }
  return ok(undefined);
}

/** The access a stored request gives. */
export function accessOf(r: WidRequest): AccessToRecheck {
  return {
    kind: r.kind,
    requester: r.requester,
    clusterName: r.clusterName,
    namespace: r.namespace,
    serviceAccount: r.serviceAccount,
    roleName: r.roleName,
    scope: r.scope,
    ...(r.durationSeconds !== undefined ? { durationSeconds: r.durationSeconds } : {}),
    approvalsRequired: r.plan.approvalsRequired,
  };
}

/** The access a grant gives (its extension is checked without its length: the extension itself sets that). */
export function accessOfGrant(g: { requester: Actor; clusterName: string; namespace: string; serviceAccount: string; roleName: string; scope: string }): AccessToRecheck {
  return { kind: 'grant', requester: g.requester, clusterName: g.clusterName, namespace: g.namespace, serviceAccount: g.serviceAccount, roleName: g.roleName, scope: g.scope };
}
