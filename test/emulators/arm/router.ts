/**
 * Maps an ARM path to its resource provider handler, the action it performs (for deny rules and
 * AuthorizationFailed messages), its scope, and its throttling class. Provider and resource-group
 * segments match case-insensitively, as in ARM.
 */
import type { ResourceType } from './api-versions';
import type { ArmCall, ArmContext } from './context';
import { ArmError, type ArmResponse } from './errors';
import * as fic from './federated-credentials';
import * as identities from './identities';
import * as clusters from './managed-clusters';
import * as assignments from './role-assignments';
import * as schedules from './role-assignment-schedules';
import * as groups from './resource-groups';
import * as definitions from './role-definitions';
import type { OperationClass } from './throttle';

export interface Route {
  /** e.g. `Microsoft.Authorization/roleAssignments/write`. */
  action: string;
  /** The resource type whose published api-versions the call must use. */
  resourceType: ResourceType;
  /** The resource id the action is performed over. */
  scope: string;
  /** Subscription for throttling (`tenant` for calls outside any subscription). */
  subscriptionId: string;
  throttle?: OperationClass;
  /** A resource group the route needs to exist. */
  resourceGroup?: string;
  run: () => ArmResponse | Promise<ArmResponse>;
}

const VERB: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'write', DELETE: 'delete' };

function methodNotAllowed(method: string): ArmError {
  return new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
}

function unknownRoute(path: string): ArmError {
  return new ArmError(404, 'InvalidResourceType', `The resource type for the path '${path}' could not be found.`);
}

function authorizationRoute(ctx: ArmContext, call: ArmCall, segs: string[], i: number): Route {
  const scope = '/' + segs.slice(0, i).join('/');
  const kind = segs[i + 2]?.toLowerCase();
  const name = segs[i + 3];
  if (segs.length > i + 4) throw unknownRoute(call.path);
  const subscriptionId = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1] ?? 'tenant';
  const verb = VERB[call.method];
  if (kind === 'roledefinitions') {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    return {
      action: 'Microsoft.Authorization/roleDefinitions/read',
      resourceType: 'Microsoft.Authorization/roleDefinitions',
      scope: name ? call.path : scope,
      subscriptionId,
      throttle: 'read',
      run: () => (name ? definitions.getRoleDefinition(scope, name) : definitions.listRoleDefinitions(scope, call.query['$filter'])),
    };
  }
  if (kind === 'roleassignments') {
    if (!name) {
      if (call.method !== 'GET') throw methodNotAllowed(call.method);
      return {
        action: 'Microsoft.Authorization/roleAssignments/read',
        resourceType: 'Microsoft.Authorization/roleAssignments',
        scope,
        subscriptionId,
        throttle: 'read',
        run: () => assignments.listRoleAssignments(ctx, scope, call),
      };
    }
    if (call.method !== 'GET' && call.method !== 'PUT' && call.method !== 'DELETE') throw methodNotAllowed(call.method);
    return {
      action: `Microsoft.Authorization/roleAssignments/${verb}`,
      resourceType: 'Microsoft.Authorization/roleAssignments',
      scope: call.path,
      subscriptionId,
      throttle: call.method === 'GET' ? 'read' : 'roleAssignmentWrite',
      run: () =>
        call.method === 'PUT'
          ? assignments.putRoleAssignment(ctx, scope, name, call)
          : call.method === 'DELETE'
            ? assignments.deleteRoleAssignment(ctx, scope, name, call)
            : assignments.getRoleAssignment(ctx, scope, name, call),
    };
  }
  if (kind === 'roleassignmentschedulerequests') {
    if (!name) throw methodNotAllowed(call.method);
    if (call.method !== 'GET' && call.method !== 'PUT') throw methodNotAllowed(call.method);
    return {
      action: `Microsoft.Authorization/roleAssignmentScheduleRequests/${verb}`,
      resourceType: 'Microsoft.Authorization/roleAssignmentScheduleRequests',
      scope: call.path,
      subscriptionId,
      throttle: call.method === 'GET' ? 'read' : 'roleAssignmentWrite',
      run: () => (call.method === 'PUT' ? schedules.putScheduleRequest(ctx, scope, name, call) : schedules.getScheduleRequest(ctx, scope, name)),
    };
  }
  if (kind === 'roleassignmentscheduleinstances' && !name) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    return {
      action: 'Microsoft.Authorization/roleAssignmentScheduleInstances/read',
      resourceType: 'Microsoft.Authorization/roleAssignmentScheduleInstances',
      scope,
      subscriptionId,
      throttle: 'read',
      run: () => schedules.listScheduleInstances(ctx, scope, call),
    };
  }
  throw unknownRoute(call.path);
}

