/**
 * The Entra ID emulator through @azure/identity (MSAL): OpenID metadata, client-secret login, and
 * the workload identity federation round trip with the Kubernetes emulator's TokenRequest tokens.
 */
import { ClientAssertionCredential, ClientSecretCredential } from '@azure/identity';
import * as k8s from '@kubernetes/client-node';
import { jsonType } from '../../emulators/common/shape';
import { startEntraEmulator, JWT_BEARER, type EntraEmulator, type FederatedIdentity } from '../../emulators/entra/index';
import { decodeJwt, newSigningKey, signJwt } from '../../emulators/entra/jwt';
import { startKubeEmulator, type KubeEmulator } from '../../emulators/kube/index';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT_ID = '6f1c7c3e-2a55-4c1e-9d53-0c6b1e0d8a11';
const PRINCIPAL_ID = '0b8d1b5e-3f4a-4c5d-8e6f-7a8b9c0d1e2f';
const AUDIENCE = 'api://AzureADTokenExchange';
const ARM_SCOPE = 'https://management.azure.com/.default';
const SUBJECT = 'system:serviceaccount:finance:billing';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The AADSTS70021 text the provisioning engine parses. */
const noMatch = (issuer: string, subject: string, audience: string): RegExp =>
  new RegExp(escape(`AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${subject}'. Assertion Audience: '${audience}'.`));

let kube: KubeEmulator;
let entra: EntraEmulator;
/** What ARM holds: the identity and its federated credentials, changed by each test. */
let identities: FederatedIdentity[];

beforeAll(async () => {
  kube = await startKubeEmulator({ namespaces: ['finance'] });
  kube.seedServiceAccount({ namespace: 'finance', name: 'billing' });
  entra = await startEntraEmulator({
    tenantId: TENANT,
    apps: [{ clientId: 'wid-bot-app', secret: 'bot-secret', tenantId: TENANT }],
    identityLookup: (clientId) => identities.find((i) => i.clientId === clientId),
  });
});
afterAll(async () => {
  await entra.close();
  await kube.close();
});
beforeEach(() => {
  identities = [{ clientId: CLIENT_ID, tenantId: TENANT, principalId: PRINCIPAL_ID, federatedCredentials: [] }];
  entra.setFederationPropagationDelay(0);
  entra.controls.reset({ log: true });
});

/** A ServiceAccount token from the API server, as the pod's projected volume would hold it. */
async function serviceAccountToken(audience = AUDIENCE): Promise<string> {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kube.kubeconfig());
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({ namespace: 'finance', name: 'billing', body: { spec: { audiences: [audience], expirationSeconds: 3600 } } });
  return tr.status?.token as string;
}

function exchange(assertion: string, clientId = CLIENT_ID, tenant = TENANT) {
  const cred = new ClientAssertionCredential(tenant, clientId, async () => assertion, { authorityHost: entra.url, disableInstanceDiscovery: true });
  return cred.getToken(ARM_SCOPE);
}

function addCredential(issuer: string, createdAt = Date.now() - 60_000, subject = SUBJECT): void {
  identities[0]?.federatedCredentials.push({ name: `fic-${identities[0].federatedCredentials.length}`, issuer, subject, audiences: [AUDIENCE], createdAt });
}

