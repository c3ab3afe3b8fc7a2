import { startRedisServer, type RedisServerHandle } from './redis-server';

declare global {
  // eslint-disable-next-line no-var
  var __WID_TEST_REDIS__: RedisServerHandle | undefined;
}

/**
 * Every test run gets a Redis of its own unless REDIS_URL names one. (The HTTPS emulators'
 * certificate is made earlier, by scripts/test.js, so that NODE_EXTRA_CA_CERTS applies.)
 */
export default async function globalSetup(): Promise<void> {
  if (!process.env.WID_TEST_TLS_DIR) {
    throw new Error('Run the tests with `npm test` (scripts/test.js makes the test world certificate and trusts it).');
  }
  if (process.env.REDIS_URL) {
    process.env.WID_TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const server = await startRedisServer();
  globalThis.__WID_TEST_REDIS__ = server;
  process.env.WID_TEST_REDIS_URL = server.url;
}
