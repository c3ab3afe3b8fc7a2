/**
 * Slack requests that are forged, unsigned, replayed after five minutes, oversized or malformed:
 * none is accepted, none stores anything, none queues anything, and the app keeps answering.
 */
import { signSlackRequest } from '../emulators/slack/client';
import { WORLD } from '../emulators/world';
import { ACTION } from '../../src/slack/ids';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from '../e2e/harness';
import { keysUnder, report, sleep, storedKeys, worldWrites } from './support';

const { requester: ALICE, approver: BOB } = WORLD.users;
const FORM = 'application/x-www-form-urlencoded';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ world: { slack: { rateLimits: false } } });
});
afterAll(async () => {
  await h?.close();
});

interface Counted {
  status: number;
  stored: number;
  queued: number;
  newKeys: string[];
  slackWrites: number;
  armWrites: number;
  kubeWrites: number;
}

/** Sends one raw body and counts what it left behind after the listeners had time to run. */
async function sendAndCount(send: () => Promise<{ status: number }>): Promise<Counted> {
  const keysBefore = new Set(await keysUnder(h));
  const jobsBefore = await h.provisionJobs();
  const timersBefore = Object.values(await h.queues.timers.getJobCounts()).reduce((a, b) => a + b, 0);
  const mark = h.world.slack.mark();
  const writesBefore = worldWrites(h.world);
  let status: number;
  try {
    status = (await send()).status;
  } catch {
    // the server closed the connection: nothing was accepted
    status = 0;
  }
  await sleep(250);
  const newKeys = (await keysUnder(h)).filter((k) => !keysBefore.has(k));
  const timersAfter = Object.values(await h.queues.timers.getJobCounts()).reduce((a, b) => a + b, 0);
  const writes = worldWrites(h.world);
  return {
    status,
    stored: storedKeys(newKeys, h.prefix).length,
    queued: (await h.provisionJobs()) - jobsBefore + (timersAfter - timersBefore),
    newKeys,
    // posts and updates in channels; ephemerals to the sender are the expected answer to bad input, and Home tab
    // publishes follow the earlier valid request's changes (bad input stores nothing, so it changes no one's home)
    slackWrites: h.world.slack.events().filter((e) => e.seq > mark && e.kind !== 'ephemeral' && e.kind !== 'home_publish').length,
    armWrites: writes.arm - writesBefore.arm,
    kubeWrites: writes.kube - writesBefore.kube,
  };
}

function commandBody(text: string, extra: Record<string, string> = {}): string {
  return new URLSearchParams({
    token: 'x',
    team_id: h.world.slack.team.id,
    channel_id: WORLD.requestsChannel,
    channel_name: 'finance',
    user_id: ALICE,
    user_name: 'alice',
    command: '/wid',
    text,
    api_app_id: h.world.slack.bot.appId,
    response_url: h.world.slack.newResponseUrl(WORLD.requestsChannel, ALICE),
    trigger_id: h.world.slack.newTriggerId(ALICE),
    ...extra,
  }).toString();
}

/** A valid request still goes through: the app is alive and unharmed. */
async function validRequestWorks(sa: string): Promise<string> {
  const sent = await h.wid(ALICE, `request finance ${sa} Key Vault Secrets User --reason still alive`);
  expect(sent.status).toBe(200);
  const answer = await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval') && t.includes(sa));
  const id = requestIdIn(answer) as string;
  expect((await h.store.get(id))?.state).toBe('pending');
  return id;
}

