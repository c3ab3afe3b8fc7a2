import { identityCredentialLockKey } from '../../../src/provision/federated-credential';
import { grantPreflight, GRANT_PHASES, provisionGrant, provisionRevoke, readInventory, resolveLimits, StepError, TAG_APPROVER } from '../../../src/provision';
import type { ProgressEvent, ProgressSink } from '../../../src/domain/ports';
import { WidError } from '../../../src/domain/errors';
import { TAG_MANAGED_BY, TAG_MANAGED_BY_VALUE, ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, WORKLOAD_IDENTITY_AUDIENCE } from '../../../src/domain/types';
import { TAG_REQUEST_ID } from '../../../src/domain/plan';
import type { Plan } from '../../../src/domain/types';
import { startHarness, worldFor, WORLD, type Harness } from './harness';
import { keyVaultScope } from '../../emulators/world';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ arm: { throttle: false } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.world.arm.controls.reset();
  h.world.arm.clearDenies();
  h.world.arm.configure({ principalReplicationDelayMs: 0, ficWriteMs: 5 });
  h.world.entra.setFederationPropagationDelay(0);
});

async function failure(p: Promise<unknown>): Promise<WidError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WidError) return e;
    throw e;
  }
  throw new Error('expected the engine to fail');
}

/** Writes to identities themselves (not to their credentials). */
function identityWrites(): number {
  return h.world.arm.controls.requests({ path: /userAssignedIdentities\/[^/]+$/ }).filter((r) => r.method === 'PUT' || r.method === 'DELETE').length;
}

