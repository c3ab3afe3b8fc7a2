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
export async function retryWhile<T>(run: ProvisionRun, codes: readonly string[], maxMs: number, what: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let pause = run.limits.retryBaseMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof WidError) || !codes.includes(e.code)) throw e;
      const left = maxMs - (Date.now() - started);
      if (left <= 0) {
        throw new RetryableError(`${e.message} (${what}: still failing after ${attempt} tries in ${Math.round((Date.now() - started) / 1000)} s; the queue will retry later.)`, e.code, e.retryAfterSeconds);
      }
      const wait = Math.min(left, Math.max(e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : 0, pause / 2 + (Math.random() * pause) / 2));
      run.deps.logger?.info({ requestId: run.request.id, code: e.code, attempt, waitMs: Math.round(wait) }, `${what}: retrying`);
      await abortableSleep(wait, run.deps.signal);
      pause = Math.min(5000, pause * 2);
    }
  }
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
 * subscription and region first (the slower bucket), then one of the write bucket.
 */
export async function identityCreateTurn(run: ProvisionRun, subscriptionId: string, region: string): Promise<void> {
  await turn(run, `identity-creates:${subscriptionId.toLowerCase()}:${region.toLowerCase().replace(/\s+/g, '')}`, run.limits.identityCreates);
  await writeTurn(run, subscriptionId);
}