/** `/subscriptions/{id}/resourcegroups[/{name}]`. */
function resourceGroupRoute(ctx: ArmContext, call: ArmCall, subscriptionId: string, name: string | undefined): Route {
  const base = { resourceType: 'Microsoft.Resources/resourceGroups' as const, subscriptionId, scope: call.path };
  if (name === undefined) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    return { ...base, action: 'Microsoft.Resources/subscriptions/resourceGroups/read', throttle: 'read', run: () => groups.listResourceGroups(ctx, call, subscriptionId) };
  }
  const run: Record<string, () => ArmResponse> = {
    GET: () => groups.getResourceGroup(ctx, subscriptionId, name),
    HEAD: () => groups.checkResourceGroup(ctx, subscriptionId, name),
    PUT: () => groups.putResourceGroup(ctx, subscriptionId, name, call),
    PATCH: () => groups.patchResourceGroup(ctx, subscriptionId, name, call),
  };
  const handler = run[call.method];
  // Deleting a resource group (a long-running operation in ARM) is not part of the emulated surface.
  if (!handler) throw methodNotAllowed(call.method);
  return {
    ...base,
    action: `Microsoft.Resources/subscriptions/resourceGroups/${VERB[call.method] ?? 'read'}`,
    ...(call.method === 'GET' || call.method === 'HEAD' ? { throttle: 'read' as const } : {}),
    run: handler,
  };
}

/** Resources the emulator knows only as scopes: they exist or not (seedResource), GET answers like ARM. */
const GENERIC_TYPES: Array<{ provider: string; type: string; resourceType: ResourceType }> = [
  { provider: 'microsoft.keyvault', type: 'vaults', resourceType: 'Microsoft.KeyVault/vaults' },
  { provider: 'microsoft.storage', type: 'storageaccounts', resourceType: 'Microsoft.Storage/storageAccounts' },
];

function genericResource(ctx: ArmContext, id: string, type: ResourceType, resourceGroup: string, name: string): ArmResponse {
  const r = ctx.state.getResource(id);
  if (!r) {
    throw new ArmError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
  }
  return { status: 200, body: { id: r.id, name, type, location: r.location, tags: {}, properties: { provisioningState: 'Succeeded' } } };
}

