/**
 * Step 2a: the role assignment, named by a deterministic GUID (same scope, principal and role → same
 * name), so a retried PUT finds the first one. principalType ServicePrincipal is sent (the adapter
 * does) so a fresh identity need not have replicated; PrincipalNotFound is still retried up to a bound.
 */
import { TerminalError } from '../domain/errors';
import { roleAssignmentName } from '../domain/names';
import type { ProvisionRun } from './context';
import { retryWhile, writeTurn } from './pacing';
import { scopeSubscription } from '../domain/scopes';
import { done, type Step } from './step';
import { withLock } from '../queue/lock';

function assignmentId(scope: string, name: string): string {
  return `/${scope.replace(/^\/+/, '')}/providers/Microsoft.Authorization/roleAssignments/${name}`;
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
      return retryWhile(run, ['PrincipalNotFound'], run.limits.principalNotFoundMaxMs, 'role assignment', async () => {
        await writeTurn(run, subscriptionId);
        return run.deps.authorization.createRoleAssignment(scope, name, run.preflight.roleDefinitionId, identity.principalId, description);
      });
    };
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