describe('unauthenticated requests: refused, nothing stored, nothing queued', () => {
  const valid = 'request finance forged-sa Key Vault Secrets User --reason x';
  const cases: Array<[string, () => Promise<{ status: number }>]> = [
    ['forged signature', () => h.slack.slashCommand({ userId: ALICE, text: valid, channelId: WORLD.requestsChannel }, { signature: 'forged' })],
    ['unsigned', () => h.slack.slashCommand({ userId: ALICE, text: valid, channelId: WORLD.requestsChannel }, { signature: 'missing' })],
    ['replayed 301 s later', () => h.slack.slashCommand({ userId: ALICE, text: valid, channelId: WORLD.requestsChannel }, { timestampOffsetSeconds: -301 })],
    ['replayed 360 s later', () => h.slack.slashCommand({ userId: ALICE, text: valid, channelId: WORLD.requestsChannel }, { timestampOffsetSeconds: -360 })],
    ['an approve click with a forged signature', () => h.slack.sendPayload({ type: 'block_actions', user: { id: BOB }, actions: [{ action_id: ACTION.approve, value: 'wid-aaaaaaaaaa' }] }, { signature: 'forged' })],
    ['a forged 1 MB body', () => h.slack.send(commandBody('x'.repeat(1024 * 1024)), FORM, { signature: 'forged' })],
    [
      'signature over a different body',
      async () => {
        const ts = String(Math.floor(Date.now() / 1000));
        const res = await fetch(`http://127.0.0.1:${h.web.port}/slack/events`, {
          method: 'POST',
          headers: { 'content-type': FORM, 'x-slack-request-timestamp': ts, 'x-slack-signature': signSlackRequest(WORLD.signingSecret, ts, commandBody('help')) },
          body: commandBody(valid),
        });
        await res.text();
        return res;
      },
    ],
  ];

  test.each(cases)('%s', async (label, send) => {
    const c = await sendAndCount(send);
    const accepted = c.status >= 200 && c.status < 300 ? 1 : 0;
    report(`${label}: sent 1, status ${c.status}, accepted ${accepted}, stored ${c.stored}, queued ${c.queued}, keys ${c.newKeys.length}, slack writes ${c.slackWrites}`);
    expect(c.status).toBe(401);
    expect(c).toMatchObject({ stored: 0, queued: 0, newKeys: [], slackWrites: 0, armWrites: 0, kubeWrites: 0 });
    expect(h.world.slack.ephemerals(ALICE).filter((e) => e.text.includes('forged-sa'))).toEqual([]);
  });
});

