/**
 * Read pacing for ARM: wid-bot keeps a lower bound of what is left in ARM's read bucket per subscription (or
 * tenant) and sends a read only when that bound is at least one token, so it waits instead of provoking 429s.
 * The bound comes from the `x-ms-ratelimit-remaining-subscription-reads` header of the latest answer: what ARM
 * had left when it counted that read, plus the refill since the answer came (never above the bucket), less
 * every read sent after that one and every older read still unanswered (either may not have been counted yet).
 * Before the first answer the bucket is taken as full with no refill. So the bound never overstates ARM's
 * bucket, whatever the network does to the order of the calls, and reads made by other tools with the same
 * principal show in the header. A reserve of 5 % of the bucket (at least 2 tokens) is never used.
 * Reads wait in two lanes: a read made inside inReadLane('batch', …) (a batch job's) is sent only when no
 * interactive read is waiting, so a single request's reads never queue behind a batch's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PipelinePolicy, PipelineRequest, PipelineResponse, SendRequest } from '@azure/core-rest-pipeline';
import type { RateBucket } from '../domain/azure-limits';

/** Tokens of the bucket wid-bot never uses. */
export function readReserve(bucket: RateBucket): number {
  return Math.min(bucket.burst - 1, Math.max(2, Math.ceil(bucket.burst * 0.05)));
}

interface Base {
  /** What ARM had left (or is assumed to have), at `at`. */
  remaining: number;
  at: number;
  /** Reads sent up to and including the one the base was learnt from. */
  seq: number;
  /** Older reads still unanswered then. */
  olderInFlight: number;
  /** Refill is credited from `at` (false before the first answer). */
  refills: boolean;
}

/** The lane a read waits in; the same two as the Redis write buckets' (src/queue/rate-limiter.ts). */
export type ReadLane = 'interactive' | 'batch';

const laneStore = new AsyncLocalStorage<ReadLane>();

/** Runs fn with every ARM read it makes (however deep in the SDK) waiting in `lane`. */
export function inReadLane<T>(lane: ReadLane, fn: () => Promise<T>): Promise<T> {
  return laneStore.run(lane, fn);
}

/** The lane of the calling code: interactive unless inside inReadLane('batch', …). */
export function currentReadLane(): ReadLane {
  return laneStore.getStore() ?? 'interactive';
}

interface Waiter {
  grant(ticket: number): void;
  /** The pump's sleep count when it started waiting: it waited if that moved. */
  sleeps: number;
  since: number;
}

interface Estimate {
  base: Base;
  sent: number;
  inFlight: Set<number>;
  /** Waiting reads, interactive ones served first, each lane first come first served. */
  waiting: Record<ReadLane, Waiter[]>;
  pumping: boolean;
  sleeps: number;
}

export interface ReadPacerStats {
  /** Reads that had to wait for a token. */
  waited: number;
  /** Total time those waits took, ms. */
  waitedMs: number;
  /** Answers that carried the remaining-reads header. */
  headers: number;
}

export class ReadPacer {
  private readonly estimates = new Map<string, Estimate>();
  private readonly counters: ReadPacerStats = { waited: 0, waitedMs: 0, headers: 0 };

  constructor(
    readonly bucket: RateBucket,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    if (!(bucket.perSecond > 0) || !(bucket.burst >= 1)) throw new RangeError(`read bucket needs burst ≥ 1 and perSecond > 0, got ${JSON.stringify(bucket)}`);
  }

  private state(key: string): Estimate {
    let e = this.estimates.get(key);
    if (!e) {
      e = { base: { remaining: this.bucket.burst, at: this.now(), seq: 0, olderInFlight: 0, refills: false }, sent: 0, inFlight: new Set(), waiting: { interactive: [], batch: [] }, pumping: false, sleeps: 0 };
      this.estimates.set(key, e);
    }
    return e;
  }

  /** The lower bound of usable tokens now. */
  private available(e: Estimate, t: number): number {
    const b = e.base;
    const level = Math.min(this.bucket.burst, b.remaining + (b.refills ? (Math.max(0, t - b.at) / 1000) * this.bucket.perSecond : 0));
    return level - readReserve(this.bucket) - (e.sent - b.seq) - b.olderInFlight;
  }

