/**
 * Microsoft.Authorization/roleAssignments at any scope: PUT, GET, DELETE, list for a scope with
 * `$filter` (principalId eq, assignedTo, atScope()). ARM's rules: the name is a GUID; a name is never
 * reused for another principal/role/scope (400 RoleAssignmentUpdateNotPermitted); one assignment per
 * principal+role+scope (409 RoleAssignmentExists); a principal the directory does not show yet
 * (unknown, or younger than the replication delay) fails with 400 PrincipalNotFound unless the
 * request names its `principalType`. From 2020-03-01-preview on, answers carry the audit fields
 * (createdOn/updatedOn as ISO times, createdBy/updatedBy as the caller's object id) and
 * description/condition/conditionVersion (null when not set), as the service returns them.
 */
import { bodyObject, page, propertiesOf, type ArmCall, type ArmContext } from './context';
import { ArmError, type ArmResponse } from './errors';
import { isGuid, normaliseScope, roleAssignmentId, roleDefinitionGuid, sameScope, scopeContains } from './ids';
import { findRoleByGuid } from './role-definitions';
import type { PrincipalType, RoleAssignmentRecord } from './state';

const PRINCIPAL_TYPES: readonly PrincipalType[] = ['User', 'Group', 'ServicePrincipal', 'ForeignGroup', 'Device'];

/** The first api-version whose answers carry condition, description and the created/updated fields. */
const AUDITED_SINCE = '2020-03-01-preview';

export function roleAssignmentBody(r: RoleAssignmentRecord, apiVersion: string): unknown {
  const properties: Record<string, unknown> = {
    roleDefinitionId: r.roleDefinitionId,
    principalId: r.principalId,
    principalType: r.principalType,
    scope: r.scope,
  };
  if (apiVersion.toLowerCase() >= AUDITED_SINCE) {
    Object.assign(properties, {
      condition: r.condition ?? null,
      conditionVersion: r.conditionVersion ?? null,
      createdOn: new Date(r.createdAt).toISOString(),
      updatedOn: new Date(r.updatedAt).toISOString(),
      createdBy: r.createdBy,
      updatedBy: r.updatedBy,
      delegatedManagedIdentityResourceId: null,
      description: r.description ?? null,
    });
  }
  return {
    properties,
    id: roleAssignmentId(r.scope, r.name),
    type: 'Microsoft.Authorization/roleAssignments',
    name: r.name,
  };
}