describe('grant', () => {
  test('happy path: one identity, one role assignment, one credential, one annotated ServiceAccount with its own annotations kept, verified', async () => {
    h.world.kube.seedServiceAccount({ namespace: 'finance', name: 'payroll', annotations: { 'team.example.com/owner': 'payroll' }, labels: { app: 'payroll' } });
    const request = await h.approvedGrant('payroll');
    const events: ProgressEvent[] = [];
    const sink: ProgressSink = { progress: async (_r, e) => void events.push(e), finished: async () => {} };
    const resources = await provisionGrant(request, h.deps({ progress: sink }));

    const w = worldFor(h.world, request);
    expect(w.identities).toHaveLength(1);
    const identity = w.identity!;
    expect(identity.tags).toMatchObject({ [TAG_MANAGED_BY]: TAG_MANAGED_BY_VALUE, [TAG_REQUEST_ID]: request.id, [TAG_APPROVER]: WORLD.users.approver, owner: 'platform-team' });
    expect(w.roleAssignments).toHaveLength(1);
    expect(w.roleAssignments[0]).toMatchObject({ principalType: 'ServicePrincipal', scope: expect.stringMatching(/kv-finance$/i) });
    expect(w.roleAssignments[0]!.roleDefinitionId).toMatch(/4633458b-17de-408a-b874-0445c86b69e6$/);
    expect(w.federatedCredentials).toHaveLength(1);
    expect(w.federatedCredentials[0]).toMatchObject({ issuer: h.world.kube.issuerUrl, subject: 'system:serviceaccount:finance:payroll', audiences: [WORKLOAD_IDENTITY_AUDIENCE] });
    expect(w.annotations).toEqual({ 'team.example.com/owner': 'payroll', [ANNOTATION_CLIENT_ID]: identity.clientId, [ANNOTATION_TENANT_ID]: WORLD.tenantId });
    expect(w.serviceAccount?.metadata.labels).toEqual({ app: 'payroll' });

    expect(resources).toMatchObject({ identityId: identity.id, clientId: identity.clientId, principalId: identity.principalId, identityCreatedByWid: true, verified: true, serviceAccount: 'finance/payroll' });
    expect(resources.roleAssignmentId).toMatch(new RegExp(`${w.roleAssignments[0]!.name}$`));
    const stored = await h.store.get(request.id);
    expect(stored?.resources).toEqual(resources);
    expect(stored?.steps.map((s) => [s.step, s.outcome])).toEqual([
      ['identity', 'done'],
      ['roleAssignment', 'done'],
      ['federatedCredential', 'done'],
      ['serviceAccount', 'done'],
      ['verify', 'done'],
    ]);
    // every step reported its start and its end
    for (const step of ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'] as const) {
      expect(events.filter((e) => e.step === step).map((e) => e.outcome)).toEqual(['running', 'done']);
    }
    expect(h.world.entra.issued.some((t) => t.clientId === identity.clientId && t.via === 'client_assertion')).toBe(true);
  });

  test('run twice, and again after a resource vanished: never a duplicate, the same ids', async () => {
    const request = await h.approvedGrant('twice');
    const first = await provisionGrant(request, h.deps());
    const writes = identityWrites();
    expect(writes).toBeGreaterThan(0);
    const second = await provisionGrant(request, h.deps());
    expect(second).toEqual(first);
    // the second run found the identity as it should be: no identity write at all
    expect(identityWrites()).toBe(writes);
    // a vanished credential is recreated once
    const w0 = worldFor(h.world, request);
    h.world.arm.state.getIdentityById(w0.identity!.id)!.federatedCredentials.clear();
    const third = await provisionGrant(request, h.deps());
    expect(third).toMatchObject({ identityId: first.identityId, roleAssignmentId: first.roleAssignmentId, clientId: first.clientId });
    const w = worldFor(h.world, request);
    expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
    expect(w.annotations[ANNOTATION_CLIENT_ID]).toBe(first.clientId);
  });

  test('each step run twice in a row leaves the world exactly as running it once', async () => {
    h.world.kube.seedServiceAccount({ namespace: 'finance', name: 'step-twice', annotations: { keep: 'me' } });
    const request = await h.approvedGrant('step-twice');
    const deps = h.deps();
    const run = {
      request,
      deps,
      limits: resolveLimits(deps.limits),
      identityRef: { subscriptionId: request.plan.identity.subscriptionId, resourceGroup: request.plan.identity.resourceGroup, name: request.plan.identity.name },
      preflight: await grantPreflight(request, deps),
      resources: {},
    };
    const snapshot = () => {
      const w = worldFor(h.world, request);
      return JSON.stringify({
        identities: w.identities.map((i) => ({ id: i.id, tags: i.tags, clientId: i.clientId })),
        assignments: w.roleAssignments.map((a) => a.name),
        credentials: w.federatedCredentials.map((f) => [f.name, f.issuer, f.subject]),
        annotations: w.annotations,
      });
    };
    for (const step of GRANT_PHASES.flat()) {
      await step.run(run);
      const once = snapshot();
      await step.run(run);
      expect([step.name, snapshot()]).toEqual([step.name, once]);
    }
    const w = worldFor(h.world, request);
    expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
    expect(w.annotations).toEqual({ keep: 'me', [ANNOTATION_CLIENT_ID]: w.identity!.clientId, [ANNOTATION_TENANT_ID]: WORLD.tenantId });
    expect(run.resources).toMatchObject({ verified: true, identityId: w.identity!.id });
  });

  test('PrincipalNotFound while the principal replicates: retried inside the step, then done; bounded', async () => {
    h.world.arm.configure({ principalReplicationDelayMs: 30_000 });
    h.world.arm.controls.failNext(3, { method: 'PUT', path: '/roleAssignments/', status: 400, code: 'PrincipalNotFound' });
    const request = await h.approvedGrant('replicating');
    await provisionGrant(request, h.deps());
    expect(worldFor(h.world, request).roleAssignments).toHaveLength(1);
    expect(h.world.arm.controls.requests({ method: 'PUT', path: '/roleAssignments/' }).length).toBeGreaterThanOrEqual(4);

    h.world.arm.controls.failNext(1000, { method: 'PUT', path: '/roleAssignments/', status: 400, code: 'PrincipalNotFound' });
    const other = await h.approvedGrant('never-replicates');
    const e = await failure(provisionGrant(other, h.deps({ limits: { retryBaseMs: 20, principalNotFoundMaxMs: 300 } })));
    expect(e).toBeInstanceOf(StepError);
    expect((e as StepError).step).toBe('roleAssignment');
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('PrincipalNotFound');
    expect(e.message).toMatch(/still failing after \d+ tries/);
  });

  test("429 with Retry-After on identity and credential writes: waited out, nothing duplicated", async () => {
    h.world.arm.controls.failNext(2, { method: 'PUT', path: /userAssignedIdentities\/[^/]+$/, status: 429, code: 'TooManyRequests', retryAfterSeconds: 1 });
    h.world.arm.controls.failNext(1, { method: 'PUT', path: '/federatedIdentityCredentials/', status: 429, code: 'TooManyRequests', retryAfterSeconds: 1 });
    const request = await h.approvedGrant('throttled');
    await provisionGrant(request, h.deps());
    const w = worldFor(h.world, request);
    expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
  });

  test('5xx on 30 % of ARM calls: every request succeeds within a few queue-style retries, nothing duplicated', async () => {
    h.world.arm.controls.reset({ log: true }).seed(7).setErrorRate(0.3, { status: 500, code: 'InternalServerError' });
    const requests = await Promise.all(['flaky-a', 'flaky-b', 'flaky-c'].map((sa) => h.approvedGrant(sa)));
    await Promise.all(
      requests.map(async (r) => {
        for (let attempt = 1; ; attempt++) {
          try {
            return await provisionGrant(r, h.deps());
          } catch (e) {
            if (!(e instanceof WidError) || e.kind !== 'retryable' || attempt >= 6) throw e;
          }
        }
      }),
    );
    for (const r of requests) {
      const w = worldFor(h.world, r);
      expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
      expect(w.annotations[ANNOTATION_CLIENT_ID]).toBe(w.identity!.clientId);
    }
    // 3 requests × 6 ARM calls without faults: more calls means faults were served and retried
    expect(h.world.arm.controls.requests().length).toBeGreaterThan(18);
  });

  test('ten requests whose credentials land on one identity, plus foreign concurrent-write 409s: all succeed, nothing duplicated', async () => {
    h.world.arm.configure({ ficWriteMs: 40 });
    h.world.arm.controls.failNext(3, { method: 'PUT', path: '/federatedIdentityCredentials/', status: 409, code: 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity' });
    const shared = 'wid-blue-finance-shared-000000000001';
    const sas = Array.from({ length: 10 }, (_, i) => `shared-${i}`);
    const requests = await Promise.all(
      sas.map((sa) =>
        h.approvedGrant(sa, {
          mutatePlan: (p) => {
            p.identity.name = shared;
            p.identity.resourceId = p.identity.resourceId.replace(/[^/]+$/, shared);
          },
        }),
      ),
    );
    const results = await Promise.all(requests.map((r) => provisionGrant(r, h.deps())));
    const identity = h.world.arm.state.identities().filter((i) => i.name === shared);
    expect(identity).toHaveLength(1);
    expect(identity[0]!.federatedCredentials.map((f) => f.subject).sort()).toEqual(sas.map((s) => `system:serviceaccount:finance:${s}`).sort());
    // the same principal, role and scope: one assignment, found by its deterministic name by all ten
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity[0]!.principalId)).toHaveLength(1);
    expect(new Set(results.map((r) => r.roleAssignmentId)).size).toBe(1);
    for (const sa of sas) expect(h.world.kube.getServiceAccount('finance', sa)?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity[0]!.clientId);
  });
});

