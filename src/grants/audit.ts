/**
 * The grants' part of `wid audit` / `/wid audit`: grants past their end whose role assignment still exists
 * (an error, with the fix) and active grants ending within a day (info). Judged from every record of an end:
 * the store's grants, the descriptions Azure keeps on the assignments of wid-bot's identities, and, for grants
 * under Azure's own schedule (expiry: azure), the schedules Azure holds (roleAssignmentScheduleInstances).
 */
import { isLive, parseAssignmentDescription, serviceAccountKey, type Grant } from '../domain/grants';
import { normaliseScope, roleAssignmentName } from '../domain/names';
import { TAG_CLUSTER, TAG_NAMESPACE, TAG_SERVICE_ACCOUNT } from '../domain/plan';
import type { AssignmentSchedulePort, AuthorizationPort, IdentityPort, RoleAssignment } from '../domain/ports';
import { findBuiltInRole, roleDefinitionGuid } from '../domain/roles';
import type { Policy } from '../domain/types';
import { isManagedByWid } from '../provision';
import { FINDING_CODES, type Finding } from '../inspect/types';
import { grantSubscriptions } from './reconciler';
import type { RedisGrantStore } from './store';

export const ENDING_SOON_MS = 24 * 3600_000;

/** An assignment Azure's schedule holds for one of wid-bot's identities, with an end. */
export interface ScheduledAssignment {
  roleAssignmentId: string;
  scope: string;
  /** The role's name, when Azure could say. */
  roleName?: string;
  endsAt: string;
  /** The ServiceAccount the identity was made for (its wid-bot tags), when they say. */
  serviceAccount?: { clusterName: string; namespace: string; serviceAccount: string };
}

export interface GrantAuditInput {
  /** Open grants from the store (empty when the store is not available). */
  open: readonly Grant[];
  /** Role assignments of wid-bot's identities (with their descriptions). */
  assignments: readonly RoleAssignment[];
  /** Assignments Azure's schedules hold for wid-bot's identities (expiry: azure). */
  scheduled?: readonly ScheduledAssignment[];
  now: Date;
}

/** The store's grants under Azure's schedule that a scheduled assignment stands for (same ServiceAccount, scope and role). */
function grantsOfSchedule(open: readonly Grant[], s: ScheduledAssignment): Grant[] {
  if (!s.serviceAccount) return [];
  const sa = serviceAccountKey(s.serviceAccount);
  const scope = normaliseScope(s.scope);
  return open.filter(
    (g) => g.expiry === 'azure' && g.state !== 'ended' && serviceAccountKey(g) === sa && normaliseScope(g.scope) === scope && (s.roleName === undefined || g.roleName.toLowerCase() === s.roleName.toLowerCase()),
  );
}

