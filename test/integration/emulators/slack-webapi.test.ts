/**
 * The Slack emulator through the real @slack/web-api WebClient: answers shaped like Slack's published
 * examples, Slack's error codes, Block Kit limits, rate limits and the response_url rules.
 */
import { referenceDir } from '../../support/reference';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WebClient, WebClientEvent, ErrorCode, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { expectSameShape } from '../../emulators/common/shape';
import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack';
import { quietSlackLogger } from '../../support/helpers';

const REF = referenceDir('slack');
function ref(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REF, name), 'utf8')) as Record<string, unknown>;
}

const CHANNEL = 'C0WIDAPPR1';
const ALICE = 'U0ALICE001';


let slack: SlackEmulator;
let web: WebClient;

function client(token = slack.botToken, extra: ConstructorParameters<typeof WebClient>[1] = {}): WebClient {
  return new WebClient(token, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, logger: quietSlackLogger, ...extra });
}

/** The Slack error code of a rejected WebClient call. */
async function slackError(p: Promise<unknown>): Promise<{ error: string; data: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    const err = e as WebAPIPlatformError;
    expect(err.code).toBe(ErrorCode.PlatformError);
    return { error: err.data.error, data: err.data as unknown as Record<string, unknown> };
  }
  throw new Error('expected the Slack call to fail');
}

beforeEach(async () => {
  slack = await startSlackEmulator({
    usergroups: [{ id: 'S0APPROVER', handle: 'wid-approvers', users: ['U0BOB00001', 'U0CAROL001'] }],
  });
  web = client();
});

afterEach(async () => {
  await slack.close();
});

describe('answers have the shape of Slack’s published examples', () => {
  test('chat.postMessage (a legacy bot post with username and attachments, as in the example)', async () => {
    const res = await web.chat.postMessage({
      channel: CHANNEL,
      text: "Here's a message for you",
      username: 'ecto1',
      attachments: [{ fallback: "This is an attachment's fallback", text: 'This is an attachment' }],
    });
    expectSameShape(res, ref('chat.postMessage.response.json'), { allowExtra: ['response_metadata'] });
    expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(res.message?.ts).toBe(res.ts);
  });

  test('chat.update', async () => {
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: 'pending' });
    const res = await web.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'Updated text you carefully authored' });
    expectSameShape(res, ref('chat.update.response.json'), { allowExtra: ['response_metadata'] });
    expect(res.ts).toBe(posted.ts);
  });

  test('users.info', async () => {
    const res = await web.users.info({ user: ALICE });
    expectSameShape(res, ref('users.info.response.json'), { allowExtra: ['response_metadata'] });
    expect(res.user?.id).toBe(ALICE);
    expect(res.user?.profile?.email).toBe('alice@example.com');
  });

  test('conversations.open', async () => {
    const res = await web.conversations.open({ users: ALICE });
    expectSameShape(res, ref('conversations.open.response.json'), { allowExtra: ['response_metadata'] });
    expect(res.channel?.id).toMatch(/^D/);
    expect((await web.conversations.open({ users: ALICE })).channel?.id).toBe(res.channel?.id);
    expect((await web.conversations.open({ users: 'U0BOB00001' })).channel?.id).not.toBe(res.channel?.id);
  });

  test('views.open with a fresh trigger_id', async () => {
    const example = ref('views.open.response.json');
    const view = example.view as Record<string, unknown>;
    const res = await web.views.open({
      trigger_id: slack.newTriggerId(ALICE),
      view: {
        type: 'modal',
        callback_id: 'identify_your_modals',
        private_metadata: 'Shh it is a secret',
        title: { type: 'plain_text', text: 'Quite a plain modal' },
        submit: { type: 'plain_text', text: 'Create' },
        blocks: view.blocks as never,
      },
    });
    expectSameShape(res, example, { allowExtra: ['response_metadata'] });
    expect(res.view?.id).toMatch(/^V[A-Z0-9]{10}$/);
    expect(slack.views()).toHaveLength(1);
  });

  test('auth.test and usergroups.users.list', async () => {
    const auth = await web.auth.test();
    expect(auth).toMatchObject({ ok: true, user_id: slack.bot.userId, bot_id: slack.bot.botId, team_id: slack.team.id });
    expect(typeof auth.url).toBe('string');
    const group = await web.usergroups.users.list({ usergroup: 'S0APPROVER' });
    expect(group.users).toEqual(['U0BOB00001', 'U0CAROL001']);
  });
});

