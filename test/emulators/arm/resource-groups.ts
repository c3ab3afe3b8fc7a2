/**
 * Microsoft.Resources: subscriptions (list, get) and resource groups (GET, HEAD 204/404, PUT 201/200,
 * PATCH tags, list), in the shapes `az account list`, `az group show|exists|create|list` read.
 */
import { bodyObject, page, type ArmCall, type ArmContext } from './context';
import { ArmError, type ArmResponse } from './errors';
import type { ResourceGroupRecord, SubscriptionConfig } from './state';

export const RESOURCE_GROUP_TYPE = 'Microsoft.Resources/resourceGroups';

/** ARM's rule for resource group names: 1–90 letters, digits, `_ - . ( )`, not ending in a period. */
const GROUP_NAME = /^[-\w._()]{1,90}$/u;

export function subscriptionNotFound(subscriptionId: string): ArmError {
  return new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`);
}

export function resourceGroupNotFound(name: string): ArmError {
  return new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
}

function subscriptionBody(ctx: ArmContext, s: SubscriptionConfig): unknown {
  return {
    id: `/subscriptions/${s.subscriptionId}`,
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    subscriptionId: s.subscriptionId,
    tenantId: ctx.state.tenantId,
    displayName: s.displayName ?? `Subscription ${s.subscriptionId.slice(0, 8)}`,
    state: s.state ?? 'Enabled',
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
    tags: { ...(s.tags ?? {}) },
  };
}

export function listSubscriptions(ctx: ArmContext, call: ArmCall): ArmResponse {
  const items = ctx.state.subscriptions().map((s) => subscriptionBody(ctx, s));
  const body: Record<string, unknown> = page(ctx, call, items, ctx.pageSize);
  // `count` came with 2020-01-01.
  if ((call.query['api-version'] ?? '') >= '2020-01-01') body.count = { type: 'Total', value: items.length };
  return { status: 200, body };
}

export function getSubscription(ctx: ArmContext, subscriptionId: string): ArmResponse {
  const s = ctx.state.getSubscription(subscriptionId);
  if (!s) throw subscriptionNotFound(subscriptionId);
  return { status: 200, body: subscriptionBody(ctx, s) };
}

export function resourceGroupBody(subscriptionId: string, g: ResourceGroupRecord): unknown {
  const body: Record<string, unknown> = {
    id: `/subscriptions/${g.subscriptionId ?? subscriptionId}/resourceGroups/${g.name}`,
    name: g.name,
    type: RESOURCE_GROUP_TYPE,
    location: g.location,
    properties: { provisioningState: 'Succeeded' },
  };
  // ARM leaves `tags` out of a group that never had any.
  if (Object.keys(g.tags).length > 0) body.tags = { ...g.tags };
  return body;
}

function requireGroup(ctx: ArmContext, subscriptionId: string, name: string): ResourceGroupRecord {
  const g = ctx.state.getResourceGroup(subscriptionId, name);
  if (!g) throw resourceGroupNotFound(name);
  return g;
}

function tagsOf(body: Record<string, unknown>): Record<string, string> | undefined {
  const tags = body.tags;
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== 'object' || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
    throw new ArmError(400, 'InvalidRequestContent', "The request content was invalid and could not be deserialized: 'tags' must be an object of strings.");
  }
  return { ...(tags as Record<string, string>) };
}

export function getResourceGroup(ctx: ArmContext, subscriptionId: string, name: string): ArmResponse {
  return { status: 200, body: resourceGroupBody(subscriptionId, requireGroup(ctx, subscriptionId, name)) };
}

/** HEAD (`az group exists`): 204 when it exists, 404 without a body when not. */
export function checkResourceGroup(ctx: ArmContext, subscriptionId: string, name: string): ArmResponse {
  return { status: ctx.state.resourceGroupExists(subscriptionId, name) ? 204 : 404 };
}

export function putResourceGroup(ctx: ArmContext, subscriptionId: string, name: string, call: ArmCall): ArmResponse {
  const body = bodyObject(call.body);
  if (!GROUP_NAME.test(name) || name.endsWith('.')) {
    throw new ArmError(
      400,
      'InvalidResourceGroupName',
      `Resource group name '${name}' is invalid. It can contain only letters, digits, underscores, hyphens, periods and parentheses, must be 1 to 90 characters long and cannot end with a period.`,
    );
  }
  const location = body.location;
  if (typeof location !== 'string' || location.trim() === '') {
    throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  }
  const tags = tagsOf(body) ?? {};
  const existing = ctx.state.getResourceGroup(subscriptionId, name);
  if (existing && existing.location.toLowerCase() !== location.toLowerCase()) {
    throw new ArmError(409, 'InvalidResourceGroupLocation', `Invalid resource group location '${location}'. The Resource group already exists in location '${existing.location}'.`);
  }
  const rec = ctx.state.putResourceGroup({ subscriptionId, name, location: existing?.location ?? location, tags });
  return { status: existing ? 200 : 201, body: resourceGroupBody(subscriptionId, rec) };
}

/** PATCH replaces the tags when given and keeps the rest. */
export function patchResourceGroup(ctx: ArmContext, subscriptionId: string, name: string, call: ArmCall): ArmResponse {
  const body = bodyObject(call.body);
  const g = requireGroup(ctx, subscriptionId, name);
  const tags = tagsOf(body);
  const rec = ctx.state.putResourceGroup({ subscriptionId, name: g.name, location: g.location, tags: tags ?? g.tags });
  return { status: 200, body: resourceGroupBody(subscriptionId, rec) };
}

export function listResourceGroups(ctx: ArmContext, call: ArmCall, subscriptionId: string): ArmResponse {
  const items = ctx.state.listResourceGroups(subscriptionId).map((g) => resourceGroupBody(subscriptionId, g));
  return { status: 200, body: page(ctx, call, items, ctx.pageSize) };
}
