/**
 * Step 2a: the role assignment, named by a deterministic GUID (same scope, principal and role → same
 * name), so a retried PUT finds the first one. principalType ServicePrincipal is sent (the adapter
 * does) so a fresh identity need not have replicated; PrincipalNotFound is still retried up to a bound.
 */
import { TerminalError } from '../domain/errors';
import { roleAssignmentName } from '../domain/names';
import type { ProvisionRun } from './context';
import { retryWhile, writeTurn, type RetryOptions } from './pacing';
import { WAITING_FOR_IDENTITY } from './verify';
import { scopeSubscription } from '../domain/scopes';
import { done, type Step } from './step';
import { withLock } from '../queue/lock';
import { roleDefinitionGuid } from '../domain/roles';
import { normaliseScope } from '../domain/names';
import type { RoleAssignment } from '../domain/ports';
import { scheduleRequestName } from '../domain/azure-schedule';
import type { AzureScheduleAsk } from './context';

function assignmentId(scope: string, name: string): string {
  return `/${scope.replace(/^\/+/, '')}/providers/Microsoft.Authorization/roleAssignments/${name}`;
}

/**
 * PrincipalNotFound is waited out by polling (the principal appears at one moment, which a doubled back-off would
 * overshoot by up to its last pause), and the step says what it waits for. Each try is an ARM write that counts
 * against the subscription's write bucket, so tries are at least twice the base pause apart (1 s by default).
 */
function replicationWait(run: ProvisionRun): RetryOptions {
  return { poll: { minMs: run.limits.retryBaseMs * 2, maxMs: 5000 }, onWait: () => run.waiting?.('roleAssignment', WAITING_FOR_IDENTITY) };
}

export function plannedRoleAssignmentName(run: ProvisionRun, principalId: string): string {
  return roleAssignmentName(run.request.plan.roleAssignment.scope, principalId, run.preflight.roleDefinitionId);
}

export const roleAssignmentStep: Step = {
  name: 'roleAssignment',
  async run(run) {
    const identity = run.identity;
    if (!identity) throw new TerminalError('The role assignment step ran before the identity existed.', 'StepOrder');
    const { scope, roleName } = run.request.plan.roleAssignment;
    const name = plannedRoleAssignmentName(run, identity.principalId);
    let id: string;
    let detail: string;
    const hook = run.deps.grantAssignment;
    const subscriptionId = scopeSubscription(scope) ?? identity.subscriptionId;
    const write = async () => {
      // An identity this run created (none before its preflight) has no assignment yet: nothing to read.
      const existing = hook && run.preflight.identity ? await run.deps.authorization.getRoleAssignment(scope, name) : undefined;
      const description = hook ? await hook.description(run.request, existing) : undefined;
      return retryWhile(
        run,
        ['PrincipalNotFound'],
        run.limits.principalNotFoundMaxMs,
        'role assignment',
        async () => {
          await writeTurn(run, subscriptionId);
          return run.deps.authorization.createRoleAssignment(scope, name, run.preflight.roleDefinitionId, identity.principalId, description);
        },
        replicationWait(run),
      );
    };
    const schedule = hook?.azureSchedule ? await hook.azureSchedule(run.request) : undefined;
    if (schedule && hook) {
      const ra = await withLock(run.deps.redis, run.deps.keys.lock(hook.lockName(run.request)), run.limits.lockTtlMs, () => assignWithAzureSchedule(run, identity.principalId, schedule), { waitMs: run.limits.lockTtlMs + 1000 });
      await run.deps.recorder.recordResources(run.request.id, { roleAssignmentId: ra.id });
      run.resources.roleAssignmentId = ra.id;
      return done(`'${roleName}' on ${scope} until ${ra.until} by Azure's own schedule (request ${ra.requestName}${ra.note ? `; ${ra.note}` : ''}): ${ra.id}`);
    }
    try {
      const ra = hook ? await withLock(run.deps.redis, run.deps.keys.lock(hook.lockName(run.request)), run.limits.lockTtlMs, write, { waitMs: run.limits.lockTtlMs + 1000 }) : await write();
      id = ra.id || assignmentId(scope, name);
      detail = `'${roleName}' on ${scope}: ${id}`;
    } catch (e) {
      // The same grant under another name (made by hand, say): it is what the plan wants, so it counts as done.
      if (!(e instanceof TerminalError) || e.code !== 'RoleAssignmentExists') throw e;
      const existing = (e as { existingRoleAssignmentName?: string }).existingRoleAssignmentName ?? name;
      id = assignmentId(scope, existing);
      detail = `'${roleName}' on ${scope} already assigned: ${id}`;
    }
    await run.deps.recorder.recordResources(run.request.id, { roleAssignmentId: id });
    run.resources.roleAssignmentId = id;
    return done(detail);
  },
};

/** The active assignment of this principal and role at exactly this scope, whatever its name. */
export async function findAssignment(authorization: ProvisionRun['deps']['authorization'], scope: string, principalId: string, roleDefinitionId: string): Promise<RoleAssignment | undefined> {
  const role = roleDefinitionGuid(roleDefinitionId);
  const listed = await authorization.listRoleAssignments(scope, principalId);
  return listed.find(
    (a) => normaliseScope(a.scope) === normaliseScope(scope) && a.principalId.toLowerCase() === principalId.toLowerCase() && roleDefinitionGuid(a.roleDefinitionId) === role,
  );
}

