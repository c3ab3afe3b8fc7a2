/**
 * expiry: azure end to end: a signed `/wid request … --for 10m` → approval → the worker makes the assignment through
 * Azure's own schedule (AdminAssign, PT10M) → the result in Slack; Azure's clock passes the end and the emulator
 * removes the assignment by itself; wid-bot's check afterwards records that Azure removed it.
 */
import { scheduleRequestName } from '../../src/domain/azure-schedule';
import { endGrant } from '../../src/grants/end';
import { ACTION } from '../../src/slack/ids';
import { storageScope, WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;
let h: Harness;
let offsetMs = 0;

beforeAll(async () => {
  h = await startHarness({ worker: true, world: { policy: { azureExpiry: true } } });
  h.world.arm.configure({ clock: () => Date.now() + offsetMs });
}, 60_000);
afterAll(async () => {
  await h?.close();
});

test('a --for 10m grant of an expiry: azure role is made by Azure\'s schedule, removed by Azure at its end, and recorded so', async () => {
  const sent = await h.wid(ALICE, `request finance reports-sa Storage Blob Data Reader --scope ${storageScope()} --for 10m`);
  expect(sent.status).toBe(200);
  const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval'))) as string;
  expect((await h.click(BOB, ACTION.approve, id)).status).toBe(200);
  const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 30_000);
  expect(done.failure).toBeUndefined();

  const req = h.world.arm.state.scheduleRequests.get(scheduleRequestName('assign', id));
  expect(req).toMatchObject({ requestType: 'AdminAssign', status: 'Provisioned', expiration: { type: 'AfterDuration' } });
  expect(done.steps.find((s) => s.step === 'roleAssignment')?.detail).toMatch(/by Azure's own schedule/);
  const identity = h.world.arm.state.identities().find((i) => i.name === done.plan.identity.name);
  const held = () => h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId);
  expect(held()).toHaveLength(1);
  // the result reaches Slack
  await h.world.slack.waitFor((e) => e.kind === 'update' && (e.text ?? '').includes(id) && (e.text ?? '').includes('Done'), 10_000);

  offsetMs = 10 * 60_000 + 2000;
  h.world.arm.sweepSchedules();
  expect(held()).toHaveLength(0);
  const worker = h.worker;
  if (!worker) throw new Error('no worker');
  const g = (await worker.grants.service.store.get(id))?.grant;
  const out = await endGrant(id, { ...worker.grants.deps, now: () => new Date(Date.parse(g?.endsAt as string) + 6 * 60_000) });
  expect(out.kind).toBe('ended');
  if (out.kind === 'ended') expect(out.grant.end).toMatchObject({ reason: 'expired', assignmentRemoved: true, removedBy: 'azure' });
}, 60_000);
