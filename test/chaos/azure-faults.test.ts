/**
 * Azure misbehaving under the real worker and queue: 429 (with Retry-After) and 5xx on 30 % of ARM
 * calls, PrincipalNotFound on every role-assignment write for 30 s, and concurrent-write 409s while
 * several requests put credentials on one identity. All succeed; nothing is created twice.
 */
import type { WidRequest } from '../../src/domain/types';
import { ANNOTATION_CLIENT_ID } from '../../src/domain/types';
import type { WidQueues } from '../../src/queue';
import type { RunningWorker } from '../../src/worker';
import { queuesFor, startHarness, startWorker, waitFor, workerConfig, worldFor, type Harness } from '../integration/provision/harness';
import { countCreations, countFaults, report } from '../reliability/support';

let h: Harness;
let queues: WidQueues;
let worker: RunningWorker;

beforeAll(async () => {
  h = await startHarness({ arm: { throttle: false } });
  queues = await queuesFor(h);
  worker = await startWorker(workerConfig(h, { concurrency: 4 }));
});
afterAll(async () => {
  await worker?.close();
  await queues?.close();
  await h?.close();
});
beforeEach(() => {
  h.world.arm.controls.reset({ log: true });
  h.world.arm.configure({ principalReplicationDelayMs: 0, ficWriteMs: 5 });
});

async function final(id: string, timeoutMs: number): Promise<WidRequest> {
  return waitFor(
    `request ${id} to finish`,
    async () => {
      const r = await h.store.get(id);
      return r && (r.state === 'succeeded' || (r.state === 'failed' && !r.failure?.retryable)) ? r : undefined;
    },
    timeoutMs,
  );
}

/** Approves and queues one request per ServiceAccount, waits for all, and counts what the world holds. */
async function runAll(sas: string[], timeoutMs: number, mutate?: Parameters<Harness['approvedGrant']>[1]) {
  const created = countCreations(h.world);
  const faults = countFaults(h.world.arm.controls);
  try {
    const requests = await Promise.all(sas.map((sa) => h.approvedGrant(sa, mutate)));
    await Promise.all(requests.map((r) => queues.enqueueProvision(r.id, 'grant')));
    const finals = await Promise.all(requests.map((r) => final(r.id, timeoutMs)));
    return { finals, created: { identities: created.identities(), roleAssignments: created.roleAssignments() }, armCalls: h.world.arm.controls.log.length, faults: faults.served() };
  } finally {
    faults.stop();
    created.stop();
  }
}

function oneOfEach(finals: WidRequest[]): { identities: number; roleAssignments: number; fics: number; serviceAccounts: number } {
  const t = { identities: 0, roleAssignments: 0, fics: 0, serviceAccounts: 0 };
  for (const r of finals) {
    const w = worldFor(h.world, r);
    t.identities += w.identities.length;
    t.roleAssignments += w.roleAssignments.length;
    t.fics += w.federatedCredentials.filter((f) => f.subject === r.plan.federatedCredential.subject).length;
    t.serviceAccounts += w.serviceAccount ? 1 : 0;
    expect(w.annotations[ANNOTATION_CLIENT_ID]).toBe(w.identity?.clientId);
  }
  return t;
}

test.each([
  ['429 with Retry-After 1 s', { status: 429, code: 'TooManyRequests', retryAfterSeconds: 1 }],
  ['500', { status: 500, code: 'InternalServerError' }],
  ['503', { status: 503, code: 'ServiceUnavailable' }],
])('%s on 30 %% of ARM calls: 10 requests all succeed with one of each', async (label, fault) => {
  h.world.arm.controls.seed(fault.status * 7919).setErrorRate(0.3, fault);
  const sas = Array.from({ length: 10 }, (_, i) => `faults-${fault.status}-${i}`);
  const { finals, created, armCalls, faults } = await runAll(sas, 120_000);
  h.world.arm.controls.reset();
  const t = oneOfEach(finals);
  const succeeded = finals.filter((r) => r.state === 'succeeded').length;
  report(
    `ARM ${label} at 30 %: requests ${sas.length}, succeeded ${succeeded}, ARM calls ${armCalls}, faults served ${faults} (${((100 * faults) / armCalls).toFixed(0)} %), identities ${t.identities} (created ${created.identities}), role assignments ${t.roleAssignments} (created ${created.roleAssignments}), FICs ${t.fics}, ServiceAccounts ${t.serviceAccounts}`,
  );
  expect(succeeded).toBe(sas.length);
  expect(t).toEqual({ identities: 10, roleAssignments: 10, fics: 10, serviceAccounts: 10 });
  expect(created).toEqual({ identities: 10, roleAssignments: 10 });
  // faults were really served, at about the rate asked for
  expect(faults / armCalls).toBeGreaterThan(0.15);
}, 180_000);

