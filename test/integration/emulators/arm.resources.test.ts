/**
 * Microsoft.Resources as the Azure CLI reads it (subscriptions, resource groups) and the api-version rules
 * per resource type; the real `az` drives the same routes in test/clients/az.test.ts.
 */
import { API_VERSIONS, startArmEmulator, type ArmEmulator } from '../../emulators/arm';
import { armRequest, type RawRequest, type RawResponse } from '../../emulators/arm/raw-client';
import { testTls } from '../../emulators/common/tls';

const SUB = '7d1a3c52-0f6b-4d4e-9a51-2b6c8d9e0f11';
const OTHER_SUB = '1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b';
const RG_API = '2021-04-01';
const MSI_API = '2024-11-30';

let arm: ArmEmulator;
let ca: string;
const send = (req: RawRequest): Promise<RawResponse> => armRequest(arm.url, ca, req);
const group = (name: string, api = RG_API): string => `/subscriptions/${SUB}/resourcegroups/${name}?api-version=${api}`;
const identity = (rg: string, name: string, api = MSI_API): string =>
  `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}?api-version=${api}`;

beforeAll(async () => {
  const tls = await testTls();
  ca = tls.certPem;
  arm = await startArmEmulator({
    tls,
    throttle: false,
    subscriptions: [{ subscriptionId: SUB, displayName: 'Platform' }],
    resourceGroups: [{ subscriptionId: SUB, name: 'rg-existing', location: 'westeurope', tags: { team: 'platform' } }],
  });
});

afterAll(async () => {
  await arm.close();
});

describe('subscriptions', () => {
  test('GET /subscriptions lists the declared subscription in the shape az login reads', async () => {
    const res = await send({ method: 'GET', path: '/subscriptions?api-version=2022-12-01' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      value: [
        {
          id: `/subscriptions/${SUB}`,
          authorizationSource: 'RoleBased',
          managedByTenants: [],
          subscriptionId: SUB,
          tenantId: arm.state.tenantId,
          displayName: 'Platform',
          state: 'Enabled',
          subscriptionPolicies: expect.objectContaining({ spendingLimit: 'Off' }),
          tags: {},
        },
      ],
      count: { type: 'Total', value: 1 },
    });
  });

  test('2019-11-01 (what az 2.45 sends) has no count', async () => {
    const res = await send({ method: 'GET', path: '/subscriptions?api-version=2019-11-01' });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('count');
  });

  test('GET /subscriptions/{id}; an unknown one → 404 SubscriptionNotFound, for its resources too', async () => {
    const one = await send({ method: 'GET', path: `/subscriptions/${SUB}?api-version=2019-11-01` });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ subscriptionId: SUB, displayName: 'Platform', state: 'Enabled' });
    const missing = await send({ method: 'GET', path: `/subscriptions/${OTHER_SUB}?api-version=2019-11-01` });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'SubscriptionNotFound', message: `The subscription '${OTHER_SUB}' could not be found.` } });
    const inside = await send({ method: 'GET', path: `/subscriptions/${OTHER_SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=${MSI_API}` });
    expect(inside.status).toBe(404);
    expect(inside.body).toMatchObject({ error: { code: 'SubscriptionNotFound' } });
  });
});

