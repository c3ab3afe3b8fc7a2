import { randomBytes } from 'node:crypto';

/** The Redis this test run may use: the one globalSetup started, or the one REDIS_URL names. */
export function testRedisUrl(): string {
  const url = process.env.WID_TEST_REDIS_URL ?? process.env.REDIS_URL;
  if (!url) throw new Error('WID_TEST_REDIS_URL is not set: run the tests through jest (its globalSetup starts a redis-server).');
  return url;
}

/** A key prefix unique to one test, so tests sharing a Redis never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `widtest:${label}:${randomBytes(4).toString('hex')}`;
}