export function resolve(ctx: ArmContext, call: ArmCall): Route {
  const segs = call.path.split('/').filter(Boolean);
  const lc = segs.map((s) => s.toLowerCase());

  // Role definitions and assignments hang off any scope: the last Microsoft.Authorization provider segment splits scope from resource.
  for (let i = lc.length - 2; i >= 0; i--) {
    if (lc[i] === 'providers' && lc[i + 1] === 'microsoft.authorization') return authorizationRoute(ctx, call, segs, i);
  }

  if (lc[0] !== 'subscriptions') throw unknownRoute(call.path);
  const verb = VERB[call.method];
  if (!segs[1]) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    return {
      action: 'Microsoft.Resources/subscriptions/read',
      resourceType: 'Microsoft.Resources/subscriptions',
      scope: '/',
      subscriptionId: 'tenant',
      throttle: 'read',
      run: () => groups.listSubscriptions(ctx, call),
    };
  }
  const subscriptionId = segs[1];
  if (segs.length === 2) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    return {
      action: 'Microsoft.Resources/subscriptions/read',
      resourceType: 'Microsoft.Resources/subscriptions',
      scope: call.path,
      subscriptionId,
      throttle: 'read',
      run: () => groups.getSubscription(ctx, subscriptionId),
    };
  }
  if (lc[2] === 'resourcegroups' && segs.length <= 4) return resourceGroupRoute(ctx, call, subscriptionId, segs[3]);

  if (lc[2] === 'providers' && lc[3] === 'microsoft.managedidentity' && lc[4] === 'userassignedidentities' && segs.length === 5) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    return {
      action: 'Microsoft.ManagedIdentity/userAssignedIdentities/read',
      resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities',
      scope: `/subscriptions/${subscriptionId}`,
      subscriptionId,
      throttle: 'read',
      run: () => identities.listIdentities(ctx, call, subscriptionId),
    };
  }

  if (lc[2] !== 'resourcegroups' || !segs[3] || lc[4] !== 'providers') throw unknownRoute(call.path);
  const resourceGroup = segs[3];

  if (lc[5] === 'microsoft.containerservice' && lc[6] === 'managedclusters' && segs[7] && segs.length === 8) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    const name = segs[7];
    return {
      action: 'Microsoft.ContainerService/managedClusters/read',
      resourceType: 'Microsoft.ContainerService/managedClusters',
      scope: call.path,
      subscriptionId,
      throttle: 'read',
      resourceGroup,
      run: () => clusters.getCluster(ctx, subscriptionId, resourceGroup, name),
    };
  }

  const generic = GENERIC_TYPES.find((t) => t.provider === lc[5] && t.type === lc[6]);
  if (generic && segs[7] && segs.length === 8) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${generic.resourceType}/${segs[7]}`;
    return {
      action: `${generic.resourceType}/read`,
      resourceType: generic.resourceType,
      scope: call.path,
      subscriptionId,
      throttle: 'read',
      resourceGroup,
      run: () => genericResource(ctx, id, generic.resourceType, resourceGroup, segs[7] as string),
    };
  }

  if (lc[5] !== 'microsoft.managedidentity' || lc[6] !== 'userassignedidentities') throw unknownRoute(call.path);

  if (segs.length === 7) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    return {
      action: 'Microsoft.ManagedIdentity/userAssignedIdentities/read',
      resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities',
      scope: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`,
      subscriptionId,
      throttle: 'read',
      resourceGroup,
      run: () => identities.listIdentities(ctx, call, subscriptionId, resourceGroup),
    };
  }

  const identityName = segs[7];
  if (!identityName) throw unknownRoute(call.path);
  const ref = { subscriptionId, resourceGroup, name: identityName };

  if (segs.length === 8) {
    const run: Record<string, () => ArmResponse> = {
      PUT: () => identities.putIdentity(ctx, ref, call),
      PATCH: () => identities.patchIdentity(ctx, ref, call),
      GET: () => identities.getIdentity(ctx, ref),
      DELETE: () => identities.deleteIdentity(ctx, ref),
    };
    const handler = run[call.method];
    if (!handler) throw methodNotAllowed(call.method);
    return {
      action: `Microsoft.ManagedIdentity/userAssignedIdentities/${verb}`,
      resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities',
      scope: call.path,
      subscriptionId,
      throttle: call.method === 'PUT' || call.method === 'PATCH' ? 'identityWrite' : 'read',
      resourceGroup,
      run: handler,
    };
  }

  if (lc[8] !== 'federatedidentitycredentials' || segs.length > 10) throw unknownRoute(call.path);
  const ficName = segs[9];
  if (!ficName) {
    if (call.method !== 'GET') throw methodNotAllowed(call.method);
    return {
      action: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read',
      resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
      scope: call.path,
      subscriptionId,
      throttle: 'read',
      resourceGroup,
      run: () => fic.listFederatedCredentials(ctx, ref, call),
    };
  }
  const run: Record<string, () => ArmResponse | Promise<ArmResponse>> = {
    PUT: () => fic.putFederatedCredential(ctx, ref, ficName, call),
    GET: () => fic.getFederatedCredential(ctx, ref, ficName),
    DELETE: () => fic.deleteFederatedCredential(ctx, ref, ficName),
  };
  const handler = run[call.method];
  if (!handler) throw methodNotAllowed(call.method);
  return {
    action: `Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/${verb}`,
    resourceType: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials',
    scope: call.path,
    subscriptionId,
    throttle: call.method === 'GET' ? 'read' : 'ficWrite',
    resourceGroup,
    run: handler,
  };
}