describe('signed but oversized or malformed: acked at most, nothing stored or queued, no crash', () => {
  let pendingId: string;
  beforeAll(async () => {
    pendingId = await validRequestWorks('malformed-target');
  });

  const cases: Array<[string, () => Promise<{ status: number }>]> = [
    ['a 1 MB command body', () => h.slack.send(commandBody(`request finance big ${'x'.repeat(1024 * 1024)}`), FORM)],
    ['a 10,000-character command text', () => h.slack.send(commandBody(`request finance long-sa Key Vault Secrets User --reason ${'y'.repeat(10_000)}`), FORM)],
    ['bad form encoding', () => h.slack.send('%%%zz&&=%E0%A4%A&text=%ZZ', FORM)],
    ['payload= that is not JSON', () => h.slack.send('payload=%7Bnot%20json', FORM)],
    ['payload= JSON array', () => h.slack.send(`payload=${encodeURIComponent('[1,2,3]')}`, FORM)],
    ['block_actions without user or actions', () => h.slack.sendPayload({ type: 'block_actions' })],
    ['block_actions with actions of the wrong type', () => h.slack.sendPayload({ type: 'block_actions', user: { id: BOB }, actions: 'approve', trigger_id: 'x' })],
    ['view_submission without a view', () => h.slack.sendPayload({ type: 'view_submission', user: { id: ALICE } })],
    ['an unknown action id on the approval message', () => h.click(BOB, 'wid_launch_missiles', pendingId)],
    [
      'approve with no request id (missing value)',
      () => {
        const m = h.approvalMessage(pendingId);
        return h.slack.sendPayload({ type: 'block_actions', user: { id: BOB }, trigger_id: h.world.slack.newTriggerId(BOB), actions: [{ action_id: ACTION.approve, type: 'button', action_ts: '1.2' }], container: { type: 'message', channel_id: m.channel, message_ts: m.ts } });
      },
    ],
    ['approve of a request id that does not exist', () => h.slack.sendPayload({ type: 'block_actions', user: { id: BOB }, trigger_id: h.world.slack.newTriggerId(BOB), actions: [{ action_id: ACTION.approve, type: 'button', value: 'wid-zzzzzzzzzz', action_ts: '1.3' }] })],
    ['a slash command without user_id', () => h.slack.send(commandBody('request finance nouser-sa Key Vault Secrets User --reason x').replace(/user_id=[^&]*&/, ''), FORM)],
    ['a slash command without command', () => h.slack.send(commandBody('request finance nocmd-sa Key Vault Secrets User --reason x').replace(/command=[^&]*&/, ''), FORM)],
    ['a JSON event of unknown shape', () => h.slack.send(JSON.stringify({ type: 'event_callback', event: { type: 'bogus' } }), 'application/json')],
    ['a JSON body that is not an object', () => h.slack.send('"just a string"', 'application/json')],
    ['an empty body', () => h.slack.send('', FORM)],
  ];

  test('all of them at once (Bolt holds an unmatched request ~3 s, so they run side by side)', async () => {
    const statuses: number[] = [];
    const c = await sendAndCount(async () => {
      const answers = await Promise.all(
        cases.map(async ([, send]) => {
          try {
            return (await send()).status;
          } catch {
            return 0;
          }
        }),
      );
      statuses.push(...answers);
      return { status: 200 };
    });
    cases.forEach(([label], i) => report(`${label}: status ${statuses[i]}`));
    const acked = statuses.filter((s) => s >= 200 && s < 300).length;
    report(`signed malformed/oversized: sent ${cases.length}, acked ${acked}, answered ${statuses.filter((s) => s > 0).length}, stored ${c.stored}, queued ${c.queued}, slack channel writes ${c.slackWrites}, azure writes ${c.armWrites}, kube writes ${c.kubeWrites}`);
    // every one got an HTTP answer: the server stayed up and no connection was dropped
    expect(statuses.every((s) => s >= 200 && s < 600)).toBe(true);
    expect(c).toMatchObject({ stored: 0, queued: 0, slackWrites: 0, armWrites: 0, kubeWrites: 0 });
    // only delivery claims may appear (they make a redelivery a no-op); never a request or index
    expect(c.newKeys.filter((k) => !k.startsWith(`${h.prefix}:delivery:`))).toEqual([]);
    expect((await h.store.get(pendingId))?.state).toBe('pending');
    expect(await h.store.history(pendingId)).toHaveLength(1);
  });

  test('the 10,000-character command gets a clear answer', async () => {
    const before = h.world.slack.ephemerals(ALICE).length;
    const sent = await h.slack.send(commandBody(`request finance long2-sa Key Vault Secrets User --reason ${'z'.repeat(10_000)}`), FORM);
    let answer: string | undefined;
    for (let i = 0; i < 100 && !answer; i++) {
      answer = h.world.slack.ephemerals(ALICE).slice(before).find((e) => /is 100\d\d characters long/.test(e.text))?.text;
      if (!answer) await sleep(25);
    }
    report(`10,000-char command: status ${sent.status}, answered "${answer?.split("\n")[0]?.slice(0, 80)}", requests stored ${(await h.store.listByRequester(ALICE)).filter((r) => r.serviceAccount === 'long2-sa').length}`);
    expect(answer).toContain('wid-bot reads at most 2000');
  });

  test('after all of it the app still takes a valid request', async () => {
    const id = await validRequestWorks('after-the-storm');
    const requests = (await h.store.redis.keys(`${h.prefix}:req:*`)).filter((k) => !k.endsWith(':history'));
    report(`after malformed inputs: valid request ${id} pending, requests stored ${requests.length} (the two valid ones)`);
    expect(requests).toHaveLength(2);
  });
});
