/**
 * Who may decide a request: non-approvers, the requester, the same approver twice on a two-approval
 * role and 50 racing clicks. Exactly one outcome, at most one job, and Azure sees nothing unless an
 * authorised decision approved the request (the worker runs, so a wrong approval would provision).
 */
import { ACTION, CALLBACK, DENY_BLOCK, INPUT_ACTION } from '../../src/slack/ids';
import type { WidRequest } from '../../src/domain/types';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, type Harness } from '../e2e/harness';
import { report, resourcesOf, sleep, worldWrites } from './support';

const { requester: ALICE, approver: BOB, admin: CAROL, outsider: DAVE } = WORLD.users;
const CONTRIBUTOR = `Contributor --scope /subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}`;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: true, world: { slack: { rateLimits: false } } });
  h.world.slack.addUser({ id: DAVE, name: 'dave', realName: 'Dave Outsider' });
});
afterAll(async () => {
  await h?.close();
});

async function requestAs(user: string, text: string): Promise<string> {
  const before = h.world.slack.ephemerals(user).length;
  expect((await h.wid(user, text)).status).toBe(200);
  for (let i = 0; i < 400; i++) {
    const hit = h.world.slack.ephemerals(user).slice(before).map((e) => `${e.text} ${JSON.stringify(e.blocks)}`).find((t) => requestIdIn(t));
    if (hit) return requestIdIn(hit) as string;
    await sleep(25);
  }
  throw new Error(`no request id for ${text}`);
}

function denySubmission(user: string, id: string, i: number) {
  const m = h.approvalMessage(id);
  return h.slack.viewSubmission({
    userId: user,
    view: {
      id: `V0AUTH${String(i).padStart(5, '0')}`,
      callback_id: CALLBACK.denyModal,
      private_metadata: JSON.stringify({ requestId: id, channel: m.channel, ts: m.ts }),
      state: { values: { [DENY_BLOCK.reason]: { [INPUT_ACTION]: { type: 'plain_text_input', value: `no ${i}` } } } },
    },
  });
}

async function jobsFor(id: string): Promise<number> {
  const jobs = await h.queues.provision.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
  return jobs.filter((j) => j.data.requestId === id).length;
}

async function settled(id: string): Promise<WidRequest> {
  return h.waitForRequest(id, (r) => ['succeeded', 'failed', 'denied'].includes(r.state), 30_000);
}

test("non-approver and requester clicks (approve, deny, retry) change nothing and provision nothing", async () => {
  const id = await requestAs(ALICE, 'request finance authz-self Key Vault Secrets User --reason mine');
  const before = await h.store.get(id);
  const writes = worldWrites(h.world);
  const clicks = [
    h.click(DAVE, ACTION.approve, id),
    h.click(ALICE, ACTION.approve, id),
    h.click(DAVE, ACTION.deny, id),
    h.click(DAVE, ACTION.retry, id),
    h.click(ALICE, ACTION.retry, id),
    denySubmission(DAVE, id, 1),
    denySubmission(ALICE, id, 2),
  ];
  const answers = await Promise.all(clicks);
  await sleep(1000);
  const after = await h.store.get(id);
  const history = await h.store.history(id);
  const jobs = await jobsFor(id);
  const w = worldWrites(h.world);
  const res = resourcesOf(h.world, 'authz-self');
  report(`unauthorised clicks ${clicks.length}, state ${after?.state}, transitions ${history.length - 1}, jobs ${jobs}, azure writes ${w.arm - writes.arm}, identities ${res.identities.length}`);
  expect(answers.every((a) => a.status === 200)).toBe(true);
  expect(after?.state).toBe('pending');
  expect(after?.approvals).toEqual([]);
  expect(after?.updatedAt).toBe(before?.updatedAt);
  expect(history).toHaveLength(1);
  expect(jobs).toBe(0);
  expect(w.arm - writes.arm).toBe(0);
  expect(res.identities).toHaveLength(0);
  // the deny form never opened for someone who may not deny
  expect(h.world.slack.views().filter((v) => v.user === DAVE)).toHaveLength(0);
});

