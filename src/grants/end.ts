/**
 * The runner that ends one grant. It holds the grant's request lock (so the end never runs beside the
 * grant's own provisioning) and the ServiceAccount's lock (so two grants sharing an assignment decide one
 * after the other: exactly one of them removes it), reads the other grants, decides, runs the steps, records.
 * Resumable: a run killed at any point leaves the grant `ending`; the next run (the job's retry or the
 * reconciler) does what is left and finds what is done.
 */
import { TerminalError, WidError } from '../domain/errors';
import { completeEnd, decideEnd, failEnd, isDue, requestEnd, type Grant, type GrantEndReason } from '../domain/grants';
import type { Actor } from '../domain/types';
import { withLock } from '../queue/lock';
import { requestLockName, resolveGrantLimits, serviceAccountLockName, type EndRun, type GrantDeps } from './context';
import { END_STEPS, releaseStep } from './end-steps';
import { clustersEndStep } from './end-clusters';

export type EndOutcome =
  | { kind: 'ended'; grant: Grant }
  | { kind: 'already-ended'; grant: Grant }
  | { kind: 'not-due'; grant: Grant }
  | { kind: 'missing' };

export interface EndOptions {
  /** For an end nobody asked for: expiry noticed by the job or the reconciler. */
  reason?: GrantEndReason;
  actor?: Actor;
}

/** Ends the grant if it is due or its end was asked for; idempotent. Throws WidError (retryable ones are retried by the caller). */
export async function endGrant(grantId: string, deps: GrantDeps, opts: EndOptions = {}): Promise<EndOutcome> {
  const limits = resolveGrantLimits(deps.limits);
  const { engine } = deps;
  const first = await deps.grants.get(grantId);
  if (!first) return { kind: 'missing' };
  if (first.grant.state === 'ended') return { kind: 'already-ended', grant: first.grant };
  return withLock(engine.redis, engine.keys.lock(requestLockName(grantId)), limits.lockTtlMs, () =>
    withLock(engine.redis, engine.keys.lock(serviceAccountLockName(first.grant)), limits.lockTtlMs, () => endLocked(grantId, deps, opts), { waitMs: limits.lockTtlMs + 1000 }),
    { waitMs: limits.lockWaitMs },
  );
}

async function endLocked(grantId: string, deps: GrantDeps, opts: EndOptions): Promise<EndOutcome> {
  const now = () => deps.now?.() ?? new Date();
  const cur = await deps.grants.get(grantId);
  if (!cur) return { kind: 'missing' };
  let grant = cur.grant;
  if (grant.state === 'ended') return { kind: 'already-ended', grant };
  if (grant.state === 'active') {
    if (!isDue(grant, now())) return { kind: 'not-due', grant };
    // Azure's own schedule removes it; wid-bot checks (and removes what is left) once Azure's grace is over.
    const checkAt = grant.expiry === 'azure' && grant.endsAt ? Date.parse(grant.endsAt) + resolveGrantLimits(deps.limits).azureGraceMs : undefined;
    if (checkAt !== undefined && now().getTime() < checkAt) {
      await deps.onCheckDue?.(grant, checkAt);
      return { kind: 'not-due', grant };
    }
    const asked = requestEnd(grant, { reason: opts.reason ?? 'expired', actor: opts.actor ?? { id: 'system' }, now: now() });
    if (!asked.ok) return { kind: 'not-due', grant };
    if (!(await deps.grants.compareAndSet(cur, asked.value))) throw new WidError(`Grant ${grantId} changed while its end was being recorded.`, 'retryable', 'GrantContention');
    grant = asked.value;
    await deps.onEndPoint?.('ending', grant);
  }
  const request = await deps.requests.get(grantId);
  if (!request) {
    throw new TerminalError(`Grant ${grantId} has no request record, so wid-bot cannot tell which identity it used. The reconciler ends it from the role assignment Azure keeps.`, 'GrantWithoutRequest');
  }
  const others = (await deps.grants.openOfServiceAccount(grant)).filter((o) => o.id !== grant.id);
  const run: EndRun = {
    grant,
    request,
    deps,
    others,
    ...(request.resources.principalId ? { principalId: request.resources.principalId } : {}),
    assignmentRemoved: false,
    notes: [],
  };
  const decision = decideEnd(grant, others);
  // a multi-cluster grant's other clusters lose their part with the role (src/grants/end-clusters.ts)
  for (const step of [...END_STEPS, clustersEndStep]) {
    const t0 = Date.now();
    try {
      const r = await step.run(run, decision);
      run.notes.push(r.detail);
      deps.engine.logger?.info({ requestId: grantId, grantStep: step.name, outcome: r.outcome, ms: Date.now() - t0 }, r.detail);
    } catch (e) {
      const err = e instanceof WidError ? e : new TerminalError(`Unexpected error: ${e instanceof Error ? e.message : String(e)}`, 'Unexpected');
      deps.engine.logger?.warn({ requestId: grantId, grantStep: step.name, code: err.code, kind: err.kind }, `ending grant ${grantId}: ${err.message}`);
      throw err;
    }
  }
  // The record says the assignment is gone when this end removed it, now or before a restart.
  const assignmentRemoved = run.assignmentRemoved || (run.grant.end?.removing === true && decision.removeAssignment);
  const saved = await deps.grants.update(grantId, (g) => (g.state === 'ended' ? `grant ${grantId} already ended` : completeEnd(g, { now: now(), assignmentRemoved, notes: run.notes, ...(run.removedBy ? { removedBy: run.removedBy } : {}), ...(run.clusterEnd ? { clusters: run.clusterEnd } : {}) })));
  if (!saved.ok) {
    const latest = await deps.grants.get(grantId);
    if (latest?.grant.state === 'ended') return { kind: 'already-ended', grant: latest.grant };
    throw new WidError(saved.message, 'retryable', 'GrantContention');
  }
  const ended = saved.grant;
  await deps.onEndPoint?.('ended', ended);
  if (decision.releaseIdentity) await deps.onReleaseDue?.(ended);
  const lateness = ended.endsAt && ended.end?.reason === 'expired' ? Date.parse(ended.end.endedAt ?? '') - Date.parse(ended.endsAt) : undefined;
  deps.onEnded?.(ended, lateness);
  deps.engine.logger?.info({ requestId: grantId, reason: ended.end?.reason, assignmentRemoved, removedBy: ended.end?.removedBy, latenessMs: lateness }, `grant ${grantId} ended`);
  if (deps.notifier) await deps.notifier.ended(ended).catch(() => undefined);
  return { kind: 'ended', grant: ended };
}

