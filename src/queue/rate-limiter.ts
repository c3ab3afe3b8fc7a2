import type { Redis } from 'ioredis';
import { RetryableError } from '../domain/errors';
import { LuaScript, translateRedisError } from '../store/lua';

/**
 * A token bucket that hands out reservations: each call takes a token now or books the next free slot and
 * returns how long to wait for it, so callers sleep exactly once (no polling) and the slots of all callers,
 * in every process, are spaced at 1/rate. Time comes from Redis (TIME), not from the callers' clocks.
 * KEYS: bucket. ARGV: tokens per ms, burst, maxWaitMs (-1 = unbounded).
 * Returns {waitMs, reserved(1|0)}.
 */
const TAKE = new LuaScript(
  'rate-take',
  `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local maxWait = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate) - 1
local wait = 0
if tokens < 0 then wait = math.ceil(-tokens / rate) end
if maxWait >= 0 and wait > maxWait then return {wait, 0} end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.3f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate) + 1000)
return {wait, 1}
`,
);

export interface AcquireOptions {
  /** Refuse (RetryableError RateLimited, with retryAfterSeconds) instead of booking a slot further out than this. */
  maxWaitMs?: number;
  /** Abandons the wait (the booked slot is then unused). */
  signal?: AbortSignal;
}

/**
 * Waits until the bucket `bucketKey` (a key from storeKeys().rateBucket(name)) grants one token, shared by every
 * process using the same Redis: at most `burst` at once, then `ratePerSecond`. Resolves with the ms waited.
 */
export async function acquire(redis: Redis, bucketKey: string, ratePerSecond: number, burst: number, opts: AcquireOptions = {}): Promise<number> {
  if (!(ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${ratePerSecond}.`);
  if (!(burst >= 1)) throw new RangeError(`burst must be ≥ 1, got ${burst}.`);
  let r: [number, number];
  try {
    r = (await TAKE.run(redis, [bucketKey], [ratePerSecond / 1000, burst, opts.maxWaitMs ?? -1])) as [number, number];
  } catch (e) {
    throw translateRedisError(e, `take a token from ${bucketKey}`);
  }
  const [waitMs, reserved] = r;
  if (reserved !== 1) {
    throw new RetryableError(`Rate limit ${bucketKey}: the next free slot is ${waitMs} ms away (limit ${ratePerSecond}/s).`, 'RateLimited', Math.ceil(waitMs / 1000));
  }
  if (waitMs > 0) await abortableSleep(waitMs, opts.signal);
  return waitMs;
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
