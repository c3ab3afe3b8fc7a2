import { Redis } from 'ioredis';
import { withLock } from '../../src/queue';
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('withLock', () => {
  test('10 parallel critical sections on separate connections never overlap', async () => {
    const key = storeKeys(uniquePrefix('lock')).lock('fic:/subscriptions/s/rg/id-1');
    let inside = 0;
    let maxInside = 0;
    const spans: [number, number][] = [];
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        withLock(
          client(),
          key,
          2000,
          async () => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            const start = performance.now();
            await sleep(30 + (i % 3) * 10);
            spans.push([start, performance.now()]);
            inside--;
            return i;
          },
          { waitMs: 10_000, pollMs: 10 },
        ),
      ),
    );
    expect(results.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(maxInside).toBe(1);
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect((spans[i] as [number, number])[0]).toBeGreaterThanOrEqual((spans[i - 1] as [number, number])[1]);
    expect(await client().exists(key)).toBe(0);
  });

  test('a busy lock gives up after waitMs with a retryable LockBusy error; the lock is released even when fn throws', async () => {
    const key = storeKeys(uniquePrefix('busy')).lock('x');
    const a = client();
    const b = client();
    let release!: () => void;
    let taken!: () => void;
    const isTaken = new Promise<void>((r) => (taken = r));
    const held = withLock(a, key, 5000, () => {
      taken();
      return new Promise<void>((r) => (release = r));
    });
    await isTaken;
    const t0 = Date.now();
    await expect(withLock(b, key, 5000, async () => 'never', { waitMs: 150 })).rejects.toMatchObject({ kind: 'retryable', code: 'LockBusy' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
    release();
    await held;
    await expect(withLock(a, key, 1000, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withLock(b, key, 1000, async () => 'free', { waitMs: 0 })).toBe('free');
  });

  test('the lock is extended while fn outlives the ttl, and a crashed holder frees it within the ttl', async () => {
    const key = storeKeys(uniquePrefix('extend')).lock('x');
    const a = client();
    const b = client();
    let lost = false;
    let taken!: () => void;
    const isTaken = new Promise<void>((r) => (taken = r));
    const long = withLock(a, key, 400, async (l) => {
      taken();
      await sleep(1600);
      lost = l.signal.aborted;
    });
    await isTaken;
    // 1.6 s is four ttls: without renewal b would get in after 400 ms
    await expect(withLock(b, key, 400, async () => 'in', { waitMs: 1200, pollMs: 20 })).rejects.toMatchObject({ code: 'LockBusy' });
    await long;
    expect(lost).toBe(false);
    // a holder that died: its token stays until the ttl ends
    await a.set(key, 'dead-holder-token', 'PX', 200);
    const t0 = Date.now();
    expect(await withLock(b, key, 200, async () => 'in', { waitMs: 1000, pollMs: 20 })).toBe('in');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  test('a holder whose lock was taken over sees its signal aborted and does not delete the new holder', async () => {
    const key = storeKeys(uniquePrefix('lost')).lock('x');
    const a = client();
    let aborted: unknown;
    await withLock(a, key, 100, async (l) => {
      // someone deletes and retakes the lock (e.g. after a long pause of this process)
      await a.set(key, 'other-token');
      await sleep(150);
      aborted = l.signal.reason;
    });
    expect(aborted).toMatchObject({ code: 'LockLost' });
    expect(await a.get(key)).toBe('other-token');
  });
});
