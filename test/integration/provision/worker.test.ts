import type { ProgressEvent, ProgressSink } from '../../../src/domain/ports';
import type { WidRequest } from '../../../src/domain/types';
import { ANNOTATION_CLIENT_ID } from '../../../src/domain/types';
import type { WidQueues } from '../../../src/queue';
import { createQueues, watchProvisionEvents } from '../../../src/queue';
import { testRedisUrl } from '../../support/redis';
import { crashAfterStepAndRecover, startHarness, startWorker, queuesFor, waitFor, workerConfig, worldFor, type Harness } from './harness';

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

async function finalState(id: string): Promise<WidRequest> {
  return waitFor(`request ${id} to finish`, async () => {
    const r = await h.store.get(id);
    return r && (r.state === 'succeeded' || r.state === 'failed') ? r : undefined;
  });
}

test('approved → provisioning → succeeded through the queue, with progress; a second job for the request is a no-op', async () => {
  const events: ProgressEvent[] = [];
  const finished: WidRequest[] = [];
  const progress: ProgressSink = { progress: async (_r, e) => void events.push(e), finished: async (r) => void finished.push(r) };
  const stepsSeen: string[] = [];
  const worker = await startWorker(workerConfig(h, { progress, onStep: (step, outcome) => void stepsSeen.push(`${step}:${outcome}`) }));
  try {
    const request = await h.approvedGrant('queued');
    await queues.enqueueProvision(request.id, 'grant');
    const done = await finalState(request.id);
    expect(done.state).toBe('succeeded');
    expect(done.resources.verified).toBe(true);
    expect((await h.store.history(request.id)).map((e) => e.to)).toEqual(['pending', 'approved', 'provisioning', 'succeeded']);
    // finished() is told right after the state is saved
    await waitFor('the finished notification', async () => finished.length > 0);
    expect(finished.map((r) => [r.id, r.state])).toEqual([[request.id, 'succeeded']]);
    expect(events.filter((e) => e.outcome === 'running')).toHaveLength(5);
    expect(stepsSeen.sort()).toEqual(['federatedCredential:done', 'identity:done', 'roleAssignment:done', 'serviceAccount:done', 'verify:done']);

    // a stray retry job for a succeeded request changes nothing
    const armCalls = h.world.arm.controls.log.length;
    await queues.enqueueProvision(request.id, 'grant', { retry: 1 });
    await waitFor('the stray job to complete', async () => (await queues.provision.getJobState(`${request.id}-retry-1`)) === 'completed');
    expect(h.world.arm.controls.log.length).toBe(armCalls);
    expect((await h.store.history(request.id)).map((e) => e.to)).toEqual(['pending', 'approved', 'provisioning', 'succeeded']);
  } finally {
    await worker.close();
  }
});

test('403 → failed with the reason and what exists; after the permission is fixed a retry resumes and succeeds with one of each', async () => {
  h.world.arm.deny({ action: 'Microsoft.Authorization/roleAssignments/write' });
  const worker = await startWorker(workerConfig(h));
  try {
    const request = await h.approvedGrant('forbidden');
    await queues.enqueueProvision(request.id, 'grant');
    const failed = await finalState(request.id);
    expect(failed.state).toBe('failed');
    expect(failed.failure).toMatchObject({ step: 'roleAssignment', retryable: false });
    const w = worldFor(h.world, request);
    expect(failed.failure?.reason).toContain("not allowed to perform 'Microsoft.Authorization/roleAssignments/write'");
    expect(failed.failure?.reason).toContain(`exists: identity ${w.identity!.id}`);
    expect(failed.failure?.reason).toContain("missing: role assignment 'Key Vault Secrets User'");
    expect(failed.failure?.reason).toContain(`exists: federated credential '${request.plan.federatedCredential.name}'`);
    expect(failed.failure?.reason).toContain(`exists: ServiceAccount finance/forbidden (bound to client id ${w.identity!.clientId})`);

    h.world.arm.clearDenies();
    await queues.enqueueProvision(request.id, 'grant', { retry: 1 });
    await waitFor('the retry to start', async () => (await h.store.get(request.id))?.state !== 'failed');
    const retried = await finalState(request.id);
    expect(retried.state).toBe('succeeded');
    const after = worldFor(h.world, request);
    expect([after.identities.length, after.roleAssignments.length, after.federatedCredentials.length]).toEqual([1, 1, 1]);
    expect(after.annotations[ANNOTATION_CLIENT_ID]).toBe(after.identity!.clientId);
  } finally {
    h.world.arm.clearDenies();
    await worker.close();
  }
});

