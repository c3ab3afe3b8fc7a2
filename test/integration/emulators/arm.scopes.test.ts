/**
 * GET on the resources roles are granted on (Key Vaults, storage accounts), as ARM answers it: 200 with the
 * resource, 404 ResourceNotFound, 404 ResourceGroupNotFound, 400 for an api-version the type never had.
 */
import { startArmEmulator, type ArmEmulator } from '../../emulators/arm';
import { armRequest, type RawRequest, type RawResponse } from '../../emulators/arm/raw-client';
import { testTls } from '../../emulators/common/tls';

const SUB = '7d1a3c52-0f6b-4d4e-9a51-2b6c8d9e0f11';
const VAULT = `/subscriptions/${SUB}/resourceGroups/rg-apps/providers/Microsoft.KeyVault/vaults/kv-here`;
const ACCOUNT = `/subscriptions/${SUB}/resourceGroups/rg-apps/providers/Microsoft.Storage/storageAccounts/sthere`;
let arm: ArmEmulator;
let ca: string;
const send = (req: RawRequest): Promise<RawResponse> => armRequest(arm.url, ca, req);

beforeAll(async () => {
  const tls = await testTls();
  ca = tls.certPem;
  arm = await startArmEmulator({ tls, throttle: false, subscriptions: [{ subscriptionId: SUB }], resourceGroups: [{ subscriptionId: SUB, name: 'rg-apps', location: 'westeurope' }], resources: [VAULT, ACCOUNT] });
});
afterAll(async () => {
  await arm.close();
});

test('an existing vault and storage account: 200 with id, name, type and location (ids match case-insensitively)', async () => {
  const v = await send({ method: 'GET', path: `${VAULT.toLowerCase()}?api-version=2023-07-01` });
  expect(v.status).toBe(200);
  expect(v.body).toMatchObject({ id: VAULT, name: 'kv-here', type: 'Microsoft.KeyVault/vaults', location: 'westeurope' });
  const s = await send({ method: 'GET', path: `${ACCOUNT}?api-version=2023-05-01` });
  expect(s.status).toBe(200);
  expect(s.body).toMatchObject({ name: 'sthere', type: 'Microsoft.Storage/storageAccounts' });
});

test('a missing vault: 404 ResourceNotFound naming it; in a missing group: 404 ResourceGroupNotFound', async () => {
  const missing = await send({ method: 'GET', path: `/subscriptions/${SUB}/resourceGroups/rg-apps/providers/Microsoft.KeyVault/vaults/kv-gone?api-version=2023-07-01` });
  expect(missing.status).toBe(404);
  expect(missing.body).toMatchObject({ error: { code: 'ResourceNotFound', message: expect.stringContaining("'Microsoft.KeyVault/vaults/kv-gone' under resource group 'rg-apps' was not found") } });
  const noGroup = await send({ method: 'GET', path: `/subscriptions/${SUB}/resourceGroups/rg-missing/providers/Microsoft.KeyVault/vaults/kv-here?api-version=2023-07-01` });
  expect(noGroup.status).toBe(404);
  expect(noGroup.body).toMatchObject({ error: { code: 'ResourceGroupNotFound' } });
});

test('an api-version the type never had: 400 NoRegisteredProviderFound; writes are not served', async () => {
  const bad = await send({ method: 'GET', path: `${VAULT}?api-version=2024-11-30` });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ error: { code: 'NoRegisteredProviderFound' } });
  const put = await send({ method: 'PUT', path: `${VAULT}?api-version=2023-07-01`, body: { location: 'westeurope' } });
  expect(put.status).toBe(405);
});