  /** Waits until a read of `key` may be sent (in `lane`, default the caller's); returns its ticket for settle(). */
  acquire(key: string, lane: ReadLane = currentReadLane()): Promise<number> {
    const e = this.state(key);
    return new Promise<number>((resolve) => {
      e.waiting[lane].push({ grant: resolve, sleeps: e.sleeps, since: this.now() });
      if (!e.pumping) void this.pump(e);
    });
  }

  /** Hands out tokens to the waiting reads, one at a time, interactive ones first. */
  private async pump(e: Estimate): Promise<void> {
    e.pumping = true;
    try {
      for (;;) {
        const lane: ReadLane | undefined = e.waiting.interactive.length ? 'interactive' : e.waiting.batch.length ? 'batch' : undefined;
        if (!lane) return;
        const free = this.available(e, this.now());
        if (free < 1) {
          // Without refill (no answer yet) wait for one to come; otherwise until the next token is due.
          const ms = e.base.refills ? Math.max(1, Math.ceil(((1 - free) / this.bucket.perSecond) * 1000)) : 20;
          e.sleeps += 1;
          await this.sleep(ms);
          continue;
        }
        const w = e.waiting[lane].shift() as Waiter;
        if (w.sleeps !== e.sleeps) {
          this.counters.waited += 1;
          this.counters.waitedMs += this.now() - w.since;
        }
        e.sent += 1;
        e.inFlight.add(e.sent);
        w.grant(e.sent);
      }
    } finally {
      e.pumping = false;
    }
  }

  /** The read with `ticket` was answered; `remaining` is its header's value when present. */
  settle(key: string, ticket: number, remaining: number | undefined): void {
    const e = this.state(key);
    e.inFlight.delete(ticket);
    const t = this.now();
    let older = 0;
    for (const s of e.inFlight) if (s < ticket) older += 1;
    if (remaining !== undefined) {
      this.counters.headers += 1;
      // The newest information wins; an answer overtaken by a newer one's is ignored.
      if (ticket >= e.base.seq) e.base = { remaining, at: t, seq: ticket, olderInFlight: older, refills: true };
      return;
    }
    // No header (not ARM, or a proxy's answer): move the base to this read with the bound as it is now, and let it
    // refill from here. Moving it matters: the bucket's level is capped at the burst before the reads sent since the
    // base are taken off, so a base that stayed put would, after a burst's worth of reads, never allow one again.
    if (ticket < e.base.seq) return;
    const b = e.base;
    const level = Math.min(this.bucket.burst, b.remaining + (b.refills ? (Math.max(0, t - b.at) / 1000) * this.bucket.perSecond : 0));
    // every read up to this one is counted in `remaining` (those still unanswered too), so none is older in flight
    e.base = { remaining: level - (ticket - b.seq) - b.olderInFlight, at: t, seq: ticket, olderInFlight: 0, refills: true };
  }

  stats(): ReadPacerStats {
    return { ...this.counters };
  }
}

/** The bucket an ARM URL counts against: its subscription, or `tenant`. */
export function bucketKeyOf(url: string): string {
  const m = /\/subscriptions\/([^/?#]+)/i.exec(new URL(url).pathname);
  return m?.[1] ? m[1].toLowerCase() : 'tenant';
}

function remainingReads(response: PipelineResponse): number | undefined {
  const v = response.headers.get('x-ms-ratelimit-remaining-subscription-reads') ?? response.headers.get('x-ms-ratelimit-remaining-tenant-reads');
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** A pipeline policy that paces GET and HEAD requests on the shared pacer (placed after the retry policy: every attempt counts). */
export function readPacingPolicy(pacer: ReadPacer): PipelinePolicy {
  return {
    name: 'widReadPacing',
    async sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
      if (request.method !== 'GET' && request.method !== 'HEAD') return next(request);
      const key = bucketKeyOf(request.url);
      const ticket = await pacer.acquire(key);
      let remaining: number | undefined;
      try {
        const response = await next(request);
        remaining = remainingReads(response);
        return response;
      } finally {
        pacer.settle(key, ticket, remaining);
      }
    },
  };
}
