/**
 * Expiry and reminders as BullMQ delayed jobs, with the policy's timers shortened to seconds.
 */
import { ACTION } from '../../src/slack/ids';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;

describe('expiry and reminders', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ world: { policy: { requestTtl: '3s', remindAfter: '1s' } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('approvers are reminded in the thread, then the request expires, its message says so and the requester is told', async () => {
    await h.wid(ALICE, 'request finance sleepy-sa Key Vault Secrets User --reason nobody looks');
    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval'))) as string;
    const approval = h.approvalMessage(id);

    const reminder = await h.world.slack.waitFor((e) => e.kind === 'post' && e.threadTs === approval.ts, 6000, { since: 0 });
    expect(JSON.stringify(reminder.blocks)).toContain(`<@${BOB}>`);
    expect(JSON.stringify(reminder.blocks)).toContain(`<@${WORLD.users.admin}>`);
    expect((await h.store.get(id))?.state).toBe('pending');

    const expired = await h.waitForRequest(id, (r) => r.state === 'expired', 10_000);
    expect(expired.state).toBe('expired');
    await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === approval.ts && JSON.stringify(e.blocks).includes('Expired'), 5000, { since: 0 });
    expect(JSON.stringify(h.approvalMessage(id).blocks)).not.toContain(ACTION.approve);
    await h.world.slack.waitFor((e) => e.kind === 'post' && e.channel === h.world.slack.dmChannel(ALICE) && (e.text ?? '').includes('expired'), 5000, { since: 0 });

    // a late click (from a client that still shows the old buttons) changes nothing and says why
    await h.slack.blockAction({ userId: BOB, actionId: ACTION.approve, value: id, message: { channel: approval.channel, ts: approval.ts } });
    await waitForEphemeral(h.world, BOB, (t) => t.includes('expired'));
    expect(await h.store.history(id)).toHaveLength(2);
    expect(await h.provisionJobs()).toBe(0);
  }, 30_000);

  test('an approved request is neither reminded nor expired', async () => {
    await h.wid(ALICE, 'request finance quick-sa Key Vault Secrets User --reason fast');
    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('quick-sa'))) as string;
    await h.click(BOB, ACTION.approve, id);
    await h.waitForRequest(id, (r) => r.state === 'approved');
    await new Promise((r) => setTimeout(r, 4000));
    expect((await h.store.get(id))?.state).toBe('approved');
    const approval = h.approvalMessage(id);
    expect(h.world.slack.replies(approval.channel, approval.ts)).toHaveLength(0);
  }, 30_000);
});
