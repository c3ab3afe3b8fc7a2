import { revokeAllClusters } from '../domain/revoke-all';
import type { Redis } from 'ioredis';
import { closeConnection, connectProducer } from './connection';
import { TerminalError } from '../domain/errors';
import type { RequestStore } from '../domain/ports';
import type { ProvisionedResources, RequestState, StepName, StepRecord, TransitionEvent, WidRequest } from '../domain/types';
import { storeKeys, type StoreKeys } from './keys';
import { translateRedisError } from './lua';
import { serviceAccountKey } from '../domain/grants';
import { COMPARE_AND_SET, CREATE_REQUEST, DELETE_FIELDS_WITH_PREFIX, MERGE_FIELDS, RELEASE_OPEN_KEY, RESERVE_OPEN_KEY } from './scripts';

/** States after which the open-request reservation is released. `failed` keeps it: a failed request can be retried. */
export const OPEN_KEY_RELEASING_STATES: readonly RequestState[] = ['succeeded', 'denied', 'expired', 'cancelled'];

/** The order steps are listed in, whatever order they were recorded in. */
const STEP_ORDER: readonly StepName[] = ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'];

const STEP_FIELD = 'step:';
const RESOURCE_FIELD = 'res:';

export interface RedisRequestStoreOptions {
  /** Key prefix (default `wid`). */
  prefix?: string;
  /** Cap the audit stream at about this many entries; 0 (default) keeps everything. */
  auditMaxLen?: number;
}

export type ReserveOpenKeyResult = { ok: true } | { ok: false; existingId: string };

/** A partial resources update: a value sets the field, `null` removes it, a missing key leaves it as it is. */
export type ResourcesPatch = { [K in keyof ProvisionedResources]?: ProvisionedResources[K] | null };

/** One entry of the audit stream. */
/** Request ids are one key segment: no separator, bounded length. */
const SAFE_ID = /^[A-Za-z0-9_-]{1,100}$/;

export interface AuditEntry {
  /** Stream entry id (`<ms>-<seq>`), usable as `after` to read on. */
  streamId: string;
  requestId: string;
  actor: string;
  actorName?: string;
  from: RequestState | null;
  to: RequestState;
  reason?: string;
  at: string;
}

/**
 * Requests in Redis. State changes go through compareAndSet (a Lua script: compare state+updatedAt, write,
 * history, audit, indexes in one step). Worker progress (steps, resources) lives in separate hash fields that
 * compareAndSet never writes, so the web side's transitions and the worker's progress never overwrite each other.
 */
export class RedisRequestStore implements RequestStore {
  readonly keys: StoreKeys;
  private readonly auditMaxLen: number;

  constructor(
    readonly redis: Redis,
    opts: RedisRequestStoreOptions = {},
    private readonly ownsConnection = false,
  ) {
    this.keys = storeKeys(opts.prefix);
    this.auditMaxLen = opts.auditMaxLen ?? 0;
  }

  /** Connects its own client (fails fast while Redis is down instead of queueing commands) and waits until ready. */
  static async connect(redisUrl: string, opts: RedisRequestStoreOptions = {}): Promise<RedisRequestStore> {
    return new RedisRequestStore(await connectProducer(redisUrl), opts, true);
  }

  /** Closes the connection if this store opened it. */
  async close(): Promise<void> {
    if (this.ownsConnection) await closeConnection(this.redis);
  }

  /** Readiness: true when Redis answers PING within timeoutMs. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.redis.ping().then((r) => r === 'PONG', () => false), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async create(request: WidRequest, event: TransitionEvent): Promise<void> {
    if (!SAFE_ID.test(request.id)) {
      throw new TerminalError(`"${request.id.slice(0, 120)}" cannot be a request id: use letters, digits, '-' and '_' only (at most 100).`, 'BadRequestId');
    }
    const k = this.keys;
    const fields: string[] = ['doc', docJson(request), 'state', request.state, 'updatedAt', request.updatedAt, 'createdAt', request.createdAt, 'requester', request.requester.id];
    for (const s of request.steps) fields.push(STEP_FIELD + s.step, JSON.stringify(s));
    for (const [name, value] of Object.entries(request.resources)) {
      if (value !== undefined) fields.push(RESOURCE_FIELD + name, JSON.stringify(value));
    }
    const result = await this.run('store the request', () =>
      CREATE_REQUEST.run(
        this.redis,
        [k.request(request.id), k.history(request.id), k.audit, k.pending, k.byRequester(request.requester.id), k.openKeyOf(request.id)],
        [request.id, epochMs(request.createdAt), request.state, JSON.stringify(event), this.auditMaxLen, k.openRequest(''), fields.length, ...fields, ...auditFields(event)],
      ),
    );
    if (result !== 1) {
      throw new TerminalError(`A request with id ${request.id} already exists; a new request needs a new id.`, 'RequestExists');
    }
    this.announce(request.id);
  }

  /** Tells listeners (the App Home) that a request changed; best effort, never delays or fails the change. */
  private announce(id: string): void {
    this.redis.publish(this.keys.changes, `request ${id}`).catch(() => undefined);
  }

