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
import { normaliseScope } from '../../../src/domain/names';
import { scopeSubscription } from '../../../src/domain/scopes';
import type { Grant } from '../../../src/domain/grants';
import { evaluateRequest } from '../../../src/domain/policy';
import type { Policy, WidRequest } from '../../../src/domain/types';
import { grantFindings } from '../../../src/grants/audit';
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

test('a second grant of the same role and scope for the same ServiceAccount shares the assignment: AdminUpdate moves the end to the later one, and the earlier end leaves it', async () => {
  await withWorker(async (w) => {
    const first = await provisioned('azure-shared', 600);
    const second = await provisioned('azure-shared', 1200);
    const g1 = await grantOf(first.id);
    const g2 = await grantOf(second.id);
    expect(g2.expiry).toBe('azure');
    // one assignment for both, under the first grant's schedule; the second moved its end (AdminUpdate), made no second one
    const assignments = worldFor(h.world, first).roleAssignments;
    expect(assignments).toHaveLength(1);
    expect(second.resources.roleAssignmentId?.toLowerCase()).toBe(assignments[0]?.id.toLowerCase());
    expect(h.world.arm.state.scheduleRequests.get(scheduleRequestName('assign', second.id))).toBeUndefined();
    const update = h.world.arm.state.scheduleRequests.get(scheduleRequestName('update', second.id));
    expect(update).toMatchObject({ requestType: 'AdminUpdate', status: 'Provisioned', expiration: { type: 'AfterDateTime' } });
    expect(Date.parse(update?.expiration.endDateTime as string)).toBe(Date.parse(g2.endsAt as string));
    expect(update?.justification).toBe(`wid-bot ${second.id}; ends ${g2.endsAt}`);
    const schedule = [...h.world.arm.state.schedules.values()].find((s) => s.roleAssignmentName === assignments[0]?.name);
    expect(schedule?.endMs).toBe(Date.parse(g2.endsAt as string));
    const step = second.steps.filter((s) => s.step === 'roleAssignment' && s.outcome === 'done').at(-1);
    expect(step?.detail).toMatch(/shared with grant .*AdminUpdate/);

    // the first grant's time runs out: Azure keeps the assignment (its schedule now ends with the second), and
    // wid-bot's end of the first leaves it to the second
    offsetMs = 601_000;
    h.world.arm.sweepSchedules();
    expect(worldFor(h.world, first).roleAssignments).toHaveLength(1);
    const end1 = await endGrant(first.id, { ...w.grants.deps, now: () => new Date(Date.parse(g1.endsAt as string) + GRACE_MS + 100) });
    expect(end1.kind).toBe('ended');
    expect((await grantOf(first.id)).end).toMatchObject({ reason: 'expired', assignmentRemoved: false });
    expect(worldFor(h.world, first).roleAssignments).toHaveLength(1);
    expect([...h.world.arm.state.scheduleRequests.values()].filter((x) => x.requestType === 'AdminRemove' && x.justification?.includes(first.id))).toHaveLength(0);

    // the second grant's end: Azure removes it, wid-bot's check records that
    offsetMs = 1_201_000;
    h.world.arm.sweepSchedules();
    expect(schedule?.ended?.by).toBe('expiration');
    const end2 = await endGrant(second.id, { ...w.grants.deps, now: () => new Date(Date.parse(g2.endsAt as string) + GRACE_MS + 100) });
    expect(end2.kind).toBe('ended');
    expect((await grantOf(second.id)).end).toMatchObject({ reason: 'expired', assignmentRemoved: true, removedBy: 'azure' });
    expect(worldFor(h.world, first).roleAssignments).toHaveLength(0);
  });
});

test('the grant Azure\'s schedule ran to ends early: the schedule moves back to the remaining grant\'s end (AdminUpdate), which Azure then keeps', async () => {
  await withWorker(async (w) => {
    const first = await provisioned('azure-back', 600);
    const second = await provisioned('azure-back', 1800);
    const g1 = await grantOf(first.id);
    const schedule = [...h.world.arm.state.schedules.values()].find((s) => s.requestName === scheduleRequestName('assign', first.id));
    expect(schedule?.endMs).toBe(Date.parse((await grantOf(second.id)).endsAt as string));
    const asked = await w.grants.service.askEnd(second.id, { reason: 'done', actor: { id: second.requester.id }, actorIsRequester: true });
    expect(asked.ok).toBe(true);
    const e = await waitFor('the second grant to end', async () => {
      const g = await grantOf(second.id);
      return g.state === 'ended' ? g : undefined;
    }, 20_000);
    expect(e.end).toMatchObject({ reason: 'done', assignmentRemoved: false });
    expect(e.end?.notes?.join(' ')).toMatch(/moved back from .* to .*AdminUpdate/);
    expect(h.world.arm.state.scheduleRequests.get(scheduleRequestName('shorten', second.id))).toMatchObject({ requestType: 'AdminUpdate', status: 'Provisioned' });
    expect(schedule?.endMs).toBe(Date.parse(g1.endsAt as string));
    expect(worldFor(h.world, first).roleAssignments).toHaveLength(1);
    // Azure's clock passes the first grant's end: Azure removes it on its own
    offsetMs = 601_000;
    h.world.arm.sweepSchedules();
    expect(schedule?.ended?.by).toBe('expiration');
    expect(worldFor(h.world, first).roleAssignments).toHaveLength(0);
  });
});