test('PrincipalNotFound on every role-assignment write for 30 s (the principal replicating): all succeed after it clears, one of each', async () => {
  // ARM returns PrincipalNotFound only when principalType is missing; wid-bot sends it, so the replication delay
  // alone never bites. Inject what a slow directory would still cause: every role-assignment PUT refused for 30 s.
  h.world.arm.configure({ principalReplicationDelayMs: 30_000 });
  h.world.arm.controls.setErrorRate(1, { method: 'PUT', path: '/roleAssignments/', status: 400, code: 'PrincipalNotFound', message: 'Principal was not found in the directory.' });
  const started = Date.now();
  const clear = setTimeout(() => h.world.arm.controls.reset(), 30_000);
  try {
    const sas = ['pnf-a', 'pnf-b', 'pnf-c'];
    const { finals, created, faults } = await runAll(sas, 120_000);
    const elapsed = (Date.now() - started) / 1000;
    const refused = h.world.arm.controls.requests({ method: 'PUT', path: '/roleAssignments/' }).length;
    const t = oneOfEach(finals);
    report(
      `PrincipalNotFound for 30 s: requests ${sas.length}, succeeded ${finals.filter((r) => r.state === 'succeeded').length} after ${elapsed.toFixed(1)} s, role-assignment PUTs ${refused} (PrincipalNotFound served ${faults}), identities ${t.identities} (created ${created.identities}), role assignments ${t.roleAssignments}, FICs ${t.fics}, ServiceAccounts ${t.serviceAccounts}`,
    );
    expect(finals.every((r) => r.state === 'succeeded')).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(29);
    expect(t).toEqual({ identities: 3, roleAssignments: 3, fics: 3, serviceAccounts: 3 });
    expect(created).toEqual({ identities: 3, roleAssignments: 3 });
    expect(faults).toBeGreaterThan(3);
    expect(refused).toBe(faults + created.roleAssignments);
  } finally {
    clearTimeout(clear);
  }
}, 180_000);

test('concurrent-write 409s: 8 requests whose credentials land on one identity at once, plus injected 409s: all succeed, nothing duplicated', async () => {
  h.world.arm.configure({ ficWriteMs: 60 });
  h.world.arm.controls.failNext(4, { method: 'PUT', path: '/federatedIdentityCredentials/', status: 409, code: 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity' });
  const shared = 'wid-blue-finance-chaos-shared-0001';
  const sas = Array.from({ length: 8 }, (_, i) => `shared-chaos-${i}`);
  const { finals, created, faults } = await runAll(sas, 120_000, {
    mutatePlan: (p) => {
      p.identity.name = shared;
      p.identity.resourceId = p.identity.resourceId.replace(/[^/]+$/, shared);
    },
  });
  const conflicts = h.world.arm.controls.requests({ method: 'PUT', path: '/federatedIdentityCredentials/' }).length;
  const identity = h.world.arm.state.identities().filter((i) => i.name === shared);
  const fics = identity[0]?.federatedCredentials ?? [];
  const assignments = h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity[0]?.principalId);
  report(
    `concurrent FIC writes: requests ${sas.length}, succeeded ${finals.filter((r) => r.state === 'succeeded').length}, FIC PUTs ${conflicts}, injected 409s served ${faults}, identities ${identity.length} (created ${created.identities}), FICs ${fics.length}, distinct subjects ${new Set(fics.map((f) => f.subject)).size}, role assignments ${assignments.length} (created ${created.roleAssignments})`,
  );
  expect(finals.every((r) => r.state === 'succeeded')).toBe(true);
  expect(faults).toBe(4);
  expect(identity).toHaveLength(1);
  expect(created.identities).toBe(1);
  expect(fics.map((f) => f.subject).sort()).toEqual(sas.map((s) => `system:serviceaccount:finance:${s}`).sort());
  // same principal, role and scope: one assignment by its deterministic name
  expect(assignments).toHaveLength(1);
  expect(created.roleAssignments).toBe(1);
  for (const sa of sas) expect(h.world.kube.getServiceAccount('finance', sa)?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity[0]?.clientId);
}, 180_000);