function optionalString(props: Record<string, unknown>, key: string): string | undefined {
  const v = props[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: 'properties.${key}' must be a string.`);
  }
  return v;
}

/** description, condition and conditionVersion as sent; a condition without a version is version 2.0. */
function annotations(props: Record<string, unknown>): Pick<RoleAssignmentRecord, 'description' | 'condition' | 'conditionVersion'> {
  const description = optionalString(props, 'description');
  const condition = optionalString(props, 'condition');
  const conditionVersion = optionalString(props, 'conditionVersion');
  if (conditionVersion !== undefined && condition === undefined) {
    throw new ArmError(400, 'InvalidRoleAssignmentRequest', "The role assignment has a 'conditionVersion' but no 'condition'. Send both, or neither.");
  }
  if (conditionVersion !== undefined && conditionVersion !== '2.0') {
    throw new ArmError(400, 'InvalidConditionVersion', `The condition version '${conditionVersion}' is not supported. The supported condition version is '2.0'.`);
  }
  return {
    ...(description !== undefined ? { description } : {}),
    ...(condition !== undefined ? { condition, conditionVersion: conditionVersion ?? '2.0' } : {}),
  };
}

function hex(guid: string): string {
  return guid.replace(/-/g, '').toLowerCase();
}

export function putRoleAssignment(ctx: ArmContext, scope: string, name: string, call: ArmCall): ArmResponse {
  const s = normaliseScope(scope);
  if (!isGuid(name)) {
    throw new ArmError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`);
  }
  const props = propertiesOf(bodyObject(call.body));
  const { roleDefinitionId, principalId, principalType } = props;
  if (typeof roleDefinitionId !== 'string' || typeof principalId !== 'string' || roleDefinitionId === '' || principalId === '') {
    throw new ArmError(400, 'InvalidRequestContent', "The request content was invalid and could not be deserialized: 'properties.roleDefinitionId' and 'properties.principalId' are required.");
  }
  if (principalType !== undefined && principalType !== null && !PRINCIPAL_TYPES.includes(principalType as PrincipalType)) {
    throw new ArmError(400, 'InvalidPrincipalType', `The principal type '${String(principalType)}' is not valid. Valid principal types are ${PRINCIPAL_TYPES.join(', ')}.`);
  }
  const roleGuid = roleDefinitionGuid(roleDefinitionId);
  if (!roleGuid || !findRoleByGuid(roleGuid)) {
    throw new ArmError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${roleGuid ?? roleDefinitionId}' does not exist.`);
  }
  if (!isGuid(principalId)) {
    throw new ArmError(400, 'InvalidPrincipalId', 'A valid principal ID must be provided for role assignment.');
  }
  const notes = annotations(props);
  const apiVersion = call.query['api-version'] ?? '';
  const caller = call.callerObjectId ?? '00000000-0000-0000-0000-000000000000';

  const existing = ctx.state.getRoleAssignment(name);
  if (existing) {
    const same =
      sameScope(existing.scope, s) &&
      existing.principalId.toLowerCase() === principalId.toLowerCase() &&
      roleDefinitionGuid(existing.roleDefinitionId) === roleGuid;
    if (!same) {
      throw new ArmError(400, 'RoleAssignmentUpdateNotPermitted', 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.');
    }
    // Description and condition may change; what the assignment grants may not.
    const changed = existing.description !== notes.description || existing.condition !== notes.condition || existing.conditionVersion !== notes.conditionVersion;
    if (changed) {
      existing.description = notes.description;
      existing.condition = notes.condition;
      existing.conditionVersion = notes.conditionVersion;
      existing.updatedAt = Date.now();
      existing.updatedBy = caller;
    }
    return { status: 200, body: roleAssignmentBody(existing, apiVersion) };
  }

  const duplicate = ctx.state
    .roleAssignmentRecords()
    .find((r) => sameScope(r.scope, s) && r.principalId.toLowerCase() === principalId.toLowerCase() && roleDefinitionGuid(r.roleDefinitionId) === roleGuid);
  if (duplicate) {
    throw new ArmError(409, 'RoleAssignmentExists', `The role assignment already exists. The ID of the existing role assignment is ${hex(duplicate.name)}.`);
  }

  const principal = ctx.state.lookupPrincipal(principalId);
  const typeGiven = typeof principalType === 'string';
  if (!typeGiven) {
    const visible = principal !== undefined && Date.now() - principal.createdAt >= ctx.principalReplicationDelayMs;
    if (!visible) {
      throw new ArmError(
        400,
        'PrincipalNotFound',
        `Principal ${hex(principalId)} does not exist in the directory ${ctx.state.tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
      );
    }
  } else if (principal && principal.type !== principalType) {
    throw new ArmError(
      400,
      'UnmatchedPrincipalType',
      `The PrincipalId '${hex(principalId)}' has type '${principal.type}' , which is different from specified PrincipalType '${String(principalType)}'.`,
    );
  }

  const now = Date.now();
  const rec: RoleAssignmentRecord = {
    name,
    scope: s,
    roleDefinitionId,
    principalId,
    principalType: typeGiven ? (principalType as string) : (principal?.type ?? 'ServicePrincipal'),
    createdAt: now,
    updatedAt: now,
    createdBy: caller,
    updatedBy: caller,
    ...notes,
  };
  ctx.state.insertRoleAssignment(rec);
  return { status: 201, body: roleAssignmentBody(rec, apiVersion) };
}

function requireAtScope(ctx: ArmContext, scope: string, name: string): RoleAssignmentRecord | undefined {
  const r = ctx.state.getRoleAssignment(name);
  return r && sameScope(r.scope, scope) ? r : undefined;
}

export function getRoleAssignment(ctx: ArmContext, scope: string, name: string, call: ArmCall): ArmResponse {
  const r = requireAtScope(ctx, scope, name);
  if (!r) throw new ArmError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`);
  return { status: 200, body: roleAssignmentBody(r, call.query['api-version'] ?? '') };
}

export function deleteRoleAssignment(ctx: ArmContext, scope: string, name: string, call: ArmCall): ArmResponse {
  const r = requireAtScope(ctx, scope, name);
  if (!r) return { status: 204 };
  ctx.state.removeRoleAssignment(name);
  return { status: 200, body: roleAssignmentBody(r, call.query['api-version'] ?? '') };
}

interface AssignmentFilter {
  principalId?: string;
  atScope: boolean;
}

function parseFilter(filter: string | undefined): AssignmentFilter {
  const out: AssignmentFilter = { atScope: false };
  if (!filter) return out;
  for (const clause of filter.split(/\s+and\s+/i).map((c) => c.trim())) {
    let m: RegExpExecArray | null;
    if (/^atScope\(\)$/i.test(clause)) out.atScope = true;
    else if ((m = /^principalId\s+eq\s+'([^']*)'$/i.exec(clause)) && m[1] !== undefined) out.principalId = m[1];
    else if ((m = /^assignedTo\('([^']*)'\)$/i.exec(clause)) && m[1] !== undefined) out.principalId = m[1];
    else {
      throw new ArmError(400, 'UnsupportedQuery', `The filter '${filter}' is not supported. Supported filters are atScope(), principalId eq '{value}' and assignedTo('{value}').`);
    }
  }
  return out;
}

/** Assignments that apply at the scope (at it or above) and, without atScope(), those below it too. */
export function listRoleAssignments(ctx: ArmContext, scope: string, call: ArmCall): ArmResponse {
  const s = normaliseScope(scope);
  const f = parseFilter(call.query['$filter']);
  const items = ctx.state
    .roleAssignmentRecords()
    .filter((r) => scopeContains(r.scope, s) || (!f.atScope && scopeContains(s, r.scope)))
    .filter((r) => f.principalId === undefined || r.principalId.toLowerCase() === f.principalId.toLowerCase())
    .map((r) => roleAssignmentBody(r, call.query['api-version'] ?? ''));
  return { status: 200, body: page(ctx, call, items, ctx.pageSize) };
}
