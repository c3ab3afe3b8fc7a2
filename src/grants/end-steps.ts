/**
 * The steps of ending a grant, provisioning-style: each idempotent (any step may run twice), each finding its
 * target by its deterministic name, each touching only what wid-bot granted.
 *
 *   assignment: remove this grant's role assignment, unless another live grant shares it (then its description
 *               is rewritten to the remaining grants' latest end) or it predates the grant
 *   release:    when no other grant of the ServiceAccount remains and the identity holds no other role
 *               assignment, revoke the rest as `/wid revoke` does (annotation, credential, identity)
 */
import { decideEnd, END_REASON_TEXT, type EndDecision } from '../domain/grants';
import { AZURE_SCHEDULE_MIN_SECONDS, scheduleRequestName } from '../domain/azure-schedule';
import { TerminalError } from '../domain/errors';
import { findAssignment } from '../provision/role-assignment';
import { normaliseScope, roleAssignmentName } from '../domain/names';
import { roleDefinitionGuid } from '../domain/roles';
import { scopeSubscription } from '../domain/scopes';
import type { StepRecord } from '../domain/types';
import { provisionRevoke, resolveRoleDefinitionId } from '../provision';
import { armDeleteTurn } from '../provision/pacing';
import { resolveGrantLimits, type EndRun } from './context';

export type EndStepName = 'assignment' | 'release' | 'clusters';

export interface EndStepResult {
  outcome: 'done' | 'skipped';
  detail: string;
}

export interface EndStep {
  name: EndStepName;
  run(run: EndRun, decision: EndDecision): Promise<EndStepResult>;
}

const done = (detail: string): EndStepResult => ({ outcome: 'done', detail });
const skipped = (detail: string): EndStepResult => ({ outcome: 'skipped', detail });

/** The principal, role definition and deterministic assignment name of the grant, as far as they can be known. */
async function resolveAssignment(run: EndRun): Promise<void> {
  const { engine } = run.deps;
  const r = run.request;
  if (!run.principalId) {
    const identity = await engine.identities.getIdentity({ subscriptionId: r.plan.identity.subscriptionId, resourceGroup: r.plan.identity.resourceGroup, name: r.plan.identity.name });
    const principalId = identity?.principalId ?? r.resources.principalId;
    if (principalId) run.principalId = principalId;
  }
  run.roleDefinitionId ??= await resolveRoleDefinitionId(r, engine);
  if (run.principalId) run.assignmentName = roleAssignmentName(r.plan.roleAssignment.scope, run.principalId, run.roleDefinitionId);
}

export async function deleteTurn(run: EndRun, scope: string): Promise<void> {
  // grant ends come in batches (a timer, the reconciler): they wait behind interactive deletes (a revocation)
  await armDeleteTurn({ ...run.deps.engine, lane: 'batch' }, resolveGrantLimits(run.deps.limits).armDeletes, scopeSubscription(scope) ?? run.request.plan.identity.subscriptionId);
}

/**
 * expiry: azure — Azure's schedule removes the assignment at its end; this is wid-bot's check. Found gone: Azure
 * did it (or this end, before a restart). Still there (an early end, or Azure late past its grace): AdminRemove.
 */
