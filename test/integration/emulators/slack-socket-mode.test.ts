/**
 * Socket Mode in the Slack emulator: apps.connections.open with the app-level token, one-time
 * WebSocket URLs, Slack's hello, and envelopes a real Bolt app in Socket Mode receives and acks.
 */
import { App, LogLevel } from '@slack/bolt';
import { WebSocket } from 'ws';
import { DEFAULT_APP_TOKEN, SlackSocketModeClient, startSlackEmulator, type SlackEmulator } from '../../emulators/slack';
import { quietSlackLogger } from '../../support/helpers';

const ALICE = 'U0ALICE001';
const CHANNEL = 'C0WIDAPPR1';


let slack: SlackEmulator;

beforeAll(async () => {
  slack = await startSlackEmulator();
});
afterAll(async () => {
  await slack?.close();
});

async function openConnection(authorization?: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${slack.apiUrl}apps.connections.open`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(authorization ? { authorization } : {}) },
    body: '',
  });
  return (await res.json()) as Record<string, unknown>;
}

/** First message on a raw WebSocket, or the HTTP status the upgrade was refused with. */
function firstMessage(url: string): Promise<{ message?: Record<string, unknown>; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('message', (data) => {
      resolve({ message: JSON.parse(String(data)) as Record<string, unknown> });
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
    });
    ws.on('error', (e) => reject(e));
  });
}

function socketApp(appToken = DEFAULT_APP_TOKEN): App {
  return new App({
    token: slack.botToken,
    appToken,
    socketMode: true,
    clientOptions: { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } },
    logger: quietSlackLogger,
    logLevel: LogLevel.ERROR,
  });
}

describe('apps.connections.open', () => {
  test('only the app-level token in the Authorization header opens a connection', async () => {
    expect(await openConnection()).toEqual({ ok: false, error: 'not_authed' });
    expect(await openConnection('Bearer xapp-1-A0WIDBOT01-1-someoneelse')).toEqual({ ok: false, error: 'invalid_auth' });
    expect(await openConnection(`Bearer ${slack.botToken}`)).toEqual({ ok: false, error: 'not_allowed_token_type' });
    const ok = await openConnection(`Bearer ${DEFAULT_APP_TOKEN}`);
    expect(ok.ok).toBe(true);
    expect(ok.url).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:${slack.port}/socket\\?ticket=[0-9a-f]{32}&app_id=${slack.bot.appId}$`));
  });

  test('the URL greets with hello once and cannot be reused', async () => {
    const { url } = (await openConnection(`Bearer ${DEFAULT_APP_TOKEN}`)) as { url: string };
    const first = await firstMessage(url);
    expect(first.message).toMatchObject({ type: 'hello', num_connections: 1, connection_info: { app_id: slack.bot.appId } });
    expect(first.message?.debug_info).toEqual(expect.objectContaining({ host: expect.any(String) }));
    expect(await firstMessage(url)).toEqual({ status: 401 });
    expect(await firstMessage(url.replace(/ticket=[0-9a-f]+/, 'ticket=forged'))).toEqual({ status: 401 });
  });

  test('sending without a connected app fails at once', async () => {
    await expect(slack.socketMode.send('slash_commands', { command: '/wid' })).rejects.toThrow(/no Socket Mode connection/);
  });
});

