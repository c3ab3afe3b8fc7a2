/**
 * Approving a request queues its job while the approval message is updated to "approved" (src/store/approval-gate.ts
 * marks the update as under way, so the worker's progress comes after it); without the gate, or when the gate cannot
 * mark, the message is updated first. An approval that still needs another approver queues nothing.
 */
import { parsePolicy } from '../../src/config/policy';
import { RequestService } from '../../src/app/requests';
import type { RequestNotifier } from '../../src/app/notifier';
import type { ClusterFacts, Plan, TransitionEvent, WidRequest } from '../../src/domain/types';
import { createQueues, type WidQueues } from '../../src/queue';
import { RedisRequestStore } from '../../src/store';
import { ApprovalMessageGate } from '../../src/store/approval-gate';
import { worldPolicyYaml, WORLD } from '../emulators/world';
import { testRedisUrl, uniquePrefix } from '../support/redis';

const policy = parsePolicy(worldPolicyYaml(), 'world policy');
const ALICE = { id: WORLD.users.requester, name: 'alice' };
const APPROVER = { id: WORLD.users.approver, name: 'approver' };
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const facts: ClusterFacts = { name: WORLD.clusterName, issuerUrl: 'https://issuer.example/', oidcIssuerEnabled: true, workloadIdentityEnabled: true };

let store: RedisRequestStore;
let queues: WidQueues;
const order: string[] = [];

const notifier: RequestNotifier = {
  postApproval: async (channel) => ({ channel, ts: `${Date.now()}.000100` }),
  refreshApproval: async (r) => void order.push(`refresh ${r.id} ${r.state}`),
  tellRequester: async () => undefined,
  remindApprovers: async () => undefined,
  breakGlassUsed: async () => undefined,
  linkTo: () => undefined,
};

beforeAll(async () => {
  const prefix = uniquePrefix('approve-gate');
  store = await RedisRequestStore.connect(testRedisUrl(), { prefix });
  queues = await createQueues(testRedisUrl(), prefix);
});
afterAll(async () => {
  await queues?.close();
  await store?.close();
});
beforeEach(() => {
  order.length = 0;
});

function service(): RequestService {
  return new RequestService({ store, queues, policy, clusterFacts: async () => facts, notifier, groups: { groupsOf: async () => [] }, logger: silent });
}

let seq = 0;
async function pending(kind: WidRequest['kind'], approvalsRequired: 1 | 2 = 1): Promise<WidRequest> {
  const sa = `gate-${seq++}`;
  const sub = WORLD.subscriptionId;
  const plan: Plan = {
    kind,
    cluster: { name: WORLD.clusterName, subscriptionId: sub, resourceGroup: WORLD.aksResourceGroup, aksName: WORLD.aksName },
    identity: { subscriptionId: sub, resourceGroup: WORLD.identityResourceGroup, name: `id-finance-${sa}`, location: WORLD.location, tags: {}, resourceId: `/subscriptions/${sub}/resourceGroups/${WORLD.identityResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-finance-${sa}` },
    roleAssignment: { roleName: 'Key Vault Secrets User', scope: `/subscriptions/${sub}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.KeyVault/vaults/${WORLD.keyVault}` },
    federatedCredential: { name: `fic-${sa}`, issuer: 'https://issuer.example/', subject: `system:serviceaccount:finance:${sa}`, audiences: ['api://AzureADTokenExchange'] },
    serviceAccount: { namespace: 'finance', name: sa, annotations: {} },
    approvalsRequired,
  };
  const at = new Date().toISOString();
  const r: WidRequest = {
    id: `wid-h${String(Date.now() % 1e6).padStart(6, '0')}${seq}`.slice(0, 14),
    kind,
    state: 'pending',
    requester: ALICE,
    clusterName: WORLD.clusterName,
    namespace: 'finance',
    serviceAccount: sa,
    roleName: plan.roleAssignment.roleName,
    scope: plan.roleAssignment.scope,
    plan,
    approvals: [],
    createdAt: at,
    updatedAt: at,
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    resources: {},
    steps: [],
  };
  const e: TransitionEvent = { requestId: r.id, actor: ALICE, from: null, to: 'pending', at };
  await store.create(r, e);
  return r;
}

test('without the gate, an approved request has its message updated before its job is queued', async () => {
  const seenQueued: boolean[] = [];
  const checking: RequestNotifier = { ...notifier, refreshApproval: async (r) => void seenQueued.push((await queues.provision.getJob(r.id)) !== undefined) };
  const svc = new RequestService({ store, queues, policy, clusterFacts: async () => facts, notifier: checking, groups: { groupsOf: async () => [] }, logger: silent });
  const r = await pending('grant');
  const out = await svc.approve(r.id, APPROVER);
  expect(out).toMatchObject({ changed: true, request: { state: 'approved' } });
  expect(seenQueued).toEqual([false]);
  expect(await queues.provision.getJob(r.id)).toBeDefined();
});

