/**
 * Entra ID emulator: the login endpoints @azure/identity (MSAL) uses for confidential clients, over
 * HTTPS. Client credentials with a secret (the bot's own login) and with a client assertion
 * (workload identity federation: the assertion is matched against the identity's federated
 * credentials and verified with the JWKS its issuer publishes). Issues RS256 access tokens that
 * `verifyAccessToken` recognises, so the ARM emulator can accept only tokens Entra issued.
 */
import { randomUUID, createHash } from 'node:crypto';
import { get as httpGet, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, get as httpsGet } from 'node:https';
import { rootCertificates } from 'node:tls';
import { EmulatorControls } from '../common/controls';
import { close, listen, readBody, sendJson } from '../common/http';
import { testTls } from '../common/tls';
import { EntraError, entraErrors, entraTimestamp } from './errors';
import { graphAnswer, graphErrorBody, GRAPH_PREFIX, type DirectoryLookup } from './graph';
import { decodeJwt, newSigningKey, signJwt, verifyRs256, type DecodedJwt, type JwtClaims, type PublicJwk } from './jwt';

export { EntraError, entraErrors } from './errors';
export type { DirectoryLookup, DirectoryObject } from './graph';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface FederatedCredentialRecord {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  /** Epoch ms of the credential's creation; younger than the propagation delay → not matched yet. */
  createdAt: number;
}

export interface FederatedIdentity {
  clientId: string;
  tenantId: string;
  /** The service principal's object id (the access token's oid); derived from clientId when absent. */
  principalId?: string;
  /** ARM resource id of the managed identity (the access token's xms_mirid). */
  id?: string;
  /** Epoch ms of the identity's creation; younger than the principal replication delay → not known to the token endpoint yet. */
  createdAt?: number;
  federatedCredentials: FederatedCredentialRecord[];
}

/** Finds an identity by its exact (case-sensitive) client id; the ARM emulator's `state.findIdentityByClientId` fits. */
export type IdentityLookup = (clientId: string) => FederatedIdentity | undefined;

export interface EntraApp {
  clientId: string;
  secret: string;
  /** Tenant the app is registered in; any tenant when absent. */
  tenantId?: string;
  /** Service principal object id (the token's oid); derived from clientId when absent. */
  objectId?: string;
}

export interface EntraEmulatorOptions {
  /** Server certificate; the test world's (testTls()) when absent. */
  tls?: { certPem: string; keyPem: string };
  /** The home tenant: used for tenant names that are not GUIDs (default a random GUID). */
  tenantId?: string;
  /** Only these tenant ids exist (AADSTS90002 for others); any GUID tenant when absent. */
  tenants?: string[];
  /** Registered apps for client-secret logins; when absent any client id and secret is accepted. */
  apps?: EntraApp[];
  /** Managed identities (and their federated credentials) for client-assertion logins. */
  identityLookup?: IdentityLookup;
  /** Directory objects by object id, for the Graph sliver under `/graph/` (directoryObjects/getByIds). */
  directoryLookup?: DirectoryLookup;
  /** A federated credential matches only once it is this old (ms); default 0. */
  federationPropagationDelayMs?: number;
  /**
   * A managed identity's service principal reaches the token endpoint only once the identity is this old (ms); a
   * client-assertion login for a younger one fails with AADSTS700016 (application not found in the directory), as
   * for a brand-new identity in Azure. Default 0.
   */
  principalReplicationDelayMs?: number;
  /** How long an issuer's discovery document and JWKS are cached (ms); default 5000. */
  jwksCacheMs?: number;
  /** The test world's DNS for issuer hosts: `westeurope.oic.prod-aks.azure.com` → the loopback origin serving it. */
  issuerHosts?: Record<string, string>;
  /** Lifetime of issued access tokens (default 3599 s, as Entra answers). */
  accessTokenLifetimeSeconds?: number;
  /** Clock skew allowed on assertion exp/nbf (default 300 s, as Entra allows). */
  clockSkewSeconds?: number;
  /**
   * Entra fetches a federated issuer's discovery document and keys over HTTPS only: an assertion whose issuer
   * is not https fails with AADSTS50166, as it does in Azure (default true).
   */
  requireHttpsIssuer?: boolean;
  port?: number;
  controls?: EmulatorControls;
  now?: () => number;
}