  async get(id: string): Promise<WidRequest | undefined> {
    // An id that is no id (e.g. "<id>:history" from a forged click) must not reach another key of the layout.
    if (!SAFE_ID.test(id)) return undefined;
    const hash = await this.run('read the request', () => this.redis.hgetall(this.keys.request(id)));
    return fromHash(hash);
  }

  /**
   * Replaces the request iff its stored state and updatedAt equal `expected`'s, appending `event` to the history
   * and the audit stream in the same step. `next.steps` and `next.resources` are ignored (they belong to
   * recordStep / recordResources). If `next.updatedAt` would not move forward, it is advanced in place by at
   * least 1 ms, so two transitions from one read can never both win.
   */
  async compareAndSet(expected: { id: string; state: RequestState; updatedAt: string }, next: WidRequest, event?: TransitionEvent): Promise<boolean> {
    if (next.id !== expected.id) throw new TerminalError(`compareAndSet: next.id ${next.id} differs from expected.id ${expected.id}.`, 'StoreMisuse');
    if (!(next.updatedAt > expected.updatedAt)) {
      next.updatedAt = new Date(Math.max(Date.now(), epochMs(expected.updatedAt) + 1)).toISOString();
    }
    const k = this.keys;
    const release = OPEN_KEY_RELEASING_STATES.includes(next.state) ? '1' : '0';
    const result = await this.run('change the request state', () =>
      COMPARE_AND_SET.run(
        this.redis,
        [k.request(next.id), k.history(next.id), k.audit, k.pending, k.openKeyOf(next.id), ...indexKeysOf(k, next)],
        [
          next.id,
          expected.state,
          expected.updatedAt,
          docJson(next),
          next.state,
          next.updatedAt,
          epochMs(next.createdAt),
          release,
          event ? '1' : '0',
          event ? JSON.stringify(event) : '',
          this.auditMaxLen,
          k.openRequest(''),
          epochMs(next.updatedAt),
          ...(event ? auditFields(event) : []),
        ],
      ),
    );
    if (result === -1) throw new TerminalError(`Request ${next.id} does not exist.`, 'RequestNotFound');
    if (result === 1) this.announce(next.id);
    return result === 1;
  }

  /** The request's transitions, oldest first. */
  async history(id: string): Promise<TransitionEvent[]> {
    if (!SAFE_ID.test(id)) return [];
    const items = await this.run('read the history', () => this.redis.lrange(this.keys.history(id), 0, -1));
    return items.map((s) => JSON.parse(s) as TransitionEvent);
  }

  /** Records (or replaces) one step's record without touching state or anything else. */
  async recordStep(id: string, step: StepRecord): Promise<void> {
    await this.merge(id, [STEP_FIELD + step.step, JSON.stringify(step)], []);
  }

  /** Forgets every step record (e.g. before a full re-run); resources stay. */
  async resetSteps(id: string): Promise<void> {
    const r = await this.run('reset the steps', () => DELETE_FIELDS_WITH_PREFIX.run(this.redis, [this.keys.request(id)], [STEP_FIELD]));
    if (r !== 1) throw new TerminalError(`Request ${id} does not exist.`, 'RequestNotFound');
  }

  /** Merges resource ids into the request: fields given are set (null removes), others are kept. */
  async recordResources(id: string, patch: ResourcesPatch): Promise<void> {
    const set: string[] = [];
    const del: string[] = [];
    for (const [name, value] of Object.entries(patch)) {
      if (value === undefined) continue;
      if (value === null) del.push(RESOURCE_FIELD + name);
      else set.push(RESOURCE_FIELD + name, JSON.stringify(value));
    }
    await this.merge(id, set, del);
  }

  private async merge(id: string, set: string[], del: string[]): Promise<void> {
    const r = await this.run('record progress', () => MERGE_FIELDS.run(this.redis, [this.keys.request(id)], [set.length / 2, ...set, ...del]));
    if (r !== 1) throw new TerminalError(`Request ${id} does not exist.`, 'RequestNotFound');
  }

