/**
 * The grants' queue (`wid-grants`): a grant's end as a BullMQ delayed job, the reminder before it, and the
 * rewrite of a shared assignment's description after an extension. Job ids are deterministic: one end job per
 * grant and end time, however many clicks, retries or reconciler passes ask for it.
 */
import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { RetryableError, WidError } from '../domain/errors';
import { WID_BACKOFF_TYPE } from '../queue/backoff';
import { GRANTS_QUEUE } from '../queue/names';
import { storeKeys } from '../store/keys';

export type GrantJobKind = 'end' | 'remind' | 'describe' | 'release';

export interface GrantJobData {
  grantId: string;
  kind: GrantJobKind;
  /** The end time (ms) the job was made for: a job for an end that moved (an extension) does nothing. */
  atMs: number;
}

/** `end-<grant id>-<end ms>`: one per grant and end, so two clicks or a retry queue one job. */
export function grantJobId(kind: GrantJobKind, grantId: string, atMs: number): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(grantId)) throw new WidError(`Grant id ${JSON.stringify(grantId)} cannot be part of a job id.`, 'terminal', 'BadJobId');
  return `${kind}-${grantId}-${Math.round(atMs)}`;
}

export interface GrantQueueOptions {
  /** Tries per end job, the first included, before the failure is shown loudly (default 6). */
  endAttempts?: number;
  /** First retry pause (doubled per try, jittered; Retry-After honoured) — set by the worker's backoff settings. */
  keepCompletedSeconds?: number;
}

export class GrantQueue {
  readonly queue: Queue<GrantJobData>;
  private readonly opts: JobsOptions;

  constructor(
    connection: Redis,
    prefix: string,
    options: GrantQueueOptions = {},
  ) {
    this.queue = new Queue<GrantJobData>(GRANTS_QUEUE, { connection, prefix: storeKeys(prefix).bullPrefix });
    this.queue.on('error', () => {});
    this.opts = {
      attempts: options.endAttempts ?? 6,
      backoff: { type: WID_BACKOFF_TYPE },
      removeOnComplete: { age: options.keepCompletedSeconds ?? 7 * 86_400 },
      removeOnFail: { age: 30 * 86_400 },
    };
  }

  private async add(kind: GrantJobKind, grantId: string, atMs: number, runAtMs: number): Promise<string> {
    const jobId = grantJobId(kind, grantId, atMs);
    try {
      await this.queue.add(kind, { grantId, kind, atMs }, { ...this.opts, ...(kind === 'end' ? {} : { attempts: 3 }), jobId, delay: Math.max(0, Math.round(runAtMs - Date.now())) });
    } catch (e) {
      throw new RetryableError(`Could not schedule the grant's ${kind}: ${e instanceof Error ? e.message : String(e)}.`, 'QueueUnavailable');
    }
    return jobId;
  }

  /** The end at `endsAtMs` (now, for an early end). */
  scheduleEnd(grantId: string, endsAtMs: number): Promise<string> {
    return this.add('end', grantId, endsAtMs, endsAtMs);
  }

  scheduleReminder(grantId: string, endsAtMs: number, remindAtMs: number): Promise<string> {
    return this.add('remind', grantId, endsAtMs, remindAtMs);
  }

  scheduleDescribe(grantId: string, endsAtMs: number): Promise<string> {
    return this.add('describe', grantId, endsAtMs, Date.now());
  }

  scheduleRelease(grantId: string, endedAtMs: number): Promise<string> {
    return this.add('release', grantId, endedAtMs, Date.now());
  }

  /** Removes the delayed jobs made for an end that moved, so schedules never pile up (best effort). */
  async cancelFor(grantId: string, atMs: number): Promise<void> {
    for (const kind of ['end', 'remind'] as const) {
      await this.queue.remove(grantJobId(kind, grantId, atMs)).catch(() => 0);
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