async function endAzureScheduled(run: EndRun, decision: EndDecision): Promise<EndStepResult> {
  const { engine } = run.deps;
  const scope = run.request.plan.roleAssignment.scope;
  const role = run.request.plan.roleAssignment.roleName;
  const schedules = engine.schedules;
  await resolveAssignment(run);
  if (!run.principalId || !run.roleDefinitionId) return skipped(`no identity was ever made for the grant, so no role assignment of '${role}' on ${scope} exists`);
  if (!decision.removeAssignment) return keepAzureScheduled(run, decision);
  const expired = run.grant.end?.reason === 'expired';
  const active = await findAssignment(engine.authorization, scope, run.principalId, run.roleDefinitionId);
  if (active) run.assignmentName = active.name;
  if (!active) {
    if (run.grant.end?.removing) {
      run.assignmentRemoved = true;
      run.removedBy = 'wid-bot';
      return done(`role assignment '${role}' on ${scope} is gone (removed by this end before a restart)`);
    }
    if (expired) {
      run.assignmentRemoved = true;
      run.removedBy = 'azure';
      return done(`Azure's own schedule removed role assignment '${role}' on ${scope} at its end (${run.grant.endsAt ?? 'unknown'}); wid-bot's check found it gone`);
    }
    return skipped(`role assignment '${role}' on ${scope} was already gone (Azure's schedule, or removed by hand)`);
  }
  if (!schedules) throw new TerminalError(`Grant ${run.grant.id} is under Azure's own schedule, but this worker has no schedule adapter to send AdminRemove.`, 'NoScheduleAdapter');
  await markRemoving(run);
  await run.deps.onEndPoint?.('removing', run.grant);
  // AdminRemove is a PUT: it spends ARM's write budget, paced like the deletes of this subscription.
  await deleteTurn(run, scope);
  try {
    await schedules.removeWithSchedule(scope, scheduleRequestName('remove', run.grant.id), run.roleDefinitionId, run.principalId, `wid-bot ${run.grant.id}: ${run.grant.end ? END_REASON_TEXT[run.grant.end.reason] : 'ended'}`);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // Gone meanwhile (Azure's schedule got there first), or this very remove was sent before a restart.
    if (code !== 'RoleAssignmentDoesNotExist' && code !== 'RoleAssignmentRequestExists') throw e;
    if (code === 'RoleAssignmentDoesNotExist' && expired) {
      run.assignmentRemoved = true;
      run.removedBy = 'azure';
      return done(`Azure's own schedule removed role assignment '${role}' on ${scope} while wid-bot's check ran`);
    }
  }
  run.assignmentRemoved = true;
  run.removedBy = 'wid-bot';
  await run.deps.onEndPoint?.('removed', run.grant);
  return done(
    expired
      ? `Azure's schedule had not removed role assignment ${active.id} ('${role}' on ${scope}) by wid-bot's check; wid-bot removed it (AdminRemove)`
      : `removed role assignment ${active.id} ('${role}' on ${scope}) before its end with AdminRemove`,
  );
}

/**
 * expiry: azure, the assignment kept for the grants that share it. When this grant's end was the one Azure's schedule
 * ran to (it had moved it with AdminUpdate) and it ends early, the schedule moves back to the remaining grants' latest
 * end, so Azure still takes the access away on time if wid-bot is gone by then. Best left alone when that end is
 * under Azure's 5 minutes away: wid-bot's own end of the remaining grant removes it.
 */
async function keepAzureScheduled(run: EndRun, decision: EndDecision): Promise<EndStepResult> {
  const scope = run.request.plan.roleAssignment.scope;
  const role = run.request.plan.roleAssignment.roleName;
  const kept = skipped(`role assignment '${role}' on ${scope} kept: ${decision.why}`);
  const schedules = run.deps.engine.schedules;
  const remaining = decision.remainingEndsAt;
  if (!schedules || remaining === undefined || !run.principalId || !run.roleDefinitionId) return kept;
  const principalId = run.principalId;
  const roleGuid = roleDefinitionGuid(run.roleDefinitionId);
  const instance = (await schedules.listScheduleInstances(scope, principalId)).find(
    (i) => normaliseScope(i.scope) === normaliseScope(scope) && i.principalId.toLowerCase() === principalId.toLowerCase() && roleDefinitionGuid(i.roleDefinitionId) === roleGuid,
  );
  const now = (run.deps.now?.() ?? new Date()).getTime();
  if (!instance?.endsAt || Date.parse(instance.endsAt) <= Date.parse(remaining) + 1000) return kept;
  if (Date.parse(remaining) - now < AZURE_SCHEDULE_MIN_SECONDS * 1000) return skipped(`${kept.detail}; Azure's schedule still runs to ${instance.endsAt} (the remaining end, ${remaining}, is under Azure's 5-minute minimum away; wid-bot's end of the remaining grant removes it)`);
  const name = scheduleRequestName('shorten', run.grant.id);
  if (!(await schedules.getScheduleRequest(scope, name))) {
    await deleteTurn(run, scope);
    try {
      await schedules.updateSchedule(scope, name, run.roleDefinitionId, principalId, remaining, `wid-bot ${run.grant.id} ended early; the assignment stays until ${remaining}`);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'RoleAssignmentRequestExists') throw e;
    }
  }
  return skipped(`${kept.detail}; Azure's schedule moved back from ${instance.endsAt} to ${remaining}, the remaining grants' end (AdminUpdate)`);
}

