/**
 * The Azure Resource Manager emulator: an HTTPS server on 127.0.0.1 speaking ARM's wire format for
 * the resource providers wid-bot uses (Managed Identity, Authorization, Container Service), with
 * ARM's auth, throttling and error shapes, all state in memory.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { EmulatorControls } from '../common/controls';
import { close as closeServer, listen, parseJson, readBody, sendJson } from '../common/http';
import { testTls } from '../common/tls';
import { checkApiVersion } from './api-versions';
import { authenticate, callerOf, DenyList, type DenyRule } from './auth';
import type { ArmCall, ArmContext } from './context';
import { ArmError, armErrorBody, defaultFaultMessage, type ArmResponse } from './errors';
import { normalisePath } from './ids';
import { isMetadataCall, metadataEndpoints } from './metadata';
import { resourceGroupNotFound, subscriptionNotFound } from './resource-groups';
import { sweepSchedules } from './role-assignment-schedules';
import { resolve, type Route } from './router';
import { ArmState, type ClusterConfig, type PrincipalType, type ResourceGroupConfig, type SubscriptionConfig } from './state';
import { DEFAULT_THROTTLE_LIMITS, interval, normaliseRegion, remainingHeader, Throttle, type TakeResult, type ThrottleLimits, type ThrottleStats } from './throttle';

export { ArmState } from './state';
export type {
  ClusterConfig,
  FederatedCredentialSnapshot,
  IdentitySnapshot,
  PrincipalType,
  ResourceGroupConfig,
  RoleAssignmentSnapshot,
  SeedFederatedCredential,
  SeedIdentity,
  SeedRoleAssignment,
  SubscriptionConfig,
} from './state';
export { API_VERSIONS, type ResourceType } from './api-versions';
export type { DenyRule } from './auth';
export type { BucketLimit, LimitName, OperationClass, RequestKind, ThrottleLimits, ThrottleStats } from './throttle';
export { DEFAULT_THROTTLE_LIMITS, scaledLimits } from './throttle';
export { BUILT_IN_ROLES } from './role-definitions';

export const DEFAULT_TENANT_ID = 'b6c948ef-f6b5-4384-8354-da3a15eca969';

export interface ArmEmulatorOptions {
  /** Certificate and key to serve; the test run's certificate (`testTls()`) when omitted. */
  tls?: { certPem: string; keyPem: string };
  /** 0 (default) picks a free port. */
  port?: number;
  /** Tenant of every identity and of PrincipalNotFound messages. */
  tenantId?: string;
  /** Items per list page before a nextLink (default 100). */
  pageSize?: number;
  /** How long a federated-credential write holds its identity busy (default 25 ms). */
  ficWriteMs?: number;
  /** How long a new principal stays invisible to role assignments without principalType (default 0). */
  principalReplicationDelayMs?: number;
  /**
   * When given, only these subscriptions exist (listed by `GET /subscriptions`); others → 404 SubscriptionNotFound.
   * When omitted, any subscription id is served and the list holds those something lives in.
   */
  subscriptions?: SubscriptionConfig[];
  /**
   * When given, only these resource groups exist (a bare name: in every subscription); a resource in another →
   * 404 ResourceGroupNotFound, as in Azure. When omitted, a group comes into being with the first resource in it.
   */
  resourceGroups?: Array<string | ResourceGroupConfig>;
  /** Key Vaults and storage accounts that exist (ARM ids), for GET on a role assignment's scope. */
  resources?: string[];
  /** Location of resource groups that come into being on first use (default eastus). */
  location?: string;
  clusters?: ClusterConfig[];
  /** Directory principals besides managed identities (users, groups, the bot's service principal). */
  principals?: Array<{ id: string; type?: PrincipalType }>;
  /** Strict mode: only tokens this accepts pass (the Entra emulator supplies one). Default: any bearer token. */
  tokenValidator?: (token: string) => boolean;
  /** Throttling buckets (reads, writes, deletes, identity creates), or false for none. Default: on, Azure's documented limits (DEFAULT_THROTTLE_LIMITS). */
  throttle?: ThrottleLimits | false;
  controls?: EmulatorControls;
  /** The clock role assignment schedules run by (epoch ms; default Date.now). */
  clock?: () => number;
}

export interface ArmSettings {
  /** The Entra login endpoint `GET /metadata/endpoints` names (what `az cloud register` reads). */
  loginEndpoint?: string;
  pageSize?: number;
  ficWriteMs?: number;
  principalReplicationDelayMs?: number;
  /** The clock role assignment schedules run by. */
  clock?: () => number;
}

export interface ArmStats extends ThrottleStats {
  requests: number;
}

