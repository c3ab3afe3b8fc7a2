/**
 * Time-bound grants end, against the emulated world through the real adapters and a real worker: the delayed
 * end job, shared assignments (the later end wins), the reconciler reading the store and Azure (lost jobs, an
 * emptied Redis), early ends, an assignment removed by hand, the identity deleted by hand, Azure failing.
 */
import { assignmentDescription, parseAssignmentDescription, type Grant } from '../../../src/domain/grants';
import type { WidRequest } from '../../../src/domain/types';
import { RedisGrantStore } from '../../../src/grants/store';
import { grantJobId } from '../../../src/grants/queue';
import { storageScope } from '../../emulators/world';
import { queuesFor, startHarness, startWorker, waitFor, workerConfig, worldFor, type Harness } from '../provision/harness';
import type { WidQueues } from '../../../src/queue';
import type { RunningWorker } from '../../../src/worker';

jest.setTimeout(60_000);

let h: Harness;
let queues: WidQueues;
let grants: RedisGrantStore;

beforeAll(async () => {
  h = await startHarness();
  queues = await queuesFor(h);
  grants = new RedisGrantStore(h.store.redis, h.store.keys);
});
afterAll(async () => {
  await queues.close();
  await h.close();
});

const ROLE = 'Storage Blob Data Reader';

async function timeBound(sa: string, seconds: number): Promise<WidRequest> {
  return h.approvedGrant(sa, {
    roleName: ROLE,
    scope: storageScope(),
    mutatePlan: (p) => {
      p.durationSeconds = seconds;
    },
  });
}

async function provisioned(worker: RunningWorker, r: WidRequest): Promise<WidRequest> {
  void worker;
  await queues.enqueueProvision(r.id, 'grant');
  return waitFor(`request ${r.id} to succeed`, async () => {
    const x = await h.store.get(r.id);
    if (x?.state === 'failed') throw new Error(`request failed: ${x.failure?.reason}`);
    return x?.state === 'succeeded' ? x : undefined;
  });
}

const ended = (id: string, timeoutMs = 20_000): Promise<Grant> =>
  waitFor(`grant ${id} to end`, async () => {
    const g = (await grants.get(id))?.grant;
    return g?.state === 'ended' ? g : undefined;
  }, timeoutMs);

function assignmentsOf(r: WidRequest) {
  return worldFor(h.world, r).roleAssignments.filter((a) => a.scope === storageScope().toLowerCase() || a.scope.toLowerCase() === storageScope().toLowerCase());
}

