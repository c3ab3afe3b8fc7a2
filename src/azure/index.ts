/**
 * The Azure adapters: managed identities and federated credentials (@azure/arm-msi), role
 * definitions and assignments (@azure/arm-authorization), and the AKS cluster read
 * (@azure/arm-containerservice). Every failure leaves here as a RetryableError or TerminalError.
 */
import type { TokenCredential } from '@azure/core-auth';
import { createPipelineRequest, RestError, type HttpClient, type Pipeline } from '@azure/core-rest-pipeline';
import { ManagedServiceIdentityClient, type FederatedIdentityCredential as SdkFic, type Identity } from '@azure/arm-msi';
import { AuthorizationManagementClient, type RoleAssignment as SdkRoleAssignment } from '@azure/arm-authorization';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import type {
  SubscriptionPort,
  AdapterCallHook,
  AuthorizationPort,
  ClusterPort,
  FederatedCredential,
  IdentityPort,
  IdentityRef,
  ManagedIdentity,
  RoleAssignment,
  AssignmentSchedulePort,
  ScheduleRequest,
  ScheduleInstance,
} from '../domain/ports';
import type { RoleAssignmentScheduleRequest as SdkScheduleRequest } from '@azure/arm-authorization';
import { isoDuration } from '../domain/azure-schedule';
import type { ClusterFacts, PolicyCluster } from '../domain/types';
import { TerminalError } from '../domain/errors';
import { PUBLIC_RESOURCE_MANAGER_URL, credentialFromEnv, resourceManagerFromEnv, resourceManagerScope } from './credential';
import { isAzureNotFound, translateAzureError, type AzureCallContext } from './errors';
import { useAzureRetry, type AzureRetryOptions } from './retry';
import { ReadPacer, readPacingPolicy } from './pacing';
import { AZURE_LIMITS, type RateBucket } from '../domain/azure-limits';

export { credentialFromEnv, resourceManagerFromEnv, resourceManagerScope, isKnownAuthorityHost } from './credential';
export { translateAzureError, RoleAssignmentExistsError, isAzureNotFound } from './errors';
export type { AzureRetryOptions } from './retry';
export { ReadPacer, type ReadPacerStats, inReadLane, currentReadLane, type ReadLane } from './pacing';

export interface AzureConfig {
  credential: TokenCredential;
  /** ARM endpoint (AZURE_RESOURCE_MANAGER_URL); default the public cloud. */
  resourceManagerUrl?: string;
  /** Token audience or scope for ARM (AZURE_RESOURCE_MANAGER_AUDIENCE); default derived from the endpoint. */
  audience?: string;
  retry?: AzureRetryOptions;
  /** Extra CA certificate(s) to trust for the ARM endpoint (PEM). */
  tlsCa?: string;
  /** The HTTP client under every SDK client (default the SDK's own); lets tests see the exact URLs sent. */
  httpClient?: HttpClient;
  onCall?: AdapterCallHook;
  /**
   * ARM's read bucket per subscription and principal (default Azure's documented 250, 25/s): reads wait for a
   * token of a local copy of it, corrected by ARM's remaining-reads header, instead of provoking 429s. `false`: no pacing.
   */
  readLimit?: RateBucket | false;
}

export interface AzureAdapters {
  identities: IdentityPort;
  authorization: AuthorizationPort;
  /** Azure's own assignment schedules (roleAssignmentScheduleRequests), for `expiry: azure`. */
  schedules: AssignmentSchedulePort;
  clusters: ClusterPort;
  subscriptions: SubscriptionPort;
  /** ARM GET of a role assignment's scope (`wid policy check`). */
  scopes: ScopePort;
  /** The read pacer shared by these adapters' clients (undefined when pacing is off). */
  readPacer?: ReadPacer;
}

const NO_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

/** Does a scope exist? `checked` is the id that was read (a resource of an unknown type is checked by its resource group). */
export interface ScopeLookup {
  exists: boolean;
  checked: string;
}