test('a revoke request through the queue removes what the grant made; progress reaches BullMQ event watchers', async () => {
  const seen: unknown[] = [];
  const watch = await watchProvisionEvents(testRedisUrl(), h.prefix, { onProgress: (_id, p) => void seen.push(p) });
  const worker = await startWorker(workerConfig(h));
  try {
    const grant = await h.approvedGrant('to-revoke');
    await queues.enqueueProvision(grant.id, 'grant');
    expect((await finalState(grant.id)).state).toBe('succeeded');
    const revoke = await h.approvedRevoke(grant);
    await queues.enqueueProvision(revoke.id, 'revoke');
    const done = await finalState(revoke.id);
    expect(done.state).toBe('succeeded');
    const w = worldFor(h.world, grant);
    expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([0, 0, 0]);
    expect(w.annotations[ANNOTATION_CLIENT_ID]).toBeUndefined();
    await waitFor('progress events', async () => seen.some((p) => (p as { requestId?: string }).requestId === revoke.id));
    expect(seen).toContainEqual(expect.objectContaining({ requestId: grant.id, step: 'verify', outcome: 'done' }));
  } finally {
    await worker.close();
    await watch.close();
  }
});

test('retryable failures use up the queue attempts, then the request fails with the last error, marked retryable', async () => {
  const fewAttempts = await createQueues(testRedisUrl(), h.prefix, { provisionAttempts: 2 });
  const worker = await startWorker(workerConfig(h, { limits: { retryBaseMs: 20, principalNotFoundMaxMs: 100, lockTtlMs: 1500 } }));
  h.world.arm.controls.failNext(10_000, { method: 'PUT', path: '/roleAssignments/', status: 400, code: 'PrincipalNotFound' });
  try {
    const request = await h.approvedGrant('never-visible');
    await fewAttempts.enqueueProvision(request.id, 'grant');
    const failed = await finalState(request.id);
    expect(failed.state).toBe('failed');
    expect(failed.failure).toMatchObject({ step: 'roleAssignment', retryable: true });
    expect(failed.failure?.reason).toContain('PrincipalNotFound');
    expect(failed.failure?.reason).toMatch(/still failing after \d+ tries/);
    expect(failed.failure?.reason).toContain('missing: role assignment');
  } finally {
    h.world.arm.controls.reset();
    await worker.close();
    await fewAttempts.close();
  }
});

test('closing the worker lets the running job finish', async () => {
  const worker = await startWorker(workerConfig(h));
  h.world.arm.controls.setLatency(150);
  try {
    const request = await h.approvedGrant('graceful');
    await queues.enqueueProvision(request.id, 'grant');
    await waitFor('the job to start', async () => (await h.store.get(request.id))?.state === 'provisioning');
    await worker.close();
    expect((await h.store.get(request.id))?.state).toBe('succeeded');
  } finally {
    h.world.arm.controls.reset();
  }
});

jest.setTimeout(60_000);

test('a worker process SIGKILLed right after the ServiceAccount step: another worker takes over and the request succeeds with one of each', async () => {
  const { request, signal } = await crashAfterStepAndRecover(h, queues, 'serviceAccount', 'crash-sa');
  expect(signal).toBe('SIGKILL');
  expect(request.state).toBe('succeeded');
  const w = worldFor(h.world, request);
  expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
  expect(w.annotations[ANNOTATION_CLIENT_ID]).toBe(w.identity!.clientId);
  expect(request.resources.verified).toBe(true);
});
