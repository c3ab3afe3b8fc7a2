/**
 * Pacing shared by the steps: bounded in-step retries for the few errors a step knows will clear
 * (replication, concurrent writes), and the distributed write limiter that keeps Azure under its
 * documented throttles. Anything else is never retried here: it goes back to the queue as it is.
 */
import { RetryableError, WidError } from '../domain/errors';
import { abortableSleep, acquire } from '../queue/rate-limiter';
import type { ProvisionRun } from './context';


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

/** Waits for this run's turn to write an identity in its subscription (shared by every worker on the Redis). */
export async function identityWriteTurn(run: ProvisionRun, subscriptionId: string): Promise<void> {
  const rate = run.limits.identityWritesPerSecond;
  await acquire(run.deps.redis, run.deps.keys.rateBucket(`identity-writes:${subscriptionId.toLowerCase()}`), rate, 1, run.deps.signal ? { signal: run.deps.signal } : {});
}

/** Waits for this run's turn to write a federated credential in its subscription. */
export async function federatedCredentialWriteTurn(run: ProvisionRun, subscriptionId: string): Promise<void> {
  const rate = run.limits.federatedCredentialWritesPerSecond;
  await acquire(run.deps.redis, run.deps.keys.rateBucket(`fic-writes:${subscriptionId.toLowerCase()}`), rate, Math.max(1, Math.floor(rate)), run.deps.signal ? { signal: run.deps.signal } : {});
}
