import type { Redis } from 'ioredis';
import { RetryableError } from '../domain/errors';
import { connectionFor } from './redis-auth';

/**
 * A connection for queue producers and the web side: commands fail fast while Redis is unreachable
 * (no offline queue), so a Slack handler answers with an error instead of hanging past Slack's 3 s.
 */
export async function connectProducer(redisUrl: string): Promise<Redis> {
  let connected = false;
  // no reconnect loop when the very first connect fails (it would keep the process alive)
  const retryStrategy = (times: number): number | null => (connected ? Math.min(times * 100, 2000) : null);
  const redis = connectionFor(redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 2, lazyConnect: true, retryStrategy });
  try {
    await redis.connect();
    connected = true;
    return redis;
  } catch (e) {
    dropConnection(redis);
    throw new RetryableError(`Redis at ${redactUrl(redisUrl)} could not be reached: ${e instanceof Error ? e.message : String(e)}.`, 'RedisUnavailable');
  }
}

/** A connection for BullMQ workers and event listeners: blocking commands need `maxRetriesPerRequest: null`. */
export function connectWorker(redisUrl: string): Redis {
  return connectionFor(redisUrl, { maxRetriesPerRequest: null });
}

/** QUIT when connected, otherwise drop; an ended connection is left alone (disconnecting it again arms a 2 s timer in ioredis). */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => dropConnection(redis));
  else dropConnection(redis);
}

function dropConnection(redis: Redis): void {
  if (redis.status !== 'end' && redis.status !== 'close') redis.disconnect();
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