export const assignmentStep: EndStep = {
  name: 'assignment',
  async run(run, decision) {
    if (run.grant.expiry === 'azure') return endAzureScheduled(run, decision);
    const { engine } = run.deps;
    const scope = run.request.plan.roleAssignment.scope;
    const role = run.request.plan.roleAssignment.roleName;
    await resolveAssignment(run);
    if (!run.principalId || !run.assignmentName || !run.roleDefinitionId) return skipped(`no identity was ever made for the grant, so no role assignment of '${role}' on ${scope} exists`);
    const name = run.assignmentName;
    if (!decision.removeAssignment) {
      if (decision.rewriteDescription) {
        const existing = await engine.authorization.getRoleAssignment(scope, name);
        if (existing && existing.description !== decision.rewriteDescription) {
          await engine.authorization.createRoleAssignment(scope, name, run.roleDefinitionId, run.principalId, decision.rewriteDescription);
          return skipped(`role assignment '${role}' on ${scope} kept: ${decision.why}; its description now says "${decision.rewriteDescription}"`);
        }
      }
      return skipped(`role assignment '${role}' on ${scope} kept: ${decision.why}`);
    }
    const existing = await engine.authorization.getRoleAssignment(scope, name);
    if (!existing) {
      // Found gone after this end had started removing it: the crash came between the delete and the record.
      if (run.grant.end?.removing) {
        run.assignmentRemoved = true;
        return done(`role assignment '${role}' on ${scope} is gone (removed by this end before a restart)`);
      }
      return skipped(`role assignment '${role}' on ${scope} was already gone (removed by hand, or with its identity)`);
    }
    await markRemoving(run);
    await run.deps.onEndPoint?.('removing', run.grant);
    await deleteTurn(run, scope);
    await engine.authorization.deleteRoleAssignment(scope, name);
    run.assignmentRemoved = true;
    await run.deps.onEndPoint?.('removed', run.grant);
    return done(`removed role assignment ${existing.id} ('${role}' on ${scope})`);
  },
};

/** Records on the grant that the removal is being sent, before it is. */
async function markRemoving(run: EndRun): Promise<void> {
  if (run.grant.end?.removing) return;
  const r = await run.deps.grants.update(run.grant.id, (g) => (g.end ? { ...g, end: { ...g.end, removing: true } } : `grant ${g.id} has no end to record`));
  if (r.ok) run.grant = r.grant;
}

export const releaseStep: EndStep = {
  name: 'release',
  async run(run, decision) {
    const { engine } = run.deps;
    const sa = `${run.grant.namespace}/${run.grant.serviceAccount}`;
    if (!decision.releaseIdentity) return skipped(`identity, federated credential and ServiceAccount ${sa} kept: ${decision.why}`);
    await resolveAssignment(run);
    if (run.principalId) {
      const subs = new Set([scopeSubscription(run.request.plan.roleAssignment.scope), run.request.plan.identity.subscriptionId].filter((x): x is string => !!x).map((s) => s.toLowerCase()));
      const remaining = (await Promise.all([...subs].map((s) => engine.authorization.listRoleAssignments(`/subscriptions/${s}`, run.principalId)))).flat();
      const others = remaining.filter((a) => a.principalId.toLowerCase() === run.principalId?.toLowerCase() && a.name.toLowerCase() !== run.assignmentName?.toLowerCase());
      if (others.length > 0) {
        return skipped(`identity, federated credential and ServiceAccount ${sa} kept: the identity still holds ${others.map((a) => `role assignment ${a.id}`).join(', ')}`);
      }
    }
    const revoke = { ...run.request, kind: 'revoke' as const, plan: { ...run.request.plan, kind: 'revoke' as const }, steps: [], resources: { ...run.request.resources } };
    const lines: string[] = [];
    const recorder = {
      async recordStep(_id: string, step: StepRecord) {
        if (step.outcome !== 'running' && step.detail) lines.push(step.detail);
      },
      async recordResources() {},
    };
    const { progress: _progress, onStep: _onStep, ...rest } = engine;
    // the grant's ServiceAccount lives on its own cluster's API (the engine's is the default cluster's)
    const kube = run.deps.kubeFor?.(run.request.plan.cluster.name) ?? rest.kube;
    await provisionRevoke(revoke, { ...rest, kube, recorder });
    return done(`no other grant needs ServiceAccount ${sa}'s identity: ${lines.join('; ')}`);
  },
};

/** The end proper: what takes the access away. The release follows as its own job (paced by identity writes, not by the end). */
export const END_STEPS: readonly EndStep[] = [assignmentStep];

export { decideEnd };