export interface ArmEmulator {
  /** `https://127.0.0.1:<port>`: the SDK clients' `endpoint`. */
  url: string;
  port: number;
  controls: EmulatorControls;
  state: ArmState;
  /** Add or replace a cluster (matched by subscription, resource group and name). */
  setCluster(cluster: ClusterConfig): void;
  removeCluster(ref: { subscriptionId: string; resourceGroup: string; name: string }): void;
  /** Answer matching calls with 403 AuthorizationFailed. */
  deny(rule: DenyRule): void;
  clearDenies(): void;
  setThrottle(limits: ThrottleLimits | false): void;
  /** Change timing and paging settings at run time. */
  configure(settings: ArmSettings): void;
  stats(): ArmStats;
  /** Ends the schedules whose time is up by the emulator's clock now (it also does so on every call and every 200 ms). */
  sweepSchedules(): number;
  close(): Promise<void>;
}

function decodePath(pathname: string): string {
  const segs = pathname.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return normalisePath(segs.join('/'));
}

/** The 429 ARM answers: its front door's token bucket (SubscriptionRequestsThrottled), or the identity-create limit. */
function throttled(route: Route, principal: string, region: string | undefined, t: Extract<TakeResult, { ok: false }>, headers: Record<string, string>): ArmError {
  const h = { ...headers, 'retry-after': String(t.retryAfterSeconds) };
  if (t.by === 'identityCreate') {
    return new ArmError(
      429,
      'TooManyRequests',
      `Number of '${route.action}' create requests for subscription '${route.subscriptionId}' in region '${region}' exceeded the limit of '${t.limit.burst}' for time interval '${interval(t.limit.burst / t.limit.perSecond)}'. Please try again after '${t.retryAfterSeconds}' seconds.`,
      h,
    );
  }
  const tenant = route.subscriptionId === 'tenant';
  return new ArmError(
    429,
    tenant ? 'TenantRequestsThrottled' : 'SubscriptionRequestsThrottled',
    `Number of '${t.kind}' requests for ${tenant ? 'tenant' : `subscription '${route.subscriptionId}'`} actor '${principal}' exceeded. Please try again after '${t.retryAfterSeconds}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.`,
    h,
  );
}

/** The region of an identity this PUT would create; undefined when it updates one (or is no identity PUT). */
function identityCreateRegion(state: ArmState, route: Route, call: ArmCall): string | undefined {
  if (route.throttle !== 'identityWrite' || call.method !== 'PUT' || state.getIdentityById(route.scope)) return undefined;
  const location = (call.body as { location?: unknown } | undefined)?.location;
  return typeof location === 'string' ? normaliseRegion(location) : '';
}

