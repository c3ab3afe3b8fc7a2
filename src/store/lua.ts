import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RetryableError, WidError } from '../domain/errors';

/** A Lua script run by SHA, loaded on first NOSCRIPT (after a Redis restart or failover too). */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (e instanceof Error && e.message.startsWith('NOSCRIPT')) {
        return redis.eval(this.source, keys.length, ...keys, ...args);
      }
      throw e;
    }
  }
}

/** Redis failures are the store being unreachable or busy: callers may retry later. */
export function translateRedisError(e: unknown, what: string): WidError {
  if (e instanceof WidError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new RetryableError(`Redis could not ${what}: ${message}. Check that REDIS_URL points to a running Redis and try again.`, 'RedisUnavailable');
}