describe('Slack’s error codes', () => {
  test('a missing or wrong token', async () => {
    expect((await slackError(client('xoxb-not-the-bot').auth.test())).error).toBe('invalid_auth');
    const res = await fetch(`${slack.apiUrl}auth.test`, { method: 'POST' });
    expect(await res.json()).toEqual({ ok: false, error: 'not_authed' });
  });

  test('the token may also travel as a form field', async () => {
    const res = await fetch(`${slack.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${slack.botToken}`,
    });
    expect(await res.json()).toMatchObject({ ok: true });
  });

  test('the error bodies match the published error examples', async () => {
    const unknownUser = await slackError(web.users.info({ user: 'U0NOBODY01' }));
    expectSameShape(unknownUser.data, ref('users.info.error.json'), { allowExtra: ['response_metadata'] });
    expect(unknownUser.error).toBe('user_not_found');
    const noChannel = await slackError(web.conversations.open({ channel: 'D0NOPE0001' }));
    expectSameShape(noChannel.data, ref('conversations.open.error.json'), { allowExtra: ['response_metadata'] });
  });

  test('chat.update of an unknown ts → message_not_found', async () => {
    expect((await slackError(web.chat.update({ channel: CHANNEL, ts: '1700000000.000100', text: 'x' }))).error).toBe('message_not_found');
  });

  test('views.open: unknown, reused and expired trigger ids', async () => {
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Request' }, blocks: [] };
    const unknown = await slackError(web.views.open({ trigger_id: '1.2.abc', view }));
    expect(unknown.error).toBe('invalid_trigger_id');
    expect(unknown.data.response_metadata).toEqual({ messages: ['invalid `trigger_id`'] });

    const trigger = slack.newTriggerId(ALICE);
    await web.views.open({ trigger_id: trigger, view });
    expect((await slackError(web.views.open({ trigger_id: trigger, view }))).error).toBe('exchanged_trigger_id');

    let now = Date.now();
    const clocked = await startSlackEmulator({ clock: () => now });
    try {
      const old = clocked.newTriggerId(ALICE);
      now += 3001;
      const err = await slackError(
        new WebClient(clocked.botToken, { slackApiUrl: clocked.apiUrl, retryConfig: { retries: 0 }, logger: quietSlackLogger }).views.open({ trigger_id: old, view }),
      );
      expect(err.error).toBe('expired_trigger_id');
    } finally {
      await clocked.close();
    }
  });

  test('views.update by view_id, with hash_conflict and not_found', async () => {
    const opened = await web.views.open({
      trigger_id: slack.newTriggerId(ALICE),
      view: { type: 'modal', title: { type: 'plain_text', text: 'Step 1' }, blocks: [] },
    });
    const updated = await web.views.update({
      view_id: opened.view!.id!,
      hash: opened.view!.hash!,
      view: { type: 'modal', title: { type: 'plain_text', text: 'Step 2' }, blocks: [] },
    });
    expect(updated.view?.id).toBe(opened.view?.id);
    expect(updated.view?.hash).not.toBe(opened.view?.hash);
    expect(slack.views()[0]?.versions.map((v) => (v.title as { text: string }).text)).toEqual(['Step 1', 'Step 2']);
    const stale = web.views.update({
      view_id: opened.view!.id!,
      hash: opened.view!.hash!,
      view: { type: 'modal', title: { type: 'plain_text', text: 'Step 3' }, blocks: [] },
    });
    expect((await slackError(stale)).error).toBe('hash_conflict');
    const missing = web.views.update({ view_id: 'V0NOPE0000', view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [] } });
    expect((await slackError(missing)).error).toBe('not_found');
  });

  test('usergroups.users.list of an unknown group → no_such_subteam', async () => {
    expect((await slackError(web.usergroups.users.list({ usergroup: 'S0NOPE0001' }))).error).toBe('no_such_subteam');
  });

  test('posting to an unknown user, a channel the bot is not in, or with nothing to say', async () => {
    expect((await slackError(web.chat.postMessage({ channel: 'U0NOBODY01', text: 'hi' }))).error).toBe('channel_not_found');
    expect((await slackError(web.chat.postMessage({ channel: CHANNEL, text: '' }))).error).toBe('no_text');
    const strict = await startSlackEmulator({ channels: [{ id: 'C0OUTSIDE1', name: 'outside', botIsMember: false }] });
    try {
      const w = new WebClient(strict.botToken, { slackApiUrl: strict.apiUrl, retryConfig: { retries: 0 }, logger: quietSlackLogger });
      expect((await slackError(w.chat.postMessage({ channel: 'C0OUTSIDE1', text: 'x' }))).error).toBe('not_in_channel');
      expect((await slackError(w.chat.postMessage({ channel: 'C0UNKNOWN1', text: 'x' }))).error).toBe('channel_not_found');
    } finally {
      await strict.close();
    }
  });
});