test('a second grant that ends sooner leaves the schedule as it is (the earlier grant\'s schedule already outlasts it)', async () => {
  await withWorker(async () => {
    const first = await provisioned('azure-shorter', 1200);
    const second = await provisioned('azure-shorter', 600);
    const g1 = await grantOf(first.id);
    expect(worldFor(h.world, first).roleAssignments).toHaveLength(1);
    expect(h.world.arm.state.scheduleRequests.get(scheduleRequestName('update', second.id))).toBeUndefined();
    const schedule = [...h.world.arm.state.schedules.values()].find((s) => s.requestName === scheduleRequestName('assign', first.id));
    // AfterDuration from the moment the request was sent: within a couple of seconds of the grant's end
    expect(Math.abs((schedule?.endMs ?? 0) - Date.parse(g1.endsAt as string))).toBeLessThan(3000);
    expect(second.steps.filter((s) => s.step === 'roleAssignment' && s.outcome === 'done').at(-1)?.detail).toMatch(/already lasts past this grant's end/);
  });
});

test('an assignment no live grant of wid-bot holds (made by hand) is not taken over: the grant fails saying why', async () => {
  await withWorker(async () => {
    // the ServiceAccount's identity exists through a grant of another role; then someone assigns the role by hand
    const other = await h.approvedGrant('azure-byhand');
    await queues.enqueueProvision(other.id, 'grant');
    const first = await waitFor(`request ${other.id} to succeed`, async () => {
      const x = await h.store.get(other.id);
      return x?.state === 'succeeded' ? x : undefined;
    });
    const azure = createAzureAdapters({ credential: { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) }, resourceManagerUrl: h.world.arm.url, tlsCa: h.world.tls.certPem, retry: { maxRetries: 0 } });
    const principalId = first.resources.principalId as string;
    const roleDefinitionId = (await azure.authorization.findRoleDefinitionId(storageScope(), ROLE)) as string;
    await azure.schedules.assignWithSchedule(storageScope(), scheduleRequestName('assign', 'by-hand'), roleDefinitionId, principalId, 3600);
    const r = await h.approvedGrant('azure-byhand', { roleName: ROLE, scope: storageScope(), mutatePlan: (p) => void (p.durationSeconds = 900) });
    await queues.enqueueProvision(r.id, 'grant');
    const failed = await waitFor(`request ${r.id} to fail`, async () => {
      const x = await h.store.get(r.id);
      return x?.state === 'failed' ? x : undefined;
    });
    expect(failed.failure?.reason).toMatch(/already assigned to this identity .* does not take it over/);
    expect(worldFor(h.world, first).roleAssignments).toHaveLength(2);
  });
});

