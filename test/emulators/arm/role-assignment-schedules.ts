/**
 * Microsoft.Authorization/roleAssignmentScheduleRequests and roleAssignmentScheduleInstances (api-version
 * 2020-10-01; Privileged Identity Management for Azure resources), with the rules Azure documents and answers:
 *
 *   PUT {scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{guid}
 *     requestType AdminAssign: a schedule and its active role assignment (visible in the roleAssignments list;
 *       the schedule instance names it as originRoleAssignmentId). The emulator's clock removes the assignment
 *       when `scheduleInfo.expiration` says (AfterDuration: start + ISO 8601 duration; AfterDateTime: endDateTime).
 *     requestType AdminRemove: the active assignment of that principal, role and scope goes at once.
 *     requestType AdminUpdate ("for administrators to change existing role assignments"): the schedule of the
 *       active assignment of that principal, role and scope now ends as the request's scheduleInfo says; the
 *       assignment itself stays (same name, same start). AdminExtend, Azure's "extend expiring assignments", is
 *       not emulated: wid-bot moves an end that is not about to come, so it sends AdminUpdate.
 *   GET  …/roleAssignmentScheduleRequests/{guid}, GET …/roleAssignmentScheduleInstances (list for a scope).
 *
 * Refusals, as Azure words them: a duration under 5 minutes → 400 ActiveDurationTooShort; no expiration, or one
 * past the role's policy maximum (180 days for active assignments, Azure's default rule) → 400
 * RoleAssignmentRequestPolicyValidationFailed naming ["ExpirationRule"]; an assignment of that principal, role and
 * scope already there → 409 RoleAssignmentExists; AdminRemove or AdminUpdate with none → 400 RoleAssignmentDoesNotExist; a request
 * name used before → 409 RoleAssignmentRequestExists. Body shapes follow the examples in
 * test/fixtures/reference/azure/authorization-pim/.
 */
import { randomUUID } from 'node:crypto';
import { bodyObject, page, propertiesOf, type ArmCall, type ArmContext } from './context';
import { ArmError, type ArmResponse } from './errors';
import { isGuid, normaliseScope, roleAssignmentId, roleDefinitionGuid, sameScope, scopeContains } from './ids';
import { findRoleByGuid } from './role-definitions';
import type { ArmState, RoleAssignmentRecord, RoleAssignmentScheduleRecord, RoleAssignmentScheduleRequestRecord } from './state';

/** Azure's minimum for an active assignment made through a schedule request. */
export const MIN_ACTIVE_SECONDS = 5 * 60;
/** The default role management policy's maximum for active assignments (Expiration_Admin_Assignment: P180D). */
export const MAX_ACTIVE_SECONDS = 180 * 86_400;

const REQUEST_TYPES = ['AdminAssign', 'AdminRemove', 'AdminUpdate', 'AdminExtend', 'AdminRenew', 'SelfActivate', 'SelfDeactivate', 'SelfExtend', 'SelfRenew'];
const EMULATED_REQUEST_TYPES = ['AdminAssign', 'AdminRemove', 'AdminUpdate'];

/** ISO 8601 duration (`PT8H`, `P1DT2H30M`, `PT300S`) in seconds; undefined when it is not one. */
export function isoDurationSeconds(text: string): number | undefined {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim() === 'PT') return undefined;
  const [, d, h, mi, s] = m;
  return Number(d ?? 0) * 86_400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0);
}

const now = (ctx: ArmContext): number => ctx.clock?.() ?? Date.now();

function requestId(scope: string, name: string): string {
  const s = normaliseScope(scope);
  return `${s === '/' ? '' : s}/providers/Microsoft.Authorization/RoleAssignmentScheduleRequests/${name}`;
}

function scheduleId(scope: string, name: string): string {
  const s = normaliseScope(scope);
  return `${s === '/' ? '' : s}/providers/Microsoft.Authorization/RoleAssignmentSchedules/${name}`;
}

function instanceId(scope: string, name: string): string {
  const s = normaliseScope(scope);
  return `${s === '/' ? '' : s}/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/${name}`;
}

