/**
 * The client that acts as Slack towards the bot, against a real Bolt app wired to the emulator:
 * Slack's signing test vector, signed slash commands / block_actions / view_submission reaching
 * listeners, and forged, missing or stale signatures refused before any listener runs.
 */
import { referenceDir } from '../../support/reference';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import { signSlackRequest, SlackSigningClient } from '../../emulators/slack/client';
import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack';
import { quietSlackLogger } from '../../support/helpers';

const SECRET = 'test-signing-secret-0123456789abcdef';
const ALICE = 'U0ALICE001';
const CHANNEL = 'C0WIDREQ01';


test('Slack’s published signing test vector verifies', () => {
  const vector = JSON.parse(readFileSync(referenceDir('slack', 'signing-test-vector.json'), 'utf8')) as {
    signing_secret: string;
    timestamp: string;
    body: string;
    expected_signature: string;
  };
  const raw = readFileSync(referenceDir('slack', 'slash-command-request.txt'), 'utf8');
  expect(raw).toBe(vector.body);
  expect(signSlackRequest(vector.signing_secret, vector.timestamp, vector.body)).toBe(vector.expected_signature);
  expect(signSlackRequest(vector.signing_secret, Number(vector.timestamp) + 1, vector.body)).not.toBe(vector.expected_signature);
});

