/**
 * The reconciler: at worker start and every interval, ends every grant whose end has passed, reading BOTH
 * records of an end:
 *   - the store: open grants due by their endsAt (a lost delayed job, a week of downtime);
 *   - Azure: the role assignments of wid-bot's identities whose description says `wid-bot <id>; ends <t>`
 *     with t past (a Redis restored from an older backup, or emptied, has never heard of the grant).
 * An assignment found only in Azure is removed under the ServiceAccount's lock unless a live grant in the store
 * still needs it; it is never one wid-bot did not write (the description and the deterministic name say so).
 */
import { isLive, parseAssignmentDescription, assignmentKey, sharedDescription, type Grant } from '../domain/grants';
import { roleAssignmentName } from '../domain/names';
import { TAG_CLUSTER, TAG_NAMESPACE, TAG_SERVICE_ACCOUNT } from '../domain/plan';
import type { ManagedIdentity, RoleAssignment } from '../domain/ports';
import { scopeSubscription } from '../domain/scopes';
import type { Policy } from '../domain/types';
import { isManagedByWid } from '../provision';
import { armDeleteTurn } from '../provision/pacing';
import { withLock } from '../queue/lock';
import { resolveGrantLimits, serviceAccountLockName, type GrantDeps } from './context';
import { endGrant } from './end';

export interface ReconcileReport {
  /** Grants the store knew that this pass ended. */
  ended: number;
  /** Assignments found only in Azure (their grant unknown to the store, or ended there) that this pass removed. */
  removedFromAzure: number;
  /** Ends that failed this pass (retried next pass). */
  failed: number;
  /** Descriptions rewritten because the store knows a later end (an extension Azure had not heard of). */
  rewritten: number;
  ms: number;
}

export interface ReconcileOptions {
  policy: Policy;
  /** Ends run at once (default 16). */
  concurrency?: number;
}

async function pool<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await fn(items[i++] as T);
    }),
  );
}

/** Subscriptions where wid-bot's grants may live: the identities' and every subscription a policy role scope names. */
export function grantSubscriptions(policy: Policy): string[] {
  const subs = new Set<string>([policy.identities.subscriptionId.toLowerCase()]);
  for (const r of policy.roles) for (const s of r.scopes) {
    const sub = scopeSubscription(s);
    if (sub && !sub.includes('*')) subs.add(sub.toLowerCase());
  }
  return [...subs];
}

export async function reconcileOnce(deps: GrantDeps, opts: ReconcileOptions): Promise<ReconcileReport> {
  const t0 = Date.now();
  const now = () => deps.now?.() ?? new Date();
  const log = deps.engine.logger;
  const report: ReconcileReport = { ended: 0, removedFromAzure: 0, failed: 0, rewritten: 0, ms: 0 };
  const concurrency = opts.concurrency ?? 16;

  // 1. The store: every open grant whose end has passed (also ends that failed, or stopped half-way).
  const due = await deps.grants.dueIds(now().getTime());
  await pool(due, concurrency, async (id) => {
    try {
      const r = await endGrant(id, deps);
      if (r.kind === 'ended') report.ended++;
    } catch (e) {
      report.failed++;
      log?.warn({ requestId: id, err: e instanceof Error ? e.message : String(e) }, 'reconciler: ending the grant failed; the next pass tries again');
    }
  });

  // 2. Azure: the assignments of wid-bot's identities whose description says their end has passed.
  const identities = new Map<string, ManagedIdentity>();
  for await (const i of deps.engine.identities.listIdentities(opts.policy.identities.subscriptionId, opts.policy.identities.resourceGroup)) {
    if (isManagedByWid(i.tags) && i.principalId) identities.set(i.principalId.toLowerCase(), i);
  }
  if (identities.size === 0) return { ...report, ms: Date.now() - t0 };
  const overdue: { a: RoleAssignment; identity: ManagedIdentity; requestId: string }[] = [];
  for (const sub of grantSubscriptions(opts.policy)) {
    const listed = await deps.engine.authorization.listRoleAssignments(`/subscriptions/${sub}`);
    for (const a of listed) {
      const identity = identities.get(a.principalId.toLowerCase());
      const d = parseAssignmentDescription(a.description);
      if (!identity || !d?.endsAt || Date.parse(d.endsAt) > now().getTime()) continue;
      if (a.name.toLowerCase() !== roleAssignmentName(a.scope, a.principalId, a.roleDefinitionId)) continue; // not named by wid-bot
      overdue.push({ a, identity, requestId: d.requestId });
    }
  }
  await pool(overdue, concurrency, async ({ a, identity, requestId }) => {
    try {
      const r = await removeOverdue(deps, a, identity, requestId);
      if (r === 'removed') report.removedFromAzure++;
      if (r === 'rewritten') report.rewritten++;
      if (r === 'ended') report.ended++;
    } catch (e) {
      report.failed++;
      log?.warn({ requestId, assignment: a.id, err: e instanceof Error ? e.message : String(e) }, 'reconciler: removing an overdue role assignment failed; the next pass tries again');
    }
  });
  report.ms = Date.now() - t0;
  if (report.ended || report.removedFromAzure || report.failed || report.rewritten) log?.info({ ...report }, 'grants reconciled');
  return report;
}