describe('what the bot did is kept for assertions', () => {
  test('messages, thread replies, edits and DMs', async () => {
    const parent = await web.chat.postMessage({ channel: CHANNEL, text: 'request wid-42', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*wid-42*' } }] });
    const reply = await web.chat.postMessage({ channel: CHANNEL, thread_ts: parent.ts!, text: 'approved by bob' });
    await web.chat.update({ channel: CHANNEL, ts: parent.ts!, text: 'request wid-42 (approved)' });
    const dm = await web.chat.postMessage({ channel: ALICE, text: 'your identity is ready' });

    expect(slack.messages(CHANNEL).map((m) => m.text)).toEqual(['request wid-42 (approved)']);
    const stored = slack.message(CHANNEL, parent.ts!);
    expect(stored?.versions.map((v) => v.text)).toEqual(['request wid-42', 'request wid-42 (approved)']);
    expect(stored?.blocks).toHaveLength(1);
    expect(stored?.replyCount).toBe(1);
    expect(slack.replies(CHANNEL, parent.ts!).map((m) => m.ts)).toEqual([reply.ts]);
    expect(Number(reply.ts)).toBeGreaterThan(Number(parent.ts));
    expect(dm.channel).toBe(slack.dmChannel(ALICE));
    expect(slack.dms(ALICE).map((m) => m.text)).toEqual(['your identity is ready']);
    // The same state over HTTP, for a world started by hand.
    const state = (await (await fetch(`${slack.url}/_emulator/state`)).json()) as { messages: Record<string, unknown[]> };
    expect(state.messages[CHANNEL]).toHaveLength(2);
  });

  test('message ts values are unique and increasing even in a burst', async () => {
    slack.setRateLimiting(false);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => web.chat.postMessage({ channel: CHANNEL, text: `m${i}` })));
    const ts = results.map((r) => r.ts!);
    expect(new Set(ts).size).toBe(20);
    const stored = slack.messages(CHANNEL).map((m) => m.ts);
    expect([...stored].sort((a, b) => Number(a) - Number(b))).toEqual(stored);
  });

  test('ephemeral messages per user, and only to people Slack knows', async () => {
    const res = await web.chat.postEphemeral({ channel: CHANNEL, user: ALICE, text: 'only you can see this' });
    expect(res.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(slack.ephemerals(ALICE).map((e) => e.text)).toEqual(['only you can see this']);
    expect(slack.ephemerals('U0BOB00001')).toEqual([]);
    expect((await slackError(web.chat.postEphemeral({ channel: CHANNEL, user: 'U0NOBODY01', text: 'x' }))).error).toBe('user_not_in_channel');
  });

  test('waitFor resolves on a matching new event and times out otherwise', async () => {
    const since = slack.mark();
    const seen: string[] = [];
    const stop = slack.onEvent((e) => seen.push(e.kind));
    setTimeout(() => void web.chat.postMessage({ channel: CHANNEL, text: 'provisioned wid-7' }), 20);
    const event = await slack.waitFor((e) => e.kind === 'post' && (e.text ?? '').includes('wid-7'), 2000, { since });
    expect(event.channel).toBe(CHANNEL);
    stop();
    expect(seen).toEqual(['post']);
    await expect(slack.waitFor((e) => e.kind === 'view_open', 50)).rejects.toThrow(/no matching Slack event/);
  });
});

describe('Block Kit limits', () => {
  test('too many blocks, too long section text, action_id and button value → invalid_blocks', async () => {
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    const err = await slackError(web.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: tooMany }));
    expect(err.error).toBe('invalid_blocks');
    expect(err.data.errors).toEqual(['no more than 50 items allowed [json-pointer:/blocks]']);

    const longText = await slackError(
      web.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'a'.repeat(3001) } }] }),
    );
    expect(longText.data.errors).toEqual(['must be less than 3001 characters [json-pointer:/blocks/0/text/text]']);

    const button = {
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: 'Approve' }, action_id: 'a'.repeat(256), value: 'v'.repeat(2001) }],
    };
    const bad = await slackError(web.chat.postMessage({ channel: CHANNEL, text: 'x', blocks: [button] }));
    expect(bad.data.errors).toEqual([
      'must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]',
      'must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]',
    ]);
    expect(slack.messages(CHANNEL)).toEqual([]);
  });

  test('exactly at the limits is accepted', async () => {
    const blocks = [
      { type: 'section', text: { type: 'mrkdwn', text: 'a'.repeat(3000) } },
      ...Array.from({ length: 49 }, () => ({ type: 'divider' })),
    ];
    await expect(web.chat.postMessage({ channel: CHANNEL, text: 'x', blocks })).resolves.toMatchObject({ ok: true });
  });

  test('top-level text over 40,000 characters → msg_too_long; chat.update is checked too', async () => {
    expect((await slackError(web.chat.postMessage({ channel: CHANNEL, text: 'a'.repeat(40001) }))).error).toBe('msg_too_long');
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: 'ok' });
    const upd = web.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'x', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] });
    expect((await slackError(upd)).error).toBe('invalid_blocks');
    expect(slack.message(CHANNEL, posted.ts!)?.versions).toHaveLength(1);
  });

  test('a modal title over 24 characters → invalid_arguments with Slack’s messages', async () => {
    const err = await slackError(
      web.views.open({ trigger_id: slack.newTriggerId(ALICE), view: { type: 'modal', title: { type: 'plain_text', text: 't'.repeat(25) }, blocks: [] } }),
    );
    expect(err.error).toBe('invalid_arguments');
    expect(err.data.response_metadata).toEqual({ messages: ['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]'] });
  });
});