describe('a real Bolt app behind the signing client', () => {
  let slack: SlackEmulator;
  let app: App;
  let client: SlackSigningClient;
  const commands: Array<{ text: string; user: string; retryNum?: number; retryReason?: string }> = [];
  const clicks: Array<{ actionId: string; value?: string; channel?: string }> = [];
  const submissions: Array<{ callbackId: string; metadata: string; values: unknown }> = [];

  beforeAll(async () => {
    slack = await startSlackEmulator();
    app = new App({
      receiver: new HTTPReceiver({ signingSecret: SECRET, logger: quietSlackLogger }),
      token: slack.botToken,
      clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } },
      logger: quietSlackLogger,
    });
    app.command('/wid', async ({ command, ack, respond, client: web, context }) => {
      // Recorded before the ack so the test sees it as soon as the HTTP answer arrives.
      commands.push({ text: command.text, user: command.user_id, retryNum: context.retryNum, retryReason: context.retryReason });
      await ack();
      if (command.text.startsWith('request')) {
        await web.views.open({
          trigger_id: command.trigger_id,
          view: {
            type: 'modal',
            callback_id: 'wid_request',
            private_metadata: command.channel_id,
            title: { type: 'plain_text', text: 'Request an identity' },
            submit: { type: 'plain_text', text: 'Request' },
            blocks: [
              {
                type: 'input',
                block_id: 'ns',
                label: { type: 'plain_text', text: 'Namespace' },
                element: { type: 'plain_text_input', action_id: 'ns' },
              },
            ],
          },
        });
      } else {
        await respond({ text: `wid: ${command.text}` });
      }
    });
    app.action('approve', async ({ ack, body, action, respond }) => {
      await ack();
      const b = body as { channel?: { id: string } };
      clicks.push({ actionId: 'approve', value: (action as { value?: string }).value, channel: b.channel?.id });
      await respond({ replace_original: true, text: 'Approved' });
    });
    app.view('wid_request', async ({ ack, view }) => {
      submissions.push({ callbackId: view.callback_id, metadata: view.private_metadata, values: view.state.values });
      await ack();
    });
    const server = await app.start({ port: 0, host: '127.0.0.1' });
    const port = (server.address() as AddressInfo).port;
    client = new SlackSigningClient({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SECRET, emulator: slack });
  });

  afterAll(async () => {
    await app.stop();
    await slack.close();
  });

  beforeEach(() => {
    commands.length = 0;
    clicks.length = 0;
    submissions.length = 0;
  });

  test('a signed slash command reaches the listener; respond() lands as an ephemeral via the response_url', async () => {
    const since = slack.mark();
    const res = await client.slashCommand({ text: 'status wid-1', userId: ALICE, channelId: CHANNEL });
    expect(res.status).toBe(200);
    expect(Object.keys(res.payload).sort()).toEqual(
      Object.keys(JSON.parse(readFileSync(referenceDir('slack', 'slash-command-fields.json'), 'utf8')) as object).sort(),
    );
    const reply = await slack.waitFor((e) => e.kind === 'ephemeral', 3000, { since });
    expect(reply).toMatchObject({ via: 'response_url', user: ALICE, channel: CHANNEL, text: 'wid: status wid-1' });
    expect(commands).toEqual([{ text: 'status wid-1', user: ALICE, retryNum: undefined, retryReason: undefined }]);
  });

  test.each([
    ['forged', { signature: 'forged' as const }],
    ['missing', { signature: 'missing' as const }],
    ['6 minutes old', { timestampOffsetSeconds: -360 }],
  ])('a %s signature gets 401 and never reaches the listener', async (_name, opts) => {
    const res = await client.slashCommand({ text: 'status wid-2', userId: ALICE }, opts);
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 50));
    expect(commands).toEqual([]);
  });

  test('a 4-minute-old request is still accepted (Bolt allows 5 minutes)', async () => {
    const res = await client.slashCommand({ text: 'status wid-3', userId: ALICE }, { timestampOffsetSeconds: -240 });
    expect(res.status).toBe(200);
    expect(commands).toHaveLength(1);
  });

  test('Slack’s redelivery headers reach the listener’s context', async () => {
    await client.slashCommand({ text: 'status wid-4', userId: ALICE }, { retryNum: 2, retryReason: 'http_timeout' });
    expect(commands).toEqual([{ text: 'status wid-4', user: ALICE, retryNum: 2, retryReason: 'http_timeout' }]);
  });

  test('the trigger_id of a slash command opens a modal, and its submission reaches the view listener', async () => {
    const since = slack.mark();
    await client.slashCommand({ text: 'request', userId: ALICE, channelId: CHANNEL });
    const opened = await slack.waitFor((e) => e.kind === 'view_open', 3000, { since });
    expect(opened.user).toBe(ALICE);
    const res = await client.viewSubmission({
      userId: ALICE,
      view: { callback_id: 'wid_request', state: { values: { ns: { ns: { type: 'plain_text_input', value: 'payments' } } } } },
    });
    expect(res.status).toBe(200);
    expect((res.payload.view as { id: string }).id).toBe(opened.viewId);
    expect(submissions).toEqual([
      { callbackId: 'wid_request', metadata: CHANNEL, values: { ns: { ns: { type: 'plain_text_input', value: 'payments' } } } },
    ]);
  });

  test('a button click on a posted message carries the message and a response_url that replaces it', async () => {
    const posted = await app.client.chat.postMessage({
      channel: CHANNEL,
      text: 'Approve wid-5?',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Approve *wid-5*?' } },
        {
          type: 'actions',
          block_id: 'decision',
          elements: [{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'wid-5', style: 'primary' }],
        },
      ],
    });
    const since = slack.mark();
    const res = await client.blockAction({ userId: 'U0BOB00001', actionId: 'approve', message: { channel: CHANNEL, ts: posted.ts! } });
    expect(res.status).toBe(200);
    const action = (res.payload.actions as Array<Record<string, unknown>>)[0];
    expect(action).toMatchObject({ action_id: 'approve', block_id: 'decision', value: 'wid-5', type: 'button' });
    expect((res.payload.message as { blocks: unknown[] }).blocks).toHaveLength(2);
    await slack.waitFor((e) => e.kind === 'update' && e.ts === posted.ts, 3000, { since });
    expect(clicks).toEqual([{ actionId: 'approve', value: 'wid-5', channel: CHANNEL }]);
    expect(slack.message(CHANNEL, posted.ts!)?.text).toBe('Approved');
  });
});
