/**
 * Azure's real waits in the test world: per-call latency L, a new identity's replication D (role assignments
 * without principalType → 400 PrincipalNotFound, token exchanges as it → AADSTS700016) and a new federated
 * credential's propagation F (exchange → AADSTS70021), each refused before its time and accepted after.
 */
import { randomUUID } from 'node:crypto';
import { startWorld, worldDelaysFromEnv, WORLD, keyVaultScope, type World } from '../../emulators/world';

const D = 2000;
const F = 4000;
const L = 40;
const KV_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let world: World;
beforeAll(async () => {
  world = await startWorld({ arm: { throttle: false }, delays: { latencyMs: L, principalReplicationMs: D, credentialPropagationMs: F } });
});
afterAll(async () => world?.close());

async function arm(method: string, path: string, body?: unknown): Promise<{ status: number; body: { error?: { code: string; message: string }; properties?: Record<string, unknown> } }> {
  const res = await fetch(`${world.urls.arm}${path}`, {
    method,
    headers: { authorization: 'Bearer world-delays', 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } };
}

const identityPath = (name: string): string =>
  `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.identityResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

async function createIdentity(name: string): Promise<{ principalId: string; clientId: string; at: number }> {
  const r = await arm('PUT', `${identityPath(name)}?api-version=2023-01-31`, { location: WORLD.location });
  expect(r.status).toBe(201);
  const p = r.body.properties as { principalId: string; clientId: string };
  return { principalId: p.principalId, clientId: p.clientId, at: Date.now() };
}

function assign(principalId: string, principalType?: string): Promise<Awaited<ReturnType<typeof arm>>> {
  const scope = keyVaultScope();
  const roleDefinitionId = `/subscriptions/${WORLD.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${KV_SECRETS_USER}`;
  return arm('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`, {
    properties: { roleDefinitionId, principalId, ...(principalType ? { principalType } : {}) },
  });
}

async function exchange(clientId: string, sa: string): Promise<{ status: number; codes: number[]; description: string }> {
  const token = world.kube.issueToken({ namespace: 'finance', name: sa, audiences: ['api://AzureADTokenExchange'] });
  const res = await fetch(`${world.urls.entra}/${WORLD.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: clientId, scope: 'https://management.azure.com/.default', grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: token }),
  });
  const body = (await res.json()) as { error_codes?: number[]; error_description?: string };
  return { status: res.status, codes: body.error_codes ?? [], description: body.error_description ?? '' };
}

const sleepUntil = async (t: number): Promise<void> => {
  const ms = t - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
};

test('every ARM, Entra and Kubernetes call takes at least L', async () => {
  const t0 = performance.now();
  await arm('GET', `${identityPath('nobody')}?api-version=2023-01-31`);
  const tArm = performance.now() - t0;
  const t1 = performance.now();
  await fetch(`${world.urls.entra}/${WORLD.tenantId}/v2.0/.well-known/openid-configuration`);
  const tEntra = performance.now() - t1;
  const t2 = performance.now();
  const discovery = await fetch(`${world.kube.issuerUrl.replace(/\/$/, '')}/.well-known/openid-configuration`);
  const tKube = performance.now() - t2;
  expect(discovery.status).toBe(200);
  expect([tArm, tEntra, tKube].every((ms) => ms >= L - 2)).toBe(true);
});

test('a role assignment for a principal younger than D fails with PrincipalNotFound in ARM’s shape, and succeeds once D has passed', async () => {
  const id = await createIdentity(`delays-ra-${randomUUID().slice(0, 6)}`);
  const early = await assign(id.principalId);
  expect(early.status).toBe(400);
  expect(early.body.error?.code).toBe('PrincipalNotFound');
  expect(early.body.error?.message).toBe(
    `Principal ${id.principalId.replace(/-/g, '')} does not exist in the directory ${WORLD.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
  );
  await sleepUntil(id.at + D + 50);
  const late = await assign(id.principalId);
  expect(late.status).toBe(201);
});

test('principalType ServicePrincipal is accepted at once, before D, as Azure documents for new principals', async () => {
  const id = await createIdentity(`delays-typed-${randomUUID().slice(0, 6)}`);
  const r = await assign(id.principalId, 'ServicePrincipal');
  expect(Date.now() - id.at).toBeLessThan(D);
  expect(r.status).toBe(201);
  expect(r.body.properties?.principalType).toBe('ServicePrincipal');
});

test('the exchange is refused while the identity replicates (AADSTS700016) and while the credential propagates (AADSTS70021), then succeeds', async () => {
  const name = `delays-fic-${randomUUID().slice(0, 6)}`;
  const sa = `sa-${name}`;
  world.kube.seedServiceAccount({ namespace: 'finance', name: sa });
  const id = await createIdentity(name);
  const fic = await arm('PUT', `${identityPath(name)}/federatedIdentityCredentials/fic?api-version=2023-01-31`, {
    properties: { issuer: world.kube.issuerUrl, subject: `system:serviceaccount:finance:${sa}`, audiences: ['api://AzureADTokenExchange'] },
  });
  expect(fic.status).toBe(201);
  const ficAt = Date.now();

  const young = await exchange(id.clientId, sa);
  expect(Date.now() - id.at).toBeLessThan(D);
  expect(young.status).toBe(400);
  expect(young.codes).toEqual([700016]);
  expect(young.description).toContain(`Application with identifier '${id.clientId}' was not found in the directory`);

  await sleepUntil(id.at + D + 50);
  const propagating = await exchange(id.clientId, sa);
  expect(Date.now() - ficAt).toBeLessThan(F);
  expect(propagating.status).toBe(400);
  expect(propagating.codes).toEqual([70021]);
  expect(propagating.description).toContain('No matching federated identity record found for presented assertion.');

  await sleepUntil(ficAt + F + 50);
  const ok = await exchange(id.clientId, sa);
  expect(ok).toMatchObject({ status: 200, codes: [] });
});

test('setDelays switches a delay off at run time; the environment names the delays, and a bad value says what is expected', async () => {
  world.setDelays({ principalReplicationMs: 0 });
  try {
    const id = await createIdentity(`delays-off-${randomUUID().slice(0, 6)}`);
    expect((await assign(id.principalId)).status).toBe(201);
  } finally {
    world.setDelays({ principalReplicationMs: D });
  }
  expect(worldDelaysFromEnv({ WID_WORLD_LATENCY_MS: '50', WID_WORLD_PRINCIPAL_DELAY_MS: '3000', WID_WORLD_CREDENTIAL_DELAY_MS: ' 6000 ' })).toEqual({
    latencyMs: 50,
    principalReplicationMs: 3000,
    credentialPropagationMs: 6000,
  });
  expect(worldDelaysFromEnv({})).toEqual({});
  expect(() => worldDelaysFromEnv({ WID_WORLD_CREDENTIAL_DELAY_MS: '2m' })).toThrow(
    "WID_WORLD_CREDENTIAL_DELAY_MS must be a whole number of milliseconds from 0 to 3600000 (e.g. WID_WORLD_CREDENTIAL_DELAY_MS=3000), got '2m'.",
  );
});
