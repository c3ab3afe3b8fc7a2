/**
 * A time-bound multi-cluster grant (`/wid request … --cluster blue,green --for 3s`) ends on every cluster it
 * serves, against the world with two clusters through a real worker: the role goes, green's federated credential
 * and annotation go, then the release removes blue's part and the identity. A green API that cannot be reached
 * keeps the grant ending (retried, never recorded as ended) until it answers again; a run stopped after green's
 * credential went and resumed ends in the same world.
 */
import { planAlsoClusters } from '../../../src/app/federate';
import { evaluateRequest } from '../../../src/domain/policy';
import type { Grant } from '../../../src/domain/grants';
import type { KubePort } from '../../../src/domain/ports';
import { ANNOTATION_CLIENT_ID, type WidRequest } from '../../../src/domain/types';
import { createAzureAdapters } from '../../../src/azure';
import { endGrant } from '../../../src/grants/end';
import { RedisGrantStore } from '../../../src/grants/store';
import { createKubeAdapter } from '../../../src/kube';
import type { WidQueues } from '../../../src/queue';
import type { RunningWorker } from '../../../src/worker';
import { caught } from '../../support/helpers';
import { storageScope } from '../../emulators/world';
import { queuesFor, startHarness, startWorker, startWorkerChild, waitFor, workerConfig, WORLD, type Harness } from '../provision/harness';

jest.setTimeout(90_000);

let h: Harness;
let queues: WidQueues;
let grants: RedisGrantStore;

beforeAll(async () => {
  h = await startHarness({ extraClusters: [{ name: 'green', aksName: 'aks-green' }] });
  queues = await queuesFor(h);
  grants = new RedisGrantStore(h.store.redis, h.store.keys);
});
afterAll(async () => {
  await queues?.close();
  await h?.close();
});

const green = () => h.world.kubes.green as NonNullable<Harness['world']['kubes'][string]>;

/** An approved grant of finance/<sa> on blue and green for `seconds`, planned as /wid request … --cluster blue,green plans it. */
async function multiClusterGrant(sa: string, seconds: number): Promise<WidRequest> {
  const decision = evaluateRequest(h.policy, { requester: { id: WORLD.users.requester }, requesterGroups: [], command: { verb: 'request', namespace: 'finance', serviceAccount: sa, roleName: 'Storage Blob Data Reader', scope: storageScope() } });
  if (!decision.ok) throw new Error(decision.error.message);
  const azure = createAzureAdapters(h.azureConfig);
  const also = await planAlsoClusters(h.policy, decision.value, ['green'], (c) => azure.clusters.getClusterFacts(c), 'wid-plan', { id: WORLD.users.requester });
  if (!also.ok) throw new Error(also.error.message);
  return h.approvedGrant(sa, {
    roleName: 'Storage Blob Data Reader',
    scope: storageScope(),
    mutatePlan: (p) => {
      p.durationSeconds = seconds;
      p.alsoClusters = also.value;
    },
  });
}

async function provisioned(r: WidRequest): Promise<WidRequest> {
  await queues.enqueueProvision(r.id, 'grant');
  return waitFor(`request ${r.id} to succeed`, async () => {
    const x = await h.store.get(r.id);
    if (x?.state === 'failed') throw new Error(`request failed: ${x.failure?.reason}`);
    return x?.state === 'succeeded' ? x : undefined;
  }, 40_000);
}

/** Every part of the grant in the world, by cluster. */
function parts(r: WidRequest) {
  const identity = h.world.arm.state.identities().find((i) => i.name === r.plan.identity.name);
  const creds = identity ? h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity.id) : [];
  return {
    identity: identity?.id,
    roles: identity ? h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity.principalId).length : 0,
    blueCredential: creds.some((f) => f.issuer === h.world.kube.issuerUrl),
    greenCredential: creds.some((f) => f.issuer === green().issuerUrl),
    blueAnnotation: h.world.kube.getServiceAccount('finance', r.serviceAccount)?.metadata.annotations?.[ANNOTATION_CLIENT_ID],
    greenAnnotation: green().getServiceAccount('finance', r.serviceAccount)?.metadata.annotations?.[ANNOTATION_CLIENT_ID],
  };
}

const GONE = { identity: undefined, roles: 0, blueCredential: false, greenCredential: false, blueAnnotation: undefined, greenAnnotation: undefined };