async function postToken(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${entra.url}/${TENANT}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function expectEntraErrorShape(body: Record<string, unknown>, code: number): void {
  expect(Object.keys(body).sort()).toEqual(['correlation_id', 'error', 'error_codes', 'error_description', 'error_uri', 'timestamp', 'trace_id']);
  expect(body.error_codes).toEqual([code]);
  expect(String(body.error_description)).toMatch(new RegExp(`^AADSTS${code}: .*\\r\\nTrace ID: [0-9a-f-]{36}\\r\\nCorrelation ID: [0-9a-f-]{36}\\r\\nTimestamp: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$`, 's'));
  expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  expect(body.error_uri).toBe(`https://login.microsoftonline.com/error?code=${code}`);
  for (const k of ['error', 'trace_id', 'correlation_id']) expect(jsonType(body[k])).toBe('string');
}

describe('OpenID metadata and client-secret login', () => {
  test('metadata names this host for every endpoint; MSAL asks for metadata then the token, no instance discovery', async () => {
    const meta = (await (await fetch(`${entra.url}/${TENANT}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(meta.issuer).toBe(`${entra.url}/${TENANT}/v2.0`);
    expect(meta.token_endpoint).toBe(`${entra.url}/${TENANT}/oauth2/v2.0/token`);
    expect(meta.authorization_endpoint).toBe(`${entra.url}/${TENANT}/oauth2/v2.0/authorize`);
    expect(meta.jwks_uri).toBe(`${entra.url}/${TENANT}/discovery/v2.0/keys`);
    const keys = (await (await fetch(meta.jwks_uri as string)).json()) as { keys: { kid: string }[] };
    entra.controls.reset({ log: true });

    const cred = new ClientSecretCredential(TENANT, 'wid-bot-app', 'bot-secret', { authorityHost: entra.url, disableInstanceDiscovery: true });
    const token = await cred.getToken(ARM_SCOPE);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000_000);
    expect(entra.controls.log.map((l) => `${l.method} ${l.path}`)).toEqual([
      `GET /${TENANT}/v2.0/.well-known/openid-configuration`,
      `POST /${TENANT}/oauth2/v2.0/token`,
    ]);
    expect(entra.controls.log[1]?.body).toMatchObject({ grant_type: 'client_credentials', client_id: 'wid-bot-app', client_secret: 'bot-secret', scope: ARM_SCOPE });

    const decoded = decodeJwt(token.token);
    expect(decoded?.header.kid).toBe(keys.keys[0]?.kid);
    expect(decoded?.payload).toMatchObject({ aud: 'https://management.azure.com', tid: TENANT, appid: 'wid-bot-app', idtyp: 'app', ver: '1.0' });
    expect(entra.verifyAccessToken(token.token)).toBe(true);
    expect(entra.verifyAccessToken(token.token, { audience: 'https://management.azure.com/' })).toBe(true);
    expect(entra.verifyAccessToken(token.token, { audience: 'https://vault.azure.net' })).toBe(false);
    const [h, p] = token.token.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decoded?.payload, appid: 'someone-else' })).toString('base64url')}.${token.token.split('.')[2]}`;
    expect(p).toBeDefined();
    expect(entra.verifyAccessToken(tampered)).toBe(false);
    expect(entra.verifyAccessToken('not-a-token')).toBe(false);
    expect(entra.issued.at(-1)).toMatchObject({ clientId: 'wid-bot-app', via: 'client_secret', scope: ARM_SCOPE });
  });

  test('a token from another Entra is not accepted', async () => {
    const other = await startEntraEmulator({ tenantId: TENANT });
    try {
      const cred = new ClientSecretCredential(TENANT, 'any', 'thing', { authorityHost: other.url, disableInstanceDiscovery: true });
      const token = await cred.getToken(ARM_SCOPE);
      expect(other.verifyAccessToken(token.token)).toBe(true);
      expect(entra.verifyAccessToken(token.token)).toBe(false);
    } finally {
      await other.close();
    }
  });

  test('wrong secret is 401 invalid_client AADSTS7000215; unknown app is AADSTS700016', async () => {
    const wrong = new ClientSecretCredential(TENANT, 'wid-bot-app', 'the-secret-id-not-value', { authorityHost: entra.url, disableInstanceDiscovery: true });
    await expect(wrong.getToken(ARM_SCOPE)).rejects.toThrow(/AADSTS7000215: Invalid client secret provided\. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'wid-bot-app'\./);
    const raw = await postToken({ grant_type: 'client_credentials', client_id: 'wid-bot-app', client_secret: 'nope', scope: ARM_SCOPE });
    expect(raw.status).toBe(401);
    expect(raw.body.error).toBe('invalid_client');
    expectEntraErrorShape(raw.body, 7000215);

    const unknown = new ClientSecretCredential(TENANT, 'ghost-app', 'x', { authorityHost: entra.url, disableInstanceDiscovery: true });
    await expect(unknown.getToken(ARM_SCOPE)).rejects.toThrow(
      new RegExp(escape(`AADSTS700016: Application with identifier 'ghost-app' was not found in the directory '${TENANT}'.`)),
    );
    const scope = await postToken({ grant_type: 'client_credentials', client_id: 'wid-bot-app', client_secret: 'bot-secret', scope: 'https://management.azure.com/user_impersonation' });
    expect(scope.status).toBe(400);
    expectEntraErrorShape(scope.body, 1002012);
  });

  test('faults are rendered in the AADSTS error shape', async () => {
    entra.controls.failNext(1, { status: 503, code: 'temporarily_unavailable', message: 'AADSTS50196: The server terminated an operation because it encountered a client request loop.', path: '/oauth2/v2.0/token' });
    const res = await postToken({ grant_type: 'client_credentials', client_id: 'wid-bot-app', client_secret: 'bot-secret', scope: ARM_SCOPE });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('temporarily_unavailable');
    expectEntraErrorShape(res.body, 50196);
    const next = await postToken({ grant_type: 'client_credentials', client_id: 'wid-bot-app', client_secret: 'bot-secret', scope: ARM_SCOPE });
    expect(next.status).toBe(200);
    expect(Object.keys(next.body).sort()).toEqual(['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
    expect(next.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
  });
});

// MSAL (JS and Python) sends this question to the public cloud, never to an unknown authority host; the Azure
// CLI suite (test/clients) hands az this answer through its MSAL HTTP cache.
describe('instance discovery, as MSAL asks for it', () => {
  const discovery = (query: string): Promise<Response> => fetch(`${entra.url}/common/discovery/instance?${query}`);

  test('names the tenant of the authorization endpoint asked about (no template left in it) and this host', async () => {
    const authorize = encodeURIComponent(`${entra.url}/${TENANT}/oauth2/v2.0/authorize`);
    const res = await discovery(`api-version=1.1&authorization_endpoint=${authorize}`);
    expect(res.status).toBe(200);
    const host = new URL(entra.url).host;
    expect(await res.json()).toEqual({
      tenant_discovery_endpoint: `${entra.url}/${TENANT}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
    const common = (await (await discovery(`api-version=1.1&authorization_endpoint=${encodeURIComponent(`${entra.url}/organizations/oauth2/v2.0/authorize`)}`)).json()) as Record<string, string>;
    expect(common.tenant_discovery_endpoint).toBe(`${entra.url}/organizations/v2.0/.well-known/openid-configuration`);
  });

  test('no authorization_endpoint → AADSTS900144; another host → invalid_instance AADSTS50049', async () => {
    const missing = await discovery('api-version=1.1');
    expect(missing.status).toBe(400);
    expectEntraErrorShape((await missing.json()) as Record<string, unknown>, 900144);
    const other = await discovery(`api-version=1.1&authorization_endpoint=${encodeURIComponent(`https://login.example.org/${TENANT}/oauth2/v2.0/authorize`)}`);
    expect(other.status).toBe(400);
    const body = (await other.json()) as Record<string, unknown>;
    expect(body.error).toBe('invalid_instance');
    expectEntraErrorShape(body, 50049);
  });
});

describe('HTTPS-only issuers', () => {
  test('an assertion from a plain-http issuer is refused with AADSTS50166 and its documents are never fetched', async () => {
    const strict = await startEntraEmulator({ tenantId: TENANT, identityLookup: (clientId) => identities.find((i) => i.clientId === clientId) });
    try {
      const issuer = 'http://127.0.0.1:9/oidc/cluster/';
      addCredential(issuer);
      const key = newSigningKey();
      const t = Math.floor(Date.now() / 1000);
      const assertion = signJwt({ iss: issuer, sub: SUBJECT, aud: [AUDIENCE], iat: t, nbf: t, exp: t + 600 }, key, { typ: 'JWT' });
      const res = await fetch(`${strict.url}/${TENANT}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: ARM_SCOPE }),
      });
      expect(res.status).toBe(401);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body.error).toBe('invalid_client');
      expectEntraErrorShape(body, 50166);
      expect(String(body.error_description)).toMatch(/^AADSTS50166: Request to External OIDC endpoint failed\./);
      expect(strict.issued).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });
});

describe('workload identity federation round trip', () => {
  test('AADSTS70021 before a matching federated credential exists, an access token after', async () => {
    const assertion = await serviceAccountToken();
    const err = await exchange(assertion).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(noMatch(kube.issuerUrl, SUBJECT, AUDIENCE));
    const raw = await postToken({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion_type: JWT_BEARER, client_assertion: assertion, scope: ARM_SCOPE });
    expect(raw.status).toBe(400);
    expect(raw.body.error).toBe('invalid_request');
    expectEntraErrorShape(raw.body, 70021);

    addCredential(kube.issuerUrl);
    const token = await exchange(assertion);
    expect(entra.verifyAccessToken(token.token, { audience: 'https://management.azure.com' })).toBe(true);
    expect(entra.accessTokenClaims(token.token)).toMatchObject({ tid: TENANT, oid: PRINCIPAL_ID, sub: PRINCIPAL_ID, appid: CLIENT_ID, appidacr: '2' });
    expect(entra.issued.at(-1)).toMatchObject({ clientId: CLIENT_ID, via: 'client_assertion', federatedCredential: 'fic-0' });
    // Entra fetched the issuer's discovery document and JWKS from the cluster.
    const issuerPath = new URL(kube.issuerUrl).pathname;
    expect(kube.controls.requests({ path: `${issuerPath}.well-known/openid-configuration` }).length).toBeGreaterThan(0);
    expect(kube.controls.requests({ path: `${issuerPath}openid/v1/jwks` }).length).toBeGreaterThan(0);
  });

  test('a credential younger than the propagation delay does not match yet', async () => {
    entra.setFederationPropagationDelay(60_000);
    addCredential(kube.issuerUrl, Date.now());
    const assertion = await serviceAccountToken();
    await expect(exchange(assertion)).rejects.toThrow(noMatch(kube.issuerUrl, SUBJECT, AUDIENCE));
    const fic = identities[0]?.federatedCredentials[0];
    if (fic) fic.createdAt = Date.now() - 61_000;
    await expect(exchange(assertion)).resolves.toMatchObject({ token: expect.any(String) });
  });

  test('issuer, subject and audience compare exactly: trailing slash, case, other audience', async () => {
    const assertion = await serviceAccountToken();
    const withoutSlash = kube.issuerUrl.replace(/\/$/, '');
    addCredential(withoutSlash);
    addCredential(kube.issuerUrl, Date.now() - 60_000, SUBJECT.toUpperCase());
    await expect(exchange(assertion)).rejects.toThrow(noMatch(kube.issuerUrl, SUBJECT, AUDIENCE));
    const otherAudience = await serviceAccountToken('api://SomethingElse');
    addCredential(kube.issuerUrl);
    await expect(exchange(otherAudience)).rejects.toThrow(noMatch(kube.issuerUrl, SUBJECT, 'api://SomethingElse'));
    await expect(exchange(assertion)).resolves.toMatchObject({ token: expect.any(String) });
  });

  test('client id is matched case-sensitively and within its tenant (AADSTS700016)', async () => {
    addCredential(kube.issuerUrl);
    const assertion = await serviceAccountToken();
    await expect(exchange(assertion, CLIENT_ID.toUpperCase())).rejects.toThrow(/AADSTS700016: Application with identifier '6F1C7C3E/);
    await expect(exchange(assertion, CLIENT_ID, '11111111-2222-3333-4444-555555555555')).rejects.toThrow(/AADSTS700016/);
  });

  test('a recreated cluster has a new issuer: the old credential no longer matches', async () => {
    const other = await startKubeEmulator({ namespaces: ['finance'] });
    try {
      other.seedServiceAccount({ namespace: 'finance', name: 'billing' });
      addCredential(kube.issuerUrl);
      const assertion = other.issueToken({ namespace: 'finance', name: 'billing', audiences: [AUDIENCE] });
      await expect(exchange(assertion)).rejects.toThrow(noMatch(other.issuerUrl, SUBJECT, AUDIENCE));
    } finally {
      await other.close();
    }
  });

  test('forged, expired and unverifiable assertions are refused', async () => {
    addCredential(kube.issuerUrl);
    const iat = Math.floor(Date.now() / 1000);
    const claims = { aud: [AUDIENCE], iss: kube.issuerUrl, sub: SUBJECT, iat, nbf: iat, exp: iat + 3600 };
    const forged = signJwt(claims, newSigningKey());
    await expect(exchange(forged)).rejects.toThrow(/AADSTS50013: Assertion failed signature validation\. \[Reason - The key was not found\.\]/);
    const realKid = decodeJwt(await serviceAccountToken())?.header.kid as string;
    const forgedSameKid = signJwt(claims, { ...newSigningKey(), kid: realKid });
    await expect(exchange(forgedSameKid)).rejects.toThrow(/AADSTS50013: .*Key was found, but use of the key to verify the signature failed/);

    const expired = signJwt({ ...claims, iat: iat - 7200, nbf: iat - 7200, exp: iat - 3600 }, newSigningKey());
    await expect(exchange(expired)).rejects.toThrow(/AADSTS700024: Client assertion is not within its valid time range\./);

    // An issuer off this machine cannot be reached: Entra reports the OIDC endpoint failure.
    addCredential('https://oidc.prod-aks.azure.com/unreachable/');
    const offMachine = signJwt({ ...claims, iss: 'https://oidc.prod-aks.azure.com/unreachable/' }, newSigningKey());
    await expect(exchange(offMachine)).rejects.toThrow(/AADSTS50166: Request to External OIDC endpoint failed\./);

    const garbage = await postToken({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_assertion_type: JWT_BEARER, client_assertion: 'abc', scope: ARM_SCOPE });
    expect(garbage.status).toBe(400);
    expectEntraErrorShape(garbage.body, 50027);
  });
});

describe('the Graph sliver: directoryObjects/getByIds', () => {
  test('names the service principals asked about, for a Graph token only, in Graph’s shapes', async () => {
    const sp = { id: PRINCIPAL_ID, type: 'servicePrincipal' as const, displayName: 'id-billing', appId: CLIENT_ID, servicePrincipalType: 'ManagedIdentity' as const, resourceId: '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-billing' };
    const graph = await startEntraEmulator({ tenantId: TENANT, directoryLookup: (id) => (id === PRINCIPAL_ID ? sp : undefined) });
    try {
      const token = async (scope: string): Promise<string> => (await new ClientSecretCredential(TENANT, 'az', 'x', { authorityHost: graph.url, disableInstanceDiscovery: true }).getToken(scope)).token;
      const ask = async (bearer: string | undefined, body: unknown, p = 'v1.0/directoryObjects/getByIds'): Promise<{ status: number; body: Record<string, unknown> }> => {
        const res = await fetch(`${graph.graphUrl}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) }, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const graphToken = await token(`${graph.graphUrl}.default`);
      const ok = await ask(graphToken, { ids: [PRINCIPAL_ID, '00000000-0000-0000-0000-000000000001'], types: ['user', 'group', 'servicePrincipal'] });
      expect(ok.status).toBe(200);
      expect(ok.body.value).toEqual([
        { '@odata.type': '#microsoft.graph.servicePrincipal', id: PRINCIPAL_ID, appId: CLIENT_ID, displayName: 'id-billing', servicePrincipalType: 'ManagedIdentity', servicePrincipalNames: [CLIENT_ID, sp.resourceId] },
      ]);
      const armToken = await token(ARM_SCOPE);
      expect((await ask(armToken, { ids: [PRINCIPAL_ID] })).status).toBe(401);
      const none = await ask(undefined, { ids: [PRINCIPAL_ID] });
      expect(none).toMatchObject({ status: 401, body: { error: { code: 'InvalidAuthenticationToken' } } });
      expect((await ask(graphToken, { ids: [] })).status).toBe(400);
      expect((await ask(graphToken, {}, 'v1.0/servicePrincipals')).body).toMatchObject({ error: { code: 'BadRequest' } });
    } finally {
      await graph.close();
    }
  });
});