async function removeOverdue(deps: GrantDeps, a: RoleAssignment, identity: ManagedIdentity, requestId: string): Promise<'removed' | 'rewritten' | 'ended' | 'kept' | 'gone'> {
  const known = await deps.grants.get(requestId);
  // The store knows the grant and it is not over: the store's pass (or a later one) ends it properly.
  if (known && known.grant.state !== 'ended') {
    if (isLive(known.grant) && known.grant.endsAt && Date.parse(known.grant.endsAt) > (deps.now?.() ?? new Date()).getTime()) return rewrite(deps, a, known.grant);
    const r = await endGrant(requestId, deps);
    return r.kind === 'ended' ? 'ended' : 'kept';
  }
  const sa = { clusterName: identity.tags[TAG_CLUSTER] ?? '', namespace: identity.tags[TAG_NAMESPACE] ?? '', serviceAccount: identity.tags[TAG_SERVICE_ACCOUNT] ?? '' };
  const limits = resolveGrantLimits(deps.limits);
  const { engine } = deps;
  return withLock(
    engine.redis,
    engine.keys.lock(serviceAccountLockName(sa)),
    limits.lockTtlMs,
    async () => {
      const fresh = await engine.authorization.getRoleAssignment(a.scope, a.name);
      if (!fresh) return 'gone';
      const d = parseAssignmentDescription(fresh.description);
      if (!d?.endsAt || Date.parse(d.endsAt) > (deps.now?.() ?? new Date()).getTime()) return 'kept'; // a new grant wrote a later end meanwhile
      // A live grant in the store on the same assignment (its description not yet rewritten) keeps it.
      const live = (await deps.grants.openOfServiceAccount(sa)).filter(isLive);
      const sharer = await findSharer(deps, live, fresh);
      if (sharer) return rewrite(deps, fresh, sharer);
      await armDeleteTurn({ ...engine, lane: 'batch' }, limits.armDeletes, scopeSubscription(a.scope) ?? identity.subscriptionId);
      await engine.authorization.deleteRoleAssignment(a.scope, a.name);
      engine.logger?.warn(
        { requestId, assignment: a.id, endsAt: d.endsAt },
        `reconciler: removed role assignment ${a.id}, whose grant ${requestId} ended at ${d.endsAt} (found only in Azure: the store did not know the grant, or had recorded its end)`,
      );
      return 'removed';
    },
    { waitMs: limits.lockTtlMs + 1000 },
  );
}

/** The live grant whose request made this very assignment, if any. */
async function findSharer(deps: GrantDeps, live: readonly Grant[], a: RoleAssignment): Promise<Grant | undefined> {
  for (const g of live) {
    const r = await deps.requests.get(g.id);
    const id = r?.resources.roleAssignmentId?.toLowerCase();
    if (id && id.endsWith(`/${a.name.toLowerCase()}`)) return g;
  }
  return undefined;
}

async function rewrite(deps: GrantDeps, a: RoleAssignment, g: Grant): Promise<'rewritten' | 'kept'> {
  const sharers = (await deps.grants.openOfServiceAccount(g)).filter((o) => isLive(o) && assignmentKey(o) === assignmentKey(g));
  const description = sharedDescription(sharers.length ? sharers : [g]);
  if (!description || description === a.description) return 'kept';
  await deps.engine.authorization.createRoleAssignment(a.scope, a.name, a.roleDefinitionId, a.principalId, description);
  return 'rewritten';
}

/** Runs reconcileOnce now and every intervalMs, one pass at a time across all workers (a Redis lock). */
export function startReconciler(deps: GrantDeps, opts: ReconcileOptions & { intervalMs: number; onPass?: (r: ReconcileReport) => void }): { close(): Promise<void>; runNow(): Promise<ReconcileReport | undefined> } {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<ReconcileReport | undefined> | undefined;
  let closed = false;
  const pass = async (): Promise<ReconcileReport | undefined> => {
    const ttl = Math.max(30_000, opts.intervalMs);
    try {
      const r = await withLock(deps.engine.redis, deps.engine.keys.lock('grant-reconciler'), ttl, () => reconcileOnce(deps, opts), { waitMs: 0 });
      opts.onPass?.(r);
      return r;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code !== 'LockBusy') deps.engine.logger?.warn({ err: e instanceof Error ? e.message : String(e) }, 'reconciler pass failed; the next one tries again');
      return undefined;
    }
  };
  const runNow = (): Promise<ReconcileReport | undefined> => (running ??= pass().finally(() => (running = undefined)));
  const loop = () => {
    if (closed) return;
    timer = setTimeout(() => void runNow().finally(loop), opts.intervalMs);
    timer.unref?.();
  };
  void runNow().finally(loop);
  return {
    runNow,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
