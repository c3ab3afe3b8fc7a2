/**
 * expiry: azure — the grant's assignment is made through roleAssignmentScheduleRequests (AdminAssign, AfterDuration),
 * so Azure removes it at its end even with wid-bot gone; wid-bot's own end runs as a check and records who removed
 * it; an early end sends AdminRemove. Against the ARM emulator's schedules, through the real adapters and worker.
 * The emulator's clock is moved forward instead of waiting out Azure's 5-minute minimum.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAzureAdapters } from '../../../src/azure';
import { scheduleRequestName } from '../../../src/domain/azure-schedule';
import type { Grant } from '../../../src/domain/grants';
import { evaluateRequest } from '../../../src/domain/policy';
import type { Policy, WidRequest } from '../../../src/domain/types';
import { endGrant } from '../../../src/grants/end';
import { RedisGrantStore } from '../../../src/grants/store';
import type { WidQueues } from '../../../src/queue';
import type { RunningWorker } from '../../../src/worker';
import { storageScope } from '../../emulators/world';
import { armRequest } from '../../emulators/arm/raw-client';
import { queuesFor, startHarness, startWorker, waitFor, workerConfig, worldFor, type Harness } from '../provision/harness';

jest.setTimeout(60_000);

const ROLE = 'Storage Blob Data Reader';
const GRACE_MS = 1500;
let h: Harness;
let queues: WidQueues;
let grants: RedisGrantStore;
let policy: Policy;
let offsetMs = 0;

beforeAll(async () => {
  h = await startHarness();
  queues = await queuesFor(h);
  grants = new RedisGrantStore(h.store.redis, h.store.keys);
  policy = { ...h.policy, roles: h.policy.roles.map((r) => (r.name === ROLE ? { ...r, expiry: 'azure' as const } : r)) };
  h.world.arm.configure({ clock: () => Date.now() + offsetMs });
});
afterAll(async () => {
  h.world.arm.configure({ clock: () => Date.now() });
  await queues.close();
  await h.close();
});
afterEach(() => {
  offsetMs = 0;
});

async function withWorker<T>(fn: (w: RunningWorker) => Promise<T>): Promise<T> {
  const w = await startWorker(workerConfig(h, { policy, grants: { reconcileIntervalMs: 60_000, backoffBaseMs: 100, endAttempts: 3, limits: { azureGraceMs: GRACE_MS } } }));
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

async function provisioned(sa: string, seconds: number): Promise<WidRequest> {
  const r = await h.approvedGrant(sa, { roleName: ROLE, scope: storageScope(), mutatePlan: (p) => void (p.durationSeconds = seconds) });
  await queues.enqueueProvision(r.id, 'grant');
  return waitFor(`request ${r.id} to succeed`, async () => {
    const x = await h.store.get(r.id);
    if (x?.state === 'failed') throw new Error(`request failed: ${x.failure?.reason}`);
    return x?.state === 'succeeded' ? x : undefined;
  });
}

const grantOf = async (id: string): Promise<Grant> => (await grants.get(id))?.grant as Grant;

test('the assignment comes from an AdminAssign schedule request; Azure removes it at its end; wid-bot\'s check records that Azure did', async () => {
  await withWorker(async (w) => {
    const r = await provisioned('azure-expiry', 600);
    const g = await grantOf(r.id);
    expect(g.expiry).toBe('azure');
    const req = h.world.arm.state.scheduleRequests.get(scheduleRequestName('assign', r.id));
    expect(req).toMatchObject({ requestType: 'AdminAssign', status: 'Provisioned', expiration: { type: 'AfterDuration', endDateTime: null } });
    expect(['PT10M', 'PT9M59S', 'PT9M58S']).toContain(req?.expiration.duration);
    expect(req?.justification).toBe(`wid-bot ${r.id}; ends ${g.endsAt}`);
    const [ra] = worldFor(h.world, r).roleAssignments;
    expect(ra).toBeDefined();
    expect(r.resources.roleAssignmentId?.toLowerCase()).toBe(ra?.id.toLowerCase());
    // the schedule instance names the active assignment it made
    const schedule = [...h.world.arm.state.schedules.values()].find((s) => s.requestName === req?.name);
    expect(schedule?.roleAssignmentName).toBe(ra?.name);

    // Azure's clock passes the end: the emulator removes the assignment by itself
    offsetMs = 601_000;
    expect(h.world.arm.sweepSchedules()).toBe(1);
    expect(worldFor(h.world, r).roleAssignments).toHaveLength(0);
    expect(schedule?.ended?.by).toBe('expiration');

    // wid-bot's own end, before Azure's grace is over, leaves it to Azure
    const early = await endGrant(r.id, { ...w.grants.deps, now: () => new Date(Date.parse(g.endsAt as string) + 100) });
    expect(early.kind).toBe('not-due');
    // after the grace: the check finds it gone and records that Azure removed it
    const later = await endGrant(r.id, { ...w.grants.deps, now: () => new Date(Date.parse(g.endsAt as string) + GRACE_MS + 100) });
    expect(later.kind).toBe('ended');
    const e = await grantOf(r.id);
    expect(e.end).toMatchObject({ reason: 'expired', assignmentRemoved: true, removedBy: 'azure' });
    expect(e.end?.notes?.join(' ')).toMatch(/Azure's own schedule removed/);
    expect([...h.world.arm.state.scheduleRequests.values()].filter((x) => x.requestType === 'AdminRemove' && x.justification?.includes(r.id))).toHaveLength(0);
  });
});

test('"I\'m done" before the end sends AdminRemove: the assignment goes at once and the record says wid-bot removed it', async () => {
  await withWorker(async (w) => {
    const r = await provisioned('azure-done', 900);
    expect(worldFor(h.world, r).roleAssignments).toHaveLength(1);
    const asked = await w.grants.service.askEnd(r.id, { reason: 'done', actor: { id: r.requester.id }, actorIsRequester: true });
    expect(asked.ok).toBe(true);
    const e = await waitFor('the grant to end', async () => {
      const g = await grantOf(r.id);
      return g.state === 'ended' ? g : undefined;
    }, 20_000);
    expect(e.end).toMatchObject({ reason: 'done', assignmentRemoved: true, removedBy: 'wid-bot' });
    expect(worldFor(h.world, r).roleAssignments).toHaveLength(0);
    expect(h.world.arm.state.scheduleRequests.get(scheduleRequestName('remove', r.id))).toMatchObject({ requestType: 'AdminRemove', status: 'Revoked' });
  });
});

test('Azure late past the grace: wid-bot\'s check removes the assignment itself and says so', async () => {
  await withWorker(async (w) => {
    const r = await provisioned('azure-late', 600);
    const g = await grantOf(r.id);
    const out = await endGrant(r.id, { ...w.grants.deps, now: () => new Date(Date.parse(g.endsAt as string) + GRACE_MS + 100) });
    expect(out.kind).toBe('ended');
    const e = await grantOf(r.id);
    expect(e.end).toMatchObject({ reason: 'expired', assignmentRemoved: true, removedBy: 'wid-bot' });
    expect(e.end?.notes?.join(' ')).toMatch(/had not removed/);
    expect(worldFor(h.world, r).roleAssignments).toHaveLength(0);
  });
});

test('a grant under Azure\'s schedule cannot be extended, and --for under 5 minutes is refused at request time', async () => {
  const r0 = await withWorker(async (w) => {
    const r = await provisioned('azure-extend', 600);
    const x = await w.grants.service.extend(r.id, { id: r.requester.id }, 600);
    expect(x.ok).toBe(false);
    if (!x.ok) expect(x.message).toMatch(/Azure's own schedule ends grant/);
    return r;
  });
  const refused = evaluateRequest(policy, {
    requester: { id: r0.requester.id },
    requesterGroups: [],
    command: { verb: 'request', namespace: 'finance', serviceAccount: 'short', roleName: ROLE, scope: storageScope(), durationSeconds: 120 },
  });
  expect(refused.ok).toBe(false);
  if (!refused.ok) expect(refused.error.message).toMatch(/shorter than the 5m Azure's own schedule allows/);
});

describe('the ARM emulator answers roleAssignmentScheduleRequests as Azure does', () => {
  const credential = { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const fixture = (name: string) => JSON.parse(readFileSync(join(__dirname, '../../fixtures/reference/azure/authorization-pim', name), 'utf8'));

  test('the 201 body has the shape of Azure\'s example; too short, duplicate, and remove-without-assignment are refused', async () => {
    const azure = createAzureAdapters({ credential, resourceManagerUrl: h.world.arm.url, tlsCa: h.world.tls.certPem, retry: { maxRetries: 0 } });
    const identity = h.world.arm.state.seedIdentity({ subscriptionId: h.policy.identities.subscriptionId, resourceGroup: h.policy.identities.resourceGroup, name: 'pim-probe', createdAt: 0 });
    const scope = storageScope();
    const roleDefinitionId = (await azure.authorization.findRoleDefinitionId(scope, ROLE)) as string;

    // the raw wire answer carries the example's properties
    const base = `${scope}/providers/Microsoft.Authorization`;
    const put = await armRequest(h.world.arm.url, h.world.tls.certPem, {
      method: 'PUT',
      path: `${base}/roleAssignmentScheduleRequests/${scheduleRequestName('assign', 'probe')}?api-version=2020-10-01`,
      body: { properties: { principalId: identity.principalId, roleDefinitionId, requestType: 'AdminAssign', scheduleInfo: { expiration: { type: 'AfterDuration', duration: 'PT8H' } } } },
    });
    const example = fixture('PutRoleAssignmentScheduleRequest.json').responses['201'].body;
    const got = put.body as typeof example;
    expect(put.status).toBe(201);
    expect(Object.keys(got.properties).sort()).toEqual(Object.keys(example.properties).sort());
    expect(got.type).toBe(example.type);
    expect(got.properties.scheduleInfo.expiration).toEqual({ type: 'AfterDuration', endDateTime: null, duration: 'PT8H' });
    const instance = fixture('GetRoleAssignmentScheduleInstanceByName.json').responses['200'].body;
    const listed = await armRequest(h.world.arm.url, h.world.tls.certPem, {
      method: 'GET',
      path: `${base}/roleAssignmentScheduleInstances?api-version=2020-10-01&$filter=${encodeURIComponent(`assignedTo('${identity.principalId}')`)}`,
    });
    const items = (listed.body as { value: Array<{ name: string; properties: Record<string, unknown>; type: string }> }).value;
    expect(items).toHaveLength(1);
    for (const k of Object.keys(instance.properties).filter((k) => !k.startsWith('linkedRoleEligibility'))) expect(items[0]?.properties).toHaveProperty(k);
    expect(items[0]?.type).toBe(instance.type);
    // the instance's originRoleAssignmentId is the assignment the roleAssignments list shows
    const [active] = await azure.authorization.listRoleAssignments(scope, identity.principalId);
    expect(String(items[0]?.properties.originRoleAssignmentId).toLowerCase()).toBe(active?.id.toLowerCase());

    // through the adapter: the errors Azure gives, translated for people
    await expect(azure.schedules.assignWithSchedule(scope, scheduleRequestName('assign', 'probe-dup'), roleDefinitionId, identity.principalId, 3600)).rejects.toMatchObject({ code: 'RoleAssignmentExists' });
    await expect(azure.schedules.assignWithSchedule(scope, scheduleRequestName('assign', 'probe'), roleDefinitionId, identity.principalId, 3600)).rejects.toMatchObject({ code: 'RoleAssignmentRequestExists' });
    const other = h.world.arm.state.seedIdentity({ subscriptionId: h.policy.identities.subscriptionId, resourceGroup: h.policy.identities.resourceGroup, name: 'pim-probe-2', createdAt: 0 });
    await expect(azure.schedules.assignWithSchedule(scope, scheduleRequestName('assign', 'probe-short'), roleDefinitionId, other.principalId, 120)).rejects.toMatchObject({ code: 'ActiveDurationTooShort' });
    await expect(azure.schedules.assignWithSchedule(scope, scheduleRequestName('assign', 'probe-long'), roleDefinitionId, other.principalId, 200 * 86_400)).rejects.toMatchObject({ code: 'RoleAssignmentRequestPolicyValidationFailed' });
    await expect(azure.schedules.removeWithSchedule(scope, scheduleRequestName('remove', 'probe-none'), roleDefinitionId, other.principalId)).rejects.toMatchObject({ code: 'RoleAssignmentDoesNotExist' });
    const removed = await azure.schedules.removeWithSchedule(scope, scheduleRequestName('remove', 'probe'), roleDefinitionId, identity.principalId);
    expect(removed).toMatchObject({ requestType: 'AdminRemove', status: 'Revoked' });
    expect(await azure.authorization.listRoleAssignments(scope, identity.principalId)).toHaveLength(0);
  });
});