test('wid audit sees the assignments Azure\'s schedule holds: ending within a day (info), past its end and still there (error), with and without the store', async () => {
  await withWorker(async () => {
    const r = await provisioned('azure-audit', 3600);
    const g = await grantOf(r.id);
    const azure = createAzureAdapters({ credential: { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) }, resourceManagerUrl: h.world.arm.url, tlsCa: h.world.tls.certPem, retry: { maxRetries: 0 } });
    const [ra] = worldFor(h.world, r).roleAssignments;
    const base = { policy, identities: azure.identities, authorization: azure.authorization, schedules: azure.schedules };
    const mine = (fs: Awaited<ReturnType<typeof grantFindings>>) => fs.filter((f) => f.subject === `grant/${r.id}` || f.message.includes(ra?.id ?? '-'));

    // Without the store (wid audit with no REDIS_URL): only Azure knows the grant, and says when it ends
    const soon = mine(await grantFindings(base));
    expect(soon).toHaveLength(1);
    expect(soon[0]).toMatchObject({ severity: 'info', code: 'grant-ending-soon' });
    expect(soon[0]?.subject.toLowerCase()).toBe(`schedule/${ra?.id}`.toLowerCase());
    expect(soon[0]?.message).toContain(`'${ROLE}' on`);
    expect(soon[0]?.message).toContain('finance/azure-audit');
    // with the store: the grant reports its own end once, not twice
    const withStore = mine(await grantFindings({ ...base, grants }));
    expect(withStore.map((f) => `${f.severity} ${f.subject}`)).toEqual([`info grant/${r.id}`]);

    // Azure late: the audit's clock is past the end while Azure still lists the assignment
    const late = { now: () => new Date(Date.parse(g.endsAt as string) + 60_000) };
    const pastNoStore = mine(await grantFindings({ ...base, ...late }));
    expect(pastNoStore).toHaveLength(1);
    expect(pastNoStore[0]).toMatchObject({ severity: 'error', code: 'grant-past-end' });
    expect(pastNoStore[0]?.message).toMatch(/Azure's own schedule for .* ended at .* still exists/);
    expect(pastNoStore[0]?.fix.toLowerCase()).toContain(`az role assignment delete --ids ${ra?.id}`.toLowerCase());
    const pastStore = mine(await grantFindings({ ...base, grants, ...late }));
    expect(pastStore.map((f) => `${f.severity} ${f.subject}`)).toEqual([`error grant/${r.id}`]);
    expect(pastStore[0]?.message).toContain(`(grant ${r.id})`);

    // without the schedules adapter the assignment is invisible to the Azure side of the audit (the old blind spot)
    expect(mine(await grantFindings({ policy, identities: azure.identities, authorization: azure.authorization, ...late }))).toEqual([]);
  });
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

  test('AdminUpdate moves the end of an active schedule and keeps its assignment; the instance list says the new end', async () => {
    const azure = createAzureAdapters({ credential, resourceManagerUrl: h.world.arm.url, tlsCa: h.world.tls.certPem, retry: { maxRetries: 0 } });
    const identity = h.world.arm.state.seedIdentity({ subscriptionId: h.policy.identities.subscriptionId, resourceGroup: h.policy.identities.resourceGroup, name: 'pim-update', createdAt: 0 });
    const scope = storageScope();
    const roleDefinitionId = (await azure.authorization.findRoleDefinitionId(scope, ROLE)) as string;
    await expect(azure.schedules.updateSchedule(scope, scheduleRequestName('update', 'u-none'), roleDefinitionId, identity.principalId, new Date(Date.now() + 3_600_000).toISOString())).rejects.toMatchObject({ code: 'RoleAssignmentDoesNotExist' });
    await azure.schedules.assignWithSchedule(scope, scheduleRequestName('assign', 'u'), roleDefinitionId, identity.principalId, 3600);
    const [before] = await azure.schedules.listScheduleInstances(scope, identity.principalId);
    const later = new Date(Date.now() + 7_200_000).toISOString();
    const updated = await azure.schedules.updateSchedule(scope, scheduleRequestName('update', 'u'), roleDefinitionId, identity.principalId, later, 'wid-bot u; later');
    expect(updated).toMatchObject({ requestType: 'AdminUpdate', status: 'Provisioned', endsAt: later });
    const instances = await azure.schedules.listScheduleInstances(scope, identity.principalId);
    expect(instances).toHaveLength(1);
    expect(instances[0]).toMatchObject({ roleAssignmentId: before?.roleAssignmentId, principalId: identity.principalId, endsAt: later, startsAt: before?.startsAt });
    expect(normaliseScope(instances[0]?.scope ?? '')).toBe(normaliseScope(scope));
    // an end under Azure's 5 minutes is refused, as for AdminAssign
    await expect(azure.schedules.updateSchedule(scope, scheduleRequestName('update', 'u-short'), roleDefinitionId, identity.principalId, new Date(Date.now() + 60_000).toISOString())).rejects.toMatchObject({ code: 'ActiveDurationTooShort' });
    // listed from the subscription too (below the scope), and not for another principal
    expect((await azure.schedules.listScheduleInstances(`/subscriptions/${scopeSubscription(scope)}`, identity.principalId)).map((i) => i.roleAssignmentId)).toEqual([before?.roleAssignmentId]);
    expect(await azure.schedules.listScheduleInstances(scope, '00000000-0000-0000-0000-0000000000aa')).toEqual([]);
    await azure.schedules.removeWithSchedule(scope, scheduleRequestName('remove', 'u'), roleDefinitionId, identity.principalId);
    expect(await azure.schedules.listScheduleInstances(scope, identity.principalId)).toEqual([]);
  });
});