test('the same approver 25 times at once on a two-approval role: one approval, still pending, nothing provisioned; a second approver completes it', async () => {
  const id = await requestAs(ALICE, `request finance authz-twice ${CONTRIBUTOR} --reason deploy`);
  expect((await h.store.get(id))?.plan.approvalsRequired).toBe(2);
  const writes = worldWrites(h.world);
  await Promise.all(Array.from({ length: 25 }, () => h.click(BOB, ACTION.approve, id)));
  await sleep(1000);
  const mid = await h.store.get(id);
  const jobsMid = await jobsFor(id);
  const armMid = worldWrites(h.world).arm - writes.arm;
  report(`same approver clicks 25, approvals ${mid?.approvals.length}, state ${mid?.state}, jobs ${jobsMid}, azure writes ${armMid}`);
  expect(mid?.state).toBe('pending');
  expect(mid?.approvals.map((a) => a.actor.id)).toEqual([BOB]);
  expect(jobsMid).toBe(0);
  expect(armMid).toBe(0);

  await h.click(CAROL, ACTION.approve, id);
  const done = await settled(id);
  const res = resourcesOf(h.world, 'authz-twice');
  report(`second approver: approvals ${done.approvals.length}, state ${done.state}, jobs ${await jobsFor(id)}, identities ${res.identities.length}, role assignments ${res.roleAssignments.length}`);
  expect(done.state).toBe('succeeded');
  expect(done.approvals.map((a) => a.actor.id)).toEqual([BOB, CAROL]);
  expect(await jobsFor(id)).toBe(1);
  expect([res.identities.length, res.roleAssignments.length, res.fics.length]).toEqual([1, 1, 1]);
});

test.each([
  ['one-approval role', 'authz-race-one', 'Key Vault Secrets User'],
  ['two-approval role', 'authz-race-two', CONTRIBUTOR],
])('50 parallel approve/deny clicks from approvers, the requester and an outsider on a %s: exactly one outcome, at most one job, one of each resource or none', async (_label, sa, role) => {
  const id = await requestAs(ALICE, `request finance ${sa} ${role} --reason race`);
  const clickers = [BOB, CAROL, DAVE, ALICE];
  const clicks = Array.from({ length: 50 }, (_, i) => {
    const user = clickers[i % clickers.length] as string;
    return i % 3 === 2 ? denySubmission(user, id, 100 + i) : h.click(user, ACTION.approve, id);
  });
  const answers = await Promise.all(clicks);
  const final = await h.waitForRequest(id, (r) => r.state !== 'pending', 10_000).then(() => settled(id));
  await sleep(500);
  const history = await h.store.history(id);
  const outcomes = history.filter((e) => e.from === 'pending' && e.to !== 'pending');
  const jobs = await jobsFor(id);
  const res = resourcesOf(h.world, sa);
  const actors = new Set(history.map((e) => e.actor?.id).filter((a) => a !== undefined));
  report(`clicks 50 (${clickers.length} users), outcomes ${outcomes.length} (${final.state}), approvals ${final.approvals.length}, jobs ${jobs}, identities ${res.identities.length}, role assignments ${res.roleAssignments.length}, FICs ${res.fics.length}`);
  expect(answers.every((a) => a.status === 200)).toBe(true);
  expect(outcomes).toHaveLength(1);
  expect(jobs).toBeLessThanOrEqual(1);
  // nobody but an approver decided anything
  expect(actors.has(DAVE)).toBe(false);
  expect(final.approvals.every((a) => a.actor.id === BOB || a.actor.id === CAROL)).toBe(true);
  expect(new Set(final.approvals.map((a) => a.actor.id)).size).toBe(final.approvals.length);
  if (final.state === 'denied') {
    expect(jobs).toBe(0);
    expect(res.identities).toHaveLength(0);
  } else {
    expect(final.state).toBe('succeeded');
    expect(jobs).toBe(1);
    expect([res.identities.length, res.roleAssignments.length, res.fics.length, res.serviceAccounts]).toEqual([1, 1, 1, 1]);
  }
});
