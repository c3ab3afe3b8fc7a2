/**
 * Read pacing: the Azure adapter keeps a copy of ARM's read bucket, corrected by the remaining-reads header,
 * and waits for a token instead of provoking 429s. Against the ARM emulator's token buckets, through the real
 * SDK clients; the buckets are small and fast so the test takes about a second.
 */
import type { TokenCredential } from '@azure/core-auth';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import { startArmEmulator, type ArmEmulator } from '../../emulators/arm';
import { createAzureAdapters, currentReadLane, inReadLane, ReadPacer, type AzureConfig } from '../../../src/azure';

const SUB = '11111111-2222-3333-4444-555555555555';
const RG = 'rg-paced';
const READS = { burst: 20, perSecond: 40 };
const credential: TokenCredential = { getToken: async () => ({ token: 'pacing-token', expiresOnTimestamp: Date.now() + 3600_000 }) };

let arm: ArmEmulator;

function config(over: Partial<AzureConfig> = {}): AzureConfig {
  // No retries: a 429 would surface as a failure, so the count of failures is the count of 429s.
  return { credential, resourceManagerUrl: arm.url, audience: 'https://management.azure.com/', retry: { maxRetries: 0 }, ...over };
}

beforeAll(async () => {
  arm = await startArmEmulator({ throttle: false });
  for (let i = 0; i < 5; i++) arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: `id-${i}` });
});
afterAll(async () => {
  await arm.close();
});
afterEach(() => arm.setThrottle(false));

async function readsAtOnce(azure: ReturnType<typeof createAzureAdapters>, n: number): Promise<{ failed: number; ms: number }> {
  const t0 = Date.now();
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => azure.identities.getIdentity({ subscriptionId: SUB, resourceGroup: RG, name: `id-${i % 5}` })));
  return { failed: results.filter((r) => r.status === 'rejected').length, ms: Date.now() - t0 };
}

describe('Azure read pacing against ARM read buckets', () => {
  test('70 reads at once under a bucket of 20 refilled at 40/s: no 429, done in about (70 − 20 + 2 reserved) / 40 s', async () => {
    arm.setThrottle({ read: READS });
    const before = arm.stats().byLimit.read.throttled;
    const azure = createAzureAdapters(config({ readLimit: READS }));
    const r = await readsAtOnce(azure, 70);
    expect(arm.stats().byLimit.read.throttled - before).toBe(0);
    expect(r.failed).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(1250);
    expect(r.ms).toBeLessThan(4000);
    expect(azure.readPacer?.stats()).toMatchObject({ headers: 70 });
  });

  test('without pacing, reads at once are throttled (the test above can fail)', async () => {
    arm.setThrottle({ read: { burst: 20, perSecond: 5 } });
    const before = arm.stats().byLimit.read.throttled;
    const r = await readsAtOnce(createAzureAdapters(config({ readLimit: false })), 70);
    expect(arm.stats().byLimit.read.throttled - before).toBeGreaterThan(0);
    expect(r.failed).toBeGreaterThan(0);
  });

  test('reads another client made with the same principal lower the estimate through the header: still no 429', async () => {
    arm.setThrottle({ read: READS });
    const azure = createAzureAdapters(config({ readLimit: READS }));
    // Another tool empties most of the bucket first.
    const other = new ManagedServiceIdentityClient(credential, SUB, { endpoint: arm.url, credentialScopes: ['https://management.azure.com/.default'] });
    for (let i = 0; i < 16; i++) await other.userAssignedIdentities.get(RG, 'id-0');
    const before = arm.stats().byLimit.read.throttled;
    // One read learns what is left; the others wait for tokens.
    await readsAtOnce(azure, 1);
    const r = await readsAtOnce(azure, 20);
    expect(arm.stats().byLimit.read.throttled - before).toBe(0);
    expect(r.failed).toBe(0);
  });
});

