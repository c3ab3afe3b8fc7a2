/**
 * wid-bot lives within ARM's buckets: grants and revokes provisioned at once against small, fast versions of the
 * documented buckets (same shape, scaled so the test takes seconds) finish without a single 429, because every
 * write, delete and identity create waits for a token of wid-bot's shared Redis buckets first.
 */
import { provisionGrant, provisionRevoke } from '../../../src/provision';
import { startHarness, type Harness } from './harness';

// wid-bot leaves one second of refill unused (at most half the bucket): 5 writes, 2 creates here.
const WRITES = { burst: 10, perSecond: 10 };
const DELETES = { burst: 10, perSecond: 10 };
const CREATES = { burst: 4, perSecond: 4 };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ arm: { throttle: { write: WRITES, delete: DELETES, identityCreate: CREATES } } });
});
afterAll(async () => {
  await h.close();
});

const limits = { retryBaseMs: 50, lockTtlMs: 5000, armWrites: WRITES, armDeletes: DELETES, identityCreates: CREATES };

test('12 grants at once under buckets of 10 writes and 4 identity creates (10/s, 4/s): all succeed, no 429, at the buckets’ pace', async () => {
  const requests = await Promise.all(Array.from({ length: 12 }, (_, i) => h.approvedGrant(`paced-${i}`)));
  const before = h.world.arm.stats();
  const t0 = Date.now();
  await Promise.all(requests.map((r) => provisionGrant(r, h.deps({ limits }))));
  const ms = Date.now() - t0;
  const after = h.world.arm.stats();
  expect(after.throttled - before.throttled).toBe(0);
  // 36 writes: 5 at once, then 10/s → at least 3.1 s; 12 creates: 2 at once, then 4/s → at least 2.5 s
  expect(ms).toBeGreaterThanOrEqual(3000);
  expect(after.byLimit.identityCreate.allowed - before.byLimit.identityCreate.allowed).toBe(12);
  // identity, role assignment and credential: three writes each
  expect(after.byLimit.write.allowed - before.byLimit.write.allowed).toBe(36);

  const revokes = await Promise.all(requests.slice(0, 6).map((r) => h.approvedRevoke(r)));
  const mid = h.world.arm.stats();
  await Promise.all(revokes.map((r) => provisionRevoke(r, h.deps({ limits }))));
  const end = h.world.arm.stats();
  expect(end.throttled - mid.throttled).toBe(0);
  expect(end.byLimit.delete.allowed - mid.byLimit.delete.allowed).toBe(18);
});

test('without wid-bot’s buckets (limits far above ARM’s) the same grants are throttled: the test above can fail', async () => {
  const requests = await Promise.all(Array.from({ length: 12 }, (_, i) => h.approvedGrant(`unpaced-${i}`)));
  const before = h.world.arm.stats().throttled;
  const loose = { burst: 1000, perSecond: 1000 };
  const results = await Promise.allSettled(requests.map((r) => provisionGrant(r, h.deps({ limits: { ...limits, armWrites: loose, identityCreates: loose } }))));
  expect(h.world.arm.stats().throttled - before).toBeGreaterThan(0);
  expect(results.length).toBe(12);
});
