/**
 * `wid serve` started as a process while Slack cannot be reached: it stays up, answers /healthz 200 and /readyz
 * 503 with the reason, logs one line per connection attempt, and becomes ready (and takes requests) once Slack
 * is back on the same address.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startWorld, WORLD, type World } from '../../emulators/world';
import { startSlackEmulator, type SlackEmulator } from '../../emulators/slack';
import { SlackSigningClient } from '../../emulators/slack/client';
import { freePort } from '../../support/redis-server';
import { testRedisUrl, uniquePrefix } from '../../support/redis';

jest.setTimeout(60_000);

const ROOT = path.resolve(__dirname, '../../..');

interface Line {
  level: string;
  msg: string;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each(['web', 'all'])('serve --role %s with Slack unreachable at start', (role) => {
  let world: World;
  let slack: SlackEmulator | undefined;
  let bot: ChildProcess | undefined;
  const lines: Line[] = [];
  let stderr = '';

  beforeAll(async () => {
    world = await startWorld({ arm: { throttle: false } });
    await world.slack.close(); // the world's Slack is gone: its port refuses connections
  });
  afterAll(async () => {
    if (bot && bot.exitCode === null) {
      const exited = new Promise((r) => bot?.once('exit', r));
      bot.kill('SIGTERM');
      await exited;
    }
    await slack?.close();
    await world?.close();
  });

  it('stays up, says why it is not ready, and becomes ready when Slack returns', async () => {
    const slackPort = world.slack.port;
    const port = await freePort();
    const env = { ...process.env, ...world.env, REDIS_URL: testRedisUrl(), WID_REDIS_PREFIX: uniquePrefix('noslack'), PORT: String(port), LOG_LEVEL: 'info' };
    const proc = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(ROOT, 'src', 'cli.ts'), 'serve', '--role', role], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    bot = proc;
    let partial = '';
    proc.stdout?.on('data', (d: Buffer) => {
      const text = partial + d.toString();
      const all = text.split('\n');
      partial = all.pop() ?? '';
      for (const l of all) if (l.trim()) lines.push(JSON.parse(l) as Line);
    });
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const base = `http://127.0.0.1:${port}`;

    await until('/healthz', async () => (await fetch(`${base}/healthz`).then((r) => r.status, () => undefined)) ?? (proc.exitCode !== null ? -1 : undefined));
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    const body = (await notReady.json()) as { notReady: string[]; checks: Record<string, { ok: boolean; error?: string }> };
    expect(body.notReady).toEqual(['slack']);
    expect(body.checks.redis).toEqual({ ok: true });
    expect(body.checks.slack?.error).toMatch(/^Slack not connected after 1 attempt: Slack cannot be reached: .*ECONNREFUSED.*; next attempt in \d+ s$/);

    // one warning per failed attempt, with the reason and the wait
    await until('a second failed attempt', async () => (lines.some((l) => /Slack: attempt 2 failed/.test(l.msg)) ? true : undefined));
    const attempts = lines.filter((l) => /^Slack: attempt \d+ failed/.test(l.msg));
    expect(attempts[0]).toMatchObject({ level: 'warn' });
    expect(attempts[0]?.msg).toMatch(/^Slack: attempt 1 failed: Slack cannot be reached: .*ECONNREFUSED.*; next attempt in 1 s$/);
    expect(attempts[1]?.msg).toMatch(/; next attempt in 2 s$/);
    // nothing else went wrong, and no secret was written
    expect(proc.exitCode).toBeNull();
    expect(stderr).toBe('');
    expect(lines.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    expect(lines.filter((l) => JSON.stringify(l).includes(WORLD.botToken))).toEqual([]);

    // Slack comes back on the same address
    slack = await startSlackEmulator({ port: slackPort, usergroups: [{ id: WORLD.platformGroup, handle: 'platform', users: [WORLD.users.admin] }] });
    const ready = await until('/readyz 200', async () => {
      const r = await fetch(`${base}/readyz`);
      return r.status === 200 ? ((await r.json()) as { status: string }) : undefined;
    });
    expect(ready.status).toBe('ready');
    expect(lines.filter((l) => /^Slack: connected/.test(l.msg))).toHaveLength(1);
    expect(lines.find((l) => /^Slack: connected/.test(l.msg))).toMatchObject({ level: 'info' });

    // and it answers Slack as usual
    const signed = new SlackSigningClient({ botUrl: `${base}/slack/events`, signingSecret: WORLD.signingSecret, emulator: slack });
    const mark = slack.mark();
    const ack = await signed.slashCommand({ text: 'request finance back-sa Key Vault Secrets User --reason slack came back', userId: WORLD.users.requester });
    expect(ack.status).toBe(200);
    const post = await slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.approvalsChannel, 10_000, { since: mark });
    expect(JSON.stringify(post)).toContain('back-sa');
  });
});