export async function startArmEmulator(options: ArmEmulatorOptions = {}): Promise<ArmEmulator> {
  const tls = options.tls ?? (await testTls());
  const controls = options.controls ?? new EmulatorControls();
  const state = new ArmState(options.tenantId ?? DEFAULT_TENANT_ID, options.location);
  state.setSubscriptions(options.subscriptions);
  state.setResourceGroups(options.resourceGroups);
  for (const id of options.resources ?? []) state.seedResource(id);
  for (const c of options.clusters ?? []) state.setCluster(c);
  for (const p of options.principals ?? []) state.addPrincipal(p.id, p.type ?? 'ServicePrincipal');
  const throttle = new Throttle(options.throttle ?? {});
  const denies = new DenyList();
  let requests = 0;

  const ctx: ArmContext = {
    state,
    baseUrl: '',
    pageSize: options.pageSize ?? 100,
    ficWriteMs: options.ficWriteMs ?? 25,
    principalReplicationDelayMs: options.principalReplicationDelayMs ?? 0,
    ficBusy: new Set(),
    ...(options.clock ? { clock: options.clock } : {}),
  };
  const clockNow = (): number => ctx.clock?.() ?? Date.now();
  // Azure removes a schedule's assignment at its end whether anyone calls or not.
  const sweeper = setInterval(() => sweepSchedules(state, clockNow()), 200);
  sweeper.unref();

  /** The location ARM routes a call by: the body's, else its resource group's; global types have none. */
  function locationOf(route: Route, call: ArmCall): string {
    const body = call.body;
    if (typeof body === 'object' && body !== null && typeof (body as { location?: unknown }).location === 'string') return (body as { location: string }).location;
    if (route.resourceGroup !== undefined) return state.getResourceGroup(route.subscriptionId, route.resourceGroup)?.location ?? state.defaultLocation;
    return '';
  }

  async function answer(req: IncomingMessage, call: ArmCall): Promise<ArmResponse> {
    if (isMetadataCall(call)) return metadataEndpoints(ctx, call);
    const token = authenticate(req.headers, options.tokenValidator);
    call.callerObjectId = callerOf(token).objectId;
    if (!call.query['api-version']) {
      throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
    }
    sweepSchedules(state, clockNow());
    const route = resolve(ctx, call);
    checkApiVersion(route.resourceType, call.query['api-version'], locationOf(route, call), state.locations());
    if (route.subscriptionId !== 'tenant' && !state.subscriptionExists(route.subscriptionId)) throw subscriptionNotFound(route.subscriptionId);
    denies.check(call.method, call.path, route.action, route.scope, token);
    const principal = call.callerObjectId ?? callerOf(token).objectId;
    const region = identityCreateRegion(state, route, call);
    const t = throttle.take(call.method, {
      subscriptionId: route.subscriptionId,
      principal,
      ...(route.throttle ? { operation: route.throttle } : {}),
      ...(region !== undefined ? { identityCreateRegion: region } : {}),
    });
    // Every answer past the front door says what is left of its bucket, errors too.
    // With a limit switched off the bucket never drains: the header says it is full, as ARM's would be for a quiet
    // subscription, so a client pacing on it is never held back by a limit the world does not have.
    const headers: Record<string, string> = { [remainingHeader(t.kind, route.subscriptionId)]: String(t.remaining ?? DEFAULT_THROTTLE_LIMITS[t.kind].burst) };
    if (!t.ok) throw throttled(route, principal, region, t, headers);
    try {
      if (route.resourceGroup !== undefined && !state.resourceGroupUsable(route.subscriptionId, route.resourceGroup)) {
        throw resourceGroupNotFound(route.resourceGroup);
      }
      const r = await route.run();
      return { ...r, headers: { ...headers, ...(r.headers ?? {}) } };
    } catch (e) {
      if (e instanceof ArmError) Object.assign(e.headers, headers);
      throw e;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests += 1;
    const requestId = randomUUID();
    const send = (r: ArmResponse): void =>
      sendJson(res, r.status, r.body, { 'x-ms-request-id': requestId, 'x-ms-correlation-request-id': requestId, ...(r.headers ?? {}) });
    const sendError = (e: ArmError): void => send({ status: e.status, body: armErrorBody(e.code, e.message), headers: e.headers });
    try {
      // Concatenated, not resolved: `//subscriptions/…` (what the SDK sends for a scope with a leading slash) is a path here, not a host.
      const url = new URL(ctx.baseUrl + (req.url ?? '/'));
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k.toLowerCase()] = v;
      const call: ArmCall = { method: (req.method ?? 'GET').toUpperCase(), path: decodePath(url.pathname), query, body: undefined };
      const raw = await readBody(req);
      let malformed: string | undefined;
      try {
        call.body = parseJson(raw);
      } catch (e) {
        malformed = (e as Error).message;
        call.body = raw.toString('utf8');
      }
      const fault = await controls.intercept({ method: call.method, path: call.path, query, body: call.body, headers: req.headers });
      if (fault) {
        const headers: Record<string, string> = {};
        if (fault.status === 429 || fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(fault.retryAfterSeconds ?? 1)));
        return sendError(new ArmError(fault.status, fault.code, fault.message ?? defaultFaultMessage(fault.status, fault.code), headers));
      }
      if (malformed !== undefined) {
        throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${malformed}'.`);
      }
      send(await answer(req, call));
    } catch (e) {
      if (e instanceof ArmError) return sendError(e);
      sendError(new ArmError(500, 'InternalServerError', `Encountered internal server error: ${(e as Error).message}`));
    }
  }

  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    void handle(req, res);
  });
  const port = await listen(server, options.port ?? 0);
  const url = `https://127.0.0.1:${port}`;
  ctx.baseUrl = url;

  return {
    url,
    port,
    controls,
    state,
    setCluster: (c) => state.setCluster(c),
    removeCluster: (ref) => {
      state.removeCluster(ref);
    },
    deny: (rule) => denies.add(rule),
    clearDenies: () => denies.clear(),
    setThrottle: (limits) => throttle.setLimits(limits),
    configure: (settings) => {
      if (settings.loginEndpoint !== undefined) ctx.loginEndpoint = settings.loginEndpoint;
      if (settings.pageSize !== undefined) ctx.pageSize = settings.pageSize;
      if (settings.ficWriteMs !== undefined) ctx.ficWriteMs = settings.ficWriteMs;
      if (settings.principalReplicationDelayMs !== undefined) ctx.principalReplicationDelayMs = settings.principalReplicationDelayMs;
      if (settings.clock !== undefined) ctx.clock = settings.clock;
    },
    stats: () => ({ ...throttle.stats(), requests }),
    sweepSchedules: () => sweepSchedules(state, clockNow()),
    close: () => {
      clearInterval(sweeper);
      return closeServer(server);
    },
  };
}
