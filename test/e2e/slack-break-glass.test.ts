/**
 * Break-glass end to end: off by default (no button on the confirmation or in the Home tab, a forged click or
 * form refused and nothing changes); on for a namespace: the requester approves their own request with a
 * reason through the form, capped at the rule's duration, provisioning queued, the approvers alerted with
 * Revoke, the approval message and history marked; never for a two-approver role.
 */
import { ACTION, BREAK_GLASS_BLOCK, CALLBACK, INPUT_ACTION } from '../../src/slack/ids';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;

async function requestAs(h: Harness, cmd: string): Promise<{ id: string; confirmation: string; ts: string }> {
  const before = h.world.slack.ephemerals(ALICE).length;
  await h.wid(ALICE, cmd);
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const e = h.world.slack.ephemerals(ALICE).slice(before).find((x) => requestIdIn(`${x.text} ${JSON.stringify(x.blocks)}`));
    if (e) return { id: requestIdIn(`${e.text} ${JSON.stringify(e.blocks)}`) as string, confirmation: JSON.stringify(e.blocks), ts: e.ts };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request id for ${cmd}`);
}

const reason = (value: string) => ({ values: { [BREAK_GLASS_BLOCK.reason]: { [INPUT_ACTION]: { type: 'plain_text_input', value } } } });

describe('break-glass off (the default)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  test('the option is not shown, and a forged click or form is refused', async () => {
    await h.slack.openHome(ALICE);
    const { id, confirmation, ts } = await requestAs(h, 'request finance glass-off-sa Key Vault Secrets User --reason x');
    expect(confirmation).toContain(ACTION.withdraw);
    expect(confirmation).not.toContain(ACTION.breakGlass);
    const until = Date.now() + 10_000;
    while (Date.now() < until && !JSON.stringify(h.world.slack.home(ALICE)?.view.blocks ?? []).includes(id)) await new Promise((r) => setTimeout(r, 25));
    const home = JSON.stringify(h.world.slack.home(ALICE)?.view.blocks);
    expect(home).toContain(id);
    expect(home).not.toContain(ACTION.breakGlass);

    // a click on a button that was never shown
    await h.slack.blockAction({ userId: ALICE, actionId: ACTION.breakGlass, value: id, message: { channel: WORLD.requestsChannel, ts, ephemeral: true } });
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('Break-glass is not enabled'));
    expect(h.world.slack.views().filter((v) => v.view.callback_id === CALLBACK.breakGlassModal)).toEqual([]);
    // a forged form submission
    const forged = await h.slack.viewSubmission({ userId: ALICE, view: { callback_id: CALLBACK.breakGlassModal, private_metadata: JSON.stringify({ requestId: id }), state: reason('prod is down') } });
    expect(forged.body).toEqual({ response_action: 'errors', errors: { [BREAK_GLASS_BLOCK.reason]: expect.stringContaining('Break-glass is not enabled') } });
    const r = await h.store.get(id);
    expect(r?.state).toBe('pending');
    expect(r?.approvals).toEqual([]);
    expect(await h.provisionJobs()).toBe(0);
  });
});

describe('break-glass on for a namespace (maxDuration 1h)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ world: { policy: { breakGlass: 'namespace: { maxDuration: 1h }' } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('the requester approves her own request with a reason; capped, queued, alerted, marked', async () => {
    const { id, confirmation, ts } = await requestAs(h, 'request finance glass-on-sa Key Vault Secrets User --reason incident');
    expect(confirmation).toContain(ACTION.breakGlass);
    await h.slack.blockAction({ userId: ALICE, actionId: ACTION.breakGlass, value: id, message: { channel: WORLD.requestsChannel, ts, ephemeral: true } });
    const opened = await h.world.slack.waitFor((e) => e.kind === 'view_open' && e.user === ALICE, 5000, { since: 0 });
    expect(JSON.stringify(opened.view)).toContain('at most *1h*');
    // the reason is mandatory
    const empty = await h.slack.viewSubmission({ userId: ALICE, view: { id: opened.viewId as string, callback_id: CALLBACK.breakGlassModal, state: reason('  ') } });
    expect(empty.body).toEqual({ response_action: 'errors', errors: { [BREAK_GLASS_BLOCK.reason]: expect.stringContaining('needs a reason') } });
    expect((await h.store.get(id))?.state).toBe('pending');

    const ok = await h.slack.viewSubmission({ userId: ALICE, view: { id: opened.viewId as string, callback_id: CALLBACK.breakGlassModal, state: reason('payments are failing') } });
    expect(ok.status).toBe(200);
    const r = await h.waitForRequest(id, (x) => x.state === 'approved');
    expect(r.durationSeconds).toBe(3600);
    expect(r.approvals.map((a) => a.actor.id)).toEqual([ALICE]);
    expect(r.breakGlass).toMatchObject({ reason: 'payments are failing', maxDurationSeconds: 3600 });
    const history = await h.store.history(id);
    expect(history[history.length - 1]).toMatchObject({ from: 'pending', to: 'approved', actor: { id: ALICE }, reason: 'break-glass: payments are failing' });
    expect((await h.queues.provision.getJob(id))?.data).toEqual({ requestId: id, action: 'grant' });

    // the approvers hear at once, with Revoke
    const alert = await h.world.slack.waitFor((e) => e.kind === 'post' && e.channel === h.world.slack.dmChannel(BOB) && (e.text ?? '').includes('Break-glass'), 5000, { since: 0 });
    expect(JSON.stringify(alert.blocks)).toContain(ACTION.grantDone);
    expect(JSON.stringify(alert.blocks)).toContain('payments are failing');
    const thread = h.world.slack.replies(WORLD.approvalsChannel, h.approvalMessage(id).ts);
    expect(thread.some((m) => m.text.includes('Break-glass'))).toBe(true);
    const until = Date.now() + 5000;
    while (Date.now() < until && !JSON.stringify(h.approvalMessage(id).blocks).includes('Break-glass')) await new Promise((res) => setTimeout(res, 25));
    const message = JSON.stringify(h.approvalMessage(id).blocks);
    expect(message).toContain('Break-glass');
    expect(message).not.toContain(ACTION.approve);
  });

  test('never for a role that needs two approvers', async () => {
    const { id, confirmation } = await requestAs(h, `request finance glass-two-sa Contributor --scope /subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup} --reason big`);
    expect(confirmation).not.toContain(ACTION.breakGlass);
    const forged = await h.slack.viewSubmission({ userId: ALICE, view: { callback_id: CALLBACK.breakGlassModal, private_metadata: JSON.stringify({ requestId: id }), state: reason('please') } });
    expect(forged.body).toMatchObject({ response_action: 'errors' });
    expect((await h.store.get(id))?.state).toBe('pending');
  });

  test('nobody but the requester can break glass', async () => {
    const { id } = await requestAs(h, 'request finance glass-bob-sa Key Vault Secrets User --reason x');
    const forged = await h.slack.viewSubmission({ userId: BOB, view: { callback_id: CALLBACK.breakGlassModal, private_metadata: JSON.stringify({ requestId: id }), state: reason('mine now') } });
    expect(forged.body).toEqual({ response_action: 'errors', errors: { [BREAK_GLASS_BLOCK.reason]: expect.stringContaining('Only the requester') } });
    expect((await h.store.get(id))?.state).toBe('pending');
  });
});