describe('read lanes', () => {
  test('an interactive read made while 60 batch reads wait for tokens goes next, not after them', async () => {
    arm.setThrottle({ read: READS });
    const azure = createAzureAdapters(config({ readLimit: READS }));
    const before = arm.stats().byLimit.read.throttled;
    let batchDone = 0;
    const batch = inReadLane('batch', () => readsAtOnce(azure, 60).then((r) => ((batchDone = 60), r)));
    await new Promise((r) => setTimeout(r, 150));
    const t0 = Date.now();
    await azure.identities.getIdentity({ subscriptionId: SUB, resourceGroup: RG, name: 'id-0' });
    const interactiveMs = Date.now() - t0;
    const waitingBatch = 60 - batchDone;
    const b = await batch;
    expect(b.failed).toBe(0);
    expect(arm.stats().byLimit.read.throttled - before).toBe(0);
    // (60 − 20 + 2) / 40 s ≈ 1 s of batch reads were still waiting; it waited about one token's refill
    expect(waitingBatch).toBe(60);
    expect(interactiveMs).toBeLessThan(250);
    expect(b.ms).toBeGreaterThan(900);
  });

  test('outside inReadLane a read is interactive; inside, batch, across awaits', async () => {
    expect(currentReadLane()).toBe('interactive');
    await inReadLane('batch', async () => {
      await new Promise((r) => setTimeout(r, 5));
      expect(currentReadLane()).toBe('batch');
    });
    expect(currentReadLane()).toBe('interactive');
  });
});

describe('ReadPacer (clock passed in)', () => {
  // Buckets keep a reserve of 2 tokens (5 %, at least 2) unused.
  function pacer(bucket = { burst: 5, perSecond: 10 }) {
    let now = 0;
    const slept: number[] = [];
    const p = new ReadPacer(bucket, () => now, async (ms) => {
      slept.push(ms);
      now += ms;
      await new Promise((r) => setImmediate(r));
    });
    return { p, slept, advance: (ms: number) => (now += ms) };
  }

  test('before any answer: the bucket less its reserve, then no refill until an answer comes', async () => {
    const { p, slept } = pacer();
    const tickets = [await p.acquire('s'), await p.acquire('s'), await p.acquire('s')];
    expect(tickets).toEqual([1, 2, 3]);
    const fourth = p.acquire('s');
    await new Promise((r) => setImmediate(r));
    expect(slept.length).toBeGreaterThan(0); // waiting for an answer
    p.settle('s', 1, 2); // ARM: 2 left after read 1 (reads 2, 3 in flight, older ones none)
    // bound: 2 − 2 reserve − 2 sent after read 1 → −2; refill 10/s → 300 ms for one token
    const before = slept.reduce((a, b) => a + b, 0);
    expect(await fourth).toBe(4);
    expect(slept.reduce((a, b) => a + b, 0) - before).toBeGreaterThanOrEqual(280);
  });

  test('a newer header raises the bound again; an overtaken older one is ignored', async () => {
    const { p, slept } = pacer({ burst: 100, perSecond: 10 });
    await p.acquire('s');
    await p.acquire('s');
    p.settle('s', 2, 3); // only 3 left: bound 3 − 5 reserve → none
    p.settle('s', 1, 90); // older answer: ignored
    const third = p.acquire('s');
    await new Promise((r) => setImmediate(r));
    expect(slept.length).toBeGreaterThan(0);
    await third;
    expect(slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(300);
  });

  test('answers without the header let the bound refill from then on', async () => {
    const { p, advance } = pacer({ burst: 3, perSecond: 10 });
    const t = await p.acquire('s'); // burst 3 − reserve 2 = 1 usable
    advance(1000);
    p.settle('s', t, undefined);
    advance(1000);
    await p.acquire('s');
  });

  test('answers that never carry the header: reads go on at the refill rate after the burst, never stall', async () => {
    const { p, slept } = pacer({ burst: 20, perSecond: 10 });
    // 100 reads one after another, each answered without the header (a proxy, an emulator without throttling)
    for (let i = 0; i < 100; i++) {
      const ticket = await p.acquire('s');
      p.settle('s', ticket, undefined);
    }
    // the first 18 (20 less the reserve of 2) go at once; the other 82 wait for refill: about 8.2 s at 10/s, not forever
    const waited = slept.reduce((a, b) => a + b, 0);
    expect(waited).toBeGreaterThanOrEqual(8000);
    expect(waited).toBeLessThan(12_000);
  });

  test('without the header, reads in flight still count: 30 at once under a burst of 20 wait for refill', async () => {
    const { p, slept } = pacer({ burst: 20, perSecond: 10 });
    const tickets = await Promise.all(Array.from({ length: 18 }, () => p.acquire('s')));
    const more = Array.from({ length: 12 }, () => p.acquire('s'));
    await new Promise((r) => setImmediate(r));
    for (const t of tickets) p.settle('s', t, undefined);
    await Promise.all(more);
    // 12 more tokens at 10/s: at least 1.2 s of refill, whatever order the answers came in
    expect(slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1100);
  });

  test('subscriptions have their own bounds', async () => {
    const { p, slept } = pacer({ burst: 3, perSecond: 10 });
    await p.acquire('a');
    await p.acquire('b');
    expect(slept).toEqual([]);
  });
});