describe('rate limits', () => {
  test('chat.postMessage: a burst of 3 per channel, then 429 ratelimited with Retry-After', async () => {
    for (let i = 0; i < 3; i++) await web.chat.postMessage({ channel: CHANNEL, text: `m${i}` });
    const res = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${slack.botToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: CHANNEL, text: 'one too many' }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual(ref('error-ratelimited.json'));
    // Another channel has its own bucket.
    await expect(web.chat.postMessage({ channel: 'C0OTHER001', text: 'elsewhere' })).resolves.toMatchObject({ ok: true });
    expect(slack.stats().ratelimited).toBe(1);
  });

  test('rejectRateLimitedCalls surfaces WebAPIRateLimitedError with retryAfter', async () => {
    const strict = client(slack.botToken, { rejectRateLimitedCalls: true });
    for (let i = 0; i < 3; i++) await strict.chat.postMessage({ channel: CHANNEL, text: `m${i}` });
    const err = (await strict.chat.postMessage({ channel: CHANNEL, text: 'x' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(1);
  });

  test('WebClient waits Retry-After and retries, emitting rate_limited', async () => {
    const patient = client(slack.botToken, { retryConfig: { retries: 1, factor: 1, minTimeout: 0, maxTimeout: 0 } });
    const limited: number[] = [];
    patient.on(WebClientEvent.RATE_LIMITED, (sec: number) => limited.push(sec));
    for (let i = 0; i < 3; i++) await patient.chat.postMessage({ channel: CHANNEL, text: `m${i}` });
    const started = Date.now();
    await expect(patient.chat.postMessage({ channel: CHANNEL, text: 'after the wait' })).resolves.toMatchObject({ ok: true });
    expect(limited).toEqual([1]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(slack.messages(CHANNEL).map((m) => m.text)).toContain('after the wait');
  });

  test('chat.update: 50 per minute per workspace', async () => {
    slack.setRateLimiting(false);
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: 'v0' });
    slack.setRateLimiting(true);
    for (let i = 1; i <= 50; i++) await web.chat.update({ channel: CHANNEL, ts: posted.ts!, text: `v${i}` });
    const strict = client(slack.botToken, { rejectRateLimitedCalls: true });
    const err = (await strict.chat.update({ channel: CHANNEL, ts: posted.ts!, text: 'v51' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBeGreaterThanOrEqual(1);
    expect(slack.message(CHANNEL, posted.ts!)?.versions).toHaveLength(51);
  });

  test('switched off, bursts pass', async () => {
    const free = await startSlackEmulator({ rateLimits: false });
    try {
      const w = new WebClient(free.botToken, { slackApiUrl: free.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quietSlackLogger });
      for (let i = 0; i < 10; i++) await w.chat.postMessage({ channel: CHANNEL, text: `m${i}` });
      expect(free.stats().ratelimited).toBe(0);
    } finally {
      await free.close();
    }
  });
});

describe('injected faults', () => {
  test('failNext renders Slack’s error shape with the given status', async () => {
    slack.controls.failNext(1, { status: 200, code: 'fatal_error', path: '/api/chat.postMessage' });
    expect((await slackError(web.chat.postMessage({ channel: CHANNEL, text: 'x' }))).error).toBe('fatal_error');
    slack.controls.failNext(1, { status: 503, code: 'service_unavailable', path: 'chat.postMessage' });
    const err = (await web.chat.postMessage({ channel: CHANNEL, text: 'x' }).catch((e: unknown) => e)) as { code: string; statusCode: number };
    expect(err.code).toBe(ErrorCode.HTTPError);
    expect(err.statusCode).toBe(503);
    await expect(web.chat.postMessage({ channel: CHANNEL, text: 'x' })).resolves.toMatchObject({ ok: true });
    expect(slack.controls.requests({ path: 'chat.postMessage' })).toHaveLength(3);
  });
});

describe('response_url', () => {
  async function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }

  test('ephemeral by default, in_channel on request, at most 5 uses', async () => {
    const url = slack.newResponseUrl(CHANNEL, ALICE);
    expect((await post(url, { text: 'working on it' })).status).toBe(200);
    expect((await post(url, { text: 'done', response_type: 'in_channel' })).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await post(url, { text: `more ${i}` })).status).toBe(200);
    const sixth = await post(url, { text: 'sixth' });
    expect(sixth).toEqual({ status: 404, body: { ok: false, error: 'used_url' } });
    expect(slack.ephemerals(ALICE).map((e) => e.text)).toEqual(['working on it', 'more 0', 'more 1', 'more 2']);
    expect(slack.messages(CHANNEL).map((m) => [m.text, m.via])).toEqual([['done', 'response_url']]);
  });

  test('expires after 30 minutes', async () => {
    let now = Date.now();
    const clocked = await startSlackEmulator({ clock: () => now });
    try {
      const url = clocked.newResponseUrl(CHANNEL, ALICE);
      now += 30 * 60 * 1000 + 1;
      expect(await post(url, { text: 'late' })).toEqual({ status: 404, body: { ok: false, error: 'expired_url' } });
    } finally {
      await clocked.close();
    }
  });

  test('replace_original and delete_original act on the clicked message', async () => {
    const posted = await web.chat.postMessage({ channel: CHANNEL, text: 'Approve wid-9?' });
    const url = slack.newResponseUrl(CHANNEL, 'U0BOB00001', { messageTs: posted.ts! });
    await post(url, { replace_original: true, text: 'Approved by bob' });
    expect(slack.message(CHANNEL, posted.ts!)?.versions.map((v) => v.text)).toEqual(['Approve wid-9?', 'Approved by bob']);
    await post(url, { delete_original: true });
    expect(slack.messages(CHANNEL)).toEqual([]);
    expect(slack.events().map((e) => e.kind)).toEqual(['post', 'update', 'delete']);
  });

  test('blocks over the limits are refused', async () => {
    const url = slack.newResponseUrl(CHANNEL, ALICE);
    const res = await post(url, { blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ ok: false, error: 'invalid_blocks' });
  });
});
