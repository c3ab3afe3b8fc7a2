/**
 * Microsoft.ManagedIdentity/userAssignedIdentities: PUT (201 create / 200 update), PATCH (tags),
 * GET, DELETE (200 / 204, taking its federated credentials along), list by resource group and by
 * subscription with nextLink paging.
 */
import { randomUUID } from 'node:crypto';
import { bodyObject, page, type ArmCall, type ArmContext } from './context';
import { ArmError, notFound, type ArmResponse } from './errors';
import { identityId } from './ids';
import type { IdentityRecord } from './state';

export const IDENTITY_TYPE = 'Microsoft.ManagedIdentity/userAssignedIdentities';

export interface IdentityRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

const IDENTITY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/;

export function identityBody(rec: IdentityRecord): unknown {
  return {
    id: identityId(rec.subscriptionId, rec.resourceGroup, rec.name),
    location: rec.location,
    name: rec.name,
    properties: {
      clientId: rec.clientId,
      principalId: rec.principalId,
      tenantId: rec.tenantId,
      isolationScope: 'None',
      assignmentRestrictions: { providers: [] },
    },
    tags: { ...rec.tags },
    type: IDENTITY_TYPE,
  };
}

function tagsOf(body: Record<string, unknown>): Record<string, string> {
  const tags = body.tags;
  if (tags === undefined || tags === null) return {};
  if (typeof tags !== 'object' || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) {
    throw new ArmError(400, 'InvalidRequestContent', "The request content was invalid and could not be deserialized: 'tags' must be an object of strings.");
  }
  return { ...(tags as Record<string, string>) };
}

export function requireIdentity(ctx: ArmContext, ref: IdentityRef): IdentityRecord {
  const rec = ctx.state.getIdentity(ref.subscriptionId, ref.resourceGroup, ref.name);
  if (!rec) throw notFound(IDENTITY_TYPE, ref.name, ref.resourceGroup);
  return rec;
}

export function putIdentity(ctx: ArmContext, ref: IdentityRef, call: ArmCall): ArmResponse {
  const body = bodyObject(call.body);
  if (!IDENTITY_NAME.test(ref.name)) {
    throw new ArmError(
      400,
      'InvalidResourceName',
      `Resource name '${ref.name}' is invalid. The name can contain only letters, numbers, underscores and hyphens, must start with a letter or number, and must be between 3 and 128 characters long.`,
    );
  }
  const location = body.location;
  if (typeof location !== 'string' || location.trim() === '') {
    throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  }
  const tags = tagsOf(body);
  const now = Date.now();
  const existing = ctx.state.getIdentity(ref.subscriptionId, ref.resourceGroup, ref.name);
  if (existing) {
    if (existing.location.toLowerCase() !== location.toLowerCase()) {
      throw new ArmError(
        400,
        'InvalidResourceLocation',
        `The resource '${existing.name}' already exists in location '${existing.location}' in resource group '${existing.resourceGroup}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
      );
    }
    existing.tags = tags;
    existing.updatedAt = now;
    return { status: 200, body: identityBody(existing) };
  }
  const rec: IdentityRecord = {
    subscriptionId: ref.subscriptionId,
    resourceGroup: ref.resourceGroup,
    name: ref.name,
    location,
    tags,
    clientId: randomUUID(),
    principalId: randomUUID(),
    tenantId: ctx.state.tenantId,
    createdAt: now,
    updatedAt: now,
    federatedCredentials: new Map(),
  };
  ctx.state.insertIdentity(rec);
  return { status: 201, body: identityBody(rec) };
}

/** PATCH replaces the tags when given (ARM's update semantics) and keeps everything else. */
export function patchIdentity(ctx: ArmContext, ref: IdentityRef, call: ArmCall): ArmResponse {
  const body = bodyObject(call.body);
  const rec = requireIdentity(ctx, ref);
  if ('tags' in body) rec.tags = tagsOf(body);
  rec.updatedAt = Date.now();
  return { status: 200, body: identityBody(rec) };
}

export function getIdentity(ctx: ArmContext, ref: IdentityRef): ArmResponse {
  return { status: 200, body: identityBody(requireIdentity(ctx, ref)) };
}

export function deleteIdentity(ctx: ArmContext, ref: IdentityRef): ArmResponse {
  return { status: ctx.state.removeIdentity(ref.subscriptionId, ref.resourceGroup, ref.name) ? 200 : 204 };
}

export function listIdentities(ctx: ArmContext, call: ArmCall, subscriptionId: string, resourceGroup?: string): ArmResponse {
  const items = ctx.state.listIdentityRecords(subscriptionId, resourceGroup).map(identityBody);
  return { status: 200, body: page(ctx, call, items, ctx.pageSize) };
}