describe('refusals: failed fast, before writing what cannot work', () => {
  test('a ServiceAccount bound to another identity: terminal conflict, no identity created', async () => {
    h.world.kube.seedServiceAccount({ namespace: 'finance', name: 'taken', annotations: { [ANNOTATION_CLIENT_ID]: '99999999-aaaa-4bbb-8ccc-dddddddddddd' } });
    const request = await h.approvedGrant('taken');
    const e = await failure(provisionGrant(request, h.deps()));
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('ServiceAccountBoundElsewhere');
    expect(e.message).toContain('finance/taken is already bound to another workload identity');
    expect(e.message).toContain('99999999-aaaa-4bbb-8ccc-dddddddddddd');
    expect(worldFor(h.world, request).identities).toHaveLength(0);
    expect(h.world.kube.getServiceAccount('finance', 'taken')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe('99999999-aaaa-4bbb-8ccc-dddddddddddd');
  });

  test('20 credentials on the existing identity: terminal before any write, with the way out', async () => {
    const request = await h.approvedGrant('crowded');
    const seeded = h.world.arm.state.seedIdentity({
      subscriptionId: WORLD.subscriptionId,
      resourceGroup: WORLD.identityResourceGroup,
      name: request.plan.identity.name,
      tags: { [TAG_MANAGED_BY]: TAG_MANAGED_BY_VALUE },
    });
    for (let i = 0; i < 20; i++) h.world.arm.state.seedFederatedCredential(seeded.id, { name: `other-${i}`, issuer: h.world.kube.issuerUrl, subject: `system:serviceaccount:finance:other-${i}` });
    h.world.arm.controls.reset({ log: true });
    const e = await failure(provisionGrant(request, h.deps()));
    expect(e.code).toBe('FederatedCredentialLimit');
    expect(e.message).toContain('already has 20 federated credentials');
    expect(e.message).toContain('az identity federated-credential delete');
    expect(h.world.arm.controls.requests().filter((r) => r.method !== 'GET')).toHaveLength(0);
    expect(h.world.kube.getServiceAccount('finance', 'crowded')).toBeUndefined();
  });

  test("the cluster's issuer changed since the plan was frozen: terminal, nothing created", async () => {
    const request = await h.approvedGrant('moved', { mutatePlan: (p) => void (p.federatedCredential.issuer = 'https://old-issuer.example/oidc/abc/') });
    const e = await failure(provisionGrant(request, h.deps()));
    expect(e.code).toBe('IssuerChanged');
    expect(e.message).toContain("planned 'https://old-issuer.example/oidc/abc/'");
    expect(e.message).toContain(`now says '${h.world.kube.issuerUrl}'`);
    expect(worldFor(h.world, request).identities).toHaveLength(0);
  });

  test('403 on role assignments: terminal at that step; the inventory lists exactly what exists', async () => {
    h.world.arm.deny({ action: 'Microsoft.Authorization/roleAssignments/write' });
    const request = await h.approvedGrant('denied');
    const e = await failure(provisionGrant(request, h.deps()));
    expect(e).toBeInstanceOf(StepError);
    expect((e as StepError).step).toBe('roleAssignment');
    expect(e.kind).toBe('terminal');
    expect(e.message).toContain('Microsoft.Authorization/roleAssignments/write');
    const w = worldFor(h.world, request);
    const inventory = await readInventory(request, h.deps());
    expect(inventory.items).toEqual([
      { what: 'identity', exists: true, id: w.identity!.id },
      { what: 'roleAssignment', exists: false },
      { what: 'federatedCredential', exists: true, id: expect.stringContaining(request.plan.federatedCredential.name) },
      { what: 'serviceAccount', exists: true, id: 'finance/denied', note: `bound to client id ${w.identity!.clientId}` },
    ]);
    expect(inventory.text).toContain(`exists: identity ${w.identity!.id}`);
    expect(inventory.text).toContain("missing: role assignment 'Key Vault Secrets User'");
  });

  test('two steps of one phase failing: the terminal failure is reported and the other one is named too, never hidden', async () => {
    h.world.arm.deny({ action: 'Microsoft.Authorization/roleAssignments/write' });
    h.world.kube.seedServiceAccount({ namespace: 'finance', name: 'two-failures' });
    const request = await h.approvedGrant('two-failures');
    h.world.arm.controls.failNext(1000, { method: 'PUT', path: '/federatedIdentityCredentials/', status: 409, code: 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity' });
    const e = await failure(provisionGrant(request, h.deps({ limits: { retryBaseMs: 20, concurrentWriteMaxMs: 200 } })));
    expect(e.kind).toBe('terminal');
    expect((e as StepError).step).toBe('roleAssignment');
    expect(e.message).toContain('Also failed: federatedCredential:');
    expect(e.message).toContain('ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity');
    h.world.arm.controls.reset();
  });

  test('verification that never succeeds within the bound is retryable and says the credential matches but has not propagated; off → skipped', async () => {
    h.world.entra.setFederationPropagationDelay(60_000);
    const request = await h.approvedGrant('slow-entra');
    const e = await failure(provisionGrant(request, h.deps({ verify: { enabled: true, timeoutMs: 400 } })));
    expect((e as StepError).step).toBe('verify');
    expect(e.kind).toBe('retryable');
    expect(e.message).toContain('has not propagated yet');
    expect(e.message).toContain(`issuer '${h.world.kube.issuerUrl}'`);
    const r = await provisionGrant(request, h.deps({ verify: { enabled: false, timeoutMs: 0 } }));
    expect(r.verified).toBeUndefined();
    expect((await h.store.get(request.id))?.steps.find((s) => s.step === 'verify')?.outcome).toBe('skipped');
  });
});

describe('revoke', () => {
  test('removes everything wid-bot created and nothing else', async () => {
    const grant = await h.approvedGrant('leaving');
    const granted = await provisionGrant(grant, h.deps());
    // things wid-bot did not make: an annotation on the same ServiceAccount, another identity and its assignment
    await h.deps().kube.patchServiceAccountAnnotations('finance', 'leaving', { 'team.example.com/owner': 'leavers' });
    const bystander = h.world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: 'hand-made', createdAt: 0 });
    h.world.arm.state.seedRoleAssignment({ scope: keyVaultScope(), role: 'Key Vault Secrets User', principalId: bystander.principalId });
    const before = { identities: h.world.arm.state.identities().length, assignments: h.world.arm.state.roleAssignments().length };

    const revoke = await h.approvedRevoke(grant);
    await provisionRevoke(revoke, h.deps());
    const w = worldFor(h.world, grant);
    expect(w.identities).toHaveLength(0);
    expect(h.world.arm.state.roleAssignments().some((a) => a.principalId === granted.principalId)).toBe(false);
    expect(h.world.arm.state.identities()).toHaveLength(before.identities - 1);
    expect(h.world.arm.state.roleAssignments()).toHaveLength(before.assignments - 1);
    expect(h.world.arm.state.identities().find((i) => i.name === 'hand-made')).toBeDefined();
    expect(w.annotations).toEqual({ 'team.example.com/owner': 'leavers' });
    // revoking again changes nothing
    await provisionRevoke(revoke, h.deps());
    expect(h.world.arm.state.identities()).toHaveLength(before.identities - 1);
  });

  test('revoking a ServiceAccount removes every role assignment wid-bot granted its identity, and none granted by hand', async () => {
    const first = await h.approvedGrant('two-roles');
    const second = await h.approvedGrant('two-roles', { roleName: 'Storage Blob Data Reader', scope: `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.Storage/storageAccounts/${WORLD.storageAccount}` });
    const granted = await provisionGrant(first, h.deps());
    await provisionGrant(second, h.deps());
    const principalId = granted.principalId ?? '';
    h.world.arm.state.seedRoleAssignment({ scope: keyVaultScope('kv-other'), role: 'Reader', principalId, principalType: 'ServicePrincipal' });
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === principalId)).toHaveLength(3);

    const revoke = await h.approvedRevoke(second);
    await provisionRevoke(revoke, h.deps());
    const left = h.world.arm.state.roleAssignments().filter((a) => a.principalId === principalId);
    expect(left).toHaveLength(1);
    expect(left[0]?.scope.toLowerCase()).toBe(keyVaultScope('kv-other').toLowerCase());
    // the hand-made assignment keeps the identity alive, and the record says why
    expect(h.world.arm.state.identities().some((i) => i.principalId === principalId)).toBe(true);
    const identityStep = (await h.store.get(revoke.id))?.steps.find((s) => s.step === 'identity');
    expect(identityStep).toMatchObject({ outcome: 'skipped', detail: expect.stringContaining('still used by role assignment') });
  });

  test('an identity shared by two grants is kept while the other grant still uses it, and deleted with the last one', async () => {
    const shared = 'wid-blue-finance-pair-000000000002';
    const sharing = (p: Plan): void => {
      p.identity.name = shared;
      p.identity.resourceId = p.identity.resourceId.replace(/[^/]+$/, shared);
    };
    const a = await h.approvedGrant('pair-a', { mutatePlan: sharing });
    const b = await h.approvedGrant('pair-b', { mutatePlan: sharing, roleName: 'Storage Blob Data Reader', scope: `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.Storage/storageAccounts/${WORLD.storageAccount}` });
    await provisionGrant(a, h.deps());
    await provisionGrant(b, h.deps());
    const identity = () => h.world.arm.state.identities().find((i) => i.name === shared);
    expect(identity()?.federatedCredentials).toHaveLength(2);

    const revokeA = await h.approvedRevoke(a);
    await provisionRevoke(revokeA, h.deps());
    expect(identity()?.federatedCredentials.map((f) => f.subject)).toEqual(['system:serviceaccount:finance:pair-b']);
    expect(h.world.arm.state.roleAssignments().filter((r) => r.principalId === identity()?.principalId)).toHaveLength(1);
    const kept = (await h.store.get(revokeA.id))?.steps.find((s) => s.step === 'identity');
    expect(kept).toMatchObject({ outcome: 'skipped', detail: expect.stringContaining("still used by federated credential 'wid-blue-finance-pair-b") });

    await provisionRevoke(await h.approvedRevoke(b), h.deps());
    expect(identity()).toBeUndefined();
  });

  test('an identity wid-bot did not create is reused by the grant and kept by the revoke; a rebound ServiceAccount is left alone', async () => {
    const grant = await h.approvedGrant('byo');
    const own = h.world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: grant.plan.identity.name, tags: { owner: 'someone' }, createdAt: 0 });
    const r = await provisionGrant(grant, h.deps());
    expect(r.identityCreatedByWid).toBe(false);
    expect(h.world.arm.state.identities().find((i) => i.id === own.id)?.tags).toEqual({ owner: 'someone' });

    // someone rebinds the ServiceAccount to another identity before the revoke
    await h.deps().kube.patchServiceAccountAnnotations('finance', 'byo', { [ANNOTATION_CLIENT_ID]: '12121212-3434-4565-8787-909090909090' });
    await provisionRevoke(await h.approvedRevoke(grant), h.deps());
    const w = worldFor(h.world, grant);
    expect(w.identities).toHaveLength(1);
    expect(w.federatedCredentials).toHaveLength(0);
    expect(w.roleAssignments).toHaveLength(0);
    expect(w.annotations[ANNOTATION_CLIENT_ID]).toBe('12121212-3434-4565-8787-909090909090');
  });
});

