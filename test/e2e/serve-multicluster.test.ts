/**
 * The composition root with two clusters: the env the world writes (WID_KUBECONFIGS names green's kubeconfig)
 * makes `wid serve` pick each cluster's Kubernetes API, in the worker and in the web side's inspections.
 */
import { startBot, type RunningBot } from '../../src/main';
import { startWorld, WORLD, type World } from '../emulators/world';
import { SlackSigningClient } from '../emulators/slack/client';
import { freePort } from '../support/redis-server';
import { testRedisUrl, uniquePrefix } from '../support/redis';

describe('wid serve with blue and green', () => {
  let world: World;
  let bot: RunningBot;

  beforeAll(async () => {
    world = await startWorld({ arm: { throttle: false }, extraClusters: [{ name: 'green', aksName: 'aks-green' }] });
    bot = await startBot({ ...world.env, REDIS_URL: testRedisUrl(), WID_REDIS_PREFIX: uniquePrefix('serve-mc'), PORT: String(await freePort()), LOG_LEVEL: 'silent' });
  });
  afterAll(async () => {
    await bot?.close();
    await world?.close();
  });

  it('a request for green is provisioned and verified on green’s API; /wid federate adds blue; /wid list --cluster green reads green', async () => {
    expect(world.env.WID_KUBECONFIGS).toBe(`green=${world.files.kubeconfigs.green}`);
    const slack = new SlackSigningClient({ botUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: WORLD.signingSecret, emulator: world.slack });
    const mark = world.slack.mark();
    await slack.slashCommand({ text: 'request finance on-green Key Vault Secrets User --cluster green', userId: WORLD.users.requester });
    const post = await world.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.approvalsChannel && !e.threadTs, 10_000, { since: mark });
    await slack.blockAction({ userId: WORLD.users.approver, actionId: 'wid_approve', message: { channel: WORLD.approvalsChannel, ts: post.ts ?? '' } });
    await world.slack.waitFor((e) => e.kind === 'post' && e.threadTs === post.ts && (e.text ?? '').includes('ready'), 30_000, { since: mark });
    const sa = world.kubes.green?.getServiceAccount('finance', 'on-green');
    const clientId = sa?.metadata.annotations?.['azure.workload.identity/client-id'];
    expect(world.arm.state.identities().filter((i) => i.clientId === clientId)).toHaveLength(1);
    expect(world.kube.getServiceAccount('finance', 'on-green')).toBeUndefined();
    const thread = world.slack.replies(WORLD.approvalsChannel, post.ts ?? '').map((m) => JSON.stringify(m.blocks)).join('\n');
    expect(thread).toContain('Verified');

    // /wid federate through the same composition: the green identity also trusts blue, on blue's API
    await new Promise((r) => setTimeout(r, 1100)); // Slack's one message per second in the approvals channel
    const fedMark = world.slack.mark();
    await slack.slashCommand({ text: 'federate finance on-green --cluster blue', userId: WORLD.users.requester });
    const fedPost = await world.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.approvalsChannel && !e.threadTs, 10_000, { since: fedMark });
    expect(JSON.stringify(fedPost.blocks)).toContain('Federate another cluster');
    await slack.blockAction({ userId: WORLD.users.approver, actionId: 'wid_approve', message: { channel: WORLD.approvalsChannel, ts: fedPost.ts ?? '' } });
    await world.slack.waitFor((e) => e.kind === 'post' && e.threadTs === fedPost.ts && (e.text ?? '').includes('ready'), 30_000, { since: fedMark });
    expect(world.kube.getServiceAccount('finance', 'on-green')?.metadata.annotations?.['azure.workload.identity/client-id']).toBe(clientId);
    expect(world.arm.state.identities().find((i) => i.clientId === clientId)?.federatedCredentials.map((f) => f.issuer).sort()).toEqual([world.kube.issuerUrl, world.kubes.green?.issuerUrl].sort());

    const listMark = world.slack.mark();
    await slack.slashCommand({ text: 'list finance --cluster green --share', userId: WORLD.users.admin, channelId: WORLD.requestsChannel });
    const listed = await world.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.requestsChannel, 15_000, { since: listMark });
    expect(JSON.stringify(listed.blocks ?? listed.text)).toContain('on-green');
  }, 60_000);
});
