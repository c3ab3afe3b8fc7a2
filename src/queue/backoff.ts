import type { BackoffStrategy } from 'bullmq';

/** The job option `backoff.type` that selects widBackoffStrategy (registered on every wid-bot worker). */
export const WID_BACKOFF_TYPE = 'wid-exponential-jitter';

export interface BackoffSettings {
  /** Delay before the first retry, before jitter (default 1 s). */
  baseDelayMs?: number;
  /** Longest delay computed from the exponent (default 5 min); a server's Retry-After may exceed it. */
  maxDelayMs?: number;
  /** For tests: a source of randomness in [0, 1). */
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter" (a uniform pick in [d/2, d] where d = base·2^(n-1), capped), so
 * workers that failed together do not retry together. When the error carries `retryAfterSeconds` (a 429's
 * Retry-After), that wait is honoured instead, plus up to 10 % (at most 1 s) of jitter.
 */
export function widBackoffStrategy(settings: BackoffSettings = {}): BackoffStrategy {
  const base = settings.baseDelayMs ?? 1000;
  const max = settings.maxDelayMs ?? 5 * 60_000;
  const random = settings.random ?? Math.random;
  return (attemptsMade: number, _type?: string, err?: Error): number => {
    const retryAfterSeconds = (err as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (typeof retryAfterSeconds === 'number' && retryAfterSeconds > 0) {
      const ms = retryAfterSeconds * 1000;
      return Math.round(ms + random() * Math.min(1000, ms * 0.1));
    }
    const d = Math.min(max, base * 2 ** Math.max(0, attemptsMade - 1));
    return Math.round(d / 2 + (random() * d) / 2);
  };
}