  /**
   * Reserves `key` (see openRequestKey) for `requestId`, atomically. Call before create(); the reservation lasts
   * `graceSeconds` until create() makes it permanent, and is released when the request succeeds, is denied,
   * expires or is cancelled.
   */
  async reserveOpenKey(key: string, requestId: string, opts: { graceSeconds?: number } = {}): Promise<ReserveOpenKeyResult> {
    const k = this.keys;
    const r = (await this.run('reserve the open request', () =>
      RESERVE_OPEN_KEY.run(
        this.redis,
        [k.openRequest(key), k.openKeyOf(requestId)],
        [requestId, Math.round((opts.graceSeconds ?? 120) * 1000), k.request(''), key, ...OPEN_KEY_RELEASING_STATES],
      ),
    )) as [number, string?];
    return r[0] === 1 ? { ok: true } : { ok: false, existingId: String(r[1]) };
  }

  /** Releases `key`; with `requestId`, only if that request holds it. True when something was released. */
  async releaseOpenKey(key: string, requestId?: string): Promise<boolean> {
    const k = this.keys;
    const r = await this.run('release the open request', () => RELEASE_OPEN_KEY.run(this.redis, [k.openRequest(key)], [requestId ?? '', k.openKeyOf('')]));
    return r === 1;
  }

  /** The id of the open request holding `key`, if any. */
  async openRequestId(key: string): Promise<string | undefined> {
    const v = await this.run('read the open request', () => this.redis.get(this.keys.openRequest(key)));
    return v ?? undefined;
  }

  /**
   * True the first time `key` is claimed within ttlSeconds, false for every repeat: Slack retries
   * (X-Slack-Retry-Num) and double submissions are processed once.
   */
  async claimDelivery(key: string, ttlSeconds: number): Promise<boolean> {
    const r = await this.run('claim the delivery', () => this.redis.set(this.keys.delivery(key), '1', 'EX', Math.max(1, Math.ceil(ttlSeconds)), 'NX'));
    return r === 'OK';
  }

  /** A user's requests, newest first. */
  async listByRequester(userId: string, limit = 20): Promise<WidRequest[]> {
    const ids = await this.run('list requests', () => this.redis.zrevrange(this.keys.byRequester(userId), 0, String(Math.max(0, limit - 1))));
    return this.getMany(ids);
  }

  /** Pending requests, the longest-waiting first. */
  async listPending(limit = 50): Promise<WidRequest[]> {
    const ids = await this.run('list pending requests', () => this.redis.zrange(this.keys.pending, 0, String(Math.max(0, limit - 1))));
    return this.getMany(ids);
  }

  /**
   * Requests that succeeded for one cluster/namespace/ServiceAccount, newest first: what was granted, migrated
   * or revoked there, read from the per-ServiceAccount index (bounded by that ServiceAccount's own history, not
   * by everyone's). The first call on a Redis whose older requests predate the index builds it once from the
   * audit stream.
   */
  async succeededOfServiceAccount(sa: { clusterName: string; namespace: string; serviceAccount: string }, limit = 200): Promise<WidRequest[]> {
    await this.ensureSucceededIndex();
    const ids = await this.run('read the requests of a ServiceAccount', () =>
      this.redis.zrevrange(this.keys.succeededOfServiceAccount(serviceAccountKey(sa)), 0, String(Math.max(0, limit - 1))),
    );
    return this.getMany(ids);
  }

  private succeededIndexBuilt = false;

  /**
   * Puts every request that succeeded without being indexed into the per-ServiceAccount index: on a Redis whose
   * requests predate the index, all of them (once); afterwards, once per process, those after the audit entry
   * the last pass reached (a replica still running older code during a rollout marks requests succeeded without
   * indexing them). The marker key keeps that entry's id; ZADD is idempotent, so passes running at once agree.
   */
  async ensureSucceededIndex(): Promise<{ scanned: number; indexed: number }> {
    if (this.succeededIndexBuilt) return { scanned: 0, indexed: 0 };
    const k = this.keys;
    const marker = await this.run('read the index marker', () => this.redis.get(k.succeededIndexBuilt));
    let after: string | undefined;
    if (marker) {
      try {
        const m = JSON.parse(marker) as { through?: unknown };
        if (typeof m.through === 'string' && m.through) after = m.through;
      } catch {
        // a marker without a position: the index was built, nothing to catch up from
        this.succeededIndexBuilt = true;
        return { scanned: 0, indexed: 0 };
      }
    }
    const succeeded = new Set<string>();
    let scanned = 0;
    for (;;) {
      const page = await this.readAudit({ ...(after ? { after } : {}), count: 1000 });
      scanned += page.length;
      for (const e of page) if (e.to === 'succeeded') succeeded.add(e.requestId);
      if (page.length > 0) after = page[page.length - 1]?.streamId;
      if (page.length < 1000) break;
    }
    let indexed = 0;
    const ids = [...succeeded];
    for (let i = 0; i < ids.length; i += 500) {
      for (const r of await this.getMany(ids.slice(i, i + 500))) {
        if (r.state !== 'succeeded') continue;
        for (const key of indexKeysOf(k, r)) await this.run('build the ServiceAccount index', () => this.redis.zadd(key, epochMs(r.updatedAt), r.id));
        indexed += 1;
      }
    }
    await this.run('mark the index built', () => this.redis.set(k.succeededIndexBuilt, JSON.stringify({ at: new Date().toISOString(), ...(after ? { through: after } : {}) })));
    this.succeededIndexBuilt = true;
    return { scanned, indexed };
  }

