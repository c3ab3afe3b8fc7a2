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

/**
 * Two lanes share one bucket. `interactive` (the default) books the next free token at once, as above. `batch`
 * (refederations, grant ends, one requester's many requests) never books a token ahead of an interactive caller:
 * while tokens are short it waits in a line of its own (spaced at 1/rate, so the line's callers wake one by one,
 * no polling), and at its turn takes the token only if it is still there. A token an interactive caller took
 * meanwhile moves that batch caller to the end of the line: an interactive caller waits for at most the tokens
 * other interactive callers booked (one slot when it is alone), never for the batch's line. When tokens are
 * plentiful both lanes take them at once: the batch lane costs nothing on an idle bucket.
 */
export type RateLane = 'interactive' | 'batch';

/**
 * The batch lane. KEYS: bucket. ARGV: tokens per ms, burst, mode (0 = arriving, 1 = at its booked turn),
 * tolerance in tokens (a timer may fire a ms early). Returns {waitMs, taken(1|0)}: taken 0 = booked a turn
 * waitMs away, come back then with mode 1.
 */
const TAKE_BATCH = new LuaScript(
  'rate-take-batch',
  `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local atTurn = tonumber(ARGV[3]) == 1
local tol = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'line')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
local line = tonumber(b[3]) or 0
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
local taken = 1
if (atTurn or line <= now) and tokens >= 1 - tol then
  tokens = tokens - 1
else
  local slot = math.max(line, now + math.max(0, 1 - tokens) / rate)
  line = slot + 1 / rate
  wait = math.max(1, math.ceil(slot - now))
  taken = 0
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%.3f', now), 'line', string.format('%.3f', line))
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max((burst - tokens) / rate, line - now)) + 1000)
return {wait, taken}
`,
);

export interface AcquireOptions {
  /** Refuse (RetryableError RateLimited, with retryAfterSeconds) instead of booking a slot further out than this (interactive lane only). */
  maxWaitMs?: number;
  /** Which lane the caller waits in (default interactive). */
  lane?: RateLane;
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
  if (opts.lane === 'batch') {
    if (opts.maxWaitMs !== undefined) throw new RangeError('maxWaitMs applies to the interactive lane only: a batch caller waits in line for its turn.');
    return acquireBatch(redis, bucketKey, ratePerSecond, burst, opts.signal);
  }
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

async function acquireBatch(redis: Redis, bucketKey: string, ratePerSecond: number, burst: number, signal?: AbortSignal): Promise<number> {
  const perMs = ratePerSecond / 1000;
  // a timer may fire up to a ms early: 2 ms of refill is not asked for
  const tolerance = 2 * perMs;
  let waited = 0;
  for (let atTurn = 0; ; atTurn = 1) {
    let r: [number, number];
    try {
      r = (await TAKE_BATCH.run(redis, [bucketKey], [perMs, burst, atTurn, tolerance])) as [number, number];
    } catch (e) {
      throw translateRedisError(e, `take a token from ${bucketKey}`);
    }
    const [waitMs, taken] = r;
    if (taken === 1) return waited;
    await abortableSleep(waitMs, signal);
    waited += waitMs;
  }
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
