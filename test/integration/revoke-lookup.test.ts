/**
 * `/wid revoke <ns> <sa>` finds what to revoke through the ServiceAccount's own records: its open grants (the
 * grant index) and the requests that succeeded for it (the store's per-ServiceAccount index, which also keeps
 * migrations, grants that ended, and requests older than the index). Its reads do not grow with the history
 * of other ServiceAccounts.
 */
import type { Redis } from 'ioredis';
import { parsePolicy } from '../../src/config/policy';
import { RequestService } from '../../src/app/requests';
import type { RequestNotifier } from '../../src/app/notifier';
import { newGrant, type Grant } from '../../src/domain/grants';
import type { RevokeCommand } from '../../src/domain/grammar';
import type { ClusterFacts, Plan, TransitionEvent, WidRequest } from '../../src/domain/types';
import { RedisGrantStore } from '../../src/grants/store';
import { createQueues, type WidQueues } from '../../src/queue';
import { RedisRequestStore } from '../../src/store';
import { worldPolicyYaml, WORLD } from '../emulators/world';
import { testRedisUrl, uniquePrefix } from '../support/redis';

const policy = parsePolicy(worldPolicyYaml(), 'world policy');
const ALICE = { id: WORLD.users.requester, name: 'alice' };
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const notifier: RequestNotifier = {
  postApproval: async (channel) => ({ channel, ts: `${Date.now()}.000100` }),
  refreshApproval: async () => undefined,
  tellRequester: async () => undefined,
  remindApprovers: async () => undefined,
  breakGlassUsed: async () => undefined,
  linkTo: () => undefined,
};

const facts: ClusterFacts = { name: WORLD.clusterName, issuerUrl: 'https://issuer.example/', oidcIssuerEnabled: true, workloadIdentityEnabled: true };

interface World {
  prefix: string;
  store: RedisRequestStore;
  grants: RedisGrantStore;
  queues: WidQueues;
  service: RequestService;
}
const opened: World[] = [];

async function world(prefix = uniquePrefix('revoke')): Promise<World> {
  const store = await RedisRequestStore.connect(testRedisUrl(), { prefix });
  const grants = new RedisGrantStore(store.redis, store.keys);
  const queues = await createQueues(testRedisUrl(), prefix);
  const service = new RequestService({ store, queues, policy, clusterFacts: async () => facts, notifier, groups: { groupsOf: async () => [] }, logger: silent, grants });
  const w = { prefix, store, grants, queues, service };
  opened.push(w);
  return w;
}

afterAll(async () => {
  for (const w of opened) {
    await w.queues.close();
    await w.store.close();
  }
});

let seq = 0;
function plan(kind: Plan['kind'], sa: string, migration = false): Plan {
  const sub = WORLD.subscriptionId;
  return {
    kind,
    cluster: { name: WORLD.clusterName, subscriptionId: sub, resourceGroup: WORLD.aksResourceGroup, aksName: WORLD.aksName },
    identity: { subscriptionId: sub, resourceGroup: WORLD.identityResourceGroup, name: `id-finance-${sa}`, location: WORLD.location, tags: {}, resourceId: `/subscriptions/${sub}/resourceGroups/${WORLD.identityResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-finance-${sa}` },
    roleAssignment: { roleName: 'Key Vault Secrets User', scope: `/subscriptions/${sub}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.KeyVault/vaults/${WORLD.keyVault}` },
    federatedCredential: { name: `fic-${sa}`, issuer: 'https://issuer.example/', subject: `system:serviceaccount:finance:${sa}`, audiences: ['api://AzureADTokenExchange'] },
    serviceAccount: { namespace: 'finance', name: sa, annotations: {} },
    approvalsRequired: 1,
    ...(migration
      ? {
          migration: {
            binding: { namespace: 'finance', name: `${sa}-binding`, selector: sa },
            azureIdentity: { namespace: 'finance', name: `${sa}-identity`, resourceId: `/subscriptions/${sub}/resourceGroups/${WORLD.identityResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-legacy-${sa}`, clientId: '00000000-0000-4000-8000-000000000001' },
            existingRoles: [],
            credentialsAtPlan: 0,
          },
        }
      : {}),
  };
}

function request(kind: WidRequest['kind'], sa: string, opts: { migration?: boolean; namespace?: string } = {}): WidRequest {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + seq++ * 1000).toISOString();
  const p = plan(kind, sa, opts.migration);
  return {
    id: `wid-t${String(seq).padStart(9, '0')}`.slice(0, 14),
    kind,
    state: 'pending',
    requester: ALICE,
    clusterName: WORLD.clusterName,
    namespace: opts.namespace ?? 'finance',
    serviceAccount: sa,
    roleName: p.roleAssignment.roleName,
    scope: p.roleAssignment.scope,
    plan: p,
    approvals: [],
    createdAt: at,
    updatedAt: at,
    expiresAt: new Date(Date.parse(at) + 86_400_000).toISOString(),
    resources: {},
    steps: [],
  };
}

