/**
 * The `/wid refederate <cluster>` flow behind Slack (and anything else that drives it): plan → one approval for
 * the batch → the worker writes and verifies → a second confirmed step removes the old credentials. Every change
 * of state is a compare-and-set in Redis; the cluster's claim allows one refederate per cluster at a time.
 */
import { randomBytes } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RetryableError, TerminalError, WidError } from '../domain/errors';
import { isApprover, isOperator } from '../domain/policy';
import { applyBatchAction, namespacesOf, removableKeys, type BatchAction, type RefederationBatch } from '../domain/refederate-batch';
import type { Actor, Policy } from '../domain/types';
import { removeOldCredentials, runRefederate, type RefederateDeps } from '../provision/refederate';
import { WID_BACKOFF_TYPE } from '../queue/backoff';
import { REFEDERATE_QUEUE } from '../queue/names';
import { inReadLane } from '../azure/pacing';
import { createQueueWorker, type WidWorker } from '../queue/worker';
import { storeKeys } from '../store/keys';
import type { RefederationStore } from '../store/refederations';
import { planClusterRefederate, type RefederatePlanDeps } from './refederate-plan';

/** `ref-` + 10 base32 characters. */
export function newBatchId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  for (const b of randomBytes(10)) out += alphabet[b % 32];
  return `ref-${out}`;
}


/** Where a batch is shown and kept up to date (the Slack message with its buttons). */
export interface RefederateNotifier {
  /** Posts the batch's approval message; returns where it lives. */
  post(batch: RefederationBatch, channel: string): Promise<{ channel: string; ts: string }>;
  /** Shows the batch's current state where it was posted. Never throws for delivery problems. */
  update(batch: RefederationBatch): Promise<void>;
}

// ───────────────────────────── queue ─────────────────────────────

export type RefederateJobKind = 'run' | 'remove' | 'expire';
export interface RefederateJobData {
  batchId: string;
  kind: RefederateJobKind;
}