/**
 * expiry: azure — AdminAssign through roleAssignmentScheduleRequests, so Azure removes the assignment at the end
 * even if wid-bot is gone. Idempotent: the request's name is the grant's, and a request already made is read back.
 * A later grant of the same role at the same scope for the same ServiceAccount shares the assignment an earlier
 * one made, as the grants wid-bot ends do: Azure refuses a second AdminAssign (RoleAssignmentExists), so the later
 * grant moves the schedule's end to its own with AdminUpdate when it ends later, and leaves it when it ends sooner.
 * The earlier grant's end then leaves the assignment to the later one (decideEnd).
 */
async function assignWithAzureSchedule(run: ProvisionRun, principalId: string, schedule: AzureScheduleAsk): Promise<{ id: string; requestName: string; until: string; note?: string }> {
  const schedules = run.deps.schedules;
  const { scope, roleName } = run.request.plan.roleAssignment;
  if (!schedules) throw new TerminalError(`The policy ends "${roleName}" with Azure's own schedule (expiry: azure), but this worker has no schedule adapter.`, 'NoScheduleAdapter');
  const requestName = scheduleRequestName('assign', run.request.id);
  const roleDefinitionId = run.preflight.roleDefinitionId;
  const subscriptionId = scopeSubscription(scope) ?? run.request.plan.identity.subscriptionId;
  let made = await schedules.getScheduleRequest(scope, requestName);
  if (!made) {
    try {
      made = await retryWhile(
        run,
        ['PrincipalNotFound'],
        run.limits.principalNotFoundMaxMs,
        'role assignment schedule',
        async () => {
          await writeTurn(run, subscriptionId);
          return schedules.assignWithSchedule(scope, requestName, roleDefinitionId, principalId, schedule.durationSeconds, schedule.justification);
        },
        replicationWait(run),
      );
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'RoleAssignmentRequestExists') made = await schedules.getScheduleRequest(scope, requestName);
      else if (code === 'RoleAssignmentExists') return shareAzureSchedule(run, principalId, schedule);
      else throw e;
    }
  }
  if (!made || (made.status !== 'Provisioned' && made.status !== 'Granted' && made.status !== 'Accepted')) {
    throw new TerminalError(`Azure did not grant the schedule request ${requestName} for '${roleName}' on ${scope} (status ${made?.status ?? 'unknown'}).`, 'ScheduleNotProvisioned');
  }
  const ra = await findAssignment(run.deps.authorization, scope, principalId, roleDefinitionId);
  if (!ra) throw new TerminalError(`Azure accepted the schedule request ${requestName} but lists no active '${roleName}' assignment on ${scope}: its schedule may already have ended.`, 'ScheduleWithoutAssignment');
  return { id: ra.id, requestName, until: made.endsAt ?? 'its end' };
}

/**
 * The assignment exists already. When a live grant under Azure's schedule shares it (same ServiceAccount, role and
 * scope), this grant joins it: the later end wins. Otherwise it was made by hand (or outlived its grant), and is
 * not wid-bot's to take over.
 */
async function shareAzureSchedule(run: ProvisionRun, principalId: string, schedule: AzureScheduleAsk): Promise<{ id: string; requestName: string; until: string; note?: string }> {
  const schedules = run.deps.schedules as NonNullable<ProvisionRun['deps']['schedules']>;
  const { scope, roleName } = run.request.plan.roleAssignment;
  const roleDefinitionId = run.preflight.roleDefinitionId;
  const role = roleDefinitionGuid(roleDefinitionId);
  const instance = (await schedules.listScheduleInstances(scope, principalId)).find(
    (i) => normaliseScope(i.scope) === normaliseScope(scope) && i.principalId.toLowerCase() === principalId.toLowerCase() && roleDefinitionGuid(i.roleDefinitionId) === role,
  );
  if (schedule.sharedWith.length === 0 || !instance) {
    throw new TerminalError(
      `'${roleName}' is already assigned to this identity on ${scope}, and no live grant of wid-bot's under Azure's schedule holds it (it was made by hand, or outlived its grant), so wid-bot does not take it over. Remove that assignment (or end the grant that made it) and retry.`,
      'RoleAssignmentExists',
    );
  }
  const others = schedule.sharedWith.map((g) => g.id).join(', ');
  const ownEnd = Date.parse(schedule.endsAt);
  if (instance.endsAt === undefined || Date.parse(instance.endsAt) >= ownEnd) {
    return {
      id: instance.roleAssignmentId,
      requestName: scheduleRequestName('assign', schedule.sharedWith[0]?.id ?? run.request.id),
      until: instance.endsAt ?? 'no end',
      note: `shared with grant ${others}, whose schedule already lasts past this grant's end`,
    };
  }
  const updateName = scheduleRequestName('update', run.request.id);
  let updated = await schedules.getScheduleRequest(scope, updateName);
  if (!updated) {
    try {
      await writeTurn(run, scopeSubscription(scope) ?? run.request.plan.identity.subscriptionId);
      updated = await schedules.updateSchedule(scope, updateName, roleDefinitionId, principalId, schedule.endsAt, schedule.justification);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'RoleAssignmentRequestExists') throw e;
      updated = await schedules.getScheduleRequest(scope, updateName);
    }
  }
  if (!updated || (updated.status !== 'Provisioned' && updated.status !== 'Granted' && updated.status !== 'Accepted')) {
    throw new TerminalError(`Azure did not grant the schedule update ${updateName} for '${roleName}' on ${scope} (status ${updated?.status ?? 'unknown'}).`, 'ScheduleNotProvisioned');
  }
  return {
    id: instance.roleAssignmentId,
    requestName: updateName,
    until: updated.endsAt ?? new Date(ownEnd).toISOString(),
    note: `shared with grant ${others}; its schedule's end moved from ${instance.endsAt} to this grant's (AdminUpdate)`,
  };
}