export interface ScopePort {
  /** GET the scope (subscription, resource group or resource); 404 → exists: false. */
  getScope(scope: string): Promise<ScopeLookup>;
}

/** api-versions for a GET of the resource types roles are usually granted on; other types are checked by their resource group. */
const SCOPE_API_VERSIONS: Record<string, string> = {
  'microsoft.keyvault/vaults': '2023-07-01',
  'microsoft.storage/storageaccounts': '2023-05-01',
  'microsoft.containerregistry/registries': '2023-07-01',
  'microsoft.servicebus/namespaces': '2021-11-01',
  'microsoft.eventhub/namespaces': '2024-01-01',
  'microsoft.documentdb/databaseaccounts': '2024-05-15',
  'microsoft.sql/servers': '2021-11-01',
  'microsoft.appconfiguration/configurationstores': '2023-03-01',
};

/** Which id to GET for a scope, with which api-version. */
function scopeRequest(scope: string): { id: string; apiVersion: string } {
  const segs = slashScope(scope).split('/').filter(Boolean);
  if (segs.length <= 2) return { id: `/${segs.join('/')}`, apiVersion: '2022-12-01' };
  const group = `/${segs.slice(0, 4).join('/')}`;
  if (segs.length <= 4) return { id: group, apiVersion: '2021-04-01' };
  const type = `${segs[5] ?? ''}/${segs[6] ?? ''}`.toLowerCase();
  const v = SCOPE_API_VERSIONS[type];
  return v && segs.length === 8 ? { id: `/${segs.join('/')}`, apiVersion: v } : { id: group, apiVersion: '2021-04-01' };
}

/** ARM id → its subscription and resource group (case kept as given). */
function parseArmId(id: string): { subscriptionId?: string; resourceGroup?: string } {
  const m = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?/i.exec(id);
  return { subscriptionId: m?.[1], resourceGroup: m?.[2] };
}

function identityId(ref: IdentityRef): string {
  return `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${ref.name}`;
}

/** The SDKs put `{scope}` into `/{scope}/providers/...` verbatim, so a leading slash would double. */
function bareScope(scope: string): string {
  return scope.replace(/^\/+/, '');
}

function slashScope(scope: string): string {
  return `/${bareScope(scope)}`;
}

function toIdentity(i: Identity, ref?: IdentityRef): ManagedIdentity {
  const id = i.id ?? (ref ? identityId(ref) : '');
  const parsed = parseArmId(id);
  return {
    id,
    name: i.name ?? ref?.name ?? '',
    subscriptionId: parsed.subscriptionId ?? ref?.subscriptionId ?? '',
    resourceGroup: parsed.resourceGroup ?? ref?.resourceGroup ?? '',
    location: i.location,
    clientId: i.clientId ?? '',
    principalId: i.principalId ?? '',
    tenantId: i.tenantId ?? '',
    tags: { ...(i.tags ?? {}) },
  };
}

function toFederatedCredential(f: SdkFic, ref: IdentityRef, name?: string): FederatedCredential {
  const fallbackName = name ?? f.name ?? '';
  const id = f.id ?? `${identityId(ref)}/federatedIdentityCredentials/${fallbackName}`;
  return {
    id,
    name: f.name ?? fallbackName,
    identityId: f.id ? f.id.replace(/\/federatedIdentityCredentials\/[^/]+$/i, '') : identityId(ref),
    issuer: f.issuer ?? '',
    subject: f.subject ?? '',
    audiences: [...(f.audiences ?? [])],
  };
}

function toRoleAssignment(a: SdkRoleAssignment, scope: string, name?: string): RoleAssignment {
  return {
    id: a.id ?? `${slashScope(scope)}/providers/Microsoft.Authorization/roleAssignments/${name ?? a.name ?? ''}`,
    name: a.name ?? name ?? '',
    scope: a.scope ?? slashScope(scope),
    roleDefinitionId: a.roleDefinitionId ?? '',
    principalId: a.principalId ?? '',
    ...(a.principalType ? { principalType: a.principalType } : {}),
    ...(a.description ? { description: a.description } : {}),
  };
}