function expanded(ctx: ArmContext, r: { scope: string; roleDefinitionId: string; principalId: string; principalType: string }): unknown {
  const role = findRoleByGuid(roleDefinitionGuid(r.roleDefinitionId) ?? '');
  const sub = /^\/subscriptions\/([^/]+)$/i.exec(r.scope)?.[1];
  const rg = /\/resourceGroups\/([^/]+)$/i.exec(r.scope)?.[1];
  return {
    scope: { id: r.scope, displayName: sub ? (ctx.state.getSubscription(sub)?.displayName ?? sub) : (rg ?? r.scope.split('/').pop() ?? r.scope), type: sub ? 'subscription' : rg ? 'resourcegroup' : 'resource' },
    roleDefinition: { id: r.roleDefinitionId, displayName: role?.roleName ?? '', type: 'BuiltInRole' },
    principal: { id: r.principalId, displayName: r.principalId, type: r.principalType },
  };
}

export function scheduleRequestBody(ctx: ArmContext, r: RoleAssignmentScheduleRequestRecord): unknown {
  return {
    properties: {
      targetRoleAssignmentScheduleId: r.targetRoleAssignmentScheduleId,
      targetRoleAssignmentScheduleInstanceId: null,
      scope: r.scope,
      roleDefinitionId: r.roleDefinitionId,
      principalId: r.principalId,
      principalType: r.principalType,
      requestType: r.requestType,
      status: r.status,
      approvalId: null,
      scheduleInfo: { startDateTime: r.startDateTime, expiration: r.expiration },
      ticketInfo: { ticketNumber: null, ticketSystem: null },
      justification: r.justification,
      requestorId: r.requestorId,
      createdOn: new Date(r.createdAt).toISOString(),
      condition: null,
      conditionVersion: null,
      expandedProperties: expanded(ctx, r),
    },
    name: r.name,
    id: requestId(r.scope, r.name),
    type: 'Microsoft.Authorization/RoleAssignmentScheduleRequests',
  };
}

function instanceBody(ctx: ArmContext, s: RoleAssignmentScheduleRecord): unknown {
  const name = s.roleAssignmentName as string;
  return {
    properties: {
      originRoleAssignmentId: roleAssignmentId(s.scope, name),
      assignmentType: 'Assigned',
      scope: s.scope,
      roleDefinitionId: s.roleDefinitionId,
      principalId: s.principalId,
      principalType: s.principalType,
      status: 'Provisioned',
      roleAssignmentScheduleId: scheduleId(s.scope, s.name),
      startDateTime: new Date(s.startMs).toISOString(),
      endDateTime: s.endMs !== undefined ? new Date(s.endMs).toISOString() : null,
      memberType: 'Direct',
      createdOn: new Date(s.createdAt).toISOString(),
      condition: null,
      conditionVersion: null,
      expandedProperties: expanded(ctx, s),
    },
    name,
    id: instanceId(s.scope, name),
    type: 'Microsoft.Authorization/RoleAssignmentScheduleInstances',
  };
}

/** Removes every active assignment whose schedule has ended by the emulator's clock; returns how many went. */
export function sweepSchedules(state: ArmState, at: number): number {
  let n = 0;
  for (const s of state.schedules.values()) {
    if (s.roleAssignmentName === undefined || s.endMs === undefined || s.endMs > at) continue;
    state.removeRoleAssignment(s.roleAssignmentName);
    s.roleAssignmentName = undefined;
    s.ended = { at, by: 'expiration' };
    n++;
  }
  return n;
}

function str(props: Record<string, unknown>, key: string): string | undefined {
  const v = props[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: 'properties.${key}' must be a string.`);
  return v;
}

function activeAssignment(state: ArmState, scope: string, principalId: string, roleGuid: string): RoleAssignmentRecord | undefined {
  return state
    .roleAssignmentRecords()
    .find((r) => sameScope(r.scope, scope) && r.principalId.toLowerCase() === principalId.toLowerCase() && roleDefinitionGuid(r.roleDefinitionId) === roleGuid);
}

/** The end of a schedule, in ms, from its scheduleInfo; throws what Azure answers for an expiration it refuses. */
function endOf(start: number, expiration: RoleAssignmentScheduleRequestRecord['expiration']): number {
  const policyFailed = () => new ArmError(400, 'RoleAssignmentRequestPolicyValidationFailed', 'The following policy rules failed: ["ExpirationRule"]');
  let end: number;
  if (expiration.type === 'NoExpiration') throw policyFailed();
  if (expiration.type === 'AfterDuration') {
    if (expiration.duration === null) throw policyFailed();
    const seconds = isoDurationSeconds(expiration.duration);
    if (seconds === undefined) {
      throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: 'scheduleInfo.expiration.duration' '${expiration.duration}' is not an ISO 8601 duration such as PT8H.`);
    }
    end = start + seconds * 1000;
  } else {
    const t = expiration.endDateTime === null ? NaN : Date.parse(expiration.endDateTime);
    if (!Number.isFinite(t)) throw policyFailed();
    end = t;
  }
  if (end - start < MIN_ACTIVE_SECONDS * 1000) throw new ArmError(400, 'ActiveDurationTooShort', 'The Active duration is too short. Miniumum Required is 5 minutes.');
  if (end - start > MAX_ACTIVE_SECONDS * 1000) throw policyFailed();
  return end;
}

