import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { startArmEmulator, type ArmEmulator } from '../../emulators/arm';
import { createAzureAdapters, RoleAssignmentExistsError, type AzureAdapters } from '../../../src/azure';
import type { AdapterCall, IdentityRef } from '../../../src/domain/ports';
import type { PolicyCluster } from '../../../src/domain/types';
import { WidError } from '../../../src/domain/errors';
import { caught } from '../../support/helpers';

const SUB = '11111111-2222-3333-4444-555555555555';
const RG = 'rg-identities';
const KV_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
const ISSUER = 'https://eastus.oic.prod-aks.azure.com/tenant/cluster-guid/';

/** A credential that records the scopes it was asked for. */
class RecordingCredential implements TokenCredential {
  readonly scopes: string[][] = [];
  getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    this.scopes.push(Array.isArray(scopes) ? scopes : [scopes]);
    return Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3600_000 });
  }
}


async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('Azure adapters against the ARM emulator, through the real SDK clients', () => {
  let arm: ArmEmulator;
  let azure: AzureAdapters;
  const credential = new RecordingCredential();
  const calls: AdapterCall[] = [];
  /** Every URL the SDK clients sent, exactly (the emulator's log normalises paths). */
  const sentUrls: string[] = [];
  const inner = createDefaultHttpClient();
  const recordingHttp: HttpClient = {
    sendRequest: (request) => {
      sentUrls.push(request.url);
      return inner.sendRequest(request);
    },
  };
  const ref = (name: string): IdentityRef => ({ subscriptionId: SUB, resourceGroup: RG, name });
  const rgScope = `/subscriptions/${SUB}/resourceGroups/${RG}`;

  beforeAll(async () => {
    arm = await startArmEmulator({
      throttle: false,
      ficWriteMs: 0,
      clusters: [
        { subscriptionId: SUB, resourceGroup: 'rg-aks', name: 'aks-prod', issuerUrl: ISSUER, identityType: 'SystemAssigned', podIdentityEnabled: true },
        { subscriptionId: SUB, resourceGroup: 'rg-aks', name: 'aks-old', oidcIssuerEnabled: false, workloadIdentityEnabled: false, identityType: 'None' },
      ],
    });
    azure = createAzureAdapters({
      credential,
      resourceManagerUrl: arm.url,
      audience: 'https://management.azure.com/',
      retry: { maxRetries: 2, retryDelayMs: 10, maxRetryDelayMs: 20, maxRetryAfterSeconds: 1 },
      onCall: (c) => calls.push(c),
      httpClient: recordingHttp,
    });
  });
  afterAll(async () => {
    await arm.close();
  });
  beforeEach(() => {
    arm.controls.reset({ log: true });
    arm.clearDenies();
    arm.configure({ pageSize: 100, ficWriteMs: 0 });
  });

  test('identity create-or-update, get, delete; a missing identity is undefined; the token scope stays ARM’s', async () => {
    const created = await azure.identities.putIdentity(ref('id-orders'), 'eastus', { 'managed-by': 'wid-bot', request: 'r1' });
    expect(created).toMatchObject({ name: 'id-orders', subscriptionId: SUB, resourceGroup: RG, location: 'eastus', tags: { 'managed-by': 'wid-bot', request: 'r1' } });
    expect(created.clientId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.principalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.tenantId).toBeTruthy();
    // ARM spells `resourcegroups` in lower case in identity ids: compare as ARM does, case-insensitively.
    expect(created.id.toLowerCase()).toBe(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-orders`.toLowerCase());

    const again = await azure.identities.putIdentity(ref('id-orders'), 'eastus', { 'managed-by': 'wid-bot', request: 'r2' });
    expect(again.clientId).toBe(created.clientId);
    expect(again.tags.request).toBe('r2');

    expect((await azure.identities.getIdentity(ref('id-orders')))?.principalId).toBe(created.principalId);
    expect(await azure.identities.getIdentity(ref('id-missing'))).toBeUndefined();
    await azure.identities.deleteIdentity(ref('id-orders'));
    expect(await azure.identities.getIdentity(ref('id-orders'))).toBeUndefined();
    await azure.identities.deleteIdentity(ref('id-orders'));

    expect(credential.scopes.every((s) => s.length === 1 && s[0] === 'https://management.azure.com/.default')).toBe(true);
    expect(calls.find((c) => c.operation === 'identities.put')).toMatchObject({ system: 'azure', outcome: 'ok' });
  });

  test('listIdentities follows nextLink across pages, by resource group and by subscription', async () => {
    arm.configure({ pageSize: 2 });
    for (const n of ['a', 'b', 'c', 'd', 'e']) arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-list', name: `id-list-${n}` });
    arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-other', name: 'id-elsewhere' });
    const inRg = await collect(azure.identities.listIdentities(SUB, 'rg-list'));
    expect(inRg.map((i) => i.name).sort()).toEqual(['id-list-a', 'id-list-b', 'id-list-c', 'id-list-d', 'id-list-e']);
    expect(inRg.every((i) => i.resourceGroup.toLowerCase() === 'rg-list' && i.clientId !== '')).toBe(true);
    expect(arm.controls.requests({ method: 'GET', path: '/userAssignedIdentities' }).length).toBe(3);
    const inSub = await collect(azure.identities.listIdentities(SUB));
    expect(inSub.map((i) => i.name)).toEqual(expect.arrayContaining(['id-list-a', 'id-list-e', 'id-elsewhere']));
  });

  test('federated credentials: put, get, list across pages, delete; missing → undefined', async () => {
    arm.configure({ pageSize: 2 });
    await azure.identities.putIdentity(ref('id-fic'), 'eastus', {});
    for (const ns of ['a', 'b', 'c']) {
      const f = await azure.identities.putFederatedCredential(ref('id-fic'), `fic-${ns}`, ISSUER, `system:serviceaccount:${ns}:api`, ['api://AzureADTokenExchange']);
      expect(f).toMatchObject({ name: `fic-${ns}`, issuer: ISSUER, subject: `system:serviceaccount:${ns}:api`, audiences: ['api://AzureADTokenExchange'] });
      expect(f.identityId.toLowerCase()).toBe(`${rgScope}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-fic`.toLowerCase());
    }
    const listed = await azure.identities.listFederatedCredentials(ref('id-fic'));
    expect(listed.map((f) => f.name).sort()).toEqual(['fic-a', 'fic-b', 'fic-c']);
    expect(arm.controls.requests({ method: 'GET', path: '/federatedIdentityCredentials' }).length).toBeGreaterThanOrEqual(2);
    // The issuer comes back verbatim, trailing slash and all.
    expect((await azure.identities.getFederatedCredential(ref('id-fic'), 'fic-b'))?.issuer).toBe(ISSUER);
    expect(await azure.identities.getFederatedCredential(ref('id-fic'), 'fic-zz')).toBeUndefined();
    await azure.identities.deleteFederatedCredential(ref('id-fic'), 'fic-b');
    await azure.identities.deleteFederatedCredential(ref('id-fic'), 'fic-b');
    expect((await azure.identities.listFederatedCredentials(ref('id-fic'))).map((f) => f.name).sort()).toEqual(['fic-a', 'fic-c']);
  });

  test('concurrent federated-credential writes on one identity → retryable', async () => {
    await azure.identities.putIdentity(ref('id-busy'), 'eastus', {});
    arm.configure({ ficWriteMs: 300 });
    const results = await Promise.allSettled([
      azure.identities.putFederatedCredential(ref('id-busy'), 'fic-one', ISSUER, 'system:serviceaccount:a:one', ['api://AzureADTokenExchange']),
      azure.identities.putFederatedCredential(ref('id-busy'), 'fic-two', ISSUER, 'system:serviceaccount:a:two', ['api://AzureADTokenExchange']),
    ]);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    const e = rejected[0]?.reason as WidError;
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity');
  });

  test('role definition lookup by name', async () => {
    const id = await azure.authorization.findRoleDefinitionId(rgScope, 'Key Vault Secrets User');
    expect(id).toMatch(new RegExp(`/providers/Microsoft.Authorization/roleDefinitions/${KV_SECRETS_USER}$`));
    expect(await azure.authorization.findRoleDefinitionId(rgScope, 'No Such Role')).toBeUndefined();
    const listCall = arm.controls.requests({ path: '/roleDefinitions' })[0];
    expect(listCall?.query['$filter']).toBe("roleName eq 'Key Vault Secrets User'");
  });

  test('role assignment: create, same name again is fine, another name → RoleAssignmentExists with the existing one; get, list, delete', async () => {
    const identity = await azure.identities.putIdentity(ref('id-ra'), 'eastus', {});
    const roleId = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${KV_SECRETS_USER}`;
    const scope = `${rgScope}/providers/Microsoft.KeyVault/vaults/kv-orders`;
    const name = '6b1c3a52-0d5e-4d1e-9a57-3b1f0c8e2a11';
    const ra = await azure.authorization.createRoleAssignment(scope, name, roleId, identity.principalId);
    expect(ra).toMatchObject({ name, principalId: identity.principalId, principalType: 'ServicePrincipal' });
    expect(ra.scope.toLowerCase()).toBe(scope.toLowerCase());
    expect(ra.roleDefinitionId.toLowerCase()).toContain(KV_SECRETS_USER);
    const put = arm.controls.requests({ method: 'PUT', path: '/roleAssignments/' })[0];
    // The SDK puts `{scope}` after a slash itself: the scope must not start with another one.
    const putUrl = sentUrls.find((u) => u.includes(`/roleAssignments/${name}`));
    expect(putUrl).toBeDefined();
    expect(new URL(putUrl as string).pathname).toBe(`${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`);
    expect(sentUrls.some((u) => new URL(u).pathname.includes('//'))).toBe(false);
    expect((put?.body as { properties?: { principalType?: string } }).properties?.principalType).toBe('ServicePrincipal');

    await expect(azure.authorization.createRoleAssignment(scope, name, roleId, identity.principalId)).resolves.toMatchObject({ name });

    const dup = await caught(azure.authorization.createRoleAssignment(scope, 'f0e1d2c3-b4a5-4968-8776-655443322110', roleId, identity.principalId));
    expect(dup).toBeInstanceOf(RoleAssignmentExistsError);
    expect(dup.code).toBe('RoleAssignmentExists');
    expect((dup as RoleAssignmentExistsError).existingRoleAssignmentName).toBe(name);

    expect((await azure.authorization.getRoleAssignment(scope, name))?.principalId).toBe(identity.principalId);
    const listed = await azure.authorization.listRoleAssignments(scope, identity.principalId);
    expect(listed.map((a) => a.name)).toEqual([name]);
    await azure.authorization.deleteRoleAssignment(scope, name);
    expect(await azure.authorization.getRoleAssignment(scope, name)).toBeUndefined();
    await azure.authorization.deleteRoleAssignment(scope, name);
  });

  test('PrincipalNotFound → retryable', async () => {
    arm.controls.failNext(1, { method: 'PUT', path: '/roleAssignments/', status: 400, code: 'PrincipalNotFound', message: 'Principal abc does not exist in the directory t.' });
    const e = await caught(
      azure.authorization.createRoleAssignment(rgScope, '0f9e8d7c-6b5a-4433-8221-100f0e0d0c0b', `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${KV_SECRETS_USER}`, '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d'),
    );
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('PrincipalNotFound');
  });

  test('403 AuthorizationFailed → terminal with action, scope and the permission wid-bot needs', async () => {
    arm.deny({ action: 'Microsoft.Authorization/roleAssignments/write' });
    const e = await caught(
      azure.authorization.createRoleAssignment(rgScope, '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d', `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${KV_SECRETS_USER}`, '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d'),
    );
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('AuthorizationFailed');
    expect(e.message).toContain("'Microsoft.Authorization/roleAssignments/write'");
    expect(e.message).toContain(rgScope);
    expect(e.message).toContain('Role Based Access Control Administrator');
    expect(calls.some((c) => c.operation === 'roleAssignments.create' && c.outcome === 'terminal' && c.code === 'AuthorizationFailed')).toBe(true);
  });

  test('429 with a long Retry-After → retryable with retryAfterSeconds, not slept on', async () => {
    arm.controls.failNext(1, { method: 'PUT', status: 429, code: 'TooManyRequests', retryAfterSeconds: 30 });
    const started = Date.now();
    const e = await caught(azure.identities.putIdentity(ref('id-throttled'), 'eastus', {}));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('TooManyRequests');
    expect(e.retryAfterSeconds).toBe(30);
  });

  test('429 with a short Retry-After and a passing 5xx are retried inside the call', async () => {
    arm.controls.failNext(1, { method: 'PUT', status: 429, code: 'TooManyRequests', retryAfterSeconds: 1 });
    await expect(azure.identities.putIdentity(ref('id-throttled-short'), 'eastus', {})).resolves.toMatchObject({ name: 'id-throttled-short' });
    arm.controls.failNext(1, { method: 'GET', status: 500, code: 'InternalServerError' });
    await expect(azure.identities.getIdentity(ref('id-throttled-short'))).resolves.toMatchObject({ name: 'id-throttled-short' });
    expect(arm.controls.requests({ path: 'id-throttled-short' }).length).toBe(4);
  });

  test('persistent 5xx → retryable after the SDK’s few tries', async () => {
    arm.controls.failNext(10, { method: 'GET', status: 503, code: 'ServiceUnavailable' });
    const e = await caught(azure.identities.getIdentity(ref('id-any')));
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('ServiceUnavailable');
    expect(arm.controls.requests({ method: 'GET' }).length).toBe(3);
  });

  test('cluster facts: issuer verbatim, OIDC/WI flags, identity type, pod identity; OIDC off; a missing cluster', async () => {
    const cluster = (aksName: string): PolicyCluster => ({ name: `c-${aksName}`, subscriptionId: SUB, resourceGroup: 'rg-aks', aksName });
    expect(await azure.clusters.getClusterFacts(cluster('aks-prod'))).toEqual({
      name: 'c-aks-prod',
      oidcIssuerEnabled: true,
      issuerUrl: ISSUER,
      workloadIdentityEnabled: true,
      identityType: 'SystemAssigned',
      podIdentityEnabled: true,
    });
    expect(await azure.clusters.getClusterFacts(cluster('aks-old'))).toEqual({
      name: 'c-aks-old',
      oidcIssuerEnabled: false,
      issuerUrl: '',
      workloadIdentityEnabled: false,
      podIdentityEnabled: false,
    });
    const e = await caught(azure.clusters.getClusterFacts(cluster('aks-gone')));
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('ClusterNotFound');
  });

  test('without an explicit audience the scope follows the endpoint', async () => {
    const cred = new RecordingCredential();
    const other = createAzureAdapters({ credential: cred, resourceManagerUrl: arm.url });
    await other.identities.getIdentity(ref('id-none'));
    expect(cred.scopes[0]).toEqual([`${arm.url}/.default`]);
  });

  test('an unreachable ARM endpoint → retryable network error', async () => {
    const gone = await startArmEmulator({ throttle: false });
    const url = gone.url;
    await gone.close();
    const offline = createAzureAdapters({ credential, resourceManagerUrl: url, retry: { maxRetries: 0 } });
    const e = await caught(offline.identities.getIdentity(ref('id-any')));
    expect(e.kind).toBe('retryable');
    expect(e.message).toMatch(/could not be reached/);
  });
});
