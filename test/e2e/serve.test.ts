import { spawn } from 'node:child_process';
import path from 'node:path';
import { ConfigError } from '../../src/config/env';
import { startBot, type RunningBot } from '../../src/main';
import { startWorld, WORLD, type World } from '../emulators/world';
import { SlackSigningClient } from '../emulators/slack/client';
import { freePort } from '../support/redis-server';
import { testRedisUrl, uniquePrefix } from '../support/redis';

const ROOT = path.resolve(__dirname, '..', '..');

describe('wid serve (the composition root)', () => {
  let world: World;
  let bot: RunningBot;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    world = await startWorld({ arm: { throttle: false } });
    env = { ...world.env, REDIS_URL: testRedisUrl(), WID_REDIS_PREFIX: uniquePrefix('serve'), PORT: String(await freePort()), LOG_LEVEL: 'silent' };
    bot = await startBot(env);
  });
  afterAll(async () => {
    await bot?.close();
    await world?.close();
  });

  it('serves health, readiness and Prometheus metrics on PORT beside the Slack app', async () => {
    const base = `http://127.0.0.1:${bot.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { redis: { ok: true }, slack: { ok: true } } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('wid_queue_jobs');
    expect(metrics).toContain('wid_step_duration_seconds');
  });

  it('takes a signed /wid request through approval to a provisioned identity, and counts it in the metrics', async () => {
    const slack = new SlackSigningClient({ botUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: WORLD.signingSecret, emulator: world.slack });
    const mark = world.slack.mark();
    const ack = await slack.slashCommand({ text: 'request finance serve-sa Key Vault Secrets User --reason composition test', userId: WORLD.users.requester });
    expect(ack.status).toBe(200);
    const post = await world.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.approvalsChannel && !e.threadTs, 10_000, { since: mark });
    await slack.blockAction({ userId: WORLD.users.approver, actionId: 'wid_approve', message: { channel: WORLD.approvalsChannel, ts: post.ts ?? '' } });
    const deadline = Date.now() + 30_000;
    while (!world.kube.getServiceAccount('finance', 'serve-sa')?.metadata.annotations?.['azure.workload.identity/client-id'] && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const sa = world.kube.getServiceAccount('finance', 'serve-sa');
    const clientId = sa?.metadata.annotations?.['azure.workload.identity/client-id'];
    expect(world.arm.state.identities().filter((i) => i.clientId === clientId)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1500)); // the metrics feed reads the audit stream asynchronously
    const metrics = await (await fetch(`http://127.0.0.1:${bot.port}/metrics`)).text();
    expect(metrics).toMatch(/wid_request_transitions_total\{[^}]*to="approved"[^}]*\} 1/);
    expect(metrics).toMatch(/wid_outside_calls_total\{[^}]*system="azure"/);
    expect(metrics).toMatch(/wid_slack_acks_total\{[^}]*kind="command"/);
  });

  it('refuses to start with one message naming every bad variable', async () => {
    await expect(startBot({ ...env, REDIS_URL: 'http://nope', SLACK_BOT_TOKEN: '', WID_POLICY_FILE: '/nonexistent/policy.yaml' })).rejects.toThrow(ConfigError);
    try {
      await startBot({ ...env, REDIS_URL: 'http://nope', SLACK_BOT_TOKEN: '', WID_POLICY_FILE: '/nonexistent/policy.yaml' });
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain('REDIS_URL');
      expect(msg).toContain('SLACK_BOT_TOKEN');
      expect(msg).toContain('/nonexistent/policy.yaml');
    }
  });

  it('as a process: exits 2 on bad configuration, and exits 0 on SIGTERM after finishing', async () => {
    const run = (extra: NodeJS.ProcessEnv) =>
      spawn(process.execPath, ['-r', 'tsx/cjs', path.join(ROOT, 'src', 'cli.ts'), 'serve'], { cwd: ROOT, env: { ...process.env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    const bad = run({ ...env, SLACK_BOT_TOKEN: '' });
    let err = '';
    bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const badCode = await new Promise<number | null>((r) => bad.once('exit', r));
    expect(badCode).toBe(2);
    expect(err).toContain('SLACK_BOT_TOKEN');
    expect(err).not.toMatch(/\n\s+at /); // no stack trace

    const port = await freePort();
    const good = run({ ...env, PORT: String(port) });
    const deadline = Date.now() + 25_000;
    let ready = false;
    while (!ready && Date.now() < deadline) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready).toBe(true);
    good.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => good.once('exit', r));
    expect(code).toBe(0);
  }, 40_000);
});