function scheduledWhat(s: ScheduledAssignment): string {
  const who = s.serviceAccount ? ` for ${s.serviceAccount.namespace}/${s.serviceAccount.serviceAccount} on ${s.serviceAccount.clusterName}` : '';
  return `'${s.roleName ?? 'its role'}' on ${s.scope}${who}`;
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
      repair: { action: 'revoke', requestId: d.requestId },
    });
  }
  for (const s of input.scheduled ?? []) {
    const end = Date.parse(s.endsAt);
    const grants = grantsOfSchedule(input.open, s);
    if (end <= now) {
      // Azure lists the instance, so the assignment is still there past the schedule's end: Azure is late
      const past = grants.find((g) => g.endsAt !== undefined && Date.parse(g.endsAt) <= now) ?? grants[0];
      if (past && reported.has(past.id)) continue;
      if (past) reported.add(past.id);
      findings.push({
        severity: 'error',
        code: FINDING_CODES.grantPastEnd,
        subject: past ? `grant/${past.id}` : `schedule/${s.roleAssignmentId}`,
        message: `Azure's own schedule for ${scheduledWhat(s)}${past ? ` (grant ${past.id})` : ''} ended at ${s.endsAt}, but its role assignment ${s.roleAssignmentId} still exists: the identity still has the role.`,
        fix: `Azure removes it late at times; wid-bot's end check sends AdminRemove past its grace. If it stays, remove it by hand: az role assignment delete --ids ${s.roleAssignmentId}`,
      });
    } else if (end - now <= ENDING_SOON_MS && !grants.some(isLive)) {
      // the store's grant, when there is one, reports its own end; this one only Azure knows of
      findings.push({
        severity: 'info',
        code: FINDING_CODES.grantEndingSoon,
        subject: `schedule/${s.roleAssignmentId}`,
        message: `Azure's own schedule ends ${scheduledWhat(s)} at ${s.endsAt} (role assignment ${s.roleAssignmentId}); no live grant in wid-bot's store names it.`,
        fix: 'Nothing to do for it to end: Azure removes it. To keep the access, request it again once it has ended.',
      });
    }
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
        repair: { action: 'revoke', namespace: g.namespace, serviceAccount: g.serviceAccount, requestId: g.id },
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
  /** Azure's schedules (expiry: azure); without it, assignments made by Azure's schedule are judged by the store alone. */
  schedules?: Pick<AssignmentSchedulePort, 'listScheduleInstances'>;
  grants?: RedisGrantStore;
  now?: () => Date;
}

/** Gathers and judges. */
export async function grantFindings(deps: GrantAuditDeps): Promise<Finding[]> {
  const principals = new Set<string>();
  const owners = new Map<string, ScheduledAssignment['serviceAccount']>();
  for await (const i of deps.identities.listIdentities(deps.policy.identities.subscriptionId, deps.policy.identities.resourceGroup)) {
    if (!isManagedByWid(i.tags) || !i.principalId) continue;
    principals.add(i.principalId.toLowerCase());
    const t = i.tags ?? {};
    const [clusterName, namespace, serviceAccount] = [t[TAG_CLUSTER], t[TAG_NAMESPACE], t[TAG_SERVICE_ACCOUNT]];
    if (clusterName && namespace && serviceAccount) owners.set(i.principalId.toLowerCase(), { clusterName, namespace, serviceAccount });
  }
  const extra: Finding[] = [];
  const scheduled: ScheduledAssignment[] = [];
  if (principals.size > 0 && deps.schedules) {
    const names = new Map<string, string | undefined>();
    const roleName = async (id: string): Promise<string | undefined> => {
      const guid = roleDefinitionGuid(id) ?? id;
      if (!names.has(guid)) names.set(guid, findBuiltInRole(guid)?.name ?? (await deps.authorization.getRoleDefinitionName(id).catch(() => undefined)));
      return names.get(guid);
    };
    for (const sub of grantSubscriptions(deps.policy)) {
      let instances;
      try {
        instances = await deps.schedules.listScheduleInstances(`/subscriptions/${sub}`);
      } catch (e) {
        extra.push({
          severity: 'warning',
          code: FINDING_CODES.grantSchedulesUnreadable,
          subject: `subscription/${sub}`,
          message: `Azure's role assignment schedules of subscription ${sub} could not be listed (${(e as Error).message}), so grants under Azure's own schedule (expiry: azure) were judged from wid-bot's store alone.`,
          fix: 'Give wid-bot Microsoft.Authorization/roleAssignmentScheduleInstances/read on the subscription (deploy/azure-permissions.sh does).',
        });
        continue;
      }
      for (const i of instances) {
        const p = i.principalId.toLowerCase();
        if (!principals.has(p) || i.endsAt === undefined) continue;
        const name = await roleName(i.roleDefinitionId);
        const owner = owners.get(p);
        scheduled.push({ roleAssignmentId: i.roleAssignmentId, scope: i.scope, endsAt: i.endsAt, ...(name ? { roleName: name } : {}), ...(owner ? { serviceAccount: owner } : {}) });
      }
    }
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
  return [...extra, ...auditGrants({ open, assignments, scheduled, now: deps.now?.() ?? new Date() })];
}