describe('grant: steps start on the work before them, records keep their order', () => {
  test('the credential is written while the identity’s end is still being recorded; no end is recorded before its dependencies’, and the run waits for every record', async () => {
    const request = await h.approvedGrant('ends-beside');
    const base = h.deps();
    const order: string[] = [];
    let identityEndRecorded = 0;
    const recorder = {
      recordResources: base.recorder.recordResources.bind(base.recorder),
      async recordStep(id: string, rec: Parameters<typeof base.recorder.recordStep>[1]) {
        // the identity's end takes 300 ms to record
        if (rec.step === 'identity' && rec.endedAt) await new Promise((r) => setTimeout(r, 300));
        await base.recorder.recordStep(id, rec);
        if (rec.endedAt) order.push(rec.step);
        if (rec.step === 'identity' && rec.endedAt) identityEndRecorded = Date.now();
      },
    };
    const t0 = Date.now();
    await provisionGrant(request, { ...base, recorder });
    const ficPut = h.world.arm.controls.requests({ method: 'PUT', path: /federatedIdentityCredentials\// }).find((e) => e.at >= t0);
    expect(ficPut).toBeDefined();
    expect(ficPut!.at).toBeLessThan(identityEndRecorded);
    expect(order[0]).toBe('identity');
    expect(order.indexOf('verify')).toBeGreaterThan(Math.max(order.indexOf('federatedCredential'), order.indexOf('serviceAccount')));
    expect([...order].sort()).toEqual(['federatedCredential', 'identity', 'roleAssignment', 'serviceAccount', 'verify']);
    expect((await h.store.get(request.id))?.steps.map((s) => `${s.step}:${s.outcome}`).sort()).toEqual(['federatedCredential:done', 'identity:done', 'roleAssignment:done', 'serviceAccount:done', 'verify:done']);
  });

  test('what a step made is recorded beside the steps after it, before its own end record; a lost one fails the run', async () => {
    const request = await h.approvedGrant('resources-beside');
    const base = h.deps();
    const order: string[] = [];
    let identityRecordedAt = 0;
    const recorder = {
      async recordResources(id: string, patch: Parameters<typeof base.recorder.recordResources>[1]) {
        // the identity's ids take 300 ms to record
        if ('clientId' in patch) await new Promise((r) => setTimeout(r, 300));
        await base.recorder.recordResources(id, patch);
        if ('clientId' in patch) {
          identityRecordedAt = Date.now();
          order.push('identity resources');
        }
      },
      async recordStep(id: string, rec: Parameters<typeof base.recorder.recordStep>[1]) {
        await base.recorder.recordStep(id, rec);
        if (rec.endedAt && rec.step === 'identity') order.push('identity end');
      },
    };
    const t0 = Date.now();
    const resources = await provisionGrant(request, { ...base, recorder });
    const ficPut = h.world.arm.controls.requests({ method: 'PUT', path: /federatedIdentityCredentials\// }).find((e) => e.at >= t0);
    expect(ficPut!.at).toBeLessThan(identityRecordedAt);
    expect(order).toEqual(['identity resources', 'identity end']);
    expect((await h.store.get(request.id))?.resources).toEqual(resources);

    const lost = await h.approvedGrant('resources-lost');
    const failing = {
      recordStep: base.recorder.recordStep.bind(base.recorder),
      async recordResources(id: string, patch: Parameters<typeof base.recorder.recordResources>[1]) {
        if ('federatedCredentialId' in patch) throw new WidError('Redis went away', 'retryable', 'RedisUnavailable');
        await base.recorder.recordResources(id, patch);
      },
    };
    const e = await failure(provisionGrant(lost, { ...base, recorder: failing }));
    expect((e as StepError).step).toBe('federatedCredential');
    expect(e.code).toBe('RedisUnavailable');
  });

  test('a record that fails still fails the run, after the steps it did not hold back', async () => {
    const request = await h.approvedGrant('end-lost');
    const base = h.deps();
    const recorder = {
      recordResources: base.recorder.recordResources.bind(base.recorder),
      async recordStep(id: string, rec: Parameters<typeof base.recorder.recordStep>[1]) {
        if (rec.step === 'identity' && rec.endedAt) throw new WidError('Redis went away', 'retryable', 'RedisUnavailable');
        await base.recorder.recordStep(id, rec);
      },
    };
    const e = await failure(provisionGrant(request, { ...base, recorder }));
    expect(e).toBeInstanceOf(StepError);
    expect((e as StepError).step).toBe('identity');
    expect(e.code).toBe('RedisUnavailable');
  });

  test('a new identity’s credential lock and write token are taken while the identity is written, and given back after', async () => {
    const request = await h.approvedGrant('lock-ahead');
    const key = identityCredentialLockKey(h.store.keys, request.plan.identity.resourceId);
    h.world.arm.controls.setLatency(600, { method: 'PUT', path: /userAssignedIdentities\/[^/]+$/ });
    const heldWhileWriting: boolean[] = [];
    let identityDone = false;
    const sink: ProgressSink = { progress: async (_r, e) => void (e.step === 'identity' && e.outcome !== 'running' && (identityDone = true)), finished: async () => {} };
    const t0 = Date.now();
    const run = provisionGrant(request, h.deps({ progress: sink }));
    // sample the lock while the identity's PUT has reached Azure and its answer has not come back
    while (Date.now() - t0 < 3000 && !identityDone) {
      const putArrived = h.world.arm.controls.requests({ method: 'PUT', path: /userAssignedIdentities\/[^/]+$/ }).some((e) => e.at >= t0);
      const held = (await h.store.redis.exists(key)) === 1;
      if (putArrived && !identityDone) heldWhileWriting.push(held);
      await new Promise((r) => setTimeout(r, 20));
    }
    await run;
    expect(heldWhileWriting.length).toBeGreaterThan(3);
    expect(heldWhileWriting.every(Boolean)).toBe(true);
    expect(await h.store.redis.exists(key)).toBe(0);
    expect(worldFor(h.world, request).federatedCredentials).toHaveLength(1);
    // an identity that exists has its credentials read under the lock as before: nothing is taken ahead
    h.world.arm.controls.reset();
    await provisionGrant(request, h.deps());
    expect(await h.store.redis.exists(key)).toBe(0);
    expect(h.world.arm.controls.requests({ method: 'GET', path: /federatedIdentityCredentials/ }).length).toBeGreaterThanOrEqual(1);
  });

  test('an identity write that fails gives back the credential lock taken ahead: the next run is not held up', async () => {
    const request = await h.approvedGrant('lock-ahead-fails');
    const key = identityCredentialLockKey(h.store.keys, request.plan.identity.resourceId);
    h.world.arm.controls.failNext(1, { method: 'PUT', path: /userAssignedIdentities\/[^/]+$/, status: 400, code: 'InvalidRequestContent' });
    const e = await failure(provisionGrant(request, h.deps()));
    expect((e as StepError).step).toBe('identity');
    expect(await h.store.redis.exists(key)).toBe(0);
    const t0 = Date.now();
    await provisionGrant(request, h.deps());
    // the lock's ttl is far longer than this: a lock left behind would have held the second run up
    expect(Date.now() - t0).toBeLessThan(resolveLimits(h.deps().limits).lockTtlMs);
    expect(worldFor(h.world, request).federatedCredentials).toHaveLength(1);
  });

  test('a new identity’s role assignment is written without reading it first', async () => {
    const request = await h.approvedGrant('new-no-reads');
    const t0 = Date.now();
    const description = jest.fn(async () => 'granted by wid-bot');
    await provisionGrant(request, h.deps({ grantAssignment: { lockName: (r) => `ra:${r.id}`, description } }));
    const reads = h.world.arm.controls.log.filter((e) => e.at >= t0 && e.method === 'GET' && /roleAssignments\//.test(e.path));
    expect(reads).toEqual([]);
    expect(description).toHaveBeenCalledWith(expect.objectContaining({ id: request.id }), undefined);
    // an identity that existed is read: the second run of the same plan reads its assignment
    const t1 = Date.now();
    await provisionGrant(request, h.deps({ grantAssignment: { lockName: (r) => `ra:${r.id}`, description } }));
    expect(h.world.arm.controls.log.filter((e) => e.at >= t1 && e.method === 'GET' && /roleAssignments\//.test(e.path)).length).toBeGreaterThanOrEqual(1);
    expect(description).toHaveBeenLastCalledWith(expect.objectContaining({ id: request.id }), expect.objectContaining({ principalId: expect.any(String) }));
  });
});