describe('a Bolt app in Socket Mode', () => {
  test('connects, receives a slash command and a click as envelopes, and acks each in time', async () => {
    const app = socketApp();
    const commands: Array<{ text: string; user: string }> = [];
    const clicks: string[] = [];
    app.command('/wid', async ({ command, ack, client }) => {
      await ack({ response_type: 'ephemeral', text: `working on ${command.text}` });
      commands.push({ text: command.text, user: command.user_id });
      await client.chat.postMessage({ channel: CHANNEL, text: `request from <@${command.user_id}>`, blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'r1' }] }] });
    });
    app.action('approve', async ({ ack, body }) => {
      await ack();
      clicks.push(body.user.id);
    });
    await app.start();
    try {
      expect(slack.socketMode.connections()).toBe(1);
      const client = new SlackSocketModeClient(slack);

      const posted = slack.waitFor((e) => e.kind === 'post' && e.channel === CHANNEL);
      const sent = await client.slashCommand({ userId: ALICE, text: 'request finance app-sa Reader', channelId: 'C0WIDREQ01' });
      expect(sent.acked).toBe(true);
      expect(sent.elapsedMs).toBeLessThan(3000);
      expect(sent.ackPayload).toMatchObject({ text: 'working on request finance app-sa Reader' });
      const message = await posted;
      expect(commands).toEqual([{ text: 'request finance app-sa Reader', user: ALICE }]);

      const click = await client.blockAction({ userId: 'U0BOB00001', actionId: 'approve', message: { channel: CHANNEL, ts: message.ts as string } });
      expect(click.acked).toBe(true);
      expect(click.elapsedMs).toBeLessThan(3000);
      expect(click.payload).toMatchObject({ type: 'block_actions', actions: [{ action_id: 'approve', value: 'r1' }] });
      expect(clicks).toEqual(['U0BOB00001']);
      // every ack carries the envelope id it answers
      const acks = slack.socketMode.received().map((m) => m.envelope_id);
      expect(acks).toEqual(expect.arrayContaining([sent.envelopeId, click.envelopeId]));
    } finally {
      await app.stop();
    }
    // a stopped app closes its socket and no longer receives anything
    for (let i = 0; i < 100 && slack.socketMode.connections() > 0; i += 1) await new Promise((r) => setTimeout(r, 20));
    expect(slack.socketMode.connections()).toBe(0);
    await expect(slack.socketMode.send('slash_commands', { command: '/wid' })).rejects.toThrow(/no Socket Mode connection/);
  }, 20_000);

  test('after Slack sends disconnect the app opens a new connection and keeps receiving', async () => {
    const app = socketApp();
    const seen: string[] = [];
    app.command('/wid', async ({ command, ack }) => {
      await ack();
      seen.push(command.text);
    });
    await app.start();
    try {
      const opened = slack.stats().calls['apps.connections.open'] ?? 0;
      const accepted = slack.socketMode.accepted();
      slack.socketMode.disconnectAll('refresh_requested');
      const until = Date.now() + 10_000;
      while (Date.now() < until && !(slack.socketMode.accepted() > accepted && slack.socketMode.connections() === 1)) {
        await new Promise((r) => setTimeout(r, 20));
      }
      // the old socket is gone and a fresh URL was fetched for the new one
      expect(slack.socketMode.accepted()).toBe(accepted + 1);
      expect(slack.socketMode.connections()).toBe(1);
      expect(slack.stats().calls['apps.connections.open']).toBe(opened + 1);
      const sent = await new SlackSocketModeClient(slack).slashCommand({ userId: ALICE, text: 'after reconnect' });
      expect(sent.elapsedMs).toBeLessThan(3000);
      expect(seen).toEqual(['after reconnect']);
    } finally {
      await app.stop();
    }
  }, 20_000);

  test('an envelope nobody acks is reported after the timeout', async () => {
    const app = socketApp();
    app.command('/slow', async () => {
      // never acks, like a listener that hangs
    });
    await app.start();
    try {
      const client = new SlackSocketModeClient(slack);
      await expect(client.slashCommand({ userId: ALICE, text: '', command: '/slow' }, { timeoutMs: 500 })).rejects.toThrow(/not acked within 500 ms/);
    } finally {
      await app.stop();
    }
  }, 20_000);

  test('a wrong app token is refused and the app does not start', async () => {
    const app = socketApp('xapp-1-A0WIDBOT01-1-wrongtoken');
    await expect(app.start()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    expect(slack.socketMode.connections()).toBe(0);
    await app.stop().catch(() => undefined);
  }, 20_000);
});
