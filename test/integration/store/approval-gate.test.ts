/**
 * The approval gate (src/store/approval-gate.ts) against a real Redis: the worker's first update of an approval
 * message waits while the web side's "approved" update is marked as under way, and never longer than the mark lives.
 */
import Redis from 'ioredis';
import { ApprovalMessageGate } from '../../../src/store/approval-gate';
import { storeKeys } from '../../../src/store/keys';
import { testRedisUrl, uniquePrefix } from '../../support/redis';

let redis: Redis;
const keys = storeKeys(uniquePrefix('approval-gate'));

beforeAll(() => {
  redis = new Redis(testRedisUrl(), { lazyConnect: false, maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await redis?.quit();
});

async function timeOf(p: Promise<void>): Promise<number> {
  const t0 = Date.now();
  await p;
  return Date.now() - t0;
}

test('no update under way: whenShown resolves at once', async () => {
  const gate = new ApprovalMessageGate(redis, keys);
  expect(await timeOf(gate.whenShown('wid-none'))).toBeLessThan(100);
});

test('an update under way holds the worker until the web side says it landed, then the mark is gone', async () => {
  const gate = new ApprovalMessageGate(redis, keys, { pollMs: 10 });
  await gate.hold('wid-held');
  expect(await redis.pttl(gate.key('wid-held'))).toBeGreaterThan(9_000);
  let shownAt = 0;
  const waiting = gate.whenShown('wid-held').then(() => void (shownAt = Date.now()));
  await new Promise((r) => setTimeout(r, 200));
  expect(shownAt).toBe(0);
  const releasedAt = Date.now();
  expect(await gate.release('wid-held')).toBe(true);
  await waiting;
  expect(shownAt - releasedAt).toBeLessThan(100);
  expect(await redis.exists(gate.key('wid-held'))).toBe(0);
  // another request's mark holds nobody else
  await gate.hold('wid-other');
  expect(await timeOf(gate.whenShown('wid-held'))).toBeLessThan(100);
  await gate.release('wid-other');
});

test('a web side that died mid-update: the mark expires and the worker goes on after at most its ttl', async () => {
  const gate = new ApprovalMessageGate(redis, keys, { ttlMs: 300, pollMs: 10 });
  await gate.hold('wid-dead');
  const waited = await timeOf(gate.whenShown('wid-dead'));
  expect(waited).toBeGreaterThanOrEqual(250);
  expect(waited).toBeLessThan(800);
  // the web side, answered after that, learns its mark had gone
  expect(await gate.release('wid-dead')).toBe(false);
});

test('Redis that cannot answer never blocks rendering, and release never throws', async () => {
  const broken = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  const gate = new ApprovalMessageGate(broken, keys, { ttlMs: 5_000 });
  expect(await timeOf(gate.whenShown('wid-x'))).toBeLessThan(500);
  await expect(gate.release('wid-x')).resolves.toBe(false);
  await expect(gate.hold('wid-x')).rejects.toThrow();
  broken.disconnect();
});