export class RefederateQueue {
  readonly queue: Queue<RefederateJobData>;
  private readonly opts: JobsOptions = { attempts: 6, backoff: { type: WID_BACKOFF_TYPE }, removeOnComplete: { age: 7 * 86_400 }, removeOnFail: { age: 30 * 86_400 } };

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue<RefederateJobData>(REFEDERATE_QUEUE, { connection, prefix: storeKeys(prefix).bullPrefix });
    this.queue.on('error', () => {});
  }

  /** One job per batch, step and version: a second click on the same state queues nothing new. */
  async enqueue(batch: RefederationBatch, kind: RefederateJobKind): Promise<void> {
    try {
      await this.queue.add(kind, { batchId: batch.id, kind }, { ...this.opts, jobId: `${kind}-${batch.id}-${batch.version}` });
    } catch (e) {
      throw new RetryableError(`Could not queue refederate ${batch.id}: ${e instanceof Error ? e.message : String(e)}.`, 'QueueUnavailable');
    }
  }

  /** A pending batch ends at its expiresAt: the worker marks it expired and its message loses its buttons. */
  async scheduleExpiry(batch: RefederationBatch, now: Date): Promise<void> {
    const delay = Math.max(0, Date.parse(batch.expiresAt) - now.getTime());
    try {
      await this.queue.add('expire', { batchId: batch.id, kind: 'expire' }, { ...this.opts, delay, jobId: `expire-${batch.id}` });
    } catch (e) {
      throw new RetryableError(`Could not schedule the expiry of refederate ${batch.id}: ${e instanceof Error ? e.message : String(e)}.`, 'QueueUnavailable');
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

// ───────────────────────────── service ─────────────────────────────

export interface RefederateServiceDeps {
  store: RefederationStore;
  queue: RefederateQueue;
  policy: Policy;
  plan: RefederatePlanDeps;
  notifier: RefederateNotifier;
  groupsOf(userId: string): Promise<string[]>;
  approvalsChannelFallback?: string;
  now?: () => Date;
}

export type RefederateSubmit =
  | { kind: 'created'; batch: RefederationBatch }
  | { kind: 'refused'; message: string }
  | { kind: 'busy'; holder: string; message: string };

export interface RefederateActionOutcome {
  changed: boolean;
  message: string;
  batch?: RefederationBatch;
}

const CAS_ATTEMPTS = 8;

type BatchUpdate = (b: RefederationBatch) => { ok: true; value: RefederationBatch } | { ok: false; error: { message: string } };

/**
 * Applies `f` by compare-and-set on the freshest copy, re-reading after a lost race; the version and time are set
 * here, so `f` may be a plain patch. The one update loop of the web side and the worker.
 */
async function casUpdate(
  store: RefederationStore,
  id: string,
  f: BatchUpdate,
  now: () => Date,
  contention: string,
): Promise<{ ok: true; value: RefederationBatch } | { ok: false; missing: true } | { ok: false; missing: false; message: string }> {
  for (let i = 0; i < CAS_ATTEMPTS; i++) {
    const cur = await store.get(id);
    if (!cur) return { ok: false, missing: true };
    const next = f(cur);
    if (!next.ok) return { ok: false, missing: false, message: next.error.message };
    const value = { ...next.value, version: cur.version + 1, updatedAt: now().toISOString() };
    if (await store.compareAndSet(cur, value)) return { ok: true, value };
  }
  throw new RetryableError(`Refederate ${id} kept changing${contention}.`, 'StateContention');
}

export class RefederateService {
  private readonly now: () => Date;

  constructor(private readonly deps: RefederateServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  get(id: string): Promise<RefederationBatch | undefined> {
    return this.deps.store.get(id);
  }

  private async mayApprove(batch: Pick<RefederationBatch, 'plan'>, userId: string): Promise<boolean> {
    const groups = await this.deps.groupsOf(userId);
    const namespaces = namespacesOf(batch);
    if (namespaces.length === 0) return principalsAnyApprover(this.deps.policy, userId, groups);
    return namespaces.every((ns) => isApprover(this.deps.policy, ns, userId, groups));
  }

  private async mayConfirm(batch: RefederationBatch, userId: string): Promise<boolean> {
    return batch.requester.id === userId || (await this.mayApprove(batch, userId));
  }

  /** `/wid refederate <cluster>`: a pending batch with its approval message, or why not. */
  async submit(user: Actor, cluster: string, reason?: string): Promise<RefederateSubmit> {
    const { policy, store } = this.deps;
    const groups = await this.deps.groupsOf(user.id);
    const planned = await planClusterRefederate(this.deps.plan, cluster);
    if (!planned.ok) return { kind: 'refused', message: planned.error.message };
    const plan = planned.value;
    const draft = { plan };
    const allowed = isOperator(policy, user.id, groups) || principalsAnyApprover(policy, user.id, groups) || (await this.mayApprove(draft, user.id));
    if (!allowed) return { kind: 'refused', message: `Refederating cluster ${plan.cluster} changes identities of several teams: only wid-bot's operators or approvers may ask for it.` };
    if (plan.items.length === 0) {
      const parts = [
        plan.skipped.length ? `${plan.skipped.length} identit${plan.skipped.length === 1 ? 'y is' : 'ies are'} at the 20-credential limit (${plan.skipped.map((s) => s.identity.name).join(', ')})` : '',
        plan.gone.length ? `${plan.gone.length} credential${plan.gone.length === 1 ? ' trusts a ServiceAccount' : 's trust ServiceAccounts'} that no longer exist${plan.gone.length === 1 ? 's' : ''} (${plan.gone.map((g) => g.subject).join(', ')}; wid-bot does not recreate them)` : '',
      ].filter(Boolean);
      return { kind: 'refused', message: `No identity trusting a previous issuer of cluster ${plan.cluster} needs a credential for its issuer ${plan.currentIssuer}${parts.length ? `: ${parts.join('; ')}` : ''}.` };
    }
    const channel = policy.approvalsChannel ?? this.deps.approvalsChannelFallback;
    if (!channel) return { kind: 'refused', message: 'The policy names no approvals channel and none is configured, so nobody could approve the refederate. Ask the platform team to set approvalsChannel.' };
    const now = this.now();
    const batch: RefederationBatch = {
      id: newBatchId(),
      cluster: plan.cluster,
      state: 'pending',
      requester: user,
      plan,
      keepOldCredentials: policy.refederateKeepOldCredentials === true,
      results: [],
      removal: [],
      ...(reason?.trim() ? { reason: reason.trim() } : {}),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + policy.requestTtlSeconds * 1000).toISOString(),
      version: 0,
    };
    const created = await store.create(batch);
    if (!created.created) {
      const other = await store.get(created.holder);
      return {
        kind: 'busy',
        holder: created.holder,
        message: `Cluster ${plan.cluster} already has refederate ${created.holder}${other ? ` (${other.state}, asked by <@${other.requester.id}>)` : ''}; only one refederate of a cluster runs at a time. Wait for it to finish, then look again with /wid audit.`,
      };
    }
    try {
      const slack = await this.deps.notifier.post(batch, channel);
      await this.transitionTo(batch.id, (b) => ok({ ...b, slack }));
      // best effort: an unscheduled expiry only means approving it later is refused as expired
      await this.deps.queue.scheduleExpiry(batch, now).catch(() => undefined);
      return { kind: 'created', batch: { ...batch, slack } };
    } catch (e) {
      // nobody could approve a batch without its message: give the cluster back
      await this.transition(batch.id, { type: 'expire' }).catch(() => undefined);
      throw e;
    }
  }

  private async transitionTo(id: string, f: BatchUpdate): Promise<RefederationBatch> {
    const r = await casUpdate(this.deps.store, id, f, this.now, '; try again');
    if (r.ok) return r.value;
    throw r.missing ? new TerminalError(`There is no refederate ${id}.`, 'UnknownBatch') : new TerminalError(r.message, 'Refused');
  }

  /** Applies an action by compare-and-set on the freshest copy. */
  async transition(id: string, action: BatchAction): Promise<RefederationBatch> {
    return this.transitionTo(id, (b) => applyBatchAction(b, action, this.now()));
  }

  private async act(id: string, build: (b: RefederationBatch) => Promise<BatchAction>, after: (b: RefederationBatch) => Promise<string>): Promise<RefederateActionOutcome> {
    const cur = await this.deps.store.get(id);
    if (!cur) return { changed: false, message: `There is no refederate ${id}.` };
    try {
      const action = await build(cur);
      const batch = await this.transition(id, action);
      const message = await after(batch);
      await this.deps.notifier.update(batch);
      return { changed: true, message, batch };
    } catch (e) {
      if (e instanceof WidError && e.kind === 'terminal') return { changed: false, message: e.message };
      throw e;
    }
  }

  approve(id: string, actor: Actor): Promise<RefederateActionOutcome> {
    return this.act(
      id,
      async (b) => ({ type: 'approve', actor, actorMayApprove: await this.mayApprove(b, actor.id) }),
      async (b) => {
        await this.deps.queue.enqueue(b, 'run');
        return `You approved refederate ${b.id}: the worker now writes ${b.plan.items.filter((i) => !i.present).length} credential(s) for ${b.plan.currentIssuer} and verifies ${b.plan.items.length} ServiceAccount(s).`;
      },
    );
  }

  deny(id: string, actor: Actor): Promise<RefederateActionOutcome> {
    return this.act(id, async (b) => ({ type: 'deny', actor, actorMayApprove: await this.mayApprove(b, actor.id) }), async (b) => `You denied refederate ${b.id}; nothing was changed.`);
  }

  confirmRemoval(id: string, actor: Actor): Promise<RefederateActionOutcome> {
    return this.act(
      id,
      async (b) => ({ type: 'confirmRemoval', actor, actorMayConfirm: await this.mayConfirm(b, actor.id) }),
      async (b) => {
        await this.deps.queue.enqueue(b, 'remove');
        return `The old credentials of ${removableKeys(b).length} verified item(s) of refederate ${b.id} are being removed.`;
      },
    );
  }

  retry(id: string, actor: Actor): Promise<RefederateActionOutcome> {
    return this.act(
      id,
      async (b) => ({ type: 'retry', actor, actorMayConfirm: await this.mayConfirm(b, actor.id) }),
      async (b) => {
        await this.deps.queue.enqueue(b, 'run');
        return `Retrying the ${b.runKeys?.length ?? 0} failed item(s) of refederate ${b.id}.`;
      },
    );
  }
}

function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

function principalsAnyApprover(policy: Policy, userId: string, groups: readonly string[]): boolean {
  return policy.approvers.users.includes(userId) || policy.approvers.groups.some((g) => groups.includes(g));
}

// ───────────────────────────── worker ─────────────────────────────

export interface RefederateWorkerConfig {
  redisUrl: string;
  prefix: string;
  store: RefederationStore;
  deps: RefederateDeps;
  notifier?: Pick<RefederateNotifier, 'update'>;
  logger?: { info(o: object, m?: string): void; warn(o: object, m?: string): void };
  concurrency?: number;
  /** The Kubernetes API of the batch's cluster (verification asks its ServiceAccount tokens there); deps.kube otherwise. */
  kubeFor?: (clusterName: string) => RefederateDeps['kube'];
}

/** Applies an action by compare-and-set; undefined when the batch is gone or moved on. */
async function workerTransition(store: RefederationStore, id: string, action: BatchAction): Promise<RefederationBatch | undefined> {
  const r = await casUpdate(store, id, (b) => applyBatchAction(b, action, new Date()), () => new Date(), ' while the worker updated it');
  return r.ok ? r.value : undefined;
}

/** Runs one step of a batch: the writes and verification (`run`) or the removal of old credentials (`remove`). */
export async function processRefederateJob(config: Omit<RefederateWorkerConfig, 'redisUrl' | 'prefix'>, data: RefederateJobData, signal?: AbortSignal): Promise<RefederationBatch | undefined> {
  const { store } = config;
  let batch = await store.get(data.batchId);
  if (!batch) return undefined;
  const base = config.kubeFor ? { ...config.deps, kube: config.kubeFor(batch.cluster) } : config.deps;
  const deps = signal ? { ...base, signal } : base;
  if (data.kind === 'expire') {
    // Still waiting for approval at its expiresAt: it expires, gives its cluster back, and its message says so.
    if (batch.state !== 'pending') return batch;
    batch = await workerTransition(store, batch.id, { type: 'expire' });
  } else if (data.kind === 'run') {
    if (batch.state === 'approved') batch = await workerTransition(store, batch.id, { type: 'start' });
    if (!batch || batch.state !== 'running') return batch;
    await config.notifier?.update(batch);
    const all = batch.plan.items.map((i) => i.key);
    const keys = batch.runKeys ?? all;
    const first = batch.results.length === 0;
    const results = await runRefederate(batch.plan, deps, first ? {} : { only: new Set(keys) });
    batch = await workerTransition(store, batch.id, { type: 'ran', results });
  } else {
    if (batch.state !== 'removing') return batch;
    const removal = await removeOldCredentials(batch.plan, new Set(removableKeys(batch)), deps);
    batch = await workerTransition(store, batch.id, { type: 'removed', removal });
  }
  if (batch) {
    config.logger?.info({ batchId: batch.id, state: batch.state }, 'refederate step finished');
    await config.notifier?.update(batch);
  }
  return batch;
}

export function startRefederateWorker(config: RefederateWorkerConfig): WidWorker<RefederateJobData> {
  return createQueueWorker<RefederateJobData>(REFEDERATE_QUEUE, config.redisUrl, config.prefix, async (data, helpers) => {
    // a re-federation is a batch: its ARM reads wait behind any single request's
    await inReadLane('batch', () => processRefederateJob(config, data, helpers.signal));
  }, { concurrency: config.concurrency ?? 2, onError: (e) => config.logger?.warn({ err: e.message }, 'refederate worker error') });
}