function event(r: WidRequest, from: WidRequest['state'] | null, to: WidRequest['state']): TransitionEvent {
  return { requestId: r.id, actor: ALICE, from, to, at: r.updatedAt };
}

/** A request stored and moved to succeeded the way the service and worker do it (compare-and-set). */
async function succeeded(w: World, r: WidRequest): Promise<WidRequest> {
  await w.store.create(r, event(r, null, 'pending'));
  const next: WidRequest = { ...r, state: 'succeeded', updatedAt: new Date(Date.parse(r.updatedAt) + 500).toISOString() };
  expect(await w.store.compareAndSet(r, next, event(next, 'pending', 'succeeded'))).toBe(true);
  return next;
}

async function grantFor(w: World, r: WidRequest): Promise<Grant> {
  const made = newGrant({ request: r, now: new Date(r.updatedAt), maxDurationSeconds: 3600 });
  if (!made.ok) throw new Error(made.error.message);
  expect(await w.grants.create(made.value)).toBe(true);
  return made.value;
}

const revoke = (sa: string): RevokeCommand => ({ verb: 'revoke', namespace: 'finance', serviceAccount: sa, reason: 'not needed' });

/** Counts the Redis commands that read (pipelined ones one by one) while `fn` runs. */
async function countReads<T>(redis: Redis, fn: () => Promise<T>): Promise<{ value: T; reads: number }> {
  const names = ['get', 'hget', 'hgetall', 'hmget', 'smembers', 'zrange', 'zrevrange', 'zrangebyscore', 'xrange', 'exists'] as const;
  let reads = 0;
  const target = redis as unknown as Record<string, (...a: unknown[]) => unknown>;
  const originals = names.map((n) => [n, target[n]] as const);
  for (const [n, orig] of originals) {
    target[n] = (...args: unknown[]) => {
      reads += 1;
      return orig?.apply(redis, args);
    };
  }
  const origPipeline = redis.pipeline.bind(redis);
  const pipe = jest.spyOn(redis, 'pipeline').mockImplementation((...a: Parameters<Redis['pipeline']>) => {
    const p = origPipeline(...a);
    const exec = p.exec.bind(p);
    p.exec = (async () => {
      reads += p.length;
      return exec();
    }) as typeof p.exec;
    return p;
  });
  try {
    return { value: await fn(), reads };
  } finally {
    for (const [n, orig] of originals) target[n] = orig as (...a: unknown[]) => unknown;
    pipe.mockRestore();
  }
}