async function withWorker<T>(fn: (w: RunningWorker) => Promise<T>, reconcileIntervalMs = 60_000): Promise<T> {
  const w = await startWorker(
    workerConfig(h, {
      kubeClusters: { green: { kubeconfigPath: h.world.files.kubeconfigs.green as string } },
      grants: { reconcileIntervalMs, backoffBaseMs: 100, endAttempts: 2 },
    }),
  );
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

const stateOf = async (id: string): Promise<Grant | undefined> => (await grants.get(id))?.grant;

test('the end removes the role and green’s credential and annotation; the release then removes blue’s part and the identity', async () => {
  await withWorker(async () => {
    const r = await provisioned(await multiClusterGrant('mc-end', 3));
    const before = parts(r);
    expect(before).toMatchObject({ roles: 1, blueCredential: true, greenCredential: true });
    expect(before.greenAnnotation).toBe(r.resources.clientId);
    expect((await stateOf(r.id))?.alsoClusters).toEqual(['green']);

    const ended = await waitFor('the grant to end', async () => ((await stateOf(r.id))?.state === 'ended' ? stateOf(r.id) : undefined));
    expect(ended?.end?.assignmentRemoved).toBe(true);
    expect(ended?.end?.clusters).toEqual({ removed: ['green'], kept: [] });
    expect(ended?.end?.notes?.join(' ')).toMatch(/on green: deleted federated credential .*wid-green-finance-mc-end.*removed azure\.workload\.identity\/client-id/);
    await waitFor('the release', async () => (await stateOf(r.id))?.end?.release);
    expect(parts(r)).toEqual(GONE);
  });
});

test('green cannot be reached at the end: the grant stays ending and is retried, then ends in the same world once green answers', async () => {
  let r: WidRequest | undefined;
  await withWorker(async () => {
    r = await provisioned(await multiClusterGrant('mc-down', 2));
    const id = r.id;
    green().controls.setErrorRate(1, { path: '/serviceaccounts', status: 503, code: 'ServiceUnavailable', message: 'the API server is unreachable' });
    try {
      // both tries of the end fail on green: shown as a failed end, never as ended
      const failed = await waitFor('the end to fail loudly', async () => ((await stateOf(id))?.state === 'endFailed' ? stateOf(id) : undefined), 30_000);
      expect(failed?.failure?.message).toMatch(/on green: .*tries again/);
      expect(failed?.end?.endedAt).toBeUndefined();
      // what could be done is done: the role, and green's credential (ARM answers); green's annotation waits
      const half = parts(r);
      expect(half).toMatchObject({ roles: 0, greenCredential: false, blueCredential: true });
      expect(half.greenAnnotation).toBe(r.resources.clientId);
      await new Promise((res) => setTimeout(res, 1500));
      expect((await stateOf(id))?.state).toBe('endFailed');
    } finally {
      green().controls.reset();
    }
  }, 60_000);
  // the next worker's reconciler finishes it
  const id = (r as WidRequest).id;
  await withWorker(async () => {
    const ended = await waitFor('the retried end', async () => ((await stateOf(id))?.state === 'ended' ? stateOf(id) : undefined), 30_000);
    expect(ended?.end?.notes?.join(' ')).toMatch(/on green: federated credential '.*' already gone, removed azure\.workload\.identity\/client-id/);
    await waitFor('the release', async () => (await stateOf(id))?.end?.release);
    expect(parts(r as WidRequest)).toEqual(GONE);
  }, 1000);
});

test('an end stopped after green’s credential went, run again, ends in the same world; a third run changes nothing', async () => {
  const r = await withWorker(async () => provisioned(await multiClusterGrant('mc-crash', 3600)));
  await withWorker(async (w) => {
    // after the worker's first reconcile pass, which runs at its start
    await new Promise((res) => setTimeout(res, 1000));
    await grants.update(r.id, (g) => ({ ...g, endsAt: new Date(Date.now() - 1000).toISOString() }));
    // the process "dies" at green's annotation: its patch never reaches the API
    const real = createKubeAdapter({ kubeconfigPath: h.world.files.kubeconfigs.green as string });
    const dying: KubePort = new Proxy(real, {
      get(target, key) {
        if (key === 'patchServiceAccountAnnotations') return async () => Promise.reject(Object.assign(new Error('killed'), { code: 'ECONNRESET' }));
        const v: unknown = Reflect.get(target, key);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const deps = { ...w.grants.deps, kubeFor: (c: string) => (c === 'green' ? dying : (w.grants.deps.kubeFor?.(c) as KubePort)) };
    const e = await caught(endGrant(r.id, deps));
    expect(e.message).toContain('on green');
    expect((await stateOf(r.id))?.state).toBe('ending');
    expect(parts(r)).toMatchObject({ roles: 0, greenCredential: false, greenAnnotation: r.resources.clientId });
    const again = await endGrant(r.id, w.grants.deps);
    expect(again.kind).toBe('ended');
    expect(parts(r)).toMatchObject({ roles: 0, greenCredential: false, greenAnnotation: undefined, blueCredential: true });
    expect((await endGrant(r.id, w.grants.deps)).kind).toBe('already-ended');
    await waitFor('the release', async () => (await stateOf(r.id))?.end?.release);
    expect(parts(r)).toEqual(GONE);
  });
});

test('a worker killed right after the end removed the role, before green: the next worker finishes on green and releases', async () => {
  const r = await withWorker(async () => provisioned(await multiClusterGrant('mc-killed', 4)));
  const doomed = await startWorkerChild(h, { WID_KILL_AT_END_POINT: 'removed', WID_CLUSTER_KUBECONFIGS: `green=${h.world.files.kubeconfigs.green as string}` });
  expect(await doomed.exited).toBe('SIGKILL');
  expect((await stateOf(r.id))?.state).toBe('ending');
  // the role is gone; green's credential and annotation are still there
  expect(parts(r)).toMatchObject({ roles: 0, greenCredential: true, greenAnnotation: r.resources.clientId });
  await withWorker(async () => {
    const ended = await waitFor('the end after the crash', async () => ((await stateOf(r.id))?.state === 'ended' ? stateOf(r.id) : undefined), 30_000);
    expect(ended?.end).toMatchObject({ assignmentRemoved: true, clusters: { removed: ['green'], kept: [] } });
    await waitFor('the release', async () => (await stateOf(r.id))?.end?.release);
    expect(parts(r)).toEqual(GONE);
  }, 1000);
});