export function putScheduleRequest(ctx: ArmContext, scope: string, name: string, call: ArmCall): ArmResponse {
  const s = normaliseScope(scope);
  const at = now(ctx);
  sweepSchedules(ctx.state, at);
  if (!isGuid(name)) throw new ArmError(400, 'InvalidRoleAssignmentScheduleRequestId', `The role assignment schedule request ID '${name}' is not valid. The ID must be a GUID.`);
  if (ctx.state.scheduleRequests.has(name.toLowerCase())) {
    throw new ArmError(409, 'RoleAssignmentRequestExists', `The role assignment request with ID '${name}' already exists.`);
  }
  const props = propertiesOf(bodyObject(call.body));
  const principalId = str(props, 'principalId');
  const roleDefinitionId = str(props, 'roleDefinitionId');
  const requestType = str(props, 'requestType');
  if (!principalId || !roleDefinitionId || !requestType) {
    throw new ArmError(400, 'InvalidRequestContent', "The request content was invalid and could not be deserialized: 'properties.principalId', 'properties.roleDefinitionId' and 'properties.requestType' are required.");
  }
  if (!REQUEST_TYPES.includes(requestType)) {
    throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: requestType '${requestType}' is not one of ${REQUEST_TYPES.join(', ')}.`);
  }
  if (!EMULATED_REQUEST_TYPES.includes(requestType)) throw new ArmError(400, 'NotEmulated', `requestType '${requestType}' is not part of the emulated surface (AdminAssign, AdminUpdate and AdminRemove are).`);
  const roleGuid = roleDefinitionGuid(roleDefinitionId);
  if (!roleGuid || !findRoleByGuid(roleGuid)) throw new ArmError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${roleGuid ?? roleDefinitionId}' does not exist.`);
  if (!isGuid(principalId)) throw new ArmError(400, 'InvalidPrincipalId', 'A valid principal ID must be provided for role assignment.');
  const principal = ctx.state.lookupPrincipal(principalId);
  if (!principal || at - principal.createdAt < ctx.principalReplicationDelayMs) {
    throw new ArmError(400, 'PrincipalNotFound', `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${ctx.state.tenantId}.`);
  }
  const info = (typeof props.scheduleInfo === 'object' && props.scheduleInfo !== null ? props.scheduleInfo : {}) as Record<string, unknown>;
  const exp = (typeof info.expiration === 'object' && info.expiration !== null ? info.expiration : {}) as Record<string, unknown>;
  const startText = str(info, 'startDateTime');
  const start = startText === undefined ? at : Date.parse(startText);
  if (!Number.isFinite(start)) throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: 'scheduleInfo.startDateTime' '${startText}' is not a date-time.`);
  const expiration = { type: str(exp, 'type') ?? 'NoExpiration', endDateTime: str(exp, 'endDateTime') ?? null, duration: str(exp, 'duration') ?? null };
  if (!['AfterDuration', 'AfterDateTime', 'NoExpiration'].includes(expiration.type)) {
    throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: expiration type '${expiration.type}' is not one of AfterDuration, AfterDateTime, NoExpiration.`);
  }
  const caller = call.callerObjectId ?? '00000000-0000-0000-0000-000000000000';
  const active = activeAssignment(ctx.state, s, principalId, roleGuid);
  const rec: RoleAssignmentScheduleRequestRecord = {
    name,
    scope: s,
    roleDefinitionId,
    principalId,
    principalType: principal.type,
    requestType,
    status: 'Provisioned',
    startDateTime: new Date(start).toISOString(),
    expiration,
    justification: str(props, 'justification') ?? null,
    requestorId: caller,
    createdAt: at,
    targetRoleAssignmentScheduleId: '',
  };
  if (requestType === 'AdminAssign') {
    if (start > at + 60_000) throw new ArmError(400, 'NotEmulated', 'A schedule that starts in the future is not part of the emulated surface; leave startDateTime out or set it to now.');
    const end = endOf(start, expiration);
    if (active) throw new ArmError(409, 'RoleAssignmentExists', 'The Role assignment already exists.');
    const assignmentName = randomUUID();
    const schedule: RoleAssignmentScheduleRecord = { name: randomUUID(), scope: s, roleDefinitionId, principalId, principalType: principal.type, requestName: name, startMs: start, endMs: end, roleAssignmentName: assignmentName, createdAt: at };
    ctx.state.insertRoleAssignment({ name: assignmentName, scope: s, roleDefinitionId, principalId, principalType: principal.type, createdAt: at, updatedAt: at, createdBy: caller, updatedBy: caller });
    ctx.state.schedules.set(schedule.name.toLowerCase(), schedule);
    rec.targetRoleAssignmentScheduleId = schedule.name;
  } else if (requestType === 'AdminUpdate') {
    if (!active) throw new ArmError(400, 'RoleAssignmentDoesNotExist', 'The Role assignment does not exist.');
    const schedule = [...ctx.state.schedules.values()].find((x) => x.roleAssignmentName?.toLowerCase() === active.name.toLowerCase());
    if (!schedule) throw new ArmError(400, 'NotEmulated', 'AdminUpdate of an assignment no schedule request made is not part of the emulated surface.');
    schedule.endMs = endOf(start, expiration);
    rec.targetRoleAssignmentScheduleId = schedule.name;
  } else {
    if (!active) throw new ArmError(400, 'RoleAssignmentDoesNotExist', 'The Role assignment does not exist.');
    ctx.state.removeRoleAssignment(active.name);
    const schedule = [...ctx.state.schedules.values()].find((x) => x.roleAssignmentName?.toLowerCase() === active.name.toLowerCase());
    if (schedule) {
      schedule.roleAssignmentName = undefined;
      schedule.ended = { at, by: 'AdminRemove' };
    }
    rec.targetRoleAssignmentScheduleId = schedule?.name ?? active.name;
    rec.status = 'Revoked';
  }
  ctx.state.scheduleRequests.set(name.toLowerCase(), rec);
  return { status: 201, body: scheduleRequestBody(ctx, rec) };
}

