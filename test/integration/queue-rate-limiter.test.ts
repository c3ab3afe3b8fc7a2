import { Redis } from 'ioredis';
import { acquire } from '../../src/queue';
import { storeKeys } from '../../src/store';
import { testRedisUrl, uniquePrefix } from '../support/redis';

const clients: Redis[] = [];
function client(): Redis {
  const r = new Redis(testRedisUrl());
  clients.push(r);
  return r;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
});

/** Most grants inside any window [t, t + windowMs). */
function maxInWindow(times: number[], windowMs: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('distributed token bucket', () => {
  test('3 clients taking 20 tokens at 2/s (burst 2) take ≈ 9 s and never exceed the rate', async () => {
    const key = storeKeys(uniquePrefix('rate')).rateBucket('arm-identity-writes:sub-1');
    const rate = 2;
    const burst = 2;
    const grants: number[] = [];
    const t0 = Date.now();
    await Promise.all(
      [client(), client(), client()].map(async (c, i) => {
        // 7 + 7 + 6 = 20 tokens, taken as fast as each client can
        for (let n = 0; n < (i < 2 ? 7 : 6); n++) {
          await acquire(c, key, rate, burst);
          grants.push(Date.now());
        }
      }),
    );
    const elapsed = Date.now() - t0;
    const expected = ((20 - burst) / rate) * 1000;
    expect(grants).toHaveLength(20);
    expect(elapsed).toBeGreaterThanOrEqual(expected - 100);
    expect(elapsed).toBeLessThan(expected + 1000);
    // the bucket's bound: at most burst + rate·T in any window T; after the burst, rate per second
    expect(maxInWindow(grants, 1000)).toBeLessThanOrEqual(burst + rate);
    const afterBurst = [...grants].sort((a, b) => a - b).slice(burst);
    expect(maxInWindow(afterBurst, 1000 - 50)).toBeLessThanOrEqual(rate);
  }, 20_000);

  test('a caller that will not wait long is refused with a retryable error and books nothing', async () => {
    const key = storeKeys(uniquePrefix('rate2')).rateBucket('b');
    const c = client();
    expect(await acquire(c, key, 1, 1)).toBe(0);
    await expect(acquire(c, key, 1, 1, { maxWaitMs: 100 })).rejects.toMatchObject({ kind: 'retryable', code: 'RateLimited', retryAfterSeconds: 1 });
    // the refusal did not book a slot: the next token is still ≤ 1 s away, not 2
    const waited = await acquire(c, key, 1, 1);
    expect(waited).toBeGreaterThan(500);
    expect(waited).toBeLessThanOrEqual(1000);
  });

  test('an idle bucket refills to its burst', async () => {
    const key = storeKeys(uniquePrefix('rate3')).rateBucket('b');
    const c = client();
    for (let i = 0; i < 3; i++) expect(await acquire(c, key, 10, 3)).toBe(0);
    expect(await acquire(c, key, 10, 3)).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 400));
    for (let i = 0; i < 3; i++) expect(await acquire(c, key, 10, 3)).toBe(0);
  });
});
