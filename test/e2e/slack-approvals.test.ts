/**
 * Who may change a request, and that every change happens once: signatures, redeliveries, clicks by
 * the wrong people, two-approval roles, deny with a reason, and 50 racing clicks.
 */
import { ACTION, CALLBACK, DENY_BLOCK, INPUT_ACTION } from '../../src/slack/ids';
import { keyVaultScope, WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB, admin: CAROL, outsider: DAVE } = WORLD.users;

async function requestAs(h: Harness, user: string, text: string): Promise<string> {
  const before = h.world.slack.ephemerals(user).length;
  const sent = await h.wid(user, text);
  expect(sent.status).toBe(200);
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const fresh = h.world.slack.ephemerals(user).slice(before);
    const hit = fresh.map((e) => `${e.text} ${JSON.stringify(e.blocks)}`).find((t) => requestIdIn(t));
    if (hit) return requestIdIn(hit) as string;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request id for ${text}: ${h.world.slack.ephemerals(user).map((e) => e.text).join(' | ')}`);
}

async function settle(ms = 300): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

describe('signatures and redeliveries', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  test.each([
    ['forged', { signature: 'forged' as const }],
    ['unsigned', { signature: 'missing' as const }],
    ['6 minutes old', { timestampOffsetSeconds: -360 }],
  ])('a %s request is refused with 401 and changes nothing', async (_label, opts) => {
    const mark = h.world.slack.mark();
    const sent = await h.slack.slashCommand({ userId: ALICE, text: 'request finance forged-sa Key Vault Secrets User --reason x', channelId: WORLD.requestsChannel }, opts);
    expect(sent.status).toBe(401);
    await settle();
    expect(await h.store.redis.keys(`${h.prefix}:req:*`)).toEqual([]);
    expect(await h.provisionJobs()).toBe(0);
    expect(h.world.slack.events().filter((e) => e.seq > mark)).toEqual([]);
  });

  test('a redelivered command (X-Slack-Retry-Num) is processed once', async () => {
    const first = await h.wid(ALICE, 'request finance retried-sa Key Vault Secrets User --reason redelivery');
    const body = new URLSearchParams(first.payload as Record<string, string>).toString();
    const again = await h.slack.send(body, 'application/x-www-form-urlencoded', { retryNum: 1, retryReason: 'http_timeout' });
    expect(again.status).toBe(200);
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval'));
    await settle(500);
    const messages = h.world.slack.messages(WORLD.approvalsChannel).filter((m) => JSON.stringify(m.blocks).includes('retried-sa'));
    expect(messages).toHaveLength(1);
    expect((await h.store.listByRequester(ALICE)).filter((r) => r.serviceAccount === 'retried-sa')).toHaveLength(1);
  });

  test('a second request for the same ServiceAccount and role is refused with a link to the open one', async () => {
    const id = await requestAs(h, ALICE, 'request finance dup-sa Key Vault Secrets User --reason first');
    await h.wid(ALICE, 'request finance dup-sa key vault secrets user --reason second');
    const answer = await waitForEphemeral(h.world, ALICE, (t) => t.includes('still open'));
    expect(answer).toContain(id);
    const m = h.approvalMessage(id);
    expect(answer).toContain(`/archives/${m.channel}/p${m.ts.replace('.', '')}`);
  });

  test('bad input gets what was wrong and the right form', async () => {
    await h.wid(ALICE, 'request finance');
    const answer = await waitForEphemeral(h.world, ALICE, (t) => t.includes('needs the ServiceAccount'));
    expect(answer).toContain('Usage: /wid request');
    await h.wid(ALICE, 'request kube-system sa Key Vault Secrets User');
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('kube-system'));
    await h.wid(ALICE, 'help');
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('/wid revoke'));
  });
});

describe('approvals', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    h.world.slack.addUser({ id: DAVE, name: 'dave', realName: 'Dave Outsider' });
  });
  afterAll(async () => {
    await h?.close();
  });

  test("a non-approver's click and the requester's own click change nothing", async () => {
    const id = await requestAs(h, ALICE, 'request finance self-sa Key Vault Secrets User --reason mine');
    const before = await h.store.get(id);
    await h.click(DAVE, ACTION.approve, id);
    await waitForEphemeral(h.world, DAVE, (t) => t.includes('not an approver'));
    await h.click(ALICE, ACTION.approve, id);
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('cannot approve your own request'));
    await h.click(DAVE, ACTION.deny, id);
    await waitForEphemeral(h.world, DAVE, (t) => t.includes('Only approvers'));
    await settle();
    const after = await h.store.get(id);
    expect(after?.state).toBe('pending');
    expect(after?.updatedAt).toBe(before?.updatedAt);
    expect(await h.store.history(id)).toHaveLength(1);
    expect(h.world.slack.views().filter((v) => v.user === DAVE)).toHaveLength(0);
    expect(await h.provisionJobs()).toBe(0);
  });

  test('a two-approval role needs two different approvers', async () => {
    const id = await requestAs(h, ALICE, `request finance deploy-sa Contributor --scope /subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup} --reason deploy`);
    await h.click(BOB, ACTION.approve, id);
    await waitForEphemeral(h.world, BOB, (t) => t.includes('1 of 2 approvals'));
    await h.world.slack.waitFor((e) => e.kind === 'update' && JSON.stringify(e.blocks).includes('1 of 2 approvals'), 5000, { since: 0 });
    await h.click(BOB, ACTION.approve, id);
    await waitForEphemeral(h.world, BOB, (t) => t.includes('already approved'));
    await settle();
    const mid = await h.store.get(id);
    expect(mid?.state).toBe('pending');
    expect(mid?.approvals.map((a) => a.actor.id)).toEqual([BOB]);
    expect(await h.provisionJobs()).toBe(0);

    await h.click(CAROL, ACTION.approve, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'approved');
    expect(done.approvals.map((a) => a.actor.id)).toEqual([BOB, CAROL]);
    expect((await h.queues.provision.getJob(id))?.data).toEqual({ requestId: id, action: 'grant' });
  });

  test('deny asks for a reason, then denies and tells the requester', async () => {
    const id = await requestAs(h, ALICE, 'request finance denied-sa Key Vault Secrets User --reason please');
    await h.click(BOB, ACTION.deny, id);
    const opened = await h.world.slack.waitFor((e) => e.kind === 'view_open' && e.user === BOB, 5000, { since: 0 });
    const empty = await h.slack.viewSubmission({ userId: BOB, view: { id: opened.viewId as string, callback_id: CALLBACK.denyModal, state: { values: { [DENY_BLOCK.reason]: { [INPUT_ACTION]: { type: 'plain_text_input', value: '  ' } } } } } });
    expect(empty.body).toEqual({ response_action: 'errors', errors: { [DENY_BLOCK.reason]: expect.stringContaining('Say why') } });
    expect((await h.store.get(id))?.state).toBe('pending');

    const ok = await h.slack.viewSubmission({ userId: BOB, view: { id: opened.viewId as string, callback_id: CALLBACK.denyModal, state: { values: { [DENY_BLOCK.reason]: { [INPUT_ACTION]: { type: 'plain_text_input', value: 'use the shared vault instead' } } } } } });
    expect(ok.status).toBe(200);
    const denied = await h.waitForRequest(id, (r) => r.state === 'denied');
    expect(denied.state).toBe('denied');
    const history = await h.store.history(id);
    expect(history[history.length - 1]).toMatchObject({ from: 'pending', to: 'denied', reason: 'use the shared vault instead', actor: { id: BOB } });
    await h.world.slack.waitFor((e) => e.kind === 'post' && e.channel === h.world.slack.dmChannel(ALICE) && (e.text ?? '').includes('use the shared vault instead'), 5000, { since: 0 });
    const m = h.approvalMessage(id);
    expect(JSON.stringify(m.blocks)).toContain('use the shared vault instead');
    expect(JSON.stringify(m.blocks)).not.toContain(ACTION.approve);
    expect(await h.queues.provision.getJob(id)).toBeUndefined();
  });

  test('50 parallel approve and deny clicks end in exactly one outcome and at most one job', async () => {
    const id = await requestAs(h, ALICE, 'request finance race-sa Key Vault Secrets User --reason race');
    const m = h.approvalMessage(id);
    const jobsBefore = await h.provisionJobs();
    const clicks = Array.from({ length: 50 }, (_, i) => {
      if (i % 2 === 0) return h.slack.blockAction({ userId: i % 4 === 0 ? BOB : CAROL, actionId: ACTION.approve, message: { channel: m.channel, ts: m.ts } });
      return h.slack.viewSubmission({
        userId: i % 4 === 1 ? BOB : CAROL,
        view: {
          callback_id: CALLBACK.denyModal,
          private_metadata: JSON.stringify({ requestId: id, channel: m.channel, ts: m.ts }),
          state: { values: { [DENY_BLOCK.reason]: { [INPUT_ACTION]: { type: 'plain_text_input', value: `no ${i}` } } } },
          id: `V0RACE${String(i).padStart(4, '0')}`,
        },
      });
    });
    const answers = await Promise.all(clicks);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const final = await h.waitForRequest(id, (r) => r.state !== 'pending');
    await settle(1500);
    const history = await h.store.history(id);
    const outcomes = history.filter((e) => e.from === 'pending' && e.to !== 'pending');
    const jobs = (await h.provisionJobs()) - jobsBefore;
    console.log(`clicks 50, outcomes ${outcomes.length}, jobs ${jobs}`);
    expect(outcomes).toHaveLength(1);
    expect(history).toHaveLength(2);
    expect(jobs).toBe(final.state === 'approved' ? 1 : 0);
    expect(jobs).toBeLessThanOrEqual(1);
  });
});

describe('group approvers, redelivered clicks and extra routes', () => {
  const ERIN = 'U0ERIN0001';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      web: {
        extraRoutes: [
          {
            path: '/healthz',
            method: ['GET'],
            handler: (_req, res) => {
              res.writeHead(200, { 'content-type': 'text/plain' });
              res.end('ok');
            },
          },
        ],
      },
    });
    h.world.slack.addUser({ id: ERIN, name: 'erin', realName: 'Erin Platform' });
    h.world.slack.addUsergroup({ id: WORLD.platformGroup, handle: 'platform', users: [WORLD.users.admin, ERIN] });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('a member of the approving Slack user group may approve; a non-member of it may not', async () => {
    const id = await requestAs(h, ALICE, `request payments pay-sa Key Vault Secrets User --scope ${keyVaultScope('kv-payments')} --reason payouts`);
    await h.click(BOB, ACTION.approve, id);
    await waitForEphemeral(h.world, BOB, (t) => t.includes('not an approver for the namespace "payments"'));
    expect((await h.store.get(id))?.state).toBe('pending');
    await h.click(ERIN, ACTION.approve, id);
    const approved = await h.waitForRequest(id, (r) => r.state === 'approved');
    expect(approved.approvals.map((a) => a.actor.id)).toEqual([ERIN]);
  });

  test('a redelivered click (X-Slack-Retry-Num) is processed once', async () => {
    const id = await requestAs(h, ALICE, `request finance twice-sa Contributor --scope /subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup} --reason twice`);
    const first = await h.click(BOB, ACTION.approve, id);
    const again = await h.slack.sendPayload(first.payload, { retryNum: 1, retryReason: 'http_timeout' });
    expect(again.status).toBe(200);
    await waitForEphemeral(h.world, BOB, (t) => t.includes('1 of 2 approvals'));
    await settle(500);
    expect(await h.store.history(id)).toHaveLength(2);
    // the redelivery did not even answer "already approved"
    expect(h.world.slack.ephemerals(BOB).filter((e) => e.text.includes('already approved'))).toHaveLength(0);
  });

  test('ops routes are served on the same HTTP server as Slack', async () => {
    const res = await fetch(`http://127.0.0.1:${h.web.port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
  });
});
