/**
 * The grants' part of `wid audit` / `/wid audit`: grants past their end whose role assignment still exists
 * (an error, with the fix) and active grants ending within a day (info). Judged from both records of an end:
 * the store's grants and the descriptions Azure keeps on the assignments of wid-bot's identities.
 */
import { isLive, parseAssignmentDescription, type Grant } from '../domain/grants';
import { roleAssignmentName } from '../domain/names';
import type { AuthorizationPort, IdentityPort, RoleAssignment } from '../domain/ports';
import type { Policy } from '../domain/types';
import { isManagedByWid } from '../provision';
import { FINDING_CODES, type Finding } from '../inspect/types';
import { grantSubscriptions } from './reconciler';
import type { RedisGrantStore } from './store';

export const ENDING_SOON_MS = 24 * 3600_000;

export interface GrantAuditInput {
  /** Open grants from the store (empty when the store is not available). */
  open: readonly Grant[];
  /** Role assignments of wid-bot's identities (with their descriptions). */
  assignments: readonly RoleAssignment[];
  now: Date;
}

/** Pure: the findings. */
export function auditGrants(input: GrantAuditInput): Finding[] {
  const now = input.now.getTime();
  const findings: Finding[] = [];
  const reported = new Set<string>();
  for (const a of input.assignments) {
    const d = parseAssignmentDescription(a.description);
    if (!d?.endsAt || Date.parse(d.endsAt) > now) continue;
    const live = input.open.find((g) => g.id === d.requestId && isLive(g) && g.endsAt && Date.parse(g.endsAt) > now);
    if (live) continue; // extended: the description is rewritten by the next pass
    reported.add(d.requestId);
    findings.push({
      severity: 'error',
      code: FINDING_CODES.grantPastEnd,
      subject: `grant/${d.requestId}`,
      message: `Grant ${d.requestId} ended at ${d.endsAt}, but its role assignment ${a.id} still exists: the identity still has the role.`,
      fix: `wid-bot's reconciler removes it within WID_GRANT_RECONCILE_INTERVAL of a running worker; if it stays, remove it by hand: az role assignment delete --ids ${a.id}`,
    });
  }
  for (const g of input.open) {
    if (g.breakGlass && g.state !== 'ended') {
      findings.push({
        severity: 'warning',
        code: FINDING_CODES.grantBreakGlass,
        subject: `grant/${g.id}`,
        namespace: g.namespace,
        message: `Grant ${g.id} (${g.roleName} on ${g.scope} for ${g.namespace}/${g.serviceAccount}) was approved by its requester ${g.requester.id} under break-glass at ${g.breakGlass.at}${g.endsAt ? `, ends ${g.endsAt}` : ''}: ${g.breakGlass.reason}`,
        fix: `Review it with the requester; an approver can end it now with Revoke on the break-glass alert, or /wid revoke ${g.namespace} ${g.serviceAccount}.`,
      });
    }
    if (!g.endsAt || reported.has(g.id)) continue;
    const end = Date.parse(g.endsAt);
    if (end <= now && g.state !== 'ended') {
      findings.push({
        severity: 'error',
        code: FINDING_CODES.grantPastEnd,
        subject: `grant/${g.id}`,
        namespace: g.namespace,
        message: `Grant ${g.id} (${g.roleName} on ${g.scope} for ${g.namespace}/${g.serviceAccount}) should have ended at ${g.endsAt} but is ${g.state}${g.failure ? `: ${g.failure.message}` : ''}.`,
        fix: 'Check that a wid-bot worker runs (the reconciler ends it on its next pass) and that wid-bot may delete role assignments on the scope.',
      });
    } else if (isLive(g) && end - now <= ENDING_SOON_MS) {
      findings.push({
        severity: 'info',
        code: FINDING_CODES.grantEndingSoon,
        subject: `grant/${g.id}`,
        namespace: g.namespace,
        message: `Grant ${g.id} (${g.roleName} on ${g.scope} for ${g.namespace}/${g.serviceAccount}) ends at ${g.endsAt}.`,
        fix: `The requester can extend it from the reminder, or end it now with "I'm done".`,
      });
    }
  }
  return findings;
}

export interface GrantAuditDeps {
  policy: Policy;
  identities: IdentityPort;
  authorization: AuthorizationPort;
  grants?: RedisGrantStore;
  now?: () => Date;
}

/** Gathers and judges. */
export async function grantFindings(deps: GrantAuditDeps): Promise<Finding[]> {
  const principals = new Set<string>();
  for await (const i of deps.identities.listIdentities(deps.policy.identities.subscriptionId, deps.policy.identities.resourceGroup)) {
    if (isManagedByWid(i.tags) && i.principalId) principals.add(i.principalId.toLowerCase());
  }
  const assignments: RoleAssignment[] = [];
  if (principals.size > 0) {
    for (const sub of grantSubscriptions(deps.policy)) {
      for (const a of await deps.authorization.listRoleAssignments(`/subscriptions/${sub}`)) {
        if (principals.has(a.principalId.toLowerCase()) && a.name.toLowerCase() === roleAssignmentName(a.scope, a.principalId, a.roleDefinitionId)) assignments.push(a);
      }
    }
  }
  const open = deps.grants ? await deps.grants.open() : [];
  return auditGrants({ open, assignments, now: deps.now?.() ?? new Date() });
}
