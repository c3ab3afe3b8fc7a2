import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RetryableError, WidError } from '../domain/errors';
import { closeConnection, connectProducer } from '../store/connection';
import { DEFAULT_PREFIX, storeKeys } from '../store/keys';
import { FAIRNESS, placement, type Lane, type QueuePlacement } from '../domain/fairness';
import { LuaScript, translateRedisError } from '../store/lua';
import { WID_BACKOFF_TYPE } from './backoff';
import { PROVISION_QUEUE, provisionJobId, TIMERS_QUEUE, timerJobId, type ProvisionAction, type ProvisionJobData, type TimerJobData, type TimerKind } from './names';

export interface CreateQueuesOptions {
  /** Tries per provision job, the first included (default 8). */
  provisionAttempts?: number;
  /** Tries per timer job (default 5). */
  timerAttempts?: number;
  /** Finished jobs are kept this long, so re-enqueueing the same id stays a no-op (default 7 days). */
  keepCompletedSeconds?: number;
  /** Failed jobs are kept this long for inspection (default 30 days). */
  keepFailedSeconds?: number;
}

export interface EnqueueProvisionOptions {
  retry?: number;
  /**
   * Who asked (the requester's id): their first jobs within a window go ahead of every batch, the ones after
   * those are a batch, behind any single request (src/domain/fairness.ts). Without it the job is interactive.
   */
  requester?: string;
  /** Forces the lane (break-glass is interactive however many requests its requester made). */
  lane?: Lane;
}

/**
 * The job's position in its requester's line: added once per job id (queueing the same job again does not move
 * it), jobs older than the window dropped. KEYS: the requester's line. ARGV: job id, window ms.
 */
const LINE_POSITION = new LuaScript(
  'fair-line-position',
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('ZRANK', KEYS[1], ARGV[1]) + 1
`,
);

/** Producers for wid-bot's two queues. */
export interface WidQueues {
  readonly provision: Queue<ProvisionJobData>;
  readonly timers: Queue<TimerJobData>;
  /**
   * Queues the provisioning of a request; returns the job id. The same (requestId, retry) queued twice yields one
   * job. `retry` n ≥ 1 uses the id `<requestId>-retry-<n>` (a failed job keeps its id until removed).
   */
  enqueueProvision(requestId: string, action: ProvisionAction, opts?: EnqueueProvisionOptions): Promise<string>;
  /** Delayed jobs that expire the request at expireAtMs and remind approvers at remindAtMs (skipped unless before expiry); idempotent per request. */
  scheduleTimers(requestId: string, expireAtMs: number, remindAtMs?: number): Promise<void>;
  /** Removes the request's timers that have not started yet. */
  cancelTimers(requestId: string): Promise<void>;
  close(): Promise<void>;
}

/** Connects the producers (failing fast while Redis is down) under `<prefix>:q:`. */
export async function createQueues(redisUrl: string, prefix: string = DEFAULT_PREFIX, opts: CreateQueuesOptions = {}): Promise<WidQueues> {
  const redis = await connectProducer(redisUrl);
  return new RedisWidQueues(redis, prefix, opts);
}

class RedisWidQueues implements WidQueues {
  readonly provision: Queue<ProvisionJobData>;
  readonly timers: Queue<TimerJobData>;
  private readonly provisionJobOptions: JobsOptions;
  private readonly timerJobOptions: JobsOptions;
  private readonly keys: { fairLine(requester: string): string };

  constructor(
    private readonly redis: Redis,
    prefix: string,
    opts: CreateQueuesOptions,
  ) {
    const bullPrefix = storeKeys(prefix).bullPrefix;
    this.keys = { fairLine: (requester) => `${prefix}:fair:provision:${requester}` };
    this.provision = new Queue<ProvisionJobData>(PROVISION_QUEUE, { connection: redis, prefix: bullPrefix });
    this.timers = new Queue<TimerJobData>(TIMERS_QUEUE, { connection: redis, prefix: bullPrefix });
    const keep = {
      removeOnComplete: { age: opts.keepCompletedSeconds ?? 7 * 86_400 },
      removeOnFail: { age: opts.keepFailedSeconds ?? 30 * 86_400 },
    };
    this.provisionJobOptions = { attempts: opts.provisionAttempts ?? 8, backoff: { type: WID_BACKOFF_TYPE }, ...keep };
    this.timerJobOptions = { attempts: opts.timerAttempts ?? 5, backoff: { type: WID_BACKOFF_TYPE }, ...keep };
    // a producer's connection errors surface on the calls that hit them; the event must have a listener
    this.provision.on('error', () => {});
    this.timers.on('error', () => {});
  }

  async enqueueProvision(requestId: string, action: ProvisionAction, opts: EnqueueProvisionOptions = {}): Promise<string> {
    const jobId = provisionJobId(requestId, opts.retry ?? 0);
    const place = await this.placement(jobId, opts);
    await this.call('queue the provisioning job', () =>
      this.provision.add(action, { requestId, action }, { ...this.provisionJobOptions, jobId, ...(place.priority > 0 ? { priority: place.priority } : {}) }),
    );
    return jobId;
  }

  private async placement(jobId: string, opts: EnqueueProvisionOptions): Promise<QueuePlacement> {
    if (opts.lane === 'interactive' || !opts.requester) return { lane: 'interactive', priority: 0 };
    let position: number;
    try {
      position = Number(await LINE_POSITION.run(this.redis, [this.keys.fairLine(opts.requester)], [jobId, FAIRNESS.windowMs]));
    } catch (e) {
      throw translateRedisError(e, 'place the job in its requester\'s line');
    }
    const p = placement(position);
    // a forced batch lane still needs a priority above 0 to queue behind interactive jobs
    return opts.lane === 'batch' && p.priority === 0 ? { lane: 'batch', priority: 1 } : p;
  }

  async scheduleTimers(requestId: string, expireAtMs: number, remindAtMs?: number): Promise<void> {
    const now = Date.now();
    const add = (kind: TimerKind, atMs: number) =>
      this.call('schedule the timer', () =>
        this.timers.add(kind, { requestId, kind }, { ...this.timerJobOptions, jobId: timerJobId(requestId, kind), delay: Math.max(0, Math.round(atMs - now)) }),
      );
    await add('expire', expireAtMs);
    if (remindAtMs !== undefined && remindAtMs < expireAtMs) await add('remind', remindAtMs);
  }

  async cancelTimers(requestId: string): Promise<void> {
    for (const kind of ['expire', 'remind'] as const) {
      // remove() refuses a job a worker holds right now; that timer is already firing and checks the state itself
      await this.call('cancel the timer', () => this.timers.remove(timerJobId(requestId, kind)));
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.provision.close(), this.timers.close()]);
    await closeConnection(this.redis);
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof WidError) throw e;
      throw new RetryableError(`Could not ${what}: ${e instanceof Error ? e.message : String(e)}.`, 'QueueUnavailable');
    }
  }
}
