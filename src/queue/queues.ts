import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RetryableError, WidError } from '../domain/errors';
import { closeConnection, connectProducer } from '../store/connection';
import { DEFAULT_PREFIX, storeKeys } from '../store/keys';
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

/** Producers for wid-bot's two queues. */
export interface WidQueues {
  readonly provision: Queue<ProvisionJobData>;
  readonly timers: Queue<TimerJobData>;
  /**
   * Queues the provisioning of a request; returns the job id. The same (requestId, retry) queued twice yields one
   * job. `retry` n ≥ 1 uses the id `<requestId>-retry-<n>` (a failed job keeps its id until removed).
   */
  enqueueProvision(requestId: string, action: ProvisionAction, opts?: { retry?: number }): Promise<string>;
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

  constructor(
    private readonly redis: Redis,
    prefix: string,
    opts: CreateQueuesOptions,
  ) {
    const bullPrefix = storeKeys(prefix).bullPrefix;
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

  async enqueueProvision(requestId: string, action: ProvisionAction, opts: { retry?: number } = {}): Promise<string> {
    const jobId = provisionJobId(requestId, opts.retry ?? 0);
    await this.call('queue the provisioning job', () => this.provision.add(action, { requestId, action }, { ...this.provisionJobOptions, jobId }));
    return jobId;
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
