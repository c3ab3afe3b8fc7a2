import type { WidQueues } from '../../../src/queue';
import type { WidRequest } from '../../../src/domain/types';
import { grantPreflight } from '../../../src/provision';
import { handOverPreflight, planHash, preflightHandoverKey, receivePreflight } from '../../../src/provision/handover';
import { queuesFor, startHarness, startWorker, waitFor, workerConfig, worldFor, type Harness } from './harness';

let h: Harness;
let queues: WidQueues;

beforeAll(async () => {
  h = await startHarness({ arm: { throttle: false } });
  queues = await queuesFor(h);
});
afterAll(async () => {
  await queues?.close();
  await h?.close();
});
afterEach(() => {
  h.world.arm.controls.reset();
  h.world.kube.controls.reset();
});

const handoverDeps = () => ({ redis: h.store.redis, keys: h.store.keys });
const key = (r: WidRequest) => preflightHandoverKey(h.store.keys, r.id);
/** The preflight's reads in the worlds' logs since `since`: the cluster, the identity, its credentials, the ServiceAccount. */
function preflightReads(since: number, r: WidRequest): string[] {
  const sa = `/serviceaccounts/${r.plan.serviceAccount.name}`;
  const arm = h.world.arm.controls.log.filter((e) => e.at >= since && e.method === 'GET' && (/managedClusters\//.test(e.path) || e.path.includes(`/userAssignedIdentities/${r.plan.identity.name}`)));
  const kube = h.world.kube.controls.log.filter((e) => e.at >= since && e.method === 'GET' && e.path.endsWith(sa));
  return [...arm, ...kube].map((e) => `${e.method} ${e.path}`);
}

async function finalState(id: string): Promise<WidRequest> {
  return waitFor(`request ${id} to finish`, async () => {
    const r = await h.store.get(id);
    return r && (r.state === 'succeeded' || r.state === 'failed') ? r : undefined;
  });
}

test('the reads handed over are the preflight the worker would read, taken once, and the key is gone after', async () => {
  const r = await h.approvedGrant('handed');
  expect(await handOverPreflight(handoverDeps(), h.deps(), r)).toBe('handed-over');
  const raw = await h.store.redis.get(key(r));
  expect(raw).toContain('"state":"ready"');
  expect(raw).not.toMatch(/token|secret/i);
  const since = Date.now();
  const received = await receivePreflight(handoverDeps(), r);
  expect(preflightReads(since, r)).toEqual([]);
  expect(received).toEqual(await grantPreflight(r, h.deps()));
  expect(await h.store.redis.exists(key(r))).toBe(0);
  // taken once: a second look finds nothing and reads nothing
  expect(await receivePreflight(handoverDeps(), r)).toBeUndefined();
});

test('a hand-over for another plan, or older than its bound, is not used (and is deleted)', async () => {
  const r = await h.approvedGrant('other-plan');
  expect(await handOverPreflight(handoverDeps(), h.deps(), r)).toBe('handed-over');
  const changed: WidRequest = { ...r, plan: { ...r.plan, serviceAccount: { ...r.plan.serviceAccount, name: 'someone-else' } } };
  expect(planHash(changed.plan)).not.toBe(planHash(r.plan));
  expect(await receivePreflight(handoverDeps(), changed)).toBeUndefined();
  expect(await h.store.redis.exists(key(r))).toBe(0);

  const s = await h.approvedGrant('stale-plan');
  const t0 = Date.now();
  expect(await handOverPreflight({ ...handoverDeps(), now: () => t0 }, h.deps(), s)).toBe('handed-over');
  expect(await receivePreflight({ ...handoverDeps(), now: () => t0 + 10_001 }, s, { maxAgeMs: 10_000 })).toBeUndefined();
  expect(await h.store.redis.exists(key(s))).toBe(0);
  // just inside the bound it counts
  const u = await h.approvedGrant('fresh-plan');
  expect(await handOverPreflight({ ...handoverDeps(), now: () => t0 }, h.deps(), u)).toBe('handed-over');
  expect(await receivePreflight({ ...handoverDeps(), now: () => t0 + 9_999 }, u, { maxAgeMs: 10_000 })).toBeDefined();
});

test('reads still running are waited for; reads that do not come in time are given up, and cannot come back', async () => {
  const r = await h.approvedGrant('slow-reads');
  h.world.arm.controls.setLatency(300);
  const handing = handOverPreflight(handoverDeps(), h.deps(), r);
  await waitFor('the reading mark', async () => (await h.store.redis.get(key(r)))?.includes('"state":"reading"'));
  const t0 = Date.now();
  const received = await receivePreflight(handoverDeps(), r, { waitMs: 5_000 });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
  expect(received?.roleDefinitionId).toBeTruthy();
  expect(await handing).toBe('handed-over');

  const s = await h.approvedGrant('too-slow-reads');
  h.world.arm.controls.setLatency(600);
  const late = handOverPreflight(handoverDeps(), h.deps(), s);
  await waitFor('the reading mark', async () => (await h.store.redis.get(key(s)))?.includes('"state":"reading"'));
  expect(await receivePreflight(handoverDeps(), s, { waitMs: 100 })).toBeUndefined();
  expect(await late).toBe('skipped');
  expect(await h.store.redis.exists(key(s))).toBe(0);
});

test('a failed read leaves nothing; a changed cluster in the hand-over fails the checks as the worker’s own reads would', async () => {
  const r = await h.approvedGrant('failing-read');
  h.world.arm.controls.failNext(1, { status: 403, code: 'AuthorizationFailed', method: 'GET', path: /managedClusters/ });
  expect(await handOverPreflight(handoverDeps(), h.deps(), r)).toBe('failed');
  expect(await h.store.redis.exists(key(r))).toBe(0);

  const s = await h.approvedGrant('issuer-moved');
  const moved: WidRequest = { ...s, plan: { ...s.plan, federatedCredential: { ...s.plan.federatedCredential, issuer: 'https://elsewhere.example/' } } };
  expect(await handOverPreflight(handoverDeps(), h.deps(), moved)).toBe('handed-over');
  await expect(receivePreflight(handoverDeps(), moved)).rejects.toMatchObject({ code: 'IssuerChanged' });
  await expect(grantPreflight(moved, h.deps())).rejects.toMatchObject({ code: 'IssuerChanged' });
});

test('the worker uses a fresh hand-over instead of reading, and reads itself when the hand-over is of another plan', async () => {
  const worker = await startWorker(workerConfig(h));
  try {
    const r = await h.approvedGrant('worker-handed');
    expect(await handOverPreflight(handoverDeps(), h.deps(), r)).toBe('handed-over');
    const since = Date.now();
    await queues.enqueueProvision(r.id, 'grant');
    const done = await finalState(r.id);
    expect(done.state).toBe('succeeded');
    expect(done.resources.verified).toBe(true);
    expect(preflightReads(since, r)).toEqual([]);
    const w = worldFor(h.world, r);
    expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
    expect(await h.store.redis.exists(key(r))).toBe(0);

    const s = await h.approvedGrant('worker-other-plan');
    // a hand-over written for a different plan under this request's key
    const other: WidRequest = { ...s, plan: { ...s.plan, roleAssignment: { ...s.plan.roleAssignment, scope: `${s.plan.roleAssignment.scope}/other` } } };
    expect(await handOverPreflight(handoverDeps(), h.deps(), other)).toBe('handed-over');
    const since2 = Date.now();
    await queues.enqueueProvision(s.id, 'grant');
    expect((await finalState(s.id)).state).toBe('succeeded');
    expect(preflightReads(since2, s).length).toBeGreaterThanOrEqual(3);
    expect(await h.store.redis.exists(key(s))).toBe(0);
  } finally {
    await worker.close();
  }
});