describe('resource groups', () => {
  test('GET an existing group: id, name, type, location, tags, provisioningState', async () => {
    const res = await send({ method: 'GET', path: group('RG-EXISTING') });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: `/subscriptions/${SUB}/resourceGroups/rg-existing`,
      name: 'rg-existing',
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westeurope',
      tags: { team: 'platform' },
      properties: { provisioningState: 'Succeeded' },
    });
  });

  test('GET a missing group → 404 ResourceGroupNotFound in ARM error shape', async () => {
    const res = await send({ method: 'GET', path: group('rg-nowhere') });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'ResourceGroupNotFound', message: "Resource group 'rg-nowhere' could not be found." } });
  });

  test('HEAD: 204 when it exists, 404 when not (az group exists)', async () => {
    expect((await send({ method: 'HEAD', path: group('rg-existing') })).status).toBe(204);
    expect((await send({ method: 'HEAD', path: group('rg-nowhere') })).status).toBe(404);
  });

  test('PUT creates (201), then updates tags (200); another location → 409; no location → 400', async () => {
    const created = await send({ method: 'PUT', path: group('rg-new'), body: { location: 'westeurope' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: `/subscriptions/${SUB}/resourceGroups/rg-new`,
      name: 'rg-new',
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westeurope',
      properties: { provisioningState: 'Succeeded' },
    });
    const updated = await send({ method: 'PUT', path: group('rg-new'), body: { location: 'WestEurope', tags: { env: 'dev' } } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ location: 'westeurope', tags: { env: 'dev' } });
    const moved = await send({ method: 'PUT', path: group('rg-new'), body: { location: 'eastus' } });
    expect(moved.status).toBe(409);
    expect(moved.body).toEqual({
      error: { code: 'InvalidResourceGroupLocation', message: "Invalid resource group location 'eastus'. The Resource group already exists in location 'westeurope'." },
    });
    const noLocation = await send({ method: 'PUT', path: group('rg-other'), body: {} });
    expect(noLocation.status).toBe(400);
    expect(noLocation.body).toMatchObject({ error: { code: 'LocationRequired' } });
    const badName = await send({ method: 'PUT', path: group('rg.'), body: { location: 'westeurope' } });
    expect(badName.status).toBe(400);
    expect(badName.body).toMatchObject({ error: { code: 'InvalidResourceGroupName' } });
  });

  test('list: the subscription’s groups, each in the GET shape', async () => {
    const res = await send({ method: 'GET', path: `/subscriptions/${SUB}/resourcegroups?api-version=${RG_API}` });
    expect(res.status).toBe(200);
    const names = (res.body as { value: Array<{ name: string; type: string }> }).value.map((g) => g.name);
    expect(names).toEqual(expect.arrayContaining(['rg-existing', 'rg-new']));
    expect(names).not.toContain('rg-other');
  });

  test('PATCH replaces the tags and keeps the location', async () => {
    await send({ method: 'PUT', path: group('rg-patch'), body: { location: 'westeurope', tags: { a: '1' } } });
    const res = await send({ method: 'PATCH', path: group('rg-patch'), body: { tags: { b: '2' } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ location: 'westeurope', tags: { b: '2' } });
  });

  test('an identity in a missing group → 404 ResourceGroupNotFound and nothing is created; in a new group it works', async () => {
    const missing = await send({ method: 'PUT', path: identity('rg-absent', 'id-a'), body: { location: 'westeurope' } });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'ResourceGroupNotFound', message: "Resource group 'rg-absent' could not be found." } });
    expect(arm.state.identities().some((i) => i.name === 'id-a')).toBe(false);
    await send({ method: 'PUT', path: group('rg-absent'), body: { location: 'westeurope' } });
    const made = await send({ method: 'PUT', path: identity('rg-absent', 'id-a'), body: { location: 'westeurope' } });
    expect(made.status).toBe(201);
  });

  test('seeding an identity into an undeclared group is refused with a message that says what to declare', () => {
    expect(() => arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-undeclared', name: 'id-x' })).toThrow(/resource group rg-undeclared does not exist/);
  });

  test('without declared groups, a group comes into being with its first identity (and only then is it found)', async () => {
    const loose = await startArmEmulator({ tls: await testTls(), throttle: false, location: 'northeurope' });
    try {
      const r = (req: RawRequest): Promise<RawResponse> => armRequest(loose.url, ca, req);
      expect((await r({ method: 'HEAD', path: group('rg-later') })).status).toBe(404);
      expect((await r({ method: 'PUT', path: identity('rg-later', 'id-first'), body: { location: 'northeurope' } })).status).toBe(201);
      const g = await r({ method: 'GET', path: group('rg-later') });
      expect(g.status).toBe(200);
      expect(g.body).toMatchObject({ name: 'rg-later', location: 'northeurope' });
      const subs = await r({ method: 'GET', path: '/subscriptions?api-version=2022-12-01' });
      expect((subs.body as { value: Array<{ subscriptionId: string }> }).value.map((s) => s.subscriptionId)).toEqual([SUB]);
    } finally {
      await loose.close();
    }
  });
});

