/**
 * `npm run demo`: the whole wid-bot flow with no Azure, Kubernetes or Slack credentials.
 * Starts the test world (ARM, Entra ID, Kubernetes and Slack emulators) and a private Redis, starts
 * the real wid-bot process (`wid serve`) configured against them, and plays a scenario as people
 * would, printing the Slack conversation as it happens. Exits 0 when everything behaved.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisRequestStore } from '../../src/store';
import { ACTION, CALLBACK, DENY_BLOCK, INPUT_ACTION } from '../../src/slack/ids';
import { ANNOTATION_CLIENT_ID, type WidRequest } from '../../src/domain/types';
import { startWorld, WORLD, keyVaultScope, type World } from '../../test/emulators/world';
import { SlackSigningClient } from '../../test/emulators/slack/client';
import type { SlackEmulatorEvent } from '../../test/emulators/slack';
import { freePort, startRedisServer, type RedisServerHandle } from '../../test/support/redis-server';
import { formatEvent, type TranscriptNames } from './transcript';

const ROOT = path.resolve(__dirname, '..', '..');
const say = (s: string): void => {
  process.stdout.write(s + '\n');
};
const scene = (s: string): void => say(`\n\x1b[1m── ${s}\x1b[0m`);
const person = (who: string, what: string): void => say(`\x1b[36m${who}\x1b[0m: ${what}`);

class Check {
  failures: string[] = [];
  ok(cond: boolean, what: string): void {
    say(`  ${cond ? '\x1b[32m✓\x1b[0m' : '\x1b[31m✗\x1b[0m'} ${what}`);
    if (!cond) this.failures.push(what);
  }
}

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function startBot(world: World, redisUrl: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(ROOT, 'src', 'cli.ts'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, ...world.env, REDIS_URL: redisUrl, PORT: String(port), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', WID_REDIS_PREFIX: 'wid-demo' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitUntil(
    'wid-bot to be ready',
    async () => {
      if (child.exitCode !== null) throw new Error(`wid-bot exited with code ${child.exitCode} before it was ready`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        return r.status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
  );
  return child;
}

async function main(): Promise<number> {
  const check = new Check();
  let redis: RedisServerHandle | undefined;
  let world: World | undefined;
  let bot: ChildProcess | undefined;
  let store: RedisRequestStore | undefined;
  try {
    scene('Starting the local world: ARM, Entra ID, Kubernetes, Slack emulators and Redis');
    redis = await startRedisServer();
    world = await startWorld({ arm: { principalReplicationDelayMs: 1500 }, kube: { podIdentityCrds: true } });
    world.arm.controls.setLatency([5, 40]);
    world.kube.controls.setLatency([2, 15]);
    const w = world;
    w.kube.seedServiceAccount({ namespace: 'finance', name: 'backend-sa', labels: { app: 'backend' }, annotations: { 'team.example.com/owner': 'finance' } });
    // A pod that runs as backend-sa but has not opted in to workload identity: /wid audit will point at it.
    w.kube.seedPod({ namespace: 'finance', name: 'backend-7d9f8c-x2k4p', serviceAccountName: 'backend-sa', labels: { app: 'backend' } });
    say(`  ARM ${w.urls.arm}  Entra ${w.urls.entra}  Kubernetes ${w.urls.kube}  Slack ${w.urls.slack}  Redis ${redis.url}`);
    const port = await freePort();
    const t0 = Date.now();
    bot = await startBot(w, redis.url, port);
    say(`  wid-bot is ready on :${port} after ${Date.now() - t0} ms (wid serve: web + worker in one process)`);
    store = await RedisRequestStore.connect(redis.url, { prefix: 'wid-demo' });

    const names: TranscriptNames = {
      users: { [WORLD.users.requester]: 'alice', [WORLD.users.approver]: 'bob', [WORLD.users.admin]: 'carol', [WORLD.users.outsider]: 'dave' },
      channels: { [WORLD.approvalsChannel]: '#wid-approvals', [WORLD.requestsChannel]: '#finance' },
    };
    for (const [id, name] of Object.entries(names.users)) names.channels[w.slack.dmChannel(id)] = `@${name} (DM)`;
    w.slack.onEvent((e: SlackEmulatorEvent) => {
      const line = formatEvent(e, names);
      if (line) say(line.split('\n').map((l) => `    ${l}`).join('\n'));
    });
    const slack = new SlackSigningClient({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: WORLD.signingSecret, emulator: w.slack });

    // ── 1. a request, an unauthorised click, an approval, live progress, the result
    scene('1. Alice asks for a workload identity');
    const text = 'request finance backend-sa Key Vault Secrets User --reason "read the payments DB password"';
    person('alice', `/wid ${text}`);
    let mark = w.slack.mark();
    const ack = await slack.slashCommand({ text, userId: WORLD.users.requester, userName: 'alice', channelId: WORLD.requestsChannel, channelName: 'finance' });
    check.ok(ack.status === 200 && ack.elapsedMs < 3000, `command acknowledged in ${Math.round(ack.elapsedMs)} ms`);
    const approvalPost = await w.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.approvalsChannel && !e.threadTs, 10_000, { since: mark });
    const approvalTs = approvalPost.ts ?? '';
    const requests = await waitUntil('the stored request', async () => (await store?.listByRequester(WORLD.users.requester, 5))?.[0]);
    check.ok(requests.state === 'pending', `request ${requests.id} is pending approval in ${names.channels[WORLD.approvalsChannel]}`);

    scene('2. Dave, who is no approver, clicks Approve');
    person('dave', 'clicks [Approve]');
    mark = w.slack.mark();
    await slack.blockAction({ userId: WORLD.users.outsider, userName: 'dave', actionId: ACTION.approve, message: { channel: WORLD.approvalsChannel, ts: approvalTs } });
    await w.slack.waitFor((e) => e.kind === 'ephemeral' && e.user === WORLD.users.outsider, 10_000, { since: mark });
    check.ok((await store.get(requests.id))?.state === 'pending', 'nothing changed: the request is still pending');

    scene('3. Bob, the finance approver, clicks Approve');
    person('bob', 'clicks [Approve]');
    await slack.blockAction({ userId: WORLD.users.approver, userName: 'bob', actionId: ACTION.approve, message: { channel: WORLD.approvalsChannel, ts: approvalTs } });
    const done = await waitUntil(
      'the request to finish',
      async () => {
        const r = await store?.get(requests.id);
        return r && (r.state === 'succeeded' || r.state === 'failed') ? r : undefined;
      },
      60_000,
    );
    check.ok(done.state === 'succeeded', `request ${done.id} ${done.state}${done.failure ? `: ${done.failure.reason}` : ''}`);
    await sleep(1500); // let the coalesced final message update and the thread reply land
    const identities = w.arm.state.identities().filter((i) => i.tags['wid-request-id'] === done.id || i.clientId === done.resources.clientId);
    check.ok(identities.length === 1, `Azure: exactly one managed identity (${identities[0]?.name ?? 'none'})`);
    const fics = w.arm.state.federatedCredentials().filter((f) => f.identityId.toLowerCase() === identities[0]?.id.toLowerCase());
    check.ok(fics.length === 1 && fics[0]?.issuer === w.kube.issuerUrl && fics[0]?.subject === 'system:serviceaccount:finance:backend-sa', 'Azure: one federated credential trusting the cluster issuer for finance/backend-sa');
    const ras = w.arm.state.roleAssignments().filter((r) => r.principalId === identities[0]?.principalId);
    check.ok(ras.length === 1 && ras[0]?.scope.toLowerCase() === keyVaultScope().toLowerCase(), 'Azure: one role assignment, Key Vault Secrets User on kv-finance');
    const sa = w.kube.getServiceAccount('finance', 'backend-sa');
    const ann = (sa?.metadata.annotations ?? {}) as Record<string, string>;
    check.ok(ann[ANNOTATION_CLIENT_ID] === identities[0]?.clientId && ann['team.example.com/owner'] === 'finance', 'Kubernetes: ServiceAccount annotated with the client id, its other annotations kept');
    check.ok(done.resources.verified === true, 'verified: a ServiceAccount token was exchanged for an Entra token as the new identity');
    const thread = w.slack.replies(WORLD.approvalsChannel, approvalTs);
    check.ok(thread.some((m) => m.text.includes('azure.workload.identity/use') || JSON.stringify(m.blocks ?? []).includes('azure.workload.identity/use')), 'the thread has the pod snippet');
    check.ok(w.slack.dms(WORLD.users.requester).length > 0, 'alice got a direct message with the result');

    // ── 4. a deny with a reason
    scene('4. Alice asks for Storage Blob Data Reader; Bob denies it with a reason');
    const text2 = `request finance reports-sa Storage Blob Data Reader --scope /subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.Storage/storageAccounts/${WORLD.storageAccount} --for 2d --reason "monthly reports"`;
    person('alice', `/wid ${text2}`);
    mark = w.slack.mark();
    await slack.slashCommand({ text: text2, userId: WORLD.users.requester, userName: 'alice', channelId: WORLD.requestsChannel, channelName: 'finance' });
    const second = await w.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.approvalsChannel && !e.threadTs, 10_000, { since: mark });
    person('bob', 'clicks [Deny]');
    mark = w.slack.mark();
    await slack.blockAction({ userId: WORLD.users.approver, userName: 'bob', actionId: ACTION.deny, message: { channel: WORLD.approvalsChannel, ts: second.ts ?? '' } });
    await w.slack.waitFor((e) => e.kind === 'view_open' && e.user === WORLD.users.approver, 10_000, { since: mark });
    person('bob', 'types the reason "use the shared reports identity instead" and submits');
    mark = w.slack.mark();
    await slack.viewSubmission({
      userId: WORLD.users.approver,
      userName: 'bob',
      view: { callback_id: CALLBACK.denyModal, state: { values: { [DENY_BLOCK.reason]: { [INPUT_ACTION]: { type: 'plain_text_input', value: 'use the shared reports identity instead' } } } } },
    });
    const denied = await waitUntil('the denial', async () => {
      const list = (await store?.listByRequester(WORLD.users.requester, 5)) ?? [];
      return list.find((r: WidRequest) => r.serviceAccount === 'reports-sa' && r.state === 'denied');
    });
    check.ok(denied.state === 'denied', `request ${denied.id} denied`);
    await w.slack.waitFor((e) => e.channel === w.slack.dmChannel(WORLD.users.requester) && (e.text ?? '').includes('use the shared reports identity instead'), 10_000, { since: mark }).then(
      () => check.ok(true, 'alice was told, with the reason'),
      () => check.ok(false, 'alice was told, with the reason'),
    );
    check.ok(!w.kube.getServiceAccount('finance', 'reports-sa') && !w.arm.state.identities().some((i) => i.name.includes('reports-sa')), 'nothing was created for the denied request');

    // ── 5. the runbook's checks
    for (const verb of ['cluster', 'audit']) {
      scene(`${verb === 'cluster' ? '5' : '6'}. Carol runs /wid ${verb}`);
      person('carol', `/wid ${verb}`);
      mark = w.slack.mark();
      const r = await slack.slashCommand({ text: verb, userId: WORLD.users.admin, userName: 'carol', channelId: WORLD.requestsChannel, channelName: 'finance' });
      check.ok(r.status === 200, `/wid ${verb} acknowledged in ${Math.round(r.elapsedMs)} ms`);
      const answer = await w.slack
        .waitFor((e) => (e.kind === 'post' || e.kind === 'ephemeral') && !/scanning|checking/i.test(e.text ?? ''), 20_000, { since: mark })
        .catch(() => undefined);
      const shown = JSON.stringify(answer ?? {});
      if (verb === 'cluster') check.ok(/ready for workload identity/.test(shown), '/wid cluster says the cluster is ready for workload identity');
      else check.ok(/azure\.workload\.identity\/use/.test(shown) && /backend-7d9f8c-x2k4p/.test(shown), '/wid audit finds the pod that has not opted in, with the fix');
      await sleep(300);
    }

    scene(check.failures.length === 0 ? 'Everything behaved.' : `${check.failures.length} check(s) failed:`);
    for (const f of check.failures) say(`  - ${f}`);
    return check.failures.length === 0 ? 0 : 1;
  } catch (e) {
    say(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    if (bot && bot.exitCode === null) {
      bot.kill('SIGTERM');
      await Promise.race([new Promise((r) => bot?.once('exit', r)), sleep(10_000)]);
      if (bot.exitCode === null) bot.kill('SIGKILL');
    }
    await store?.close();
    await world?.close();
    await redis?.stop();
  }
}

main().then((code) => process.exit(code));
