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
      const description = hook ? await hook.description(run.request, await run.deps.authorization.getRoleAssignment(scope, name)) : undefined;
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
      return done(`'${roleName}' on ${scope} until ${ra.until} by Azure's own schedule (request ${ra.requestName}): ${ra.id}`);
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
 */
async function assignWithAzureSchedule(run: ProvisionRun, principalId: string, schedule: { durationSeconds: number; justification: string }): Promise<{ id: string; requestName: string; until: string }> {
  const schedules = run.deps.schedules;
  const { scope, roleName } = run.request.plan.roleAssignment;
  if (!schedules) throw new TerminalError(`The policy ends "${roleName}" with Azure's own schedule (expiry: azure), but this worker has no schedule adapter.`, 'NoScheduleAdapter');
  const requestName = scheduleRequestName('assign', run.request.id);
  const roleDefinitionId = run.preflight.roleDefinitionId;
  let made = await schedules.getScheduleRequest(scope, requestName);
  if (!made) {
    try {
      made = await retryWhile(
        run,
        ['PrincipalNotFound'],
        run.limits.principalNotFoundMaxMs,
        'role assignment schedule',
        async () => {
          await writeTurn(run, scopeSubscription(scope) ?? run.request.plan.identity.subscriptionId);
          return schedules.assignWithSchedule(scope, requestName, roleDefinitionId, principalId, schedule.durationSeconds, schedule.justification);
        },
        replicationWait(run),
      );
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'RoleAssignmentRequestExists') made = await schedules.getScheduleRequest(scope, requestName);
      else if (code === 'RoleAssignmentExists') {
        throw new TerminalError(
          `'${roleName}' is already assigned to this identity on ${scope} (by Azure's schedule of an earlier grant, or by hand), and Azure's schedule cannot be lengthened by a second grant. End the earlier grant (or remove the assignment) and retry.`,
          'RoleAssignmentExists',
        );
      } else throw e;
    }
  }
  if (!made || (made.status !== 'Provisioned' && made.status !== 'Granted' && made.status !== 'Accepted')) {
    throw new TerminalError(`Azure did not grant the schedule request ${requestName} for '${roleName}' on ${scope} (status ${made?.status ?? 'unknown'}).`, 'ScheduleNotProvisioned');
  }
  const ra = await findAssignment(run.deps.authorization, scope, principalId, roleDefinitionId);
  if (!ra) throw new TerminalError(`Azure accepted the schedule request ${requestName} but lists no active '${roleName}' assignment on ${scope}: its schedule may already have ended.`, 'ScheduleWithoutAssignment');
  return { id: ra.id, requestName, until: made.endsAt ?? 'its end' };
}
