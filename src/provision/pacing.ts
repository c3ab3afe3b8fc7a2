/**
 * Pacing shared by the steps: bounded in-step retries for the few errors a step knows will clear
 * (replication, concurrent writes), and the distributed write limiter that keeps Azure under its
 * documented throttles. Anything else is never retried here: it goes back to the queue as it is.
 */
import { RetryableError, WidError } from '../domain/errors';
import { abortableSleep, acquire } from '../queue/rate-limiter';
import type { ProvisionRun, RateBucket } from './context';

/**
 * Runs fn; while it fails with one of `codes` (and only those), retries with exponential jittered pauses until
 * `maxMs` has passed, then throws the last error as a RetryableError that says how long it tried. The last
 * error is never swallowed.
 */
export async function retryWhile<T>(run: ProvisionRun, codes: readonly string[], maxMs: number, what: string, fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const started = Date.now();
  let pause = run.limits.retryBaseMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof WidError) || !codes.includes(e.code)) throw e;
      const waited = Date.now() - started;
      const left = maxMs - waited;
      if (left <= 0) {
        throw new RetryableError(`${e.message} (${what}: still failing after ${attempt} tries in ${Math.round(waited / 1000)} s; the queue will retry later.)`, e.code, e.retryAfterSeconds);
      }
      const next = opts.poll ? propagationPause(waited, opts.poll) : pause / 2 + (Math.random() * pause) / 2;
      const wait = Math.min(left, Math.max(e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : 0, next));
      run.deps.logger?.info({ requestId: run.request.id, code: e.code, attempt, waitMs: Math.round(wait) }, `${what}: retrying`);
      try {
        await opts.onWait?.(e);
      } catch {
        // telling the user is best effort: it never changes the outcome
      }
      await abortableSleep(wait, run.deps.signal);
      pause = Math.min(5000, pause * 2);
    }
  }
}

/** How a look at something that clears on its own is paced: never sooner than minMs apart, never more than maxMs. */
export interface PollPacing {
  minMs: number;
  maxMs: number;
}

export interface RetryOptions {
  /**
   * Pace the tries for a wait that ends on its own at an unknown moment (a new identity replicating, a new credential
   * propagating) instead of doubling the pause: see propagationPause.
   */
  poll?: PollPacing;
  /** Called before each pause with the error being waited out (to tell the user what the wait is for). */
  onWait?: (e: WidError) => void | Promise<void>;
}

/** The share of the time already waited that the next pause may be: the try that sees the wait over comes at most this late. */
export const POLL_FRACTION = 0.05;

/**
 * The pause before the next try at a wait that ends on its own: 5 % of the time waited so far, within [minMs, maxMs].
 * Whenever the wait ends, the next try comes at most max(minMs, 5 % of the wait) later (capped at maxMs), so the wait
 * is overshot by about 5 % instead of up to the doubled back-off's full pause; a two-minute wait costs fewer than 100 tries
 * (with the defaults 250 ms and 5 s).
 */
export function propagationPause(waitedMs: number, p: PollPacing): number {
  const min = Math.max(0, p.minMs);
  return Math.min(Math.max(min, p.maxMs), Math.max(min, Math.max(0, waitedMs) * POLL_FRACTION));
}

/**
 * How many tokens of a bucket wid-bot leaves unused: one second of refill (at most half the bucket). Calls booked at
 * the bucket's exact rate can still reach Azure bunched together (network and event-loop jitter, a slow TLS
 * handshake); the headroom absorbs a second of that. For ARM's write bucket (200, 10/s) that is 10 tokens, for
 * the identity-create limit (80, 4/s) 4.
 */
export function headroom(bucket: RateBucket): number {
  return Math.max(0, Math.min(Math.floor(bucket.burst / 2), Math.ceil(bucket.perSecond)));
}

/** A bucket as wid-bot books it: the configured limit less its headroom (at least 1 token). */
export function bookedBurst(bucket: RateBucket): number {
  return Math.max(1, bucket.burst - headroom(bucket));
}

/** What a turn needs: the Redis the buckets live on, their key layout, and the run's abort signal. */
type TurnDeps = Pick<ProvisionRun['deps'], 'redis' | 'keys' | 'signal' | 'lane'>;

async function take(deps: TurnDeps, name: string, bucket: RateBucket): Promise<void> {
  await acquire(deps.redis, deps.keys.rateBucket(name), bucket.perSecond, bookedBurst(bucket), { ...(deps.signal ? { signal: deps.signal } : {}), ...(deps.lane ? { lane: deps.lane } : {}) });
}

async function turn(run: ProvisionRun, name: string, bucket: RateBucket): Promise<void> {
  await take(run.deps, name, bucket);
}

/**
 * A token of ARM's delete bucket of the subscription, shared by every worker on the Redis and by every caller that
 * deletes (revocations and grant ends alike: Azure counts them in one bucket).
 */
export async function armDeleteTurn(deps: TurnDeps, bucket: RateBucket, subscriptionId: string): Promise<void> {
  await take(deps, `arm-deletes:${subscriptionId.toLowerCase()}`, bucket);
}

/** A token of ARM's write bucket of the subscription, for callers outside a grant run (re-federation). */
export async function armWriteTurn(deps: TurnDeps, bucket: RateBucket, subscriptionId: string): Promise<void> {
  await take(deps, `arm-writes:${subscriptionId.toLowerCase()}`, bucket);
}

/** Waits for a token of ARM's write bucket of the subscription (one per PUT/PATCH/POST), shared by every worker on the Redis. */
export async function writeTurn(run: ProvisionRun, subscriptionId: string): Promise<void> {
  await turn(run, `arm-writes:${subscriptionId.toLowerCase()}`, run.limits.armWrites);
}

/** Waits for a token of ARM's delete bucket of the subscription. */
export async function deleteTurn(run: ProvisionRun, subscriptionId: string): Promise<void> {
  await armDeleteTurn(run.deps, run.limits.armDeletes, subscriptionId);
}

/**
 * Waits for this run's turn to create a user-assigned identity: a token of the identity-create limit of the
 * subscription and region (the slower bucket) and one of the write bucket.
 */
export async function identityCreateTurn(run: ProvisionRun, subscriptionId: string, region: string): Promise<void> {
  // Both tokens are asked for together (one Redis round trip instead of two when both buckets have tokens); a write
  // token taken while the create bucket is still waiting is only booked early, which keeps ARM's bucket fuller.
  await Promise.all([turn(run, `identity-creates:${subscriptionId.toLowerCase()}:${region.toLowerCase().replace(/\s+/g, '')}`, run.limits.identityCreates), writeTurn(run, subscriptionId)]);
}