describe('api-versions, checked per resource type against the published lists', () => {
  const clusterPath = `/subscriptions/${SUB}/resourceGroups/rg-existing/providers/Microsoft.ContainerService/managedClusters/aks`;
  const raPath = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments`;
  const rdPath = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions`;
  const ficPath = `/subscriptions/${SUB}/resourceGroups/rg-existing/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-v/federatedIdentityCredentials`;

  beforeAll(() => {
    arm.setCluster({ subscriptionId: SUB, resourceGroup: 'rg-existing', name: 'aks', issuerUrl: 'https://westeurope.oic.prod-aks.azure.com/t/c/' });
    arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-existing', name: 'id-v' });
  });

  test.each([
    ['the JS SDK (arm-msi 2.2)', identity('rg-existing', 'id-v', '2024-11-30')],
    ['az 2.45 (managed identity)', identity('rg-existing', 'id-v', '2022-01-31-preview')],
    ['az 2.45 (federated credentials)', `${ficPath}?api-version=2022-01-31-preview`],
    ['the JS SDK (arm-containerservice 25.3)', `${clusterPath}?api-version=2026-04-01`],
    ['az 2.45 (aks)', `${clusterPath}?api-version=2022-11-01`],
    ['the JS SDK (arm-authorization 9)', `${raPath}?api-version=2022-04-01`],
    ['az 2.45 (role assignments)', `${raPath}?api-version=2020-04-01-preview`],
    ['az 2.45 (role definitions)', `${rdPath}?api-version=2018-01-01-preview`],
    ['az 2.45 (resource groups)', group('rg-existing', '2021-04-01')],
    ['az 2.45 (subscriptions)', `/subscriptions?api-version=2019-11-01`],
  ])('what %s sends is accepted', async (_who, p) => {
    expect((await send({ method: 'GET', path: p })).status).toBe(200);
  });

  test('a Microsoft.Resources type with a wrong version → 400 InvalidApiVersionParameter naming the supported ones', async () => {
    const res = await send({ method: 'GET', path: group('rg-existing', '2099-01-01') });
    expect(res.status).toBe(400);
    const supported = [...API_VERSIONS['Microsoft.Resources/resourceGroups']].reverse().join(',');
    expect(res.body).toEqual({
      error: { code: 'InvalidApiVersionParameter', message: `The api-version '2099-01-01' is invalid. The supported versions are '${supported}'.` },
    });
  });

  test('a provider type with a wrong version → 400 NoRegisteredProviderFound naming location, type and versions', async () => {
    const res = await send({ method: 'PUT', path: identity('rg-existing', 'id-w', '2099-01-01'), body: { location: 'westeurope' } });
    expect(res.status).toBe(400);
    const body = res.body as { error: { code: string; message: string } };
    expect(body.error.code).toBe('NoRegisteredProviderFound');
    expect(body.error.message).toMatch(
      /^No registered resource provider found for location 'westeurope' and API version '2099-01-01' for type 'userAssignedIdentities'\. The supported api-versions are '2015-08-31-PREVIEW, 2018-11-30, .*2024-11-30.*'\. The supported locations are '.*westeurope.*'\.$/,
    );
    expect(arm.state.identities().some((i) => i.name === 'id-w')).toBe(false);
  });

  test('federated credentials did not exist before 2022-01-31-preview: 2018-11-30 is refused for them only', async () => {
    expect((await send({ method: 'GET', path: identity('rg-existing', 'id-v', '2018-11-30') })).status).toBe(200);
    const res = await send({ method: 'GET', path: `${ficPath}?api-version=2018-11-30` });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'NoRegisteredProviderFound', message: expect.stringContaining("for type 'userAssignedIdentities/federatedIdentityCredentials'") } });
  });

  test('role assignments and definitions have their own lists (2022-05-01-preview is a definitions-only version)', async () => {
    expect((await send({ method: 'GET', path: `${rdPath}?api-version=2022-05-01-preview` })).status).toBe(200);
    const res = await send({ method: 'GET', path: `${raPath}?api-version=2022-05-01-preview` });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'NoRegisteredProviderFound', message: expect.stringContaining("for type 'roleAssignments'") } });
  });

  test('versions compare case-insensitively, as ARM compares them', async () => {
    expect((await send({ method: 'GET', path: identity('rg-existing', 'id-v', '2022-01-31-PREVIEW') })).status).toBe(200);
  });
});

