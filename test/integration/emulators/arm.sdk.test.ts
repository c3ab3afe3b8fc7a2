/**
 * The ARM emulator's failure modes, driven through the real Azure SDK clients the bot uses.
 */
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import type { TokenCredential } from '@azure/core-auth';
import { startArmEmulator, type ArmEmulator } from '../../emulators/arm';
import { testTls } from '../../emulators/common/tls';

const SUB = '11111111-2222-3333-4444-555555555555';
const RG = 'rg-wid';
const RG_SCOPE = `/subscriptions/${SUB}/resourceGroups/${RG}`;
const ISSUER = 'http://127.0.0.1:6443/issuer/';
const AUDIENCES = ['api://AzureADTokenExchange'];
const KV_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const roleId = (guid: string): string => `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;

const fakeCredential = (token = 'x'): TokenCredential => ({
  getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3600e3 }),
});

function clientOptions(arm: ArmEmulator, maxRetries = 2) {
  return {
    endpoint: arm.url,
    credentialScopes: ['https://management.azure.com/.default'],
    retryOptions: { maxRetries, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  };
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message: string;
}

async function failure(p: Promise<unknown>): Promise<RestErrorLike> {
  try {
    await p;
  } catch (e) {
    return e as RestErrorLike;
  }
  throw new Error('expected the call to fail');
}

let arm: ArmEmulator;
let msi: ManagedServiceIdentityClient;
let auth: AuthorizationManagementClient;
let aks: ContainerServiceClient;
let counter = 0;
const uniqueName = (prefix: string): string => `${prefix}-${++counter}`;

beforeAll(async () => {
  arm = await startArmEmulator({ tls: await testTls(), tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' });
  msi = new ManagedServiceIdentityClient(fakeCredential(), SUB, clientOptions(arm));
  auth = new AuthorizationManagementClient(fakeCredential(), SUB, clientOptions(arm));
  aks = new ContainerServiceClient(fakeCredential(), SUB, clientOptions(arm));
});

afterAll(async () => {
  await arm.close();
});

afterEach(() => {
  arm.controls.reset();
  arm.clearDenies();
  arm.setThrottle(false);
  arm.configure({ pageSize: 100, ficWriteMs: 25, principalReplicationDelayMs: 0 });
});

describe('identities', () => {
  test('create, read, update tags, delete (which also deletes its federated credentials)', async () => {
    const name = uniqueName('app-identity');
    const created = await msi.userAssignedIdentities.createOrUpdate(RG, name, { location: 'westeurope', tags: { team: 'a' } });
    expect(created.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.principalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.tenantId).toBe('72f988bf-86f1-41af-91ab-2d7cd011db47');
    expect(created.id).toBe(`/subscriptions/${SUB}/resourcegroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`);

    const updated = await msi.userAssignedIdentities.createOrUpdate(RG, name, { location: 'westeurope', tags: { team: 'b', env: 'dev' } });
    expect(updated.clientId).toBe(created.clientId);
    expect(updated.tags).toEqual({ team: 'b', env: 'dev' });
    expect((await msi.userAssignedIdentities.get(RG, name)).tags).toEqual({ team: 'b', env: 'dev' });

    await msi.federatedIdentityCredentials.createOrUpdate(RG, name, 'fic-one', { issuer: ISSUER, subject: 'system:serviceaccount:ns:sa', audiences: AUDIENCES });
    expect(arm.state.federatedCredentials().filter((f) => f.identityId === created.id)).toHaveLength(1);
    await msi.userAssignedIdentities.delete(RG, name);
    expect(arm.state.federatedCredentials().filter((f) => f.identityId === created.id)).toHaveLength(0);
    const gone = await failure(msi.userAssignedIdentities.get(RG, name));
    expect(gone.statusCode).toBe(404);
    expect(gone.code).toBe('ResourceNotFound');
  });

  test('paging: the SDK iterator follows nextLink over several pages, by resource group and by subscription', async () => {
    arm.configure({ pageSize: 2 });
    const rg = 'rg-paging';
    for (let i = 0; i < 5; i++) arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: rg, name: `paged-${i}` });
    const names: string[] = [];
    for await (const identity of msi.userAssignedIdentities.listByResourceGroup(rg)) names.push(identity.name ?? '');
    expect(names).toEqual(['paged-0', 'paged-1', 'paged-2', 'paged-3', 'paged-4']);
    const listCalls = arm.controls.requests({ method: 'GET', path: `/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities` });
    expect(listCalls).toHaveLength(3);
    expect(listCalls[2]?.query['$skiptoken']).toBeDefined();

    const all: string[] = [];
    for await (const identity of msi.userAssignedIdentities.listBySubscription()) all.push(identity.name ?? '');
    expect(all).toEqual(expect.arrayContaining(['paged-0', 'paged-4']));
    expect(all.length).toBe(arm.state.identities().filter((i) => i.subscriptionId === SUB).length);
  });

  test('throttling: every answer carries what is left of its bucket (reads, writes, deletes), errors too', async () => {
    arm.setThrottle({});
    const seen: Record<string, string | undefined>[] = [];
    const onResponse = (r: { headers: { get(n: string): string | undefined } }): void => {
      seen.push({
        reads: r.headers.get('x-ms-ratelimit-remaining-subscription-reads'),
        writes: r.headers.get('x-ms-ratelimit-remaining-subscription-writes'),
        deletes: r.headers.get('x-ms-ratelimit-remaining-subscription-deletes'),
      });
    };
    const name = uniqueName('headers');
    await msi.userAssignedIdentities.createOrUpdate(RG, name, { location: 'eastus' }, { onResponse });
    await msi.userAssignedIdentities.get(RG, name, { onResponse });
    await msi.userAssignedIdentities.get(RG, name, { onResponse });
    await failure(msi.userAssignedIdentities.get(RG, uniqueName('absent'), { onResponse }));
    await msi.userAssignedIdentities.delete(RG, name, { onResponse });
    expect(seen).toEqual([
      { reads: undefined, writes: '199', deletes: undefined },
      { reads: '249', writes: undefined, deletes: undefined },
      { reads: '248', writes: undefined, deletes: undefined },
      { reads: '247', writes: undefined, deletes: undefined },
      { reads: undefined, writes: undefined, deletes: '199' },
    ]);
  });

  test('throttling: an empty write bucket → 429 SubscriptionRequestsThrottled with Retry-After, which the SDK waits out and retries', async () => {
    arm.setThrottle({ write: { burst: 2, perSecond: 1 } });
    const before = arm.stats();
    const started = Date.now();
    for (let i = 0; i < 3; i++) await msi.userAssignedIdentities.createOrUpdate(RG, uniqueName('throttled'), { location: 'eastus' });
    const after = arm.stats();
    expect(after.byLimit.write.throttled - before.byLimit.write.throttled).toBe(1);
    expect(after.byOperation.identityWrite.throttled - before.byOperation.identityWrite.throttled).toBe(1);
    expect(after.throttled - before.throttled).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(arm.controls.requests({ method: 'PUT', path: '/userAssignedIdentities/throttled-' })).toHaveLength(4);
  });

  test('throttling: the identity-create limit is per region and counts creates only, not updates', async () => {
    arm.setThrottle({ identityCreate: { burst: 1, perSecond: 0.01 } });
    const before = arm.stats().byLimit.identityCreate;
    const first = uniqueName('create');
    await msi.userAssignedIdentities.createOrUpdate(RG, first, { location: 'westeurope' });
    const e = await failure(new ManagedServiceIdentityClient(fakeCredential(), SUB, clientOptions(arm, 0)).userAssignedIdentities.createOrUpdate(RG, uniqueName('create'), { location: 'West Europe' }));
    expect(e.statusCode).toBe(429);
    expect(e.code).toBe('TooManyRequests');
    expect(e.message).toContain("in region 'westeurope' exceeded the limit of '1' for time interval '00:01:40'");
    await msi.userAssignedIdentities.createOrUpdate(RG, first, { location: 'westeurope', tags: { updated: 'yes' } });
    await msi.userAssignedIdentities.createOrUpdate(RG, uniqueName('create'), { location: 'eastus' });
    const after = arm.stats().byLimit.identityCreate;
    expect({ allowed: after.allowed - before.allowed, throttled: after.throttled - before.throttled }).toEqual({ allowed: 2, throttled: 1 });
  });

  test('throttling can be switched off', async () => {
    arm.setThrottle(false);
    const before = arm.stats().throttled;
    for (let i = 0; i < 5; i++) await msi.userAssignedIdentities.createOrUpdate(RG, uniqueName('unthrottled'), { location: 'eastus' });
    expect(arm.stats().throttled).toBe(before);
  });
});

describe('federated identity credentials', () => {
  const subject = (n: number): string => `system:serviceaccount:ns:sa-${n}`;

  test('at most 20 per identity: the 21st → 400; updating an existing one still works', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('full-identity') });
    for (let i = 0; i < 20; i++) arm.state.seedFederatedCredential(identity.id, { name: `fic-${i}`, issuer: ISSUER, subject: subject(i) });
    const e = await failure(msi.federatedIdentityCredentials.createOrUpdate(RG, identity.name, 'fic-20', { issuer: ISSUER, subject: subject(20), audiences: AUDIENCES }));
    expect(e.statusCode).toBe(400);
    expect(e.message).toContain('maximum of 20');
    const updated = await msi.federatedIdentityCredentials.createOrUpdate(RG, identity.name, 'fic-3', { issuer: ISSUER, subject: 'system:serviceaccount:ns:renamed', audiences: AUDIENCES });
    expect(updated.subject).toBe('system:serviceaccount:ns:renamed');
  });

  test('issuer+subject unique per identity: 400 naming the existing credential; another identity may reuse it', async () => {
    const a = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('dup-a') });
    const b = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('dup-b') });
    await msi.federatedIdentityCredentials.createOrUpdate(RG, a.name, 'first', { issuer: ISSUER, subject: subject(1), audiences: AUDIENCES });
    const e = await failure(msi.federatedIdentityCredentials.createOrUpdate(RG, a.name, 'second', { issuer: ISSUER, subject: subject(1), audiences: AUDIENCES }));
    expect(e.statusCode).toBe(400);
    expect(e.message).toContain('Issuer and subject combination already exists for this Managed Identity.');
    expect(e.message).toContain("'first'");
    await msi.federatedIdentityCredentials.createOrUpdate(RG, b.name, 'second', { issuer: ISSUER, subject: subject(1), audiences: AUDIENCES });
  });

  test('overlapping writes on one identity → 409 ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity; sequential writes pass', async () => {
    arm.configure({ ficWriteMs: 200 });
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('busy') });
    const results = await Promise.allSettled([1, 2].map((n) => msi.federatedIdentityCredentials.createOrUpdate(RG, identity.name, `c-${n}`, { issuer: ISSUER, subject: subject(n), audiences: AUDIENCES })));
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    const e = rejected[0]?.reason as RestErrorLike;
    expect(e.statusCode).toBe(409);
    expect(e.code).toBe('ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity');
    expect(e.message).toContain('Too many Federated Identity Credentials are written concurrently for the managed identity');

    arm.configure({ ficWriteMs: 5 });
    for (const n of [3, 4]) await msi.federatedIdentityCredentials.createOrUpdate(RG, identity.name, `c-${n}`, { issuer: ISSUER, subject: subject(n), audiences: AUDIENCES });
    expect(arm.state.findIdentityByClientId(identity.clientId)?.federatedCredentials).toHaveLength(3);
  });

  test('a missing parent identity → 404 ParentResourceNotFound', async () => {
    const e = await failure(msi.federatedIdentityCredentials.createOrUpdate(RG, 'no-such-identity', 'fic', { issuer: ISSUER, subject: subject(1), audiences: AUDIENCES }));
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe('ParentResourceNotFound');
  });

  test('audiences are required', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('no-aud') });
    const e = await failure(msi.federatedIdentityCredentials.createOrUpdate(RG, identity.name, 'fic', { issuer: ISSUER, subject: subject(1), audiences: [] }));
    expect(e.statusCode).toBe(400);
    expect(e.message).toContain("must specify 'issuer', 'subject' and 'audience'");
  });

  test('list pages with $top through the SDK iterator; state lookup by clientId is exact', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('listed') });
    for (let i = 0; i < 3; i++) arm.state.seedFederatedCredential(identity.id, { name: `l-${i}`, issuer: ISSUER, subject: subject(i), createdAt: 1000 + i });
    const names: string[] = [];
    for await (const f of msi.federatedIdentityCredentials.list(RG, identity.name, { top: 2 })) names.push(f.name ?? '');
    expect(names).toEqual(['l-0', 'l-1', 'l-2']);

    const found = arm.state.findIdentityByClientId(identity.clientId);
    expect(found?.federatedCredentials.map((f) => [f.name, f.issuer, f.subject, f.audiences, f.createdAt])).toEqual([
      ['l-0', ISSUER, subject(0), AUDIENCES, 1000],
      ['l-1', ISSUER, subject(1), AUDIENCES, 1001],
      ['l-2', ISSUER, subject(2), AUDIENCES, 1002],
    ]);
    expect(arm.state.findIdentityByClientId(identity.clientId.toUpperCase())).toBeUndefined();
  });
});

describe('role definitions and assignments', () => {
  test("roleDefinitions.list with $filter roleName eq '…' and getById", async () => {
    const found = [];
    for await (const d of auth.roleDefinitions.list(RG_SCOPE, { filter: "roleName eq 'Key Vault Secrets User'" })) found.push(d);
    expect(found.map((d) => d.name)).toEqual([KV_SECRETS_USER]);
    expect(found[0]?.id).toBe(roleId(KV_SECRETS_USER));
    const byId = await auth.roleDefinitions.getById(`/providers/Microsoft.Authorization/roleDefinitions/${READER}`);
    expect(byId.roleName).toBe('Reader');
    const e = await failure(auth.roleDefinitions.get(RG_SCOPE, '00000000-0000-0000-0000-000000000009'));
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe('RoleDefinitionDoesNotExist');
  });

  test('create (scope with a leading slash), get, list by principal, delete', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('ra') });
    const name = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const created = await auth.roleAssignments.create(RG_SCOPE, name, { roleDefinitionId: roleId(KV_SECRETS_USER), principalId: identity.principalId, principalType: 'ServicePrincipal' });
    expect(created.scope).toBe(RG_SCOPE);
    expect(created.id).toBe(`${RG_SCOPE}/providers/Microsoft.Authorization/roleAssignments/${name}`);
    expect(arm.controls.requests({ method: 'PUT', path: name })[0]?.path).toBe(`${RG_SCOPE}/providers/Microsoft.Authorization/roleAssignments/${name}`);
    expect((await auth.roleAssignments.get(RG_SCOPE, name)).principalId).toBe(identity.principalId);

    const listed = [];
    for await (const r of auth.roleAssignments.listForScope(`/subscriptions/${SUB}`, { filter: `principalId eq '${identity.principalId}'` })) listed.push(r);
    expect(listed.map((r) => r.name)).toEqual([name]);
    const atScope = [];
    for await (const r of auth.roleAssignments.listForScope(`/subscriptions/${SUB}`, { filter: `atScope() and principalId eq '${identity.principalId}'` })) atScope.push(r);
    expect(atScope).toHaveLength(0);

    const deleted = await auth.roleAssignments.delete(RG_SCOPE, name);
    expect(deleted.name).toBe(name);
    expect(arm.state.roleAssignments().find((r) => r.name === name)).toBeUndefined();
  });

  test('a name that is not a GUID → 400', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('ra-guid') });
    const e = await failure(auth.roleAssignments.create(RG_SCOPE, 'not-a-guid', { roleDefinitionId: roleId(READER), principalId: identity.principalId, principalType: 'ServicePrincipal' }));
    expect(e.statusCode).toBe(400);
    expect(e.code).toBe('InvalidRoleAssignmentId');
  });

  test('same principal+role+scope under another name → 409 RoleAssignmentExists naming the existing one; a reused name → 400 RoleAssignmentUpdateNotPermitted', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('ra-dup') });
    const first = 'b9c3a9a4-5e0f-4c3b-9c0d-2d5b1a0e7f11';
    const body = { roleDefinitionId: roleId(READER), principalId: identity.principalId, principalType: 'ServicePrincipal' as const };
    await auth.roleAssignments.create(RG_SCOPE, first, body);
    const exists = await failure(auth.roleAssignments.create(RG_SCOPE, 'c1d2e3f4-0000-4000-8000-000000000001', body));
    expect(exists.statusCode).toBe(409);
    expect(exists.code).toBe('RoleAssignmentExists');
    expect(exists.message).toBe(`The role assignment already exists. The ID of the existing role assignment is ${first.replace(/-/g, '')}.`);

    const reused = await failure(auth.roleAssignments.create(RG_SCOPE, first, { ...body, roleDefinitionId: roleId(KV_SECRETS_USER) }));
    expect(reused.statusCode).toBe(400);
    expect(reused.code).toBe('RoleAssignmentUpdateNotPermitted');
    const elsewhere = await failure(auth.roleAssignments.create(`/subscriptions/${SUB}`, first, body));
    expect(elsewhere.code).toBe('RoleAssignmentUpdateNotPermitted');
  });

  test('PrincipalNotFound: unknown or too-young principal without principalType; principalType ServicePrincipal skips the delay', async () => {
    arm.configure({ principalReplicationDelayMs: 300 });
    const identity = await msi.userAssignedIdentities.createOrUpdate(RG, uniqueName('young'), { location: 'eastus' });
    const principalId = identity.principalId ?? '';
    const young = await failure(auth.roleAssignments.create(RG_SCOPE, '9a0b1c2d-0000-4000-8000-000000000001', { roleDefinitionId: roleId(READER), principalId }));
    expect(young.statusCode).toBe(400);
    expect(young.code).toBe('PrincipalNotFound');
    expect(young.message).toContain(`Principal ${principalId.replace(/-/g, '')} does not exist in the directory 72f988bf-86f1-41af-91ab-2d7cd011db47.`);
    expect(young.message).toContain('set the role assignment principalType property');

    const typed = await auth.roleAssignments.create(RG_SCOPE, '9a0b1c2d-0000-4000-8000-000000000002', { roleDefinitionId: roleId(READER), principalId, principalType: 'ServicePrincipal' });
    expect(typed.principalType).toBe('ServicePrincipal');

    const unknown = await failure(auth.roleAssignments.create(RG_SCOPE, '9a0b1c2d-0000-4000-8000-000000000003', { roleDefinitionId: roleId(READER), principalId: '5e5e5e5e-0000-4000-8000-000000000000' }));
    expect(unknown.code).toBe('PrincipalNotFound');

    await new Promise((r) => setTimeout(r, 320));
    const later = await auth.roleAssignments.create(RG_SCOPE, '9a0b1c2d-0000-4000-8000-000000000004', { roleDefinitionId: roleId(KV_SECRETS_USER), principalId });
    expect(later.principalType).toBe('ServicePrincipal');
  });
});

describe('managed clusters', () => {
  test('OIDC issuer and workload identity off, then switched on at run time', async () => {
    const ref = { subscriptionId: SUB, resourceGroup: RG, name: 'aks-dev' };
    arm.setCluster({ ...ref, issuerUrl: ISSUER, oidcIssuerEnabled: false, workloadIdentityEnabled: false, identityType: 'SystemAssigned', podIdentityEnabled: true });
    const off = await aks.managedClusters.get(RG, 'aks-dev');
    expect(off.oidcIssuerProfile?.enabled).toBe(false);
    expect(off.oidcIssuerProfile?.issuerURL).toBeUndefined();
    expect(off.securityProfile?.workloadIdentity).toBeUndefined();
    expect(off.podIdentityProfile?.enabled).toBe(true);
    expect(off.identity?.type).toBe('SystemAssigned');

    arm.setCluster({ ...ref, issuerUrl: ISSUER, oidcIssuerEnabled: true, workloadIdentityEnabled: true, identityType: 'UserAssigned' });
    const on = await aks.managedClusters.get(RG, 'aks-dev');
    expect(on.oidcIssuerProfile).toEqual({ enabled: true, issuerURL: ISSUER });
    expect(on.securityProfile?.workloadIdentity?.enabled).toBe(true);
    expect(on.identity?.type).toBe('UserAssigned');
    expect(on.podIdentityProfile).toBeUndefined();

    const missing = await failure(aks.managedClusters.get(RG, 'no-such-cluster'));
    expect(missing.statusCode).toBe(404);
    expect(missing.code).toBe('ResourceNotFound');
  });
});

describe('auth', () => {
  test('strict mode: a token the validator refuses → 401 InvalidAuthenticationToken', async () => {
    const strict = await startArmEmulator({ tls: await testTls(), tokenValidator: (t) => t === 'issued-by-entra' });
    try {
      const bad = new ManagedServiceIdentityClient(fakeCredential('forged'), SUB, clientOptions(strict, 0));
      const e = await failure(bad.userAssignedIdentities.get(RG, 'any'));
      expect(e.statusCode).toBe(401);
      expect(e.code).toBe('InvalidAuthenticationToken');
      const good = new ManagedServiceIdentityClient(fakeCredential('issued-by-entra'), SUB, clientOptions(strict, 0));
      const e2 = await failure(good.userAssignedIdentities.get(RG, 'any'));
      expect(e2.statusCode).toBe(404);
    } finally {
      await strict.close();
    }
  });

  test('a deny rule → 403 AuthorizationFailed with the real message shape; other actions pass', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('denied') });
    arm.deny({ action: 'Microsoft.Authorization/roleAssignments/write' });
    const name = '3c4d5e6f-0000-4000-8000-000000000001';
    const e = await failure(auth.roleAssignments.create(RG_SCOPE, name, { roleDefinitionId: roleId(READER), principalId: identity.principalId, principalType: 'ServicePrincipal' }));
    expect(e.statusCode).toBe(403);
    expect(e.code).toBe('AuthorizationFailed');
    expect(e.message).toMatch(
      new RegExp(
        `^The client '[^']+' with object id '[^']+' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '${RG_SCOPE}/providers/Microsoft.Authorization/roleAssignments/${name}' or the scope is invalid. If access was recently granted, please refresh your credentials.$`,
      ),
    );
    await expect(msi.userAssignedIdentities.get(RG, identity.name)).resolves.toMatchObject({ name: identity.name });
    arm.clearDenies();
    await expect(auth.roleAssignments.create(RG_SCOPE, name, { roleDefinitionId: roleId(READER), principalId: identity.principalId, principalType: 'ServicePrincipal' })).resolves.toMatchObject({ name });
  });
});

describe('controls', () => {
  test('failNext: a 500 is retried by the SDK; without retries the ARM error reaches the caller', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('flaky') });
    arm.controls.failNext(1, { status: 500, code: 'InternalServerError', path: identity.name });
    await expect(msi.userAssignedIdentities.get(RG, identity.name)).resolves.toMatchObject({ name: identity.name });
    expect(arm.controls.requests({ path: identity.name })).toHaveLength(2);

    const noRetry = new ManagedServiceIdentityClient(fakeCredential(), SUB, clientOptions(arm, 0));
    arm.controls.failNext(1, { status: 503, code: 'ServiceUnavailable', message: 'Try later.', path: identity.name });
    const e = await failure(noRetry.userAssignedIdentities.get(RG, identity.name));
    expect(e.statusCode).toBe(503);
    expect(e.code).toBe('ServiceUnavailable');
    expect(e.message).toContain('Try later.');
  });

  test('an injected 429 carries Retry-After and the SDK retries it', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('fault429') });
    arm.controls.failNext(1, { status: 429, code: 'TooManyRequests', path: identity.name });
    const started = Date.now();
    await expect(msi.userAssignedIdentities.get(RG, identity.name)).resolves.toMatchObject({ name: identity.name });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  test('error rate: a seeded rate fails some calls and not others', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('rated') });
    const noRetry = new ManagedServiceIdentityClient(fakeCredential(), SUB, clientOptions(arm, 0));
    arm.controls.seed(7).setErrorRate(0.5, { status: 500, code: 'InternalServerError', path: identity.name });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => noRetry.userAssignedIdentities.get(RG, identity.name)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThan(20);
  });

  test('latency delays matching calls', async () => {
    const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: uniqueName('slow') });
    arm.controls.setLatency(150, { path: identity.name });
    const started = Date.now();
    await msi.userAssignedIdentities.get(RG, identity.name);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });
});
