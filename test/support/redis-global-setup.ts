import { startRedisServer, type RedisServerHandle } from './redis-server';

declare global {
  // eslint-disable-next-line no-var
  var __WID_TEST_REDIS__: RedisServerHandle | undefined;
}

/**
 * Every test run gets a Redis of its own unless REDIS_URL names one. Test files read
 * WID_TEST_REDIS_URL and isolate themselves further with a unique key prefix.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.REDIS_URL) {
    process.env.WID_TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const server = await startRedisServer();
  globalThis.__WID_TEST_REDIS__ = server;
  process.env.WID_TEST_REDIS_URL = server.url;
}
