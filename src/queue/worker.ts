import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { WidError } from '../domain/errors';
import { closeConnection, connectWorker } from '../store/connection';
import { DEFAULT_PREFIX, storeKeys } from '../store/keys';
import { widBackoffStrategy, type BackoffSettings } from './backoff';
import { PROVISION_QUEUE, TIMERS_QUEUE, type ProvisionJobData, type TimerJobData, type WidQueueName } from './names';

/** What a processor gets besides the job data. */
export interface JobHelpers {
  jobId: string;
  /** Tries that already failed before this one (0 on the first run). */
  attemptsMade: number;
  /** Tries allowed in total. */
  attempts: number;
  /** True when a retryable failure now fails the job for good. */
  isFinalAttempt: boolean;
  /** BullMQ priority the job was queued with: 0 = interactive, above 0 = a batch (src/domain/fairness.ts). */
  priority: number;
  /** Published on BullMQ's events stream (QueueEvents 'progress'). */
  updateProgress(progress: number | object): Promise<void>;
  /** Aborted when the worker is closed with force or the job's lock is lost. */
  signal?: AbortSignal;
}

export type JobProcessor<D> = (data: D, helpers: JobHelpers) => Promise<void>;
export type ProvisionProcessor = JobProcessor<ProvisionJobData>;
export type TimerProcessor = JobProcessor<TimerJobData>;

export interface WidWorkerOptions<D> {
  /** Jobs run at once by this process (default 4). */
  concurrency?: number;
  /** How long a job's lock lasts without renewal; a dead worker's job is free after this (default 30 s). */
  lockDuration?: number;
  /** How often this worker looks for stalled jobs (default 30 s). */
  stalledInterval?: number;
  /** Stalls a job survives before it fails (default 1). */
  maxStalledCount?: number;
  backoff?: BackoffSettings;
  /** Start taking jobs immediately (default true). */
  autorun?: boolean;
  /**
   * Called once when a job fails for good: a TerminalError, retries used up, or stalled too often.
   * The place to mark the request failed when the processor could not (e.g. its process died).
   */
  onFinalFailure?: (data: D, error: Error, jobId: string) => Promise<void> | void;
  /** Called for worker-level errors (connection loss and the like); default: ignored, BullMQ reconnects. */
  onError?: (error: Error) => void;
}

export type ProvisionWorkerOptions = WidWorkerOptions<ProvisionJobData>;
export type TimerWorkerOptions = WidWorkerOptions<TimerJobData>;

export interface WidWorker<D> {
  readonly worker: Worker<D>;
  /** Stops taking jobs, waits for running ones to finish, then closes the connection. */
  close(): Promise<void>;
}

/** The worker for `wid-provision`: TerminalError → failed at once (UnrecoverableError), RetryableError → retried with backoff. */
export function createProvisionWorker(
  redisUrl: string,
  prefix: string = DEFAULT_PREFIX,
  processor: ProvisionProcessor,
  opts: ProvisionWorkerOptions = {},
): WidWorker<ProvisionJobData> {
  return createWidWorker(PROVISION_QUEUE, redisUrl, prefix, processor, opts);
}

/** The worker for `wid-timers` (expire / remind), with the same error rules. */
export function createTimerWorker(redisUrl: string, prefix: string = DEFAULT_PREFIX, processor: TimerProcessor, opts: TimerWorkerOptions = {}): WidWorker<TimerJobData> {
  return createWidWorker(TIMERS_QUEUE, redisUrl, prefix, processor, opts);
}

/** A worker for any of wid-bot's queues (the grants' queue uses it), with the same error rules. */
export function createQueueWorker<D>(queueName: WidQueueName, redisUrl: string, prefix: string, processor: JobProcessor<D>, opts: WidWorkerOptions<D> = {}): WidWorker<D> {
  return createWidWorker(queueName, redisUrl, prefix, processor, opts);
}

function isTerminal(e: unknown): e is Error {
  // by kind, not instanceof, so an error from another copy of the module (a test runner's registry) still counts
  return e instanceof WidError ? e.kind === 'terminal' : (e as { kind?: unknown } | null)?.kind === 'terminal';
}

function createWidWorker<D>(queueName: WidQueueName, redisUrl: string, prefix: string, processor: JobProcessor<D>, opts: WidWorkerOptions<D>): WidWorker<D> {
  const redis: Redis = connectWorker(redisUrl);
  // BullMQ passes the abort signal only to processors that declare a third parameter
  const run = async (job: Job<D>, _token?: string, signal?: AbortSignal): Promise<void> => {
    const attempts = job.opts.attempts ?? 1;
    const helpers: JobHelpers = {
      jobId: job.id ?? '',
      attemptsMade: job.attemptsMade,
      attempts,
      isFinalAttempt: job.attemptsMade + 1 >= attempts,
      priority: job.opts.priority ?? 0,
      updateProgress: (p) => job.updateProgress(p),
      ...(signal ? { signal } : {}),
    };
    try {
      await processor(job.data, helpers);
    } catch (e) {
      if (isTerminal(e)) {
        const u = new UnrecoverableError(e.message);
        (u as UnrecoverableError & { code?: unknown }).code = (e as { code?: unknown }).code;
        throw u;
      }
      throw e;
    }
  };
  const worker = new Worker<D>(queueName, run, {
    connection: redis,
    prefix: storeKeys(prefix).bullPrefix,
    concurrency: opts.concurrency ?? 4,
    lockDuration: opts.lockDuration ?? 30_000,
    stalledInterval: opts.stalledInterval ?? 30_000,
    maxStalledCount: opts.maxStalledCount ?? 1,
    autorun: opts.autorun ?? true,
    settings: { backoffStrategy: widBackoffStrategy(opts.backoff) },
  });
  worker.on('error', (e) => opts.onError?.(e));
  if (opts.onFinalFailure) {
    const onFinal = opts.onFinalFailure;
    worker.on('failed', (job, err) => {
      // finishedOn is set only when the job moved to failed; a retry leaves it unset
      if (!job || !job.finishedOn) return;
      Promise.resolve(onFinal(job.data, err, job.id ?? '')).catch((e: unknown) => opts.onError?.(e instanceof Error ? e : new Error(String(e))));
    });
  }
  return {
    worker,
    async close() {
      await worker.close();
      await closeConnection(redis);
    },
  };
}
