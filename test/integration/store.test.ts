import { Redis } from 'ioredis';
import { WidError } from '../../src/domain/errors';
import type { RequestState, TransitionEvent, WidRequest } from '../../src/domain/types';
import { openRequestKey, RedisRequestStore } from '../../src/store';
import { testRedisUrl, uniquePrefix } from '../support/redis';

const opened: { close(): Promise<void> }[] = [];

async function connectStore(prefix: string): Promise<RedisRequestStore> {
  const s = await RedisRequestStore.connect(testRedisUrl(), { prefix });
  opened.push(s);
  return s;
}

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

let seq = 0;
function makeRequest(over: Partial<WidRequest> = {}): WidRequest {
  const now = new Date(Date.UTC(2025, 0, 1, 12, 0, seq++)).toISOString();
  const id = over.id ?? `req-${process.pid}-${seq}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    id,
    kind: 'grant',
    state: 'pending',
    requester: { id: 'U_ALICE', name: 'alice' },
    clusterName: 'aks-prod',
    namespace: 'payments',
    serviceAccount: 'api',
    roleName: 'Key Vault Secrets User',
    scope: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv',
    reason: 'read secrets',
    plan: {
      kind: 'grant',
      cluster: { name: 'aks-prod', subscriptionId: 's', resourceGroup: 'rg', aksName: 'aks' },
      identity: { subscriptionId: 's', resourceGroup: 'rg', name: 'id-payments-api', location: 'westeurope', tags: {}, resourceId: '/subscriptions/s/rg/x' },
      roleAssignment: { roleName: 'Key Vault Secrets User', scope: '/subscriptions/s' },
      federatedCredential: { name: 'fic', issuer: 'https://issuer/', subject: 'system:serviceaccount:payments:api', audiences: ['api://AzureADTokenExchange'] },
      serviceAccount: { namespace: 'payments', name: 'api', annotations: {} },
      approvalsRequired: 1,
    },
    approvals: [],
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(Date.parse(now) + 86_400_000).toISOString(),
    resources: {},
    steps: [],
    ...over,
  };
}

function event(r: WidRequest, from: RequestState | null, to: RequestState, actor = 'U_ALICE', reason?: string): TransitionEvent {
  return { requestId: r.id, actor: { id: actor }, from, to, at: new Date().toISOString(), ...(reason ? { reason } : {}) };
}

async function transition(store: RedisRequestStore, id: string, to: RequestState, actor: string, reason?: string): Promise<boolean> {
  const cur = await store.get(id);
  if (!cur) throw new Error('missing');
  const next: WidRequest = { ...cur, state: to, updatedAt: new Date().toISOString() };
  return store.compareAndSet(cur, next, event(cur, cur.state, to, actor, reason));
}

describe('RedisRequestStore', () => {
  test('create then get round-trips the request; a second create with the same id is refused', async () => {
    const store = await connectStore(uniquePrefix('store'));
    const r = makeRequest({ steps: [{ step: 'identity', outcome: 'done', startedAt: '2025-01-01T00:00:00.000Z' }], resources: { clientId: 'c1' } });
    await store.create(r, event(r, null, 'pending'));
    expect(await store.get(r.id)).toEqual(r);
    await expect(store.create(r, event(r, null, 'pending'))).rejects.toMatchObject({ code: 'RequestExists' });
    expect(await store.get('nope')).toBeUndefined();
    expect(await store.history(r.id)).toHaveLength(1);
    expect(await store.ping()).toBe(true);
  });

  test('50 parallel compare-and-set attempts from separate connections: exactly one wins, one audit event', async () => {
    const prefix = uniquePrefix('cas');
    const store = await connectStore(prefix);
    const r = makeRequest();
    await store.create(r, event(r, null, 'pending'));
    const stores = await Promise.all(Array.from({ length: 50 }, () => connectStore(prefix)));
    // every contender read the same version before anyone writes, as simultaneous clicks do
    const reads = await Promise.all(stores.map((s) => s.get(r.id)));
    const results = await Promise.all(
      stores.map((s, i) => {
        const cur = reads[i] as WidRequest;
        const to: RequestState = i % 2 === 0 ? 'approved' : 'denied';
        const next: WidRequest = { ...cur, state: to, updatedAt: cur.updatedAt, approvals: to === 'approved' ? [{ actor: { id: `U${i}` }, at: cur.updatedAt }] : [] };
        return s.compareAndSet(cur, next, event(cur, 'pending', to, `U${i}`));
      }),
    );
    const winners = results.flatMap((won, i) => (won ? [i] : []));
    expect(winners).toHaveLength(1);
    const w = winners[0] as number;
    const final = await store.get(r.id);
    expect(final?.state).toBe(w % 2 === 0 ? 'approved' : 'denied');
    const audit = (await store.readAudit()).filter((e) => e.requestId === r.id);
    expect(audit.map((e) => [e.from, e.to, e.actor])).toEqual([
      [null, 'pending', 'U_ALICE'],
      ['pending', final?.state, `U${w}`],
    ]);
    expect((await store.history(r.id)).map((e) => e.actor.id)).toEqual(['U_ALICE', `U${w}`]);
  });

  test('two transitions from one read with an unchanged updatedAt cannot both win', async () => {
    const store = await connectStore(uniquePrefix('cas2'));
    const r = makeRequest({ plan: { ...makeRequest().plan, approvalsRequired: 2 } });
    await store.create(r, event(r, null, 'pending'));
    const cur = (await store.get(r.id)) as WidRequest;
    const a = { ...cur, approvals: [{ actor: { id: 'U1' }, at: cur.updatedAt }] };
    const b = { ...cur, approvals: [{ actor: { id: 'U2' }, at: cur.updatedAt }] };
    expect(await store.compareAndSet(cur, a, event(cur, 'pending', 'pending', 'U1'))).toBe(true);
    expect(a.updatedAt > cur.updatedAt).toBe(true);
    expect(await store.compareAndSet(cur, b, event(cur, 'pending', 'pending', 'U2'))).toBe(false);
    expect((await store.get(r.id))?.approvals.map((x) => x.actor.id)).toEqual(['U1']);
    await expect(store.compareAndSet({ ...cur, id: 'ghost' }, { ...cur, id: 'ghost' })).rejects.toMatchObject({ code: 'RequestNotFound' });
  });

  test('history is kept in order and the audit stream carries actor, from, to, reason, at', async () => {
    const store = await connectStore(uniquePrefix('hist'));
    const r = makeRequest();
    await store.create(r, event(r, null, 'pending'));
    expect(await transition(store, r.id, 'approved', 'U_BOB')).toBe(true);
    expect(await transition(store, r.id, 'provisioning', 'system')).toBe(true);
    expect(await transition(store, r.id, 'failed', 'system', 'RoleAssignment: 403 AuthorizationFailed')).toBe(true);
    const h = await store.history(r.id);
    expect(h.map((e) => `${e.from}->${e.to}:${e.actor.id}`)).toEqual(['null->pending:U_ALICE', 'pending->approved:U_BOB', 'approved->provisioning:system', 'provisioning->failed:system']);
    const audit = await store.readAudit();
    expect(audit).toHaveLength(4);
    expect(audit[3]).toMatchObject({ requestId: r.id, actor: 'system', from: 'provisioning', to: 'failed', reason: 'RoleAssignment: 403 AuthorizationFailed' });
    expect(audit[3]?.at).toBe(h[3]?.at);
    // reading on from a stream id returns only what came after
    expect((await store.readAudit({ after: audit[1]?.streamId })).map((e) => e.to)).toEqual(['provisioning', 'failed']);
  });

  test('worker progress and web transitions never overwrite each other', async () => {
    const store = await connectStore(uniquePrefix('merge'));
    const r = makeRequest({ state: 'provisioning' });
    await store.create(r, event(r, null, 'provisioning'));
    const stale = (await store.get(r.id)) as WidRequest;
    await store.recordStep(r.id, { step: 'verify', outcome: 'running', startedAt: '2025-01-01T00:00:05.000Z' });
    await store.recordStep(r.id, { step: 'identity', outcome: 'running', startedAt: '2025-01-01T00:00:01.000Z' });
    await store.recordStep(r.id, { step: 'identity', outcome: 'done', startedAt: '2025-01-01T00:00:01.000Z', endedAt: '2025-01-01T00:00:02.000Z' });
    await store.recordResources(r.id, { identityId: '/id/1', clientId: 'cid', identityCreatedByWid: true });
    // a transition computed from a read taken before the progress keeps the progress
    expect(await store.compareAndSet(stale, { ...stale, state: 'cancelled', resources: {}, steps: [] }, event(stale, 'provisioning', 'cancelled', 'U_X'))).toBe(true);
    await store.recordResources(r.id, { principalId: 'pid', clientId: null });
    const got = (await store.get(r.id)) as WidRequest;
    expect(got.state).toBe('cancelled');
    expect(got.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual(['identity:done', 'verify:running']);
    expect(got.resources).toEqual({ identityId: '/id/1', principalId: 'pid', identityCreatedByWid: true });
    await store.resetSteps(r.id);
    expect((await store.get(r.id))?.steps).toEqual([]);
    await expect(store.recordStep('ghost', { step: 'identity', outcome: 'done', startedAt: 'x' })).rejects.toBeInstanceOf(WidError);
    expect(await store.get('ghost')).toBeUndefined();
  });

  test('parallel step records and transitions all land', async () => {
    const store = await connectStore(uniquePrefix('par'));
    const r = makeRequest({ state: 'approved' });
    await store.create(r, event(r, null, 'approved'));
    const steps = ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'] as const;
    const [won] = await Promise.all([
      transition(store, r.id, 'provisioning', 'system'),
      ...steps.map((step) => store.recordStep(r.id, { step, outcome: 'done', startedAt: '2025-01-01T00:00:00.000Z' }).then(() => true)),
      ...steps.map((step, i) => store.recordResources(r.id, { [['identityId', 'roleAssignmentId', 'federatedCredentialId', 'serviceAccount', 'clientId'][i] as string]: step }).then(() => true)),
    ]);
    expect(won).toBe(true);
    const got = (await store.get(r.id)) as WidRequest;
    expect(got.state).toBe('provisioning');
    expect(got.steps.map((s) => s.step)).toEqual([...steps]);
    expect(Object.keys(got.resources).sort()).toEqual(['clientId', 'federatedCredentialId', 'identityId', 'roleAssignmentId', 'serviceAccount']);
  });

  test('open-request key: one holder, refused with the existing id, released on terminal states but not on failed', async () => {
    const store = await connectStore(uniquePrefix('open'));
    const key = openRequestKey({ clusterName: 'AKS-prod', namespace: 'payments', serviceAccount: 'api', roleName: ' Key  Vault Secrets User' });
    expect(key).toBe('aks-prod/payments/api/key vault secrets user');
    const a = makeRequest();
    expect(await store.reserveOpenKey(key, a.id)).toEqual({ ok: true });
    await store.create(a, event(a, null, 'pending'));
    const b = makeRequest();
    expect(await store.reserveOpenKey(key, b.id)).toEqual({ ok: false, existingId: a.id });
    // the holder may reserve again (a retried submission)
    expect(await store.reserveOpenKey(key, a.id)).toEqual({ ok: true });
    expect(await store.redis.pttl(store.keys.openRequest(key))).toBe(-1);

    expect(await transition(store, a.id, 'approved', 'U_BOB')).toBe(true);
    expect(await transition(store, a.id, 'provisioning', 'system')).toBe(true);
    expect(await transition(store, a.id, 'failed', 'system')).toBe(true);
    expect(await store.openRequestId(key)).toBe(a.id);
    expect(await transition(store, a.id, 'cancelled', 'U_ALICE')).toBe(true);
    expect(await store.openRequestId(key)).toBeUndefined();
    expect(await store.reserveOpenKey(key, b.id)).toEqual({ ok: true });

    // releaseOpenKey with someone else's id does nothing; with the holder's id releases
    expect(await store.releaseOpenKey(key, 'someone-else')).toBe(false);
    expect(await store.releaseOpenKey(key, b.id)).toBe(true);
    expect(await store.openRequestId(key)).toBeUndefined();
  });

  test('a reservation whose request was never created lapses after its grace period; a missed release does not block', async () => {
    const store = await connectStore(uniquePrefix('grace'));
    const key = 'c/ns/sa/role';
    expect(await store.reserveOpenKey(key, 'never-created', { graceSeconds: 0.3 })).toEqual({ ok: true });
    expect(await store.reserveOpenKey(key, 'other')).toEqual({ ok: false, existingId: 'never-created' });
    await new Promise((r) => setTimeout(r, 450));
    const c = makeRequest();
    expect(await store.reserveOpenKey(key, c.id)).toEqual({ ok: true });
    await store.create(c, event(c, null, 'pending'));
    // simulate a holder that ended without releasing (e.g. written by an older version)
    await store.redis.hset(store.keys.request(c.id), 'state', 'succeeded');
    expect(await store.reserveOpenKey(key, 'next')).toEqual({ ok: true });
  });

  test('indexes: requests by requester newest first, pending oldest first and kept in step with transitions', async () => {
    const store = await connectStore(uniquePrefix('idx'));
    const r1 = makeRequest();
    const r2 = makeRequest();
    const r3 = makeRequest({ requester: { id: 'U_BOB' } });
    for (const r of [r1, r2, r3]) await store.create(r, event(r, null, 'pending'));
    expect((await store.listByRequester('U_ALICE')).map((r) => r.id)).toEqual([r2.id, r1.id]);
    expect((await store.listByRequester('U_ALICE', 1)).map((r) => r.id)).toEqual([r2.id]);
    expect((await store.listPending()).map((r) => r.id)).toEqual([r1.id, r2.id, r3.id]);
    expect(await transition(store, r1.id, 'denied', 'U_BOB', 'not needed')).toBe(true);
    expect((await store.listPending()).map((r) => r.id)).toEqual([r2.id, r3.id]);
    expect((await store.listByRequester('U_ALICE')).map((r) => r.state)).toEqual(['pending', 'denied']);
    expect(await store.listByRequester('U_NOBODY')).toEqual([]);
  });

  test('delivery claims: first claim wins, repeats are refused until the ttl lapses', async () => {
    const prefix = uniquePrefix('deliv');
    const a = await connectStore(prefix);
    const b = await connectStore(prefix);
    const claims = await Promise.all([a, b, a, b].map((s) => s.claimDelivery('T1:cmd:trigger-123', 1)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await a.claimDelivery('T1:cmd:trigger-456', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await b.claimDelivery('T1:cmd:trigger-123', 1)).toBe(true);
  });

  test('a store over an unreachable Redis fails with a retryable error and ping says false', async () => {
    await expect(RedisRequestStore.connect('redis://127.0.0.1:1')).rejects.toMatchObject({ kind: 'retryable', code: 'RedisUnavailable' });
    const redis = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
    const store = new RedisRequestStore(redis);
    expect(await store.ping(300)).toBe(false);
    await expect(store.get('x')).rejects.toMatchObject({ kind: 'retryable' });
    await store.close();
    if (redis.status !== 'end') redis.disconnect();
  });
});

describe('request ids are one key segment', () => {
  it('reads a malformed id as no request and refuses to create one', async () => {
    const store = await RedisRequestStore.connect(testRedisUrl(), { prefix: uniquePrefix('ids') });
    try {
      expect(await store.get('wid-aaaaaaaaaa:history')).toBeUndefined();
      expect(await store.history('x:y')).toEqual([]);
      const bad = { id: 'a:b' } as unknown as Parameters<typeof store.create>[0];
      await expect(store.create(bad, {} as Parameters<typeof store.create>[1])).rejects.toThrow(/cannot be a request id/);
    } finally {
      await store.close();
    }
  });
});