describe('revoke finds what to revoke through the ServiceAccount indexes', () => {
  test('after a request: the grant is found, and a revoke request with its plan is created', async () => {
    const w = await world();
    const g = await succeeded(w, request('grant', 'api'));
    await grantFor(w, g);
    expect((await w.service.findActiveGrant(WORLD.clusterName, 'finance', 'api'))?.id).toBe(g.id);
    const out = await w.service.submit(ALICE, revoke('api'));
    expect(out.kind).toBe('created');
    if (out.kind !== 'created') return;
    expect(out.request).toMatchObject({ kind: 'revoke', serviceAccount: 'api', state: 'pending' });
    expect(out.request.plan.identity.name).toBe(g.plan.identity.name);
  });

  test('after a migration (no grant record): found through the succeeded index; the plan keeps `migration`, so the adopted identity is never deleted', async () => {
    const w = await world();
    const m = await succeeded(w, request('migrate', 'reports', { migration: true }));
    expect(await w.grants.openOfServiceAccount({ clusterName: WORLD.clusterName, namespace: 'finance', serviceAccount: 'reports' })).toEqual([]);
    const out = await w.service.submit(ALICE, revoke('reports'));
    expect(out.kind).toBe('created');
    if (out.kind !== 'created') return;
    expect(out.request.plan.migration).toBeDefined();
    expect(out.request.plan.identity.name).toBe(m.plan.identity.name);
  });

  test('after the grant ended (no longer in the open-grants index): still revocable, what remains can go', async () => {
    const w = await world();
    const g = await succeeded(w, request('grant', 'batch'));
    const grant = await grantFor(w, g);
    const stored = await w.grants.get(grant.id);
    if (!stored) throw new Error('grant not stored');
    const ended: Grant = { ...grant, state: 'ended', end: { reason: 'expired', actor: ALICE, requestedAt: g.updatedAt, endedAt: g.updatedAt }, updatedAt: new Date().toISOString() };
    expect(await w.grants.compareAndSet(stored, ended)).toBe(true);
    expect(await w.grants.openOfServiceAccount(grant)).toEqual([]);
    expect((await w.service.findActiveGrant(WORLD.clusterName, 'finance', 'batch'))?.id).toBe(g.id);
  });

  test('a later succeeded revoke means nothing to revoke; a newer grant after it is revocable again', async () => {
    const w = await world();
    await succeeded(w, request('grant', 'web'));
    await succeeded(w, request('revoke', 'web'));
    const out = await w.service.submit(ALICE, revoke('web'));
    expect(out.kind).toBe('refused');
    if (out.kind === 'refused') expect(out.refusal.message).toContain('nothing to revoke');
    const again = await succeeded(w, request('grant', 'web'));
    expect((await w.service.findActiveGrant(WORLD.clusterName, 'finance', 'web'))?.id).toBe(again.id);
  });

  test('an open grant whose request is missing from the succeeded index (index lost) is still found through the grant index', async () => {
    const w = await world();
    const g = await succeeded(w, request('grant', 'lost'));
    await grantFor(w, g);
    await w.store.redis.del(w.store.keys.succeededOfServiceAccount(`${WORLD.clusterName}/finance/lost`));
    expect((await w.service.findActiveGrant(WORLD.clusterName, 'finance', 'lost'))?.id).toBe(g.id);
  });

  test('requests that succeeded before the index existed: the first lookup builds the index from the audit stream once', async () => {
    const w = await world();
    const old = await succeeded(w, request('migrate', 'legacy', { migration: true }));
    const other = await succeeded(w, request('grant', 'someone-else'));
    // what an older wid-bot left behind: requests and audit entries, no per-ServiceAccount index, no marker
    const keys = await w.store.redis.keys(`${w.prefix}:idx:sa*`);
    await w.store.redis.del(...keys);
    const fresh = await world(w.prefix);
    expect((await fresh.service.findActiveGrant(WORLD.clusterName, 'finance', 'legacy'))?.id).toBe(old.id);
    expect(await fresh.store.redis.exists(fresh.store.keys.succeededIndexBuilt)).toBe(1);
    expect((await fresh.service.findActiveGrant(WORLD.clusterName, 'finance', 'someone-else'))?.id).toBe(other.id);
    // the next process catches up from where the last pass stopped, not from the start
    const later = await world(w.prefix);
    const xrange = jest.spyOn(later.store.redis, 'xrange');
    expect((await later.service.findActiveGrant(WORLD.clusterName, 'finance', 'legacy'))?.id).toBe(old.id);
    expect(xrange).toHaveBeenCalledTimes(1);
    expect(String(xrange.mock.calls[0]?.[1])).toMatch(/^\(\d+-\d+$/);
    xrange.mockRestore();
  });

  test('a request an older replica marked succeeded without indexing it (a rollout) is found by the next process', async () => {
    const w = await world();
    await w.store.ensureSucceededIndex();
    const g = await succeeded(w, request('grant', 'rollout'));
    // what an older replica's compare-and-set leaves: the request and its audit entry, no index entry
    await w.store.redis.zrem(w.store.keys.succeededOfServiceAccount(`${WORLD.clusterName}/finance/rollout`), g.id);
    const next = await world(w.prefix);
    expect((await next.service.findActiveGrant(WORLD.clusterName, 'finance', 'rollout'))?.id).toBe(g.id);
  });

  test('revoke reads the same number of records with 1,000 unrelated succeeded requests as with none', async () => {
    const quiet = await world();
    const busy = await world();
    for (const w of [quiet, busy]) {
      const g = await succeeded(w, request('grant', 'target'));
      await grantFor(w, g);
    }
    for (let i = 0; i < 1000; i++) await succeeded(busy, request('grant', `other-${i}`, { namespace: i % 2 ? 'finance' : 'payments' }));
    // both stores built (or found) the index before the measurement: the one-time build is not a revoke's cost
    await quiet.store.ensureSucceededIndex();
    await busy.store.ensureSucceededIndex();
    const a = await countReads(quiet.store.redis, () => quiet.service.submit(ALICE, revoke('target')));
    const b = await countReads(busy.store.redis, () => busy.service.submit(ALICE, revoke('target')));
    expect(a.value.kind).toBe('created');
    expect(b.value.kind).toBe('created');
    expect(a.reads).toBeGreaterThan(0);
    expect(b.reads).toBe(a.reads);
    expect(b.reads).toBeLessThan(20);
    process.stdout.write(`revoke lookup: ${a.reads} Redis reads with 0 unrelated succeeded requests, ${b.reads} with 1,000\n`);
  }, 120_000);
});