describe('role assignments carry who made them and when', () => {
  const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
  const scope = `/subscriptions/${SUB}/resourceGroups/rg-existing`;
  const jwt = (oid: string): string =>
    ['{"alg":"none"}', JSON.stringify({ oid, appid: '11111111-2222-4333-8444-555555555555' }), ''].map((p) => Buffer.from(p).toString('base64url')).join('.') + 'sig';
  const ra = (name: string, api = '2022-04-01'): string => `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=${api}`;
  const principalId = '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f';
  const creator = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
  const editor = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

  test('createdOn/updatedOn/createdBy/updatedBy, description and condition as sent; an update moves only updated*', async () => {
    const name = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
    const condition = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})))";
    const body = {
      properties: { roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER}`, principalId, principalType: 'ServicePrincipal', description: 'granted by wid-bot', condition },
    };
    const before = Date.now();
    const created = await send({ method: 'PUT', path: ra(name), body, token: jwt(creator) });
    expect(created.status).toBe(201);
    const p = (created.body as { properties: Record<string, unknown> }).properties;
    expect(p).toMatchObject({ createdBy: creator, updatedBy: creator, description: 'granted by wid-bot', condition, conditionVersion: '2.0', delegatedManagedIdentityResourceId: null });
    expect(Date.parse(String(p.createdOn))).toBeGreaterThanOrEqual(before - 1);
    expect(p.updatedOn).toBe(p.createdOn);

    await new Promise((r) => setTimeout(r, 5));
    const edited = await send({ method: 'PUT', path: ra(name), body: { properties: { ...body.properties, description: 'renewed' } }, token: jwt(editor) });
    expect(edited.status).toBe(200);
    const q = (edited.body as { properties: Record<string, unknown> }).properties;
    expect(q).toMatchObject({ createdBy: creator, createdOn: p.createdOn, updatedBy: editor, description: 'renewed' });
    expect(Date.parse(String(q.updatedOn))).toBeGreaterThan(Date.parse(String(p.createdOn)));

    const listed = await send({ method: 'GET', path: `${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2020-04-01-preview` });
    expect((listed.body as { value: Array<{ name: string; properties: Record<string, unknown> }> }).value.find((v) => v.name === name)?.properties).toMatchObject({ createdBy: creator, updatedBy: editor });
  });

  test('without description or condition they are null; the 2015-07-01 shape has none of these fields', async () => {
    const name = 'd2e3f4a5-b6c7-4d8e-9f0a-1b2c3d4e5f6a';
    const body = { properties: { roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER}`, principalId: editor, principalType: 'User' } };
    const created = await send({ method: 'PUT', path: ra(name), body, token: jwt(creator) });
    expect((created.body as { properties: Record<string, unknown> }).properties).toMatchObject({ description: null, condition: null, conditionVersion: null });
    const old = await send({ method: 'GET', path: ra(name, '2015-07-01') });
    expect(old.status).toBe(200);
    expect(Object.keys((old.body as { properties: object }).properties).sort()).toEqual(['principalId', 'principalType', 'roleDefinitionId', 'scope']);
  });

  test('a condition version other than 2.0, or a non-string description → 400', async () => {
    const base = { roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${READER}`, principalId, principalType: 'ServicePrincipal' };
    const v1 = await send({ method: 'PUT', path: ra('e3f4a5b6-c7d8-4e9f-8a1b-2c3d4e5f6a7b'), body: { properties: { ...base, condition: 'x', conditionVersion: '1.0' } } });
    expect(v1.status).toBe(400);
    expect(v1.body).toMatchObject({ error: { code: 'InvalidConditionVersion' } });
    const bad = await send({ method: 'PUT', path: ra('f4a5b6c7-d8e9-4f0a-9b2c-3d4e5f6a7b8c'), body: { properties: { ...base, description: 42 } } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'InvalidRequestContent', message: expect.stringContaining("'properties.description'") } });
  });
});

describe('GET /metadata/endpoints (what az cloud register reads), anonymous', () => {
  test('without a login endpoint configured → 404; with one: the 2015-01-01 object and the 2019-05-01 list', async () => {
    const none = await send({ method: 'GET', path: '/metadata/endpoints?api-version=2015-01-01', token: null });
    expect(none.status).toBe(404);
    arm.configure({ loginEndpoint: 'https://127.0.0.1:4443' });
    const v1 = await send({ method: 'GET', path: '/metadata/endpoints?api-version=2015-01-01', token: null });
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ authentication: { loginEndpoint: 'https://127.0.0.1:4443/', audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'] }, graphEndpoint: 'https://graph.windows.net/' });
    const v2 = await send({ method: 'GET', path: '/metadata/endpoints?api-version=2019-05-01', token: null });
    expect(v2.body).toEqual([expect.objectContaining({ resourceManager: `${arm.url}/`, authentication: expect.objectContaining({ loginEndpoint: 'https://127.0.0.1:4443/' }) })]);
    expect((await send({ method: 'GET', path: '/metadata/endpoints?api-version=2016-01-01', token: null })).body).toMatchObject({ error: { code: 'InvalidApiVersionParameter' } });
  });
});
