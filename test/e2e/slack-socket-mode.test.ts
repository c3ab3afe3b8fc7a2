/**
 * The whole flow over Socket Mode: the real Slack app connects to the emulator with its app-level
 * token, and the slash command and the Approve click arrive as envelopes it must ack within 3 s.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ANNOTATION_CLIENT_ID } from '../../src/domain/types';
import { ACTION } from '../../src/slack/ids';
import { DEFAULT_APP_TOKEN, SlackSocketModeClient } from '../emulators/slack';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;

/** A free port for the Slack emulator, so the app's Web API URL is known before the harness starts it. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Socket Mode: request → approve → provision → result', () => {
  let h: Harness;
  let socket: SlackSocketModeClient;
  beforeAll(async () => {
    const slackPort = await freePort();
    h = await startHarness({
      worker: true,
      world: { ports: { slack: slackPort } },
      web: { slack: { mode: 'socket', botToken: WORLD.botToken, appToken: DEFAULT_APP_TOKEN, apiUrl: `http://127.0.0.1:${slackPort}/api/` } },
    });
    socket = new SlackSocketModeClient(h.world.slack);
  }, 30_000);
  afterAll(async () => {
    await h?.close();
  });

  test('the app is connected over Socket Mode and serves no HTTP port', () => {
    expect(h.web.port).toBe(0);
    expect(h.world.slack.socketMode.connections()).toBe(1);
  });

  test('/wid request and the Approve click over Socket Mode end with an annotated ServiceAccount and "Done"', async () => {
    const started = h.world.slack.mark();
    const sent = await socket.slashCommand({ userId: ALICE, text: 'request finance socket-sa Key Vault Secrets User --reason over socket mode', channelId: WORLD.requestsChannel });
    expect(sent.acked).toBe(true);
    expect(sent.elapsedMs).toBeLessThan(3000);

    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('socket-sa') && t.includes('waiting for approval'))) as string;
    expect(id).toMatch(/^wid-[a-z2-7]{10}$/);
    const approval = h.approvalMessage(id);
    expect(approval.channel).toBe(WORLD.approvalsChannel);
    expect(JSON.stringify(approval.blocks)).toContain('system:serviceaccount:finance:socket-sa');
    expect((await h.store.get(id))?.state).toBe('pending');

    const click = await socket.blockAction({ userId: BOB, actionId: ACTION.approve, message: { channel: approval.channel, ts: approval.ts } });
    expect(click.acked).toBe(true);
    expect(click.elapsedMs).toBeLessThan(3000);

    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 30_000);
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('succeeded');
    const identity = h.world.arm.state.identities().find((i) => i.name === done.plan.identity.name);
    expect(identity).toBeDefined();
    expect(h.world.kube.getServiceAccount('finance', 'socket-sa')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);

    const final = await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === approval.ts && JSON.stringify(e.blocks).includes('Done'), 10_000, { since: started });
    expect(JSON.stringify(final.blocks)).toContain(identity?.clientId as string);
    expect((await h.store.history(id)).map((e) => e.to)).toEqual(['pending', 'approved', 'provisioning', 'succeeded']);
  }, 60_000);

  test('a requester clicking Approve over Socket Mode is acked and refused', async () => {
    await socket.slashCommand({ userId: ALICE, text: 'request finance self-sa Key Vault Secrets User --reason self approval', channelId: WORLD.requestsChannel });
    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('self-sa') && t.includes('waiting for approval'))) as string;
    const approval = h.approvalMessage(id);
    const click = await socket.blockAction({ userId: ALICE, actionId: ACTION.approve, message: { channel: approval.channel, ts: approval.ts } });
    expect(click.elapsedMs).toBeLessThan(3000);
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('cannot approve your own request'));
    expect((await h.store.get(id))?.state).toBe('pending');
  }, 30_000);
});