/**
 * The end kept failing (its retries are used up): record it and say so loudly, once per failure: DM the
 * requester and approvers, post in the approvals channel, count it, and log an alert-worthy line.
 */
export async function reportEndFailure(grantId: string, deps: GrantDeps, error: Error, attempts: number): Promise<void> {
  const now = deps.now?.() ?? new Date();
  const r = await deps.grants.update(grantId, (g) => (g.state === 'ending' ? failEnd(g, { now, message: error.message, attempts }) : `grant ${grantId} is ${g.state}`));
  if (!r.ok) return;
  deps.onEndFailed?.(r.grant);
  deps.engine.logger?.error(
    { alert: 'GrantEndFailed', requestId: grantId, attempts, code: (error as { code?: unknown }).code, endsAt: r.grant.endsAt },
    `ALERT: grant ${grantId} (${r.grant.roleName} on ${r.grant.scope} for ${r.grant.namespace}/${r.grant.serviceAccount}) should have ended but its role assignment${r.grant.alsoClusters?.length ? ` or its part on ${r.grant.alsoClusters.join(', ')}` : ''} could not be removed: ${error.message}. The reconciler keeps trying; remove it by hand if this persists.`,
  );
  if (deps.notifier) await deps.notifier.endFailed(r.grant, error.message).catch(() => undefined);
}

/**
 * After an end that left no other grant of the ServiceAccount: revoke the rest as `/wid revoke` does, deciding
 * again under the ServiceAccount's lock (a new grant may have started meanwhile). Idempotent.
 */
export async function releaseGrant(grantId: string, deps: GrantDeps): Promise<string> {
  const limits = resolveGrantLimits(deps.limits);
  const { engine } = deps;
  const first = await deps.grants.get(grantId);
  if (!first || first.grant.state !== 'ended') return `grant ${grantId} has not ended: nothing to release`;
  if (first.grant.end?.release) return first.grant.end.release.detail;
  return withLock(
    engine.redis,
    engine.keys.lock(serviceAccountLockName(first.grant)),
    limits.lockTtlMs,
    async () => {
      const request = await deps.requests.get(grantId);
      if (!request) return `grant ${grantId} has no request record: its identity is left (it holds no role from this grant)`;
      const others = (await deps.grants.openOfServiceAccount(first.grant)).filter((o) => o.id !== grantId);
      const decision = decideEnd({ ...first.grant, state: 'active' }, others);
      const run: EndRun = { grant: first.grant, request, deps, others, ...(request.resources.principalId ? { principalId: request.resources.principalId } : {}), assignmentRemoved: false, notes: [] };
      const r = await releaseStep.run(run, { ...decision, removeAssignment: false });
      const at = (deps.now?.() ?? new Date()).toISOString();
      await deps.grants.update(grantId, (g) => (g.end ? { ...g, end: { ...g.end, release: { at, detail: r.detail } }, updatedAt: at } : `grant ${grantId} has no end`));
      engine.logger?.info({ requestId: grantId, grantStep: 'release', outcome: r.outcome }, r.detail);
      return r.detail;
    },
    { waitMs: limits.lockTtlMs + 1000 },
  );
}