export function getScheduleRequest(ctx: ArmContext, scope: string, name: string): ArmResponse {
  const r = ctx.state.scheduleRequests.get(name.toLowerCase());
  if (!r || !sameScope(r.scope, scope)) throw new ArmError(404, 'RoleAssignmentScheduleRequestNotFound', `The role assignment schedule request '${name}' is not found.`);
  return { status: 200, body: scheduleRequestBody(ctx, r) };
}

/** Active schedule instances at or above the scope (and below it without atScope()); `assignedTo('{id}')` / `principalId eq '{id}'`. */
export function listScheduleInstances(ctx: ArmContext, scope: string, call: ArmCall): ArmResponse {
  sweepSchedules(ctx.state, now(ctx));
  const s = normaliseScope(scope);
  const filter = call.query['$filter'];
  let principal: string | undefined;
  let atScope = false;
  for (const clause of (filter ?? '').split(/\s+and\s+/i).map((c) => c.trim()).filter(Boolean)) {
    let m: RegExpExecArray | null;
    if (/^atScope\(\)$/i.test(clause)) atScope = true;
    else if ((m = /^(?:principalId\s+eq\s+'([^']*)'|assignedTo\('([^']*)'\))$/i.exec(clause))) principal = m[1] ?? m[2];
    else throw new ArmError(400, 'UnsupportedQuery', `The filter '${filter}' is not supported. Supported filters are atScope(), principalId eq '{value}' and assignedTo('{value}').`);
  }
  const items = [...ctx.state.schedules.values()]
    .filter((x) => x.roleAssignmentName !== undefined)
    .filter((x) => scopeContains(x.scope, s) || (!atScope && scopeContains(s, x.scope)))
    .filter((x) => principal === undefined || x.principalId.toLowerCase() === principal.toLowerCase())
    .map((x) => instanceBody(ctx, x));
  return { status: 200, body: page(ctx, call, items, ctx.pageSize) };
}