test('an approval that still needs another approver queues nothing and marks nothing', async () => {
  const gate = new ApprovalMessageGate(store.redis, store.keys);
  const svc = new RequestService({ store, queues, policy, clusterFacts: async () => facts, notifier, groups: { groupsOf: async () => [] }, logger: silent, approvalGate: gate });
  const twoApprovers = await pending('grant', 2);
  const out = await svc.approve(twoApprovers.id, APPROVER);
  expect(out.request?.state).toBe('pending');
  expect(order).toEqual([`refresh ${twoApprovers.id} pending`]);
  expect(await queues.provision.getJob(twoApprovers.id)).toBeUndefined();
  expect(await store.redis.exists(gate.key(twoApprovers.id))).toBe(0);
});

describe('with the approval gate: the job is queued while the approval message is updated', () => {
  test('the job is queued before the "approved" update lands, the update is marked as under way meanwhile, and the mark is cleared after', async () => {
    const gate = new ApprovalMessageGate(store.redis, store.keys);
    const seen: Array<{ queued: boolean; marked: number }> = [];
    const slowNotifier: RequestNotifier = {
      ...notifier,
      refreshApproval: async (r) => {
        await new Promise((res) => setTimeout(res, 300));
        // what the world looks like while the update is still on its way
        seen.push({ queued: (await queues.provision.getJob(r.id)) !== undefined, marked: await store.redis.exists(gate.key(r.id)) });
        order.push(`refresh ${r.id} ${r.state}`);
      },
    };
    const svc = new RequestService({ store, queues, policy, clusterFacts: async () => facts, notifier: slowNotifier, groups: { groupsOf: async () => [] }, logger: silent, approvalGate: gate });
    const r = await pending('grant');
    const out = await svc.approve(r.id, APPROVER);
    expect(out).toMatchObject({ changed: true, message: `You approved ${r.id}; provisioning starts now.` });
    expect(seen).toEqual([{ queued: true, marked: 1 }]);
    expect(order).toEqual([`refresh ${r.id} approved`]);
    expect(await store.redis.exists(gate.key(r.id))).toBe(0);
  });

  test('a gate that cannot mark falls back to updating the message before queueing; a queue that fails is still reported and the mark cleared', async () => {
    const seenQueued: boolean[] = [];
    const checking: RequestNotifier = {
      ...notifier,
      refreshApproval: async (r) => void seenQueued.push((await queues.provision.getJob(r.id)) !== undefined),
    };
    const broken = { hold: async () => Promise.reject(new Error('Redis is read-only')), release: async () => true };
    const svc = new RequestService({ store, queues, policy, clusterFacts: async () => facts, notifier: checking, groups: { groupsOf: async () => [] }, logger: silent, approvalGate: broken });
    const r = await pending('grant');
    expect((await svc.approve(r.id, APPROVER)).changed).toBe(true);
    expect(seenQueued).toEqual([false]);
    expect(await queues.provision.getJob(r.id)).toBeDefined();

    const gate = new ApprovalMessageGate(store.redis, store.keys);
    const failingQueues = { ...queues, enqueueProvision: async () => Promise.reject(new Error('the queue is full')), cancelTimers: (id: string) => queues.cancelTimers(id) } as unknown as WidQueues;
    const svc2 = new RequestService({ store, queues: failingQueues, policy, clusterFacts: async () => facts, notifier, groups: { groupsOf: async () => [] }, logger: silent, approvalGate: gate });
    const g = await pending('grant');
    const out = await svc2.approve(g.id, APPROVER);
    expect(out).toMatchObject({ changed: true, message: `You approved ${g.id}, but wid-bot could not queue the provisioning: the queue is full.` });
    expect(await store.redis.exists(gate.key(g.id))).toBe(0);
  });

  test('an update that outlived its mark is followed by one more rendering of what is stored now (the worker may have rendered first)', async () => {
    const gate = new ApprovalMessageGate(store.redis, store.keys, { ttlMs: 50 });
    const rendered: string[] = [];
    let first = true;
    const slow: RequestNotifier = {
      ...notifier,
      refreshApproval: async (r) => {
        if (first) {
          first = false;
          // the worker starts provisioning while this update is still on its way, and the mark expires
          await new Promise((res) => setTimeout(res, 150));
          const current = (await store.get(r.id))!;
          await store.compareAndSet(current, { ...current, state: 'provisioning', updatedAt: new Date(Date.now() + 1).toISOString() }, { requestId: r.id, actor: APPROVER, from: 'approved', to: 'provisioning', at: new Date().toISOString() });
        }
        rendered.push(r.state);
      },
    };
    const svc = new RequestService({ store, queues, policy, clusterFacts: async () => facts, notifier: slow, groups: { groupsOf: async () => [] }, logger: silent, approvalGate: gate });
    const r = await pending('grant');
    await svc.approve(r.id, APPROVER);
    expect(rendered).toEqual(['approved', 'provisioning']);

    // a mark still there when the update lands: rendered once
    rendered.length = 0;
    const quick = new RequestService({ store, queues, policy, clusterFacts: async () => facts, notifier: { ...notifier, refreshApproval: async (x) => void rendered.push(x.state) }, groups: { groupsOf: async () => [] }, logger: silent, approvalGate: new ApprovalMessageGate(store.redis, store.keys) });
    const g = await pending('grant');
    await quick.approve(g.id, APPROVER);
    expect(rendered).toEqual(['approved']);
  });
});