async function withWorker<T>(fn: (w: RunningWorker) => Promise<T>, extra: Parameters<typeof workerConfig>[1] = {}): Promise<T> {
  const w = await startWorker(workerConfig(h, { grants: { reconcileIntervalMs: 60_000, backoffBaseMs: 100, endAttempts: 3 }, ...extra }));
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

test('a succeeded time-bound grant writes its end into Azure, ends by its delayed job, removes its assignment and then its identity', async () => {
  await withWorker(async (w) => {
    const r = await timeBound('grant-basic', 3);
    const done = await provisioned(w, r);
    const g = (await grants.get(r.id))?.grant as Grant;
    expect(g.state).toBe('active');
    const [ra] = assignmentsOf(done);
    expect(parseAssignmentDescription(ra?.description)).toEqual({ requestId: r.id, endsAt: g.endsAt });
    const e = await ended(r.id);
    expect(e.end).toMatchObject({ reason: 'expired', assignmentRemoved: true });
    expect(Date.parse(e.end?.endedAt as string)).toBeGreaterThanOrEqual(Date.parse(g.endsAt as string));
    expect(assignmentsOf(done)).toHaveLength(0);
    // no other grant needs the ServiceAccount: the release revokes the rest as /wid revoke does
    await waitFor('the release', async () => (await grants.get(r.id))?.grant.end?.release);
    expect(worldFor(h.world, done).identity).toBeUndefined();
    expect(worldFor(h.world, done).annotations['azure.workload.identity/client-id']).toBeUndefined();
  });
});

test('two grants of the same role, scope and ServiceAccount share one assignment: the earlier end keeps it, the later removes it', async () => {
  await withWorker(async (w) => {
    const first = await timeBound('grant-shared', 3);
    await provisioned(w, first);
    const second = await timeBound('grant-shared', 8);
    const secondDone = await provisioned(w, second);
    const g2 = (await grants.get(second.id))?.grant as Grant;
    expect(assignmentsOf(secondDone)).toHaveLength(1);
    expect(assignmentsOf(secondDone)[0]?.description).toBe(assignmentDescription(second.id, g2.endsAt));
    const e1 = await ended(first.id);
    expect(e1.end?.assignmentRemoved).toBe(false);
    expect(assignmentsOf(secondDone)).toHaveLength(1);
    expect(worldFor(h.world, secondDone).identity).toBeDefined();
    const e2 = await ended(second.id);
    expect(e2.end?.assignmentRemoved).toBe(true);
    expect(assignmentsOf(secondDone)).toHaveLength(0);
  });
});

test('a lost delayed job and a week of downtime: the reconciler ends the grant from the store', async () => {
  const r = await timeBound('grant-lost-job', 2);
  let done: WidRequest | undefined;
  await withWorker(async (w) => {
    done = await provisioned(w, r);
  });
  const g = (await grants.get(r.id))?.grant as Grant;
  // the delayed job is lost
  const { Queue } = await import('bullmq');
  const q = new Queue('wid-grants', { connection: h.store.redis, prefix: h.store.keys.bullPrefix });
  expect(await q.remove(grantJobId('end', r.id, Date.parse(g.endsAt as string)))).toBe(1);
  await q.close();
  await new Promise((res) => setTimeout(res, 2500));
  expect((await grants.get(r.id))?.grant.state).toBe('active');
  expect(assignmentsOf(done as WidRequest)).toHaveLength(1);
  // the worker comes back: its first reconcile pass ends it
  await withWorker(async () => {
    const e = await ended(r.id, 10_000);
    expect(e.end?.assignmentRemoved).toBe(true);
  });
  expect(assignmentsOf(done as WidRequest)).toHaveLength(0);
});

test('an emptied Redis: the reconciler ends the grant from the description Azure keeps, and removes nothing else', async () => {
  const r = await timeBound('grant-flushed', 2);
  const forGood = await h.approvedGrant('grant-flushed-keep');
  let done: WidRequest | undefined;
  let keep: WidRequest | undefined;
  await withWorker(async (w) => {
    done = await provisioned(w, r);
    keep = await provisioned(w, forGood);
  });
  expect(assignmentsOf(done as WidRequest)).toHaveLength(1);
  // everything under the prefix goes: requests, grants, queues
  const keys = await h.store.redis.keys(`${h.prefix}:*`);
  if (keys.length) await h.store.redis.del(...keys);
  await new Promise((res) => setTimeout(res, 2200));
  await withWorker(async (w) => {
    const report = await waitFor('a reconcile pass that removes it', async () => {
      const x = await w.grants.reconcileNow();
      return x && x.removedFromAzure > 0 ? x : undefined;
    });
    expect(report.removedFromAzure).toBe(1);
  });
  expect(assignmentsOf(done as WidRequest)).toHaveLength(0);
  expect(worldFor(h.world, keep as WidRequest).roleAssignments).toHaveLength(1);
});

test('an assignment removed by hand before the end, and an identity deleted by hand: the end says so and removes nothing else', async () => {
  await withWorker(async (w) => {
    const r = await timeBound('grant-by-hand', 2);
    const done = await provisioned(w, r);
    const [ra] = assignmentsOf(done);
    h.world.arm.state.removeRoleAssignment(ra?.name as string);
    const e = await ended(r.id);
    expect(e.end?.assignmentRemoved).toBe(false);
    expect(e.end?.notes?.join(' ')).toMatch(/already gone/);

    const r2 = await timeBound('grant-identity-gone', 2);
    const done2 = await provisioned(w, r2);
    const plan = done2.plan.identity;
    expect(h.world.arm.state.removeIdentity(plan.subscriptionId, plan.resourceGroup, plan.name)).toBe(true);
    const e2 = await ended(r2.id);
    expect(e2.state).toBe('ended');
  });
});

test('"I\'m done" ends a grant at once; a second click and a click on an ended grant are refused', async () => {
  await withWorker(async (w) => {
    const r = await timeBound('grant-done', 3600);
    const done = await provisioned(w, r);
    const first = await w.grants.service.askEnd(r.id, { reason: 'done', actor: { id: done.requester.id }, actorIsRequester: true });
    expect(first.ok).toBe(true);
    const again = await w.grants.service.askEnd(r.id, { reason: 'done', actor: { id: done.requester.id }, actorIsRequester: true });
    expect(again.ok).toBe(false);
    const e = await ended(r.id);
    expect(e.end).toMatchObject({ reason: 'done', assignmentRemoved: true });
    const late = await w.grants.service.askEnd(r.id, { reason: 'done', actor: { id: done.requester.id }, actorIsRequester: true });
    expect(late.ok).toBe(false);
    if (!late.ok) expect(late.message).toMatch(/already ended/);
    const stranger = await timeBound('grant-done-stranger', 3600);
    await provisioned(w, stranger);
    const refused = await w.grants.service.askEnd(stranger.id, { reason: 'done', actor: { id: 'U_STRANGER' } });
    expect(refused.ok).toBe(false);
  });
});

test('Azure answering 429 and 500 to the removal: retried with backoff until it goes, exactly once', async () => {
  await withWorker(async (w) => {
    const r = await timeBound('grant-faults', 2);
    const done = await provisioned(w, r);
    h.world.arm.controls.failNext(2, { method: 'DELETE', path: '/roleAssignments/', status: 429, code: 'TooManyRequests', retryAfterSeconds: 1 });
    h.world.arm.controls.failNext(2, { method: 'DELETE', path: '/roleAssignments/', status: 500, code: 'InternalServerError' });
    const e = await ended(r.id, 30_000);
    expect(e.end?.assignmentRemoved).toBe(true);
    expect(assignmentsOf(done)).toHaveLength(0);
  });
});