function odataString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** AzureConfig from the standard variables: DefaultAzureCredential, AZURE_RESOURCE_MANAGER_URL, AZURE_RESOURCE_MANAGER_AUDIENCE. */
export function azureConfigFromEnv(env: NodeJS.ProcessEnv = process.env, extra: Omit<AzureConfig, 'credential' | 'resourceManagerUrl' | 'audience'> = {}): AzureConfig {
  const { resourceManagerUrl, scope } = resourceManagerFromEnv(env);
  return { ...extra, credential: credentialFromEnv(env), resourceManagerUrl, audience: scope };
}

export function createAzureAdapters(config: AzureConfig): AzureAdapters {
  const endpoint = (config.resourceManagerUrl ?? PUBLIC_RESOURCE_MANAGER_URL).replace(/\/+$/, '');
  const scope = resourceManagerScope(endpoint, config.audience);
  const common = {
    endpoint,
    ...(config.tlsCa ? { tlsOptions: { ca: config.tlsCa } } : {}),
    ...(config.httpClient ? { httpClient: config.httpClient } : {}),
  };
  /** One client per subscription and SDK, made on first use, with wid-bot's retry policy. */
  const readPacer = config.readLimit === false ? undefined : new ReadPacer(config.readLimit ?? AZURE_LIMITS.reads);
  function perSubscription<C extends { pipeline: Pipeline }>(make: (subscriptionId: string) => C): (subscriptionId: string) => C {
    const clients = new Map<string, C>();
    return (subscriptionId) => {
      let c = clients.get(subscriptionId);
      if (!c) {
        c = make(subscriptionId);
        useAzureRetry(c.pipeline, config.retry);
        if (readPacer) c.pipeline.addPolicy(readPacingPolicy(readPacer), { afterPhase: 'Retry' });
        clients.set(subscriptionId, c);
      }
      return c;
    };
  }
  // `endpoint` alone would also change the token scope to `<endpoint>/.default`: pin it.
  const msi = perSubscription((sub) => new ManagedServiceIdentityClient(config.credential, sub, { ...common, credentialScopes: [scope] }));
  const authBySubscription = perSubscription((sub) => new AuthorizationManagementClient(config.credential, sub, { ...common, credentialScopes: [scope] }));
  const auth = (armScope: string): AuthorizationManagementClient => authBySubscription(parseArmId(slashScope(armScope)).subscriptionId ?? NO_SUBSCRIPTION);
  const aks = perSubscription((sub) => new ContainerServiceClient(config.credential, sub, { ...common, credentials: { scopes: [scope] } }));

  /** Time one call, translate its failure, report it; with `absent`, a 404 is an answer, not a failure. */
  async function call<T>(operation: string, ctx: AzureCallContext, fn: () => Promise<T>, absent?: () => T): Promise<T> {
    const started = Date.now();
    try {
      const result = await fn();
      config.onCall?.({ system: 'azure', operation, outcome: 'ok', ms: Date.now() - started });
      return result;
    } catch (e) {
      if (absent && isAzureNotFound(e)) {
        config.onCall?.({ system: 'azure', operation, outcome: 'ok', ms: Date.now() - started, code: 'NotFound' });
        return absent();
      }
      const err = translateAzureError(e, ctx);
      config.onCall?.({ system: 'azure', operation, outcome: err.kind, ms: Date.now() - started, code: err.code });
      throw err;
    }
  }

  /** A read where 404 means "absent". */
  function read<T>(operation: string, ctx: AzureCallContext, fn: () => Promise<T>): Promise<T | undefined> {
    return call<T | undefined>(operation, ctx, fn, () => undefined);
  }

  /** A delete where 404 means "already gone". */
  async function remove(operation: string, ctx: AzureCallContext, fn: () => Promise<unknown>): Promise<void> {
    await read(operation, ctx, fn);
  }

  const idCtx = (ref: IdentityRef, verb: string, action: string): AzureCallContext => ({
    what: `${verb} the managed identity '${ref.name}' in resource group '${ref.resourceGroup}'`,
    action: `Microsoft.ManagedIdentity/userAssignedIdentities/${action}`,
    scope: identityId(ref),
  });
  const ficCtx = (ref: IdentityRef, verb: string, action: string, name?: string): AzureCallContext => ({
    what: `${verb} the federated credential${name ? ` '${name}'` : 's'} of managed identity '${ref.name}'`,
    action: `Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/${action}`,
    scope: identityId(ref),
  });

  const identities: IdentityPort = {
    getIdentity: (ref) =>
      read('identities.get', idCtx(ref, 'read', 'read'), async () => toIdentity(await msi(ref.subscriptionId).userAssignedIdentities.get(ref.resourceGroup, ref.name), ref)),

    putIdentity: (ref, location, tags) =>
      call('identities.put', idCtx(ref, 'create or update', 'write'), async () =>
        toIdentity(await msi(ref.subscriptionId).userAssignedIdentities.createOrUpdate(ref.resourceGroup, ref.name, { location, tags }), ref),
      ),

    deleteIdentity: (ref) => remove('identities.delete', idCtx(ref, 'delete', 'delete'), () => msi(ref.subscriptionId).userAssignedIdentities.delete(ref.resourceGroup, ref.name)),

    listIdentities(subscriptionId, resourceGroup) {
      const ctx: AzureCallContext = {
        what: `list the managed identities in ${resourceGroup ? `resource group '${resourceGroup}'` : `subscription '${subscriptionId}'`}`,
        action: 'Microsoft.ManagedIdentity/userAssignedIdentities/read',
        scope: `/subscriptions/${subscriptionId}${resourceGroup ? `/resourceGroups/${resourceGroup}` : ''}`,
      };
      return {
        async *[Symbol.asyncIterator]() {
          const ops = msi(subscriptionId).userAssignedIdentities;
          const pages = (resourceGroup ? ops.listByResourceGroup(resourceGroup) : ops.listBySubscription()).byPage();
          for (;;) {
            const page = await call('identities.list', ctx, () => pages.next());
            if (page.done) return;
            for (const i of page.value) yield toIdentity(i);
          }
        },
      };
    },

    listFederatedCredentials: (ref) =>
      call('federatedCredentials.list', ficCtx(ref, 'list', 'read'), async () => {
        const out: FederatedCredential[] = [];
        for await (const page of msi(ref.subscriptionId).federatedIdentityCredentials.list(ref.resourceGroup, ref.name).byPage()) {
          for (const f of page) out.push(toFederatedCredential(f, ref));
        }
        return out;
      }),

    getFederatedCredential: (ref, name) =>
      read('federatedCredentials.get', ficCtx(ref, 'read', 'read', name), async () =>
        toFederatedCredential(await msi(ref.subscriptionId).federatedIdentityCredentials.get(ref.resourceGroup, ref.name, name), ref, name),
      ),

    putFederatedCredential: (ref, name, issuer, subject, audiences) =>
      call('federatedCredentials.put', ficCtx(ref, 'create or update', 'write', name), async () =>
        toFederatedCredential(
          await msi(ref.subscriptionId).federatedIdentityCredentials.createOrUpdate(ref.resourceGroup, ref.name, name, { issuer, subject, audiences }),
          ref,
          name,
        ),
      ),

    deleteFederatedCredential: (ref, name) =>
      remove('federatedCredentials.delete', ficCtx(ref, 'delete', 'delete', name), () => msi(ref.subscriptionId).federatedIdentityCredentials.delete(ref.resourceGroup, ref.name, name)),
  };

  const raCtx = (armScope: string, verb: string, action: string, name?: string): AzureCallContext => ({
    what: `${verb} the role assignment${name ? ` '${name}'` : 's'} on '${slashScope(armScope)}'`,
    action: `Microsoft.Authorization/roleAssignments/${action}`,
    scope: slashScope(armScope),
  });

  const authorization: AuthorizationPort = {
    findRoleDefinitionId: (armScope, roleName) =>
      call(
        'roleDefinitions.list',
        { what: `look up the role '${roleName}' at '${slashScope(armScope)}'`, action: 'Microsoft.Authorization/roleDefinitions/read', scope: slashScope(armScope) },
        async () => {
          const found: string[] = [];
          for await (const d of auth(armScope).roleDefinitions.list(bareScope(armScope), { filter: `roleName eq ${odataString(roleName)}` })) {
            // The filter is ARM's; prefer an exact (case-insensitive) name match if ARM returns more.
            if (d.id && (d.roleName ?? '').toLowerCase() === roleName.toLowerCase()) return d.id;
            if (d.id) found.push(d.id);
          }
          return found[0];
        },
      ),

    getRoleAssignment: (armScope, name) =>
      read('roleAssignments.get', raCtx(armScope, 'read', 'read', name), async () => toRoleAssignment(await auth(armScope).roleAssignments.get(bareScope(armScope), name), armScope, name)),

    createRoleAssignment: (armScope, name, roleDefinitionId, principalId, description) =>
      call('roleAssignments.create', raCtx(armScope, 'create', 'write', name), async () =>
        toRoleAssignment(
          await auth(armScope).roleAssignments.create(bareScope(armScope), name, { roleDefinitionId, principalId, principalType: 'ServicePrincipal', ...(description !== undefined ? { description } : {}) }),
          armScope,
          name,
        ),
      ),

    deleteRoleAssignment: (armScope, name) =>
      remove('roleAssignments.delete', raCtx(armScope, 'delete', 'delete', name), () => auth(armScope).roleAssignments.delete(bareScope(armScope), name)),

    listRoleAssignments: (armScope, principalId) =>
      call('roleAssignments.list', raCtx(armScope, 'list', 'read'), async () => {
        const out: RoleAssignment[] = [];
        const options = principalId ? { filter: `principalId eq ${odataString(principalId)}` } : {};
        for await (const a of auth(armScope).roleAssignments.listForScope(bareScope(armScope), options)) out.push(toRoleAssignment(a, armScope));
        return out;
      }),

    getRoleDefinitionName: async (roleDefinitionId) => {
      const guid = roleDefinitionId.split('/').filter(Boolean).pop() ?? roleDefinitionId;
      const at = slashScope(roleDefinitionId.replace(/\/providers\/Microsoft\.Authorization\/roleDefinitions\/[^/]+\/?$/i, '') || '/');
      const d = await read(
        'roleDefinitions.get',
        { what: `read the role definition '${guid}'`, action: 'Microsoft.Authorization/roleDefinitions/read', scope: at },
        () => auth(at).roleDefinitions.get(bareScope(at), guid),
      );
      return d?.roleName ?? undefined;
    },
  };

  const schedCtx = (armScope: string, verb: string, name: string): AzureCallContext => ({
    what: `${verb} the role assignment schedule request '${name}' on '${slashScope(armScope)}'`,
    action: 'Microsoft.Authorization/roleAssignmentScheduleRequests/write',
    scope: slashScope(armScope),
  });
  const toSchedule = (r: SdkScheduleRequest, name: string): ScheduleRequest => {
    const start = r.scheduleInfo?.startDateTime ? new Date(r.scheduleInfo.startDateTime).getTime() : undefined;
    const d = r.scheduleInfo?.expiration?.duration;
    const m = d ? /^PT?(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/.exec(d) : null;
    const seconds = m ? Number(m[1] ?? 0) * 86_400 + Number(m[2] ?? 0) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0) : undefined;
    const end = r.scheduleInfo?.expiration?.endDateTime ? new Date(r.scheduleInfo.expiration.endDateTime).getTime() : start !== undefined && seconds !== undefined ? start + seconds * 1000 : undefined;
    return { name: r.name ?? name, requestType: r.requestType ?? '', status: r.status ?? '', ...(end !== undefined && Number.isFinite(end) ? { endsAt: new Date(end).toISOString() } : {}) };
  };
  /** One roleAssignmentScheduleRequests PUT (AdminAssign, AdminRemove, AdminUpdate), read back as a ScheduleRequest. */
  type ScheduleBody = Parameters<AuthorizationManagementClient['roleAssignmentScheduleRequests']['create']>[2];
  const scheduleRequest = (armScope: string, name: string, body: ScheduleBody): Promise<ScheduleRequest> =>
    call('roleAssignmentScheduleRequests.create', schedCtx(armScope, 'create', name), async () =>
      toSchedule(await auth(armScope).roleAssignmentScheduleRequests.create(bareScope(armScope), name, body), name),
    );
  const schedules: AssignmentSchedulePort = {
    assignWithSchedule: (armScope, name, roleDefinitionId, principalId, durationSeconds, justification) =>
      scheduleRequest(armScope, name, {
        principalId,
        roleDefinitionId,
        requestType: 'AdminAssign',
        scheduleInfo: { startDateTime: new Date(), expiration: { type: 'AfterDuration', duration: isoDuration(durationSeconds) } },
        ...(justification ? { justification } : {}),
      }),
    removeWithSchedule: (armScope, name, roleDefinitionId, principalId, justification) =>
      scheduleRequest(armScope, name, { principalId, roleDefinitionId, requestType: 'AdminRemove', ...(justification ? { justification } : {}) }),
    updateSchedule: (armScope, name, roleDefinitionId, principalId, endsAt, justification) =>
      scheduleRequest(armScope, name, {
        principalId,
        roleDefinitionId,
        requestType: 'AdminUpdate',
        scheduleInfo: { startDateTime: new Date(), expiration: { type: 'AfterDateTime', endDateTime: new Date(endsAt) } },
        ...(justification ? { justification } : {}),
      }),
    listScheduleInstances: (armScope, principalId) =>
      call(
        'roleAssignmentScheduleInstances.listForScope',
        { what: `list the role assignment schedule instances on '${slashScope(armScope)}'`, action: 'Microsoft.Authorization/roleAssignmentScheduleInstances/read', scope: slashScope(armScope) },
        async () => {
          const out: ScheduleInstance[] = [];
          const options = principalId ? { filter: `assignedTo(${odataString(principalId)})` } : {};
          for await (const i of auth(armScope).roleAssignmentScheduleInstances.listForScope(bareScope(armScope), options)) {
            if (!i.originRoleAssignmentId || !i.principalId || !i.roleDefinitionId) continue;
            out.push({
              roleAssignmentId: i.originRoleAssignmentId,
              scope: slashScope(i.scope ?? armScope),
              roleDefinitionId: i.roleDefinitionId,
              principalId: i.principalId,
              ...(i.startDateTime ? { startsAt: new Date(i.startDateTime).toISOString() } : {}),
              ...(i.endDateTime ? { endsAt: new Date(i.endDateTime).toISOString() } : {}),
            });
          }
          return out;
        },
      ),
    getScheduleRequest: (armScope, name) =>
      read('roleAssignmentScheduleRequests.get', schedCtx(armScope, 'read', name), async () => toSchedule(await auth(armScope).roleAssignmentScheduleRequests.get(bareScope(armScope), name), name)),
  };

  const clusters: ClusterPort = {
    async getClusterFacts(cluster: PolicyCluster): Promise<ClusterFacts> {
      const ctx: AzureCallContext = {
        what: `read the AKS cluster '${cluster.aksName}' in resource group '${cluster.resourceGroup}'`,
        action: 'Microsoft.ContainerService/managedClusters/read',
        scope: `/subscriptions/${cluster.subscriptionId}/resourceGroups/${cluster.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster.aksName}`,
      };
      const mc = await read('managedClusters.get', ctx, () => aks(cluster.subscriptionId).managedClusters.get(cluster.resourceGroup, cluster.aksName));
      if (!mc) {
        throw new TerminalError(
          `Azure: the AKS cluster '${cluster.aksName}' was not found in resource group '${cluster.resourceGroup}' of subscription '${cluster.subscriptionId}'. Check the cluster '${cluster.name}' in the policy.`,
          'ClusterNotFound',
        );
      }
      const oidcIssuerEnabled = mc.oidcIssuerProfile?.enabled === true;
      return {
        name: cluster.name,
        oidcIssuerEnabled,
        // Verbatim: the federated credential must match it byte for byte (AKS ends it with '/').
        issuerUrl: oidcIssuerEnabled ? (mc.oidcIssuerProfile?.issuerURL ?? '') : '',
        workloadIdentityEnabled: mc.securityProfile?.workloadIdentity?.enabled === true,
        ...(mc.identity?.type ? { identityType: mc.identity.type } : {}),
        podIdentityEnabled: mc.podIdentityProfile?.enabled === true,
      };
    },
  };

  const subscriptions: SubscriptionPort = {
    listSubscriptions: () =>
      call('subscriptions.list', { what: 'list the subscriptions', action: 'Microsoft.Resources/subscriptions/read', scope: '/' }, async () => {
        // No SDK for Microsoft.Resources here: any client's pipeline brings the token, retry and pacing policies.
        const client = msi(NO_SUBSCRIPTION);
        const out: Array<{ subscriptionId: string; displayName?: string }> = [];
        let url: string | undefined = `${endpoint}/subscriptions?api-version=2022-12-01`;
        while (url) {
          const res = await client.sendRequest(createPipelineRequest({ url, method: 'GET' }));
          const body = JSON.parse(res.bodyAsText || '{}') as { value?: Array<{ subscriptionId?: string; displayName?: string }>; nextLink?: string; error?: { code?: string; message?: string } };
          if (res.status !== 200) {
            throw new RestError(body.error?.message ?? `HTTP ${res.status}`, { statusCode: res.status, ...(body.error?.code ? { code: body.error.code } : {}), request: res.request, response: res });
          }
          for (const v of body.value ?? []) if (v.subscriptionId) out.push({ subscriptionId: v.subscriptionId, ...(v.displayName ? { displayName: v.displayName } : {}) });
          url = body.nextLink || undefined;
        }
        return out;
      }),
  };

  const scopes: ScopePort = {
    async getScope(armScope) {
      const { id, apiVersion } = scopeRequest(armScope);
      const found = await read('scopes.get', { what: `read '${id}'`, action: 'Microsoft.Resources/subscriptions/resources/read', scope: id }, async () => {
        const res = await msi(parseArmId(id).subscriptionId ?? NO_SUBSCRIPTION).sendRequest(createPipelineRequest({ url: `${endpoint}${id}?api-version=${apiVersion}`, method: 'GET' }));
        if (res.status === 200) return true;
        const body = JSON.parse(res.bodyAsText || '{}') as { error?: { code?: string; message?: string } };
        throw new RestError(body.error?.message ?? `HTTP ${res.status}`, { statusCode: res.status, ...(body.error?.code ? { code: body.error.code } : {}), request: res.request, response: res });
      });
      return { exists: found === true, checked: id };
    },
  };

  return { identities, authorization, schedules, clusters, subscriptions, scopes, ...(readPacer ? { readPacer } : {}) };
}
