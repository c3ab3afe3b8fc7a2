/**
 * The live policy check in the running bot: at `serve` start its problems are logged as warnings and the bot
 * starts anyway; `/wid policy check` answers an operator with each problem and refuses anyone else.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startBot, type RunningBot } from '../../src/main';
import { createLogger } from '../../src/observability/logger';
import { SlackSigningClient } from '../emulators/slack/client';
import { startWorld, worldPolicyYaml, WORLD, type World } from '../emulators/world';
import { freePort } from '../support/redis-server';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { waitForEphemeral } from './harness';

const { requester: ALICE, admin: CAROL } = WORLD.users;

describe('the policy check in the running bot', () => {
  let world: World;
  let bot: RunningBot;
  let slack: SlackSigningClient;
  const lines: string[] = [];

  beforeAll(async () => {
    world = await startWorld({ arm: { throttle: false } });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wid-policy-e2e-'));
    const policyFile = path.join(dir, 'policy.yaml');
    // one approver Slack does not know
    writeFileSync(policyFile, worldPolicyYaml({ operators: [CAROL] }).replace(`approvers:\n  users: [${CAROL}]`, `approvers:\n  users: [${CAROL}, U0NOBODY01]`));
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const env = { ...world.env, WID_POLICY_FILE: policyFile, REDIS_URL: testRedisUrl(), WID_REDIS_PREFIX: uniquePrefix('policy'), PORT: String(await freePort()), LOG_LEVEL: 'info' };
    bot = await startBot(env, { logger: createLogger({ level: 'info', destination: sink }) });
    slack = new SlackSigningClient({ botUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: WORLD.signingSecret, emulator: world.slack });
  }, 60_000);
  afterAll(async () => {
    await bot?.close();
    await world?.close();
  });

  test('at start: the problem is a warning in the log, and the bot serves anyway', async () => {
    const until = Date.now() + 20_000;
    const found = () => lines.find((l) => l.includes('policy check: ') && l.includes('approvers.users[1]'));
    while (!found() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const line = JSON.parse(found() as string) as { level: number | string; msg: string; policyProblem: { path: string; check: string } };
    expect(line.msg).toContain('Slack has no user U0NOBODY01. Fix: ');
    expect(line.policyProblem).toMatchObject({ path: 'approvers.users[1]', check: 'slack-user' });
    expect(['warn', 40]).toContain(line.level);
    expect((await fetch(`http://127.0.0.1:${bot.port}/readyz`)).status).toBe(200);
  }, 30_000);

  test('/wid policy check: an operator gets each problem with its field and fix; anyone else is refused', async () => {
    await slack.slashCommand({ userId: ALICE, text: 'policy check', channelId: WORLD.requestsChannel });
    const refused = await waitForEphemeral(world, ALICE, (t) => t.includes('policy check'));
    expect(refused).toContain("Only wid-bot's operators");

    await slack.slashCommand({ userId: CAROL, text: 'policy check', channelId: WORLD.requestsChannel });
    const answer = await waitForEphemeral(world, CAROL, (t) => t.includes('Policy check: 1 problem'), 30_000);
    expect(answer).toContain('approvers.users[1]');
    expect(answer).toContain('Slack has no user U0NOBODY01');
    expect(answer).toContain('Fix:');
  }, 60_000);
});

describe('the policy check at start, split roles', () => {
  let world: World;
  let policyFile: string;

  beforeAll(async () => {
    world = await startWorld({ arm: { throttle: false } });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wid-policy-roles-'));
    policyFile = path.join(dir, 'policy.yaml');
    writeFileSync(policyFile, worldPolicyYaml({ operators: [CAROL] }).replace(`approvers:\n  users: [${CAROL}]`, `approvers:\n  users: [${CAROL}, U0NOBODY01]`));
  }, 60_000);
  afterAll(async () => {
    await world?.close();
  });

  async function startRole(role: 'web' | 'worker'): Promise<{ bot: RunningBot; lines: string[] }> {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const env = { ...world.env, WID_ROLE: role, WID_POLICY_FILE: policyFile, REDIS_URL: testRedisUrl(), WID_REDIS_PREFIX: uniquePrefix(`policy-${role}`), PORT: String(await freePort()), LOG_LEVEL: 'info' };
    return { bot: await startBot(env, { logger: createLogger({ level: 'info', destination: sink }) }), lines };
  }

  test('a worker-only process runs it (it has the ARM clients loaded anyway) and logs each problem', async () => {
    const { bot, lines } = await startRole('worker');
    try {
      const until = Date.now() + 20_000;
      const found = () => lines.find((l) => l.includes('policy check: ') && l.includes('approvers.users[1]'));
      while (!found() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(found()).toContain('Slack has no user U0NOBODY01');
    } finally {
      await bot.close();
    }
  }, 30_000);

  test('a web-only process leaves it to the worker role and says so, so it never loads the ARM clients for it', async () => {
    const { bot, lines } = await startRole('web');
    try {
      await new Promise((r) => setTimeout(r, 4_500)); // past the delay after which a worker runs it
      expect(lines.some((l) => l.includes('the policy check at start runs in the worker role'))).toBe(true);
      expect(lines.some((l) => l.includes('policy check: '))).toBe(false);
      expect(lines.some((l) => l.includes('policy checked against'))).toBe(false);
    } finally {
      await bot.close();
    }
  }, 30_000);
});