  /** Audit entries after a stream id (exclusive; default from the start), oldest first. */
  async readAudit(opts: { after?: string; count?: number } = {}): Promise<AuditEntry[]> {
    const start = opts.after ? `(${opts.after}` : '-';
    const rows = await this.run('read the audit trail', () => this.redis.xrange(this.keys.audit, start, '+', 'COUNT', String(opts.count ?? 1000)));
    return rows.map(([streamId, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
      return {
        streamId,
        requestId: f.requestId ?? '',
        actor: f.actor ?? '',
        ...(f.actorName ? { actorName: f.actorName } : {}),
        from: (f.from || null) as RequestState | null,
        to: f.to as RequestState,
        ...(f.reason ? { reason: f.reason } : {}),
        at: f.at ?? '',
      };
    });
  }

  private async getMany(ids: string[]): Promise<WidRequest[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.request(id));
    const results = await this.run('read requests', () => pipeline.exec());
    const out: WidRequest[] = [];
    for (const [err, hash] of results ?? []) {
      if (err) throw translateRedisError(err, 'read requests');
      const r = fromHash(hash as Record<string, string>);
      if (r) out.push(r);
    }
    return out;
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw translateRedisError(e, what);
    }
  }
}

function epochMs(iso: string): number {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TerminalError(`Not an ISO timestamp: ${JSON.stringify(iso)}.`, 'StoreMisuse');
  return ms;
}

/** The request without the fields the worker owns. */
function docJson(request: WidRequest): string {
  const { steps: _steps, resources: _resources, ...doc } = request;
  return JSON.stringify(doc);
}

function auditFields(e: TransitionEvent): string[] {
  return ['requestId', e.requestId, 'actor', e.actor.id, 'actorName', e.actor.name ?? '', 'from', e.from ?? '', 'to', e.to, 'reason', e.reason ?? '', 'at', e.at];
}

function fromHash(hash: Record<string, string>): WidRequest | undefined {
  if (!hash.doc) return undefined;
  const doc = JSON.parse(hash.doc) as Omit<WidRequest, 'steps' | 'resources'>;
  const steps: StepRecord[] = [];
  const resources: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith(STEP_FIELD)) steps.push(JSON.parse(value) as StepRecord);
    else if (field.startsWith(RESOURCE_FIELD)) resources[field.slice(RESOURCE_FIELD.length)] = JSON.parse(value);
  }
  const rank = (s: StepRecord) => {
    const i = STEP_ORDER.indexOf(s.step);
    return i === -1 ? STEP_ORDER.length : i;
  };
  steps.sort((a, b) => rank(a) - rank(b) || a.startedAt.localeCompare(b.startedAt));
  return {
    ...doc,
    state: hash.state as RequestState,
    updatedAt: hash.updatedAt ?? doc.updatedAt,
    steps,
    resources: resources as ProvisionedResources,
  };
}

/** The per-ServiceAccount index keys a request belongs in: its cluster's, and each further cluster a multi-cluster grant serves. */
function indexKeysOf(k: { succeededOfServiceAccount(saKey: string): string }, r: WidRequest): string[] {
  const clusters = [r.clusterName, ...(r.kind === 'grant' && r.plan.kind === 'grant' ? (r.plan.alsoClusters ?? []).map((c) => c.cluster.name) : []), ...revokeAllClusters(r)];
  return [...new Set(clusters.map((clusterName) => k.succeededOfServiceAccount(serviceAccountKey({ clusterName, namespace: r.namespace, serviceAccount: r.serviceAccount }))))];
}
