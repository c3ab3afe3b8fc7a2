/**
 * Contract: the upstream Azure REST examples (test/fixtures/reference/azure), sent to the ARM emulator,
 * get answers with the example's status, keys and value types.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startArmEmulator, type ArmEmulator } from '../../emulators/arm';
import { armRequest, type RawRequest, type RawResponse } from '../../emulators/arm/raw-client';
import { expectSameShape } from '../../emulators/common/shape';
import { testTls } from '../../emulators/common/tls';
import { referenceDir } from '../../support/reference';

const REFERENCE = referenceDir();

interface Example {
  parameters: Record<string, unknown> & { 'api-version': string; parameters?: unknown };
  responses: Record<string, { body?: unknown }>;
}

function example(file: string): Example {
  return JSON.parse(readFileSync(path.join(REFERENCE, 'azure', file), 'utf8')) as Example;
}

function str(p: Record<string, unknown>, key: string): string {
  const v = p[key];
  if (typeof v !== 'string') throw new Error(`example parameter ${key} missing`);
  return v;
}

function responseBody(ex: Example, status: number): unknown {
  const r = ex.responses[String(status)];
  if (!r) throw new Error(`example has no ${status} response`);
  return r.body;
}

let arm: ArmEmulator;
let ca: string;
const send = (req: RawRequest): Promise<RawResponse> => armRequest(arm.url, ca, req);

function identityPath(p: Record<string, unknown>): string {
  return `/subscriptions/${str(p, 'subscriptionId')}/resourceGroups/${str(p, 'resourceGroupName')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${str(p, 'resourceName')}`;
}

beforeAll(async () => {
  const tls = await testTls();
  ca = tls.certPem;
  // One item per page so list answers carry a nextLink, as the list examples do; no throttling between examples.
  arm = await startArmEmulator({ tls, pageSize: 1, throttle: false, ficWriteMs: 0 });
});

afterAll(async () => {
  await arm.close();
});

describe('Microsoft.ManagedIdentity/userAssignedIdentities', () => {
  test('IdentityCreate: 201 on create, 200 on update, with the example shape', async () => {
    const ex = example('msi/IdentityCreate.json');
    const p = ex.parameters;
    const req = { method: 'PUT', path: `${identityPath(p)}?api-version=${p['api-version']}`, body: p.parameters };
    const created = await send(req);
    expect(created.status).toBe(201);
    expectSameShape(created.body, responseBody(ex, 201));
    const updated = await send(req);
    expect(updated.status).toBe(200);
    expectSameShape(updated.body, responseBody(ex, 200));
    expect(updated.body).toMatchObject({ tags: { key1: 'value1', key2: 'value2' }, location: 'eastus', name: 'resourceName' });
  });

  test('IdentityGet: 200 with the example shape', async () => {
    const ex = example('msi/IdentityGet.json');
    const res = await send({ method: 'GET', path: `${identityPath(ex.parameters)}?api-version=${ex.parameters['api-version']}` });
    expect(res.status).toBe(200);
    expectSameShape(res.body, responseBody(ex, 200));
  });

  test('IdentityListByResourceGroup and IdentityListBySubscription: value + absolute nextLink', async () => {
    const rg = example('msi/IdentityListByResourceGroup.json');
    const p = rg.parameters;
    arm.state.seedIdentity({ subscriptionId: str(p, 'subscriptionId'), resourceGroup: str(p, 'resourceGroupName'), name: 'second-identity' });
    const byRg = await send({
      method: 'GET',
      path: `/subscriptions/${str(p, 'subscriptionId')}/resourceGroups/${str(p, 'resourceGroupName')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=${p['api-version']}`,
    });
    expect(byRg.status).toBe(200);
    expectSameShape(byRg.body, responseBody(rg, 200));
    const next = (byRg.body as { nextLink: string }).nextLink;
    expect(next.startsWith(`${arm.url}/`)).toBe(true);
    expect(next).toMatch(/[?&]\$skiptoken=/);

    const sub = example('msi/IdentityListBySubscription.json');
    const bySub = await send({
      method: 'GET',
      path: `/subscriptions/${str(sub.parameters, 'subscriptionId')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=${sub.parameters['api-version']}`,
    });
    expect(bySub.status).toBe(200);
    expectSameShape(bySub.body, responseBody(sub, 200));
  });

  test('IdentityDelete: 200 when it existed, 204 when it did not, no body', async () => {
    const ex = example('msi/IdentityDelete.json');
    const p = ex.parameters;
    arm.state.seedIdentity({ subscriptionId: str(p, 'subscriptionId'), resourceGroup: str(p, 'resourceGroupName'), name: str(p, 'resourceName') });
    const first = await send({ method: 'DELETE', path: `${identityPath(p)}?api-version=${p['api-version']}` });
    expect(first.status).toBe(200);
    expect(first.body).toBeUndefined();
    const second = await send({ method: 'DELETE', path: `${identityPath(p)}?api-version=${p['api-version']}` });
    expect(second.status).toBe(204);
    expect(Object.keys(ex.responses).sort()).toEqual(['200', '204']);
  });
});

describe('…/federatedIdentityCredentials', () => {
  const ficPath = (p: Record<string, unknown>): string => `${identityPath(p)}/federatedIdentityCredentials/${str(p, 'federatedIdentityCredentialResourceName')}`;

  beforeAll(() => {
    const p = example('msi/FederatedIdentityCredentialCreate.json').parameters;
    arm.state.seedIdentity({ subscriptionId: str(p, 'subscriptionId'), resourceGroup: str(p, 'resourceGroupName'), name: str(p, 'resourceName') });
  });

  test('FederatedIdentityCredentialCreate: 201 then 200 with the example shape', async () => {
    const ex = example('msi/FederatedIdentityCredentialCreate.json');
    const p = ex.parameters;
    const req = { method: 'PUT', path: `${ficPath(p)}?api-version=${p['api-version']}`, body: p.parameters };
    const created = await send(req);
    expect(created.status).toBe(201);
    expectSameShape(created.body, responseBody(ex, 201));
    const updated = await send(req);
    expect(updated.status).toBe(200);
    expectSameShape(updated.body, responseBody(ex, 200));
  });

  test('FederatedIdentityCredentialGet: 200 with the example shape', async () => {
    const ex = example('msi/FederatedIdentityCredentialGet.json');
    const res = await send({ method: 'GET', path: `${ficPath(ex.parameters)}?api-version=${ex.parameters['api-version']}` });
    expect(res.status).toBe(200);
    expectSameShape(res.body, responseBody(ex, 200));
  });

  test('FederatedIdentityCredentialList: $top pages with a nextLink carrying $skipToken', async () => {
    const ex = example('msi/FederatedIdentityCredentialList.json');
    const p = ex.parameters;
    const identity = arm.state.identities().find((i) => i.name === str(p, 'resourceName'));
    if (!identity) throw new Error('identity not seeded');
    arm.state.seedFederatedCredential(identity.id, { name: 'another-fic', issuer: 'https://issuer.example/', subject: 'system:serviceaccount:a:b' });
    const res = await send({ method: 'GET', path: `${identityPath(p)}/federatedIdentityCredentials?api-version=${p['api-version']}&$top=1` });
    expect(res.status).toBe(200);
    expectSameShape(res.body, responseBody(ex, 200));
    const next = (res.body as { nextLink: string }).nextLink;
    expect(next).toMatch(/[?&]\$skipToken=/);
    const rest = await send({ method: 'GET', path: next.slice(arm.url.length) });
    expect((rest.body as { value: Array<{ name: string }> }).value.map((v) => v.name)).toEqual(['another-fic']);
    expect((rest.body as { nextLink?: string }).nextLink).toBeUndefined();
  });

  test('FederatedIdentityCredentialDelete: 200 then 204', async () => {
    const ex = example('msi/FederatedIdentityCredentialDelete.json');
    const p = ex.parameters;
    const first = await send({ method: 'DELETE', path: `${ficPath(p)}?api-version=${p['api-version']}` });
    expect(first.status).toBe(200);
    const second = await send({ method: 'DELETE', path: `${ficPath(p)}?api-version=${p['api-version']}` });
    expect(second.status).toBe(204);
  });
});

describe('Microsoft.Authorization', () => {
  // The examples' role 0b5fe924-… is not a built-in role; the catalogue's Reader stands in for it.
  const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
  const withReader = (body: unknown): unknown => JSON.parse(JSON.stringify(body).replace(/0b5fe924-9a61-425c-96af-cfe6e287ca2d/g, READER)) as unknown;
  // The service returns these too (az prints them); the upstream examples leave them out.
  const AUDIT = ['condition', 'conditionVersion', 'createdOn', 'updatedOn', 'createdBy', 'updatedBy', 'delegatedManagedIdentityResourceId', 'description'];
  const audited = (prefix: string): { allowExtra: string[] } => ({ allowExtra: AUDIT.map((k) => `${prefix}properties.${k}`) });

  test.each(['RoleAssignments_CreateForSubscription.json', 'RoleAssignments_CreateForResourceGroup.json', 'RoleAssignments_CreateForResource.json'])(
    '%s: 201 then 200 with the example shape',
    async (file) => {
      const ex = example(`authorization/${file}`);
      const p = ex.parameters;
      const path = `/${str(p, 'scope')}/providers/Microsoft.Authorization/roleAssignments/${str(p, 'roleAssignmentName')}?api-version=${p['api-version']}`;
      const created = await send({ method: 'PUT', path, body: withReader(p.parameters) });
      expect(created.status).toBe(201);
      expectSameShape(created.body, responseBody(ex, 201), audited(''));
      expect((created.body as { properties: { scope: string } }).properties.scope).toBe(`/${str(p, 'scope')}`);
      expect((created.body as { id: string }).id).toBe((responseBody(ex, 201) as { id: string }).id);
      const again = await send({ method: 'PUT', path, body: withReader(p.parameters) });
      expect(again.status).toBe(200);
      expectSameShape(again.body, responseBody(ex, 200), audited(''));
      await send({ method: 'DELETE', path });
    },
  );

  test('RoleAssignments_Get, _ListForScope and _Delete (200 with body, then 204)', async () => {
    const get = example('authorization/RoleAssignments_Get.json');
    const p = get.parameters;
    arm.state.seedRoleAssignment({ scope: str(p, 'scope'), role: READER, principalId: 'ce2ce14e-85d7-4629-bdbc-454d0519d987', principalType: 'User', name: str(p, 'roleAssignmentName') });
    const path = `/${str(p, 'scope')}/providers/Microsoft.Authorization/roleAssignments/${str(p, 'roleAssignmentName')}?api-version=${p['api-version']}`;
    const got = await send({ method: 'GET', path });
    expect(got.status).toBe(200);
    expectSameShape(got.body, responseBody(get, 200), audited(''));

    const list = example('authorization/RoleAssignments_ListForScope.json');
    const listed = await send({ method: 'GET', path: `/${str(list.parameters, 'scope')}/providers/Microsoft.Authorization/roleAssignments?api-version=${list.parameters['api-version']}` });
    expect(listed.status).toBe(200);
    expectSameShape(listed.body, responseBody(list, 200), audited('value[].'));

    const del = example('authorization/RoleAssignments_Delete.json');
    const delPath = `/${str(del.parameters, 'scope')}/providers/Microsoft.Authorization/roleAssignments/${str(del.parameters, 'roleAssignmentName')}?api-version=${del.parameters['api-version']}`;
    const deleted = await send({ method: 'DELETE', path: delPath });
    expect(deleted.status).toBe(200);
    expectSameShape(deleted.body, responseBody(del, 200), audited(''));
    expect((await send({ method: 'DELETE', path: delPath })).status).toBe(204);
  });

  test('GetRoleDefinitionByName (at a scope) and GetRoleDefinitionById (fully qualified)', async () => {
    const byName = example('authorization/GetRoleDefinitionByName.json');
    const atScope = await send({
      method: 'GET',
      path: `/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6?api-version=${byName.parameters['api-version']}`,
    });
    expect(atScope.status).toBe(200);
    expectSameShape(atScope.body, responseBody(byName, 200));
    expect(atScope.body).toMatchObject({
      id: '/subscriptions/a925f2f7-5c63-4b7b-8799-25a5f97bc3b2/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6',
      properties: { roleName: 'Key Vault Secrets User', type: 'BuiltInRole' },
    });

    const byId = example('authorization/GetRoleDefinitionById.json');
    const full = await send({ method: 'GET', path: `/providers/Microsoft.Authorization/roleDefinitions/${READER}?api-version=${byId.parameters['api-version']}` });
    expect(full.status).toBe(200);
    expectSameShape(full.body, responseBody(byId, 200));
    expect((full.body as { id: string }).id).toBe(`/providers/Microsoft.Authorization/roleDefinitions/${READER}`);
  });

  test("list with $filter=roleName eq '…' finds exactly that role, case-insensitively", async () => {
    const byName = example('authorization/GetRoleDefinitionByName.json');
    const filter = encodeURIComponent("roleName eq 'storage blob data reader'");
    const res = await send({ method: 'GET', path: `/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Authorization/roleDefinitions?$filter=${filter}&api-version=2022-04-01` });
    expect(res.status).toBe(200);
    const value = (res.body as { value: unknown[] }).value;
    expect(value).toHaveLength(1);
    expectSameShape(value[0], responseBody(byName, 200));
    expect(value[0]).toMatchObject({ name: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', properties: { roleName: 'Storage Blob Data Reader' } });
  });
});

describe('Microsoft.ContainerService/managedClusters', () => {
  test('ManagedClustersGet: the example shape plus the workload-identity facts', async () => {
    const ex = example('containerservice/ManagedClustersGet.json');
    const p = ex.parameters;
    arm.setCluster({
      subscriptionId: str(p, 'subscriptionId'),
      resourceGroup: str(p, 'resourceGroupName'),
      name: str(p, 'resourceName'),
      issuerUrl: 'http://127.0.0.1:6443/issuer/',
      podIdentityEnabled: true,
      tags: { archv2: '', tier: 'production' },
    });
    const res = await send({
      method: 'GET',
      path: `/subscriptions/${str(p, 'subscriptionId')}/resourceGroups/${str(p, 'resourceGroupName')}/providers/Microsoft.ContainerService/managedClusters/${str(p, 'resourceName')}?api-version=${p['api-version']}`,
    });
    expect(res.status).toBe(200);
    expectSameShape(res.body, responseBody(ex, 200), {
      allowExtra: ['identity', 'properties.oidcIssuerProfile', 'properties.securityProfile', 'properties.podIdentityProfile'],
    });
    const body = res.body as { properties: Record<string, unknown> };
    const sec = example('containerservice/ManagedClustersCreate_SecurityProfile.json');
    expectSameShape(body.properties.securityProfile, (responseBody(sec, 200) as { properties: Record<string, unknown> }).properties.securityProfile, {
      allowMissing: ['defender'],
    });
    const pod = example('containerservice/ManagedClustersCreate_PodIdentity.json');
    expectSameShape(body.properties.podIdentityProfile, (responseBody(pod, 200) as { properties: Record<string, unknown> }).properties.podIdentityProfile);
    expect(body.properties.oidcIssuerProfile).toEqual({ enabled: true, issuerURL: 'http://127.0.0.1:6443/issuer/' });
  });
});

test('starts in well under a second on a free port', async () => {
  const started = Date.now();
  const other = await startArmEmulator({ tls: await testTls() });
  try {
    expect(Date.now() - started).toBeLessThan(500);
    expect(other.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(other.port).not.toBe(arm.port);
  } finally {
    await other.close();
  }
});

describe('errors in ARM shape', () => {
  const errorShape = { error: { code: 'x', message: 'y' } };

  test('404 ResourceNotFound, matching the observed error objects', async () => {
    const res = await send({ method: 'GET', path: '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/nope?api-version=2024-11-30' });
    expect(res.status).toBe(404);
    expectSameShape(res.body, errorShape);
    const observed = JSON.parse(readFileSync(path.join(REFERENCE, 'azure/authorization/errors-PrincipalNotFound.observed.json'), 'utf8')) as unknown;
    expectSameShape(res.body, { error: observed });
    expect(res.body).toMatchObject({ error: { code: 'ResourceNotFound' } });
  });

  test('a missing api-version → 400 MissingApiVersionParameter', async () => {
    const res = await send({ method: 'GET', path: '/subscriptions/s1/providers/Microsoft.ManagedIdentity/userAssignedIdentities' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
  });

  test('no Authorization header → 401 AuthenticationFailed with a WWW-Authenticate challenge', async () => {
    const res = await send({ method: 'GET', path: '/subscriptions/s1/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2024-11-30', token: null });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 'AuthenticationFailed' } });
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer /);
  });

  test('an invalid federated credential name → 400 (the SDK refuses such names itself)', async () => {
    arm.state.seedIdentity({ subscriptionId: 's1', resourceGroup: 'rg1', name: 'id-for-names' });
    const res = await send({
      method: 'PUT',
      path: '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-for-names/federatedIdentityCredentials/-bad?api-version=2024-11-30',
      body: { properties: { issuer: 'https://i/', subject: 's', audiences: ['api://AzureADTokenExchange'] } },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'BadRequest', message: expect.stringContaining("'-bad' is invalid") } });
  });

  test('PUT identity without location → 400 LocationRequired', async () => {
    const res = await send({ method: 'PUT', path: '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/no-location?api-version=2024-11-30', body: { tags: {} } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'LocationRequired' } });
  });

  test('resource group and provider segments match case-insensitively; duplicate slashes are collapsed', async () => {
    arm.state.seedIdentity({ subscriptionId: 's1', resourceGroup: 'MyRg', name: 'CaseId' });
    const res = await send({ method: 'GET', path: '//subscriptions/s1/RESOURCEGROUPS/myrg/providers/microsoft.managedidentity/USERASSIGNEDIDENTITIES/caseid?api-version=2024-11-30' });
    expect(res.status).toBe(200);
    expect((res.body as { id: string }).id).toBe('/subscriptions/s1/resourcegroups/MyRg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/CaseId');
  });

  test("a 429 from throttling carries an integer Retry-After ≥ 1, the remaining header at 0 and ARM's SubscriptionRequestsThrottled body", async () => {
    arm.setThrottle({ write: { perSecond: 1, burst: 1 } });
    try {
      const put = (): Promise<RawResponse> =>
        send({ method: 'PUT', path: '/subscriptions/s-throttle/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/throttled-id?api-version=2024-11-30', body: { location: 'eastus' } });
      const first = await put();
      expect(first.status).toBe(201);
      expect(first.headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('0');
      const res = await put();
      expect(res.status).toBe(429);
      expect(res.body).toEqual({
        error: {
          code: 'SubscriptionRequestsThrottled',
          message: expect.stringMatching(/^Number of 'write' requests for subscription 's-throttle' actor '[0-9a-f-]+' exceeded\. Please try again after '1' seconds after additional tokens are available\. Refer to https:\/\/aka\.ms\/arm-throttling for additional information\.$/),
        },
      });
      expect(res.headers['x-ms-ratelimit-remaining-subscription-writes']).toBe('0');
      expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(String(res.headers['retry-after'])).toMatch(/^\d+$/);
    } finally {
      arm.setThrottle(false);
    }
  });

  test('resourceGroups option: an unknown group → 404 ResourceGroupNotFound', async () => {
    const strict = await startArmEmulator({ tls: await testTls(), resourceGroups: ['known-rg'] });
    try {
      const base = '/subscriptions/s1/resourceGroups';
      const ok = await armRequest(strict.url, ca, { method: 'PUT', path: `${base}/KNOWN-RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/in-known-rg?api-version=2024-11-30`, body: { location: 'eastus' } });
      expect(ok.status).toBe(201);
      const missing = await armRequest(strict.url, ca, { method: 'GET', path: `${base}/other/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version=2024-11-30` });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ error: { code: 'ResourceGroupNotFound', message: "Resource group 'other' could not be found." } });
    } finally {
      await strict.close();
    }
  });
});