export interface IssuedToken {
  clientId: string;
  tenantId: string;
  scope: string;
  via: 'client_secret' | 'client_assertion';
  /** For assertions: the federated credential that matched. */
  federatedCredential?: string;
  at: number;
  accessToken: string;
}

export interface AccessTokenClaims extends JwtClaims {
  aud: string;
  iss: string;
  tid: string;
  oid: string;
  appid: string;
  sub: string;
  exp: number;
  iat: number;
  nbf: number;
}

export interface EntraEmulator {
  /** Authority host for @azure/identity: `https://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly tenantId: string;
  readonly controls: EmulatorControls;
  /** Every token issued, oldest first. */
  readonly issued: IssuedToken[];
  /** True when `token` is an unexpired access token this emulator signed (and, if given, for `audience`). */
  verifyAccessToken(token: string, opts?: { audience?: string }): boolean;
  /** The claims of a token this emulator signed and that has not expired; undefined otherwise. */
  accessTokenClaims(token: string): AccessTokenClaims | undefined;
  /** Register (or replace) an app for client-secret logins. */
  addApp(app: EntraApp): void;
  setIdentityLookup(lookup: IdentityLookup | undefined): void;
  setFederationPropagationDelay(ms: number): void;
  setPrincipalReplicationDelay(ms: number): void;
  /** `${url}/graph/`: the Graph resource id (and base URL) for the sliver of Microsoft Graph served here. */
  readonly graphUrl: string;
  /** Forget cached issuer documents and keys. */
  clearIssuerCache(): void;
  jwks(): { keys: (PublicJwk & { x5t: string })[] };
  close(): Promise<void>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** A stable GUID derived from a string (object ids for apps that did not give one). */
function derivedGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** GET a JSON document from a loopback URL (the test world never leaves the machine), trusting `ca` besides the system roots. */
async function fetchJson(url: string, ca: string[], timeoutMs = 3000, hosts: Record<string, string> = {}): Promise<unknown> {
  const named = new URL(url);
  const mapped = hosts[named.hostname.toLowerCase()];
  const u = mapped ? new URL(`${named.pathname}${named.search}`, mapped) : named;
  if (!LOOPBACK.has(u.hostname)) throw new Error(`not a loopback host: ${u.hostname}`);
  const getter = u.protocol === 'https:' ? httpsGet : u.protocol === 'http:' ? httpGet : undefined;
  if (!getter) throw new Error(`unsupported scheme ${u.protocol}`);
  return new Promise((resolve, reject) => {
    const req = getter(u, { timeout: timeoutMs, ...(u.protocol === 'https:' ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if ((res.statusCode ?? 0) !== 200) return reject(new Error(`HTTP ${res.statusCode ?? 0} from ${url}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout fetching ${url}`)));
    req.on('error', reject);
  });
}

export async function startEntraEmulator(options: EntraEmulatorOptions = {}): Promise<EntraEmulator> {
  const controls = options.controls ?? new EmulatorControls();
  const now = options.now ?? Date.now;
  const homeTenant = options.tenantId ?? randomUUID();
  const apps = new Map<string, EntraApp>((options.apps ?? []).map((a) => [a.clientId, a]));
  let appsConfigured = options.apps !== undefined;
  let identityLookup = options.identityLookup;
  let propagationDelayMs = options.federationPropagationDelayMs ?? 0;
  let replicationDelayMs = options.principalReplicationDelayMs ?? 0;
  const cacheMs = options.jwksCacheMs ?? 5000;
  const lifetime = options.accessTokenLifetimeSeconds ?? 3599;
  const skew = options.clockSkewSeconds ?? 300;
  const requireHttpsIssuer = options.requireHttpsIssuer ?? true;
  const key = newSigningKey();
  const issued: IssuedToken[] = [];
  const issuerCache = new Map<string, { at: number; keys: Record<string, unknown>[] }>();
  const tls = options.tls ?? (await testTls());
  // Issuers in the test world serve the world's certificate (the one this emulator serves too).
  const trusted = [tls.certPem, ...rootCertificates];
  let baseUrl = '';

  /** The tenant GUID a path segment stands for; `{tenantid}` placeholders for common/organizations. */
  function tenantOf(segment: string): string {
    if (GUID.test(segment)) {
      const t = segment.toLowerCase();
      if (options.tenants && !options.tenants.map((x) => x.toLowerCase()).includes(t)) throw entraErrors.tenantNotFound(segment);
      return t;
    }
    if (segment === 'common' || segment === 'organizations' || segment === 'consumers') return '{tenantid}';
    return homeTenant;
  }

  function openIdConfiguration(tenantSegment: string): unknown {
    const tid = tenantOf(tenantSegment);
    const t = tid === '{tenantid}' ? tenantSegment : tid;
    return {
      token_endpoint: `${baseUrl}/${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${baseUrl}/${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${baseUrl}/${tid}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
      authorization_endpoint: `${baseUrl}/${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${baseUrl}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${baseUrl}/${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      kerberos_endpoint: `${baseUrl}/${t}/kerberos`,
      tenant_region_scope: 'NA',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  /**
   * `/common/discovery/instance?api-version=1.1&authorization_endpoint=https://<host>/<tenant>/oauth2/v2.0/authorize`
   * (what MSAL asks): the tenant discovery endpoint for the tenant named in authorization_endpoint, and this
   * host's aliases. Another host is an unknown instance, as for a host the public cloud does not know. The host
   * is compared without its port: MSAL Python drops the port when it builds authorization_endpoint.
   */
  function instanceDiscovery(query: URLSearchParams): unknown {
    const endpoint = query.get('authorization_endpoint');
    if (!endpoint) throw entraErrors.missingParameter('authorization_endpoint');
    let auth: URL;
    try {
      auth = new URL(endpoint);
    } catch {
      throw entraErrors.invalidInstance();
    }
    const own = new URL(baseUrl);
    const host = own.host;
    const tenant = auth.pathname.split('/').filter(Boolean)[0];
    if (auth.protocol !== 'https:' || auth.hostname !== own.hostname || !tenant) throw entraErrors.invalidInstance();
    if (GUID.test(tenant)) tenantOf(tenant);
    return {
      tenant_discovery_endpoint: `${baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': query.get('api-version') ?? '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  }

  function jwks(): { keys: (PublicJwk & { x5t: string })[] } {
    return { keys: [{ ...key.publicJwk, x5t: key.kid }] };
  }

  /** The resource a `.default` scope asks for (the access token's audience). */
  function resourceOf(scopeParam: string | undefined): string {
    if (!scopeParam || !scopeParam.trim()) throw entraErrors.missingScope();
    const scopes = scopeParam.split(' ').filter(Boolean);
    const dflt = scopes.find((s) => s.endsWith('/.default'));
    if (!dflt) throw entraErrors.invalidScope(scopeParam);
    return dflt.slice(0, -'/.default'.length);
  }

  function accessToken(claims: { aud: string; tid: string; oid: string; appid: string; appidacr: '1' | '2'; mirid?: string }): { token: string; expiresIn: number } {
    const iat = Math.floor(now() / 1000);
    const sts = `https://sts.windows.net/${claims.tid}/`;
    const payload: JwtClaims = {
      aud: claims.aud,
      iss: sts,
      iat,
      nbf: iat,
      exp: iat + lifetime,
      aio: randomUUID(),
      appid: claims.appid,
      appidacr: claims.appidacr,
      idp: sts,
      idtyp: 'app',
      oid: claims.oid,
      rh: `0.${randomUUID()}.`,
      sub: claims.oid,
      tid: claims.tid,
      uti: randomUUID().replace(/-/g, ''),
      ver: '1.0',
      ...(claims.mirid ? { xms_mirid: claims.mirid } : {}),
    };
    return { token: signJwt(payload, key, { typ: 'JWT', x5t: key.kid }), expiresIn: lifetime };
  }

  /** The issuer's signing keys, from its discovery document's jwks_uri (cached briefly). */
  async function issuerKeys(issuer: string, refresh: boolean): Promise<Record<string, unknown>[]> {
    const cached = issuerCache.get(issuer);
    if (cached && !refresh && now() - cached.at < cacheMs) return cached.keys;
    let keys: Record<string, unknown>[];
    if (requireHttpsIssuer && !issuer.startsWith('https://')) throw entraErrors.oidcEndpointFailed();
    try {
      const discoveryUrl = `${issuer}${issuer.endsWith('/') ? '' : '/'}.well-known/openid-configuration`;
      const doc = await fetchJson(discoveryUrl, trusted, undefined, options.issuerHosts);
      if (!isRecord(doc) || doc.issuer !== issuer || typeof doc.jwks_uri !== 'string') throw new Error('discovery document does not name this issuer');
      const set = await fetchJson(doc.jwks_uri, trusted, undefined, options.issuerHosts);
      if (!isRecord(set) || !Array.isArray(set.keys)) throw new Error('JWKS has no keys');
      keys = set.keys.filter(isRecord);
    } catch {
      throw entraErrors.oidcEndpointFailed();
    }
    issuerCache.set(issuer, { at: now(), keys });
    return keys;
  }

  async function verifyAssertionSignature(decoded: DecodedJwt, issuer: string): Promise<void> {
    const kid = decoded.header.kid;
    const pick = (keys: Record<string, unknown>[]) => (typeof kid === 'string' ? keys.filter((k) => k.kid === kid) : keys);
    let candidates = pick(await issuerKeys(issuer, false));
    if (candidates.length === 0) candidates = pick(await issuerKeys(issuer, true));
    if (candidates.length === 0) throw entraErrors.signatureKeyNotFound();
    if (!candidates.some((k) => verifyRs256(decoded, k))) throw entraErrors.signatureInvalid();
  }

  function iso7(ms: number): string {
    return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
  }

  async function clientAssertionLogin(tenantSegment: string, form: URLSearchParams, clientId: string, resource: string, scope: string): Promise<IssuedToken> {
    const type = form.get('client_assertion_type');
    if (type !== JWT_BEARER) throw type ? entraErrors.malformedAssertion() : entraErrors.missingParameter('client_assertion_type');
    const decoded = decodeJwt(form.get('client_assertion') ?? '');
    if (!decoded) throw entraErrors.malformedAssertion();
    const claims = decoded.payload;
    const tid = tenantOf(tenantSegment);
    const identity = identityLookup?.(clientId);
    const t = now();
    // A service principal that has not replicated yet is not in the directory the token endpoint reads.
    const replicated = identity !== undefined && (identity.createdAt === undefined || t - identity.createdAt >= replicationDelayMs);
    if (!identity || !replicated || (tid !== '{tenantid}' && identity.tenantId.toLowerCase() !== tid)) {
      throw entraErrors.applicationNotFound(clientId, tid === '{tenantid}' ? tenantSegment : tid);
    }
    const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
    const nbf = typeof claims.nbf === 'number' ? claims.nbf : typeof claims.iat === 'number' ? claims.iat : undefined;
    if (exp === undefined || exp * 1000 + skew * 1000 < t || (nbf !== undefined && nbf * 1000 - skew * 1000 > t)) {
      throw entraErrors.assertionTimeRange(iso7(t), nbf !== undefined ? iso7(nbf * 1000) : iso7(0), exp !== undefined ? iso7(exp * 1000) : iso7(0));
    }
    const iss = typeof claims.iss === 'string' ? claims.iss : '';
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const auds = Array.isArray(claims.aud) ? claims.aud.filter((a): a is string => typeof a === 'string') : typeof claims.aud === 'string' ? [claims.aud] : [];
    // Exact, case-sensitive comparison (a trailing slash on the issuer matters), and only propagated credentials.
    const match = identity.federatedCredentials.find(
      (f) => f.issuer === iss && f.subject === sub && f.audiences.some((a) => auds.includes(a)) && t - f.createdAt >= propagationDelayMs,
    );
    if (!match) throw entraErrors.noMatchingFederatedIdentity(iss, sub, auds.join(','));
    await verifyAssertionSignature(decoded, iss);
    const tenant = identity.tenantId.toLowerCase();
    const oid = identity.principalId ?? derivedGuid(`sp:${clientId}`);
    const at = accessToken({ aud: resource, tid: tenant, oid, appid: clientId, appidacr: '2', ...(identity.id ? { mirid: identity.id } : {}) });
    return { clientId, tenantId: tenant, scope, via: 'client_assertion', federatedCredential: match.name, at: t, accessToken: at.token };
  }

  function clientSecretLogin(tenantSegment: string, clientId: string, secret: string, resource: string, scope: string): IssuedToken {
    const tid = tenantOf(tenantSegment);
    const tenant = tid === '{tenantid}' ? homeTenant : tid;
    let oid = derivedGuid(`sp:${clientId}`);
    if (appsConfigured) {
      const app = apps.get(clientId);
      if (!app || (app.tenantId && app.tenantId.toLowerCase() !== tenant)) throw entraErrors.applicationNotFound(clientId, tenant);
      if (app.secret !== secret) throw entraErrors.invalidSecret(clientId);
      if (app.objectId) oid = app.objectId;
    }
    const at = accessToken({ aud: resource, tid: tenant, oid, appid: clientId, appidacr: '1' });
    return { clientId, tenantId: tenant, scope, via: 'client_secret', at: now(), accessToken: at.token };
  }

  async function token(tenantSegment: string, req: IncomingMessage, form: URLSearchParams): Promise<unknown> {
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    let basicId: string | undefined;
    let basicSecret: string | undefined;
    if (basic?.[1]) {
      const [id, ...rest] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      basicId = decodeURIComponent(id ?? '');
      basicSecret = decodeURIComponent(rest.join(':'));
    }
    const grant = form.get('grant_type');
    if (!grant) throw entraErrors.missingParameter('grant_type');
    if (grant !== 'client_credentials') throw entraErrors.unsupportedGrant(grant);
    const clientId = form.get('client_id') ?? basicId;
    if (!clientId) throw entraErrors.missingParameter('client_id');
    const scope = form.get('scope') ?? '';
    const resource = resourceOf(scope);
    tenantOf(tenantSegment);
    let out: IssuedToken;
    if (form.has('client_assertion') || form.has('client_assertion_type')) {
      out = await clientAssertionLogin(tenantSegment, form, clientId, resource, scope);
    } else {
      const secret = form.get('client_secret') ?? basicSecret;
      if (secret === undefined || secret === null) throw entraErrors.missingCredential();
      out = clientSecretLogin(tenantSegment, clientId, secret, resource, scope);
    }
    issued.push(out);
    return { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: out.accessToken };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = (await readBody(req)).toString('utf8');
    const form = new URLSearchParams(raw);
    const logged: Record<string, string> = Object.fromEntries(form);
    const fault = await controls.intercept({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), body: raw ? logged : undefined, headers: req.headers });
    const correlationId = typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : randomUUID();
    if (url.pathname.startsWith(GRAPH_PREFIX) && !fault) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      let body: unknown;
      try {
        body = raw ? (JSON.parse(raw) as unknown) : undefined;
      } catch {
        body = undefined;
      }
      try {
        const authorized = bearer !== undefined && verify(bearer, `${baseUrl}${GRAPH_PREFIX}`);
        sendJson(res, 200, graphAnswer(method, url.pathname.slice(GRAPH_PREFIX.length - 1), body, authorized, options.directoryLookup, baseUrl));
      } catch (e) {
        const err = e instanceof EntraError ? e : new EntraError(500, 'InternalServerError', undefined, String(e));
        sendJson(res, err.status, graphErrorBody(err.error, err.text, correlationId, now()));
      }
      return;
    }
    try {
      if (fault) {
        const m = /^AADSTS(\d+):\s*(.*)$/s.exec(fault.message ?? '');
        throw new EntraError(
          fault.status,
          fault.code,
          m?.[1] !== undefined ? Number(m[1]) : undefined,
          m?.[2] ?? fault.message ?? fault.code,
          fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {},
        );
      }
      const [tenantSeg, ...rest] = url.pathname.split('/').filter(Boolean);
      const sub = rest.join('/');
      if (method === 'GET' && tenantSeg === 'common' && sub === 'discovery/instance') {
        sendJson(res, 200, instanceDiscovery(url.searchParams));
        return;
      }
      if (tenantSeg && method === 'GET' && (sub === 'v2.0/.well-known/openid-configuration' || sub === '.well-known/openid-configuration')) {
        sendJson(res, 200, openIdConfiguration(tenantSeg));
        return;
      }
      if (tenantSeg && method === 'GET' && (sub === 'discovery/v2.0/keys' || sub === 'discovery/keys')) {
        tenantOf(tenantSeg);
        sendJson(res, 200, jwks());
        return;
      }
      if (tenantSeg && sub === 'oauth2/v2.0/token') {
        if (method !== 'POST') throw new EntraError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests. Received a GET request.');
        sendJson(res, 200, await token(tenantSeg, req, form), { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
        return;
      }
      throw new EntraError(404, 'not_found', undefined, `No such endpoint: ${method} ${url.pathname}`);
    } catch (e) {
      const err = e instanceof EntraError ? e : new EntraError(500, 'server_error', 90033, `A transient error has occurred. ${e instanceof Error ? e.message : String(e)}`);
      sendJson(res, err.status, err.body(now(), correlationId), err.headers);
    }
  }

  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(e) });
      else res.destroy();
    });
  });
  const port = await listen(server, options.port ?? 0);
  baseUrl = `https://127.0.0.1:${port}`;

  function accessTokenClaims(tokenText: string): AccessTokenClaims | undefined {
    const decoded = decodeJwt(tokenText);
    if (!decoded || decoded.header.kid !== key.kid || !verifyRs256(decoded, key.publicJwk)) return undefined;
    const c = decoded.payload;
    if (typeof c.exp !== 'number' || c.exp * 1000 <= now()) return undefined;
    if (typeof c.aud !== 'string' || typeof c.tid !== 'string' || typeof c.oid !== 'string' || typeof c.appid !== 'string') return undefined;
    return c as AccessTokenClaims;
  }

  const stripSlash = (s: string): string => s.replace(/\/+$/, '');
  function verify(tokenText: string, audience?: string): boolean {
    const c = accessTokenClaims(tokenText);
    if (!c) return false;
    return audience === undefined || stripSlash(c.aud) === stripSlash(audience);
  }

  return {
    url: baseUrl,
    port,
    tenantId: homeTenant,
    controls,
    issued,
    verifyAccessToken: (tokenText, opts = {}) => verify(tokenText, opts.audience),
    graphUrl: `${baseUrl}${GRAPH_PREFIX}`,
    accessTokenClaims,
    addApp(app) {
      appsConfigured = true;
      apps.set(app.clientId, app);
    },
    setIdentityLookup(lookup) {
      identityLookup = lookup;
    },
    setFederationPropagationDelay(ms) {
      propagationDelayMs = ms;
    },
    setPrincipalReplicationDelay(ms) {
      replicationDelayMs = ms;
    },
    clearIssuerCache() {
      issuerCache.clear();
    },
    jwks,
    close: () => close(server),
  };
}
