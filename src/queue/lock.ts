import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RetryableError } from '../domain/errors';
import { LuaScript, translateRedisError } from '../store/lua';

/** Delete the lock only if it still holds our token (never someone else's lock after ours expired). */
const RELEASE = new LuaScript('lock-release', `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);
/** Push the expiry out only while the lock is still ours. */
const EXTEND = new LuaScript('lock-extend', `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`);

export interface WithLockOptions {
  /** How long to wait for a busy lock before giving up with a RetryableError (default: ttlMs). */
  waitMs?: number;
  /** Mean pause between tries while waiting; each pause is jittered ±50 % (default 50 ms). */
  pollMs?: number;
}

export interface HeldLock {
  key: string;
  token: string;
  /** Aborted if the lock was lost (it expired and someone else took it) while fn ran. */
  signal: AbortSignal;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Runs fn while holding a Redis mutex on `key` (a key from storeKeys().lock(name)), across processes.
 * SET NX PX with a random token; released by compare-and-delete; renewed every ttlMs/2 while fn runs, so fn
 * may take longer than the ttl yet a crashed holder frees the lock within ttlMs.
 * Throws RetryableError (code LockBusy) when the lock stays busy for waitMs.
 */
export async function withLock<T>(redis: Redis, key: string, ttlMs: number, fn: (lock: HeldLock) => Promise<T>, opts: WithLockOptions = {}): Promise<T> {
  const lock = await acquireLock(redis, key, ttlMs, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** A lock taken by acquireLock: held (and renewed) until release(), which never throws and may be called more than once. */
export interface ReleasableLock extends HeldLock {
  release(): Promise<void>;
}

/**
 * Takes the lock as withLock does and hands it over: for a holder that takes it ahead of the work it guards (while
 * something else the work needs is still under way) and must release it on every path.
 */
export async function acquireLock(redis: Redis, key: string, ttlMs: number, opts: WithLockOptions = {}): Promise<ReleasableLock> {
  if (!(ttlMs >= 10)) throw new RangeError(`Lock ttl must be at least 10 ms, got ${ttlMs}.`);
  const token = randomBytes(12).toString('hex');
  const waitMs = opts.waitMs ?? ttlMs;
  const pollMs = opts.pollMs ?? 50;
  const deadline = Date.now() + waitMs;
  for (;;) {
    let got: string | null;
    try {
      got = await redis.set(key, token, 'PX', Math.round(ttlMs), 'NX');
    } catch (e) {
      throw translateRedisError(e, `take the lock ${key}`);
    }
    if (got === 'OK') break;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new RetryableError(`The lock ${key} is busy: another worker holds it for more than ${waitMs} ms. Retry later.`, 'LockBusy');
    }
    await sleep(Math.min(left, pollMs * (0.5 + Math.random())));
  }

  const controller = new AbortController();
  const renew = setInterval(() => {
    EXTEND.run(redis, [key], [token, Math.round(ttlMs)]).then(
      (r) => {
        if (r !== 1) controller.abort(new RetryableError(`The lock ${key} was lost while held (it expired); the work must be retried.`, 'LockLost'));
      },
      () => {
        // a failed renewal is retried on the next tick; the lock still has up to ttlMs/2 left
      },
    );
  }, Math.max(5, Math.floor(ttlMs / 2)));
  let released: Promise<void> | undefined;
  return {
    key,
    token,
    signal: controller.signal,
    release() {
      released ??= (async () => {
        clearInterval(renew);
        await RELEASE.run(redis, [key], [token]).then(
          () => undefined,
          () => {
            // Redis unreachable: the lock expires on its own within ttlMs
          },
        );
      })();
      return released;
    },
  };
}
