/**
 * Redis (with AOF) SIGKILLed and restarted on the same port and directory while requests wait
 * (pending approvals, a half-approved two-approval request, their expiry and reminder timers, a queued
 * job) and run (a job mid-provisioning, held by emulator latency). None is lost: every request reaches
 * succeeded after the restart and the remaining approvals. None runs twice: each resource is created
 * once (ARM 201s and Kubernetes creates counted) and each request succeeds once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import type { WidRequest } from '../../src/domain/types';
import { ACTION } from '../../src/slack/ids';
import { createSlackProgressSink } from '../../src/slack/progress';
import { startWorker, type RunningWorker } from '../../src/worker';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, type Harness } from '../e2e/harness';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';
import { countCreations, report, resourcesOf, sleep } from '../reliability/support';
import { ApprovalMessageGate } from '../../src/store/approval-gate';

const { requester: ALICE, approver: BOB, admin: CAROL } = WORLD.users;
const CONTRIBUTOR = `Contributor --scope /subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}`;

let redis: RedisServerHandle;
let dir: string;
let h: Harness;
let worker: RunningWorker | undefined;
const savedUrl = process.env.WID_TEST_REDIS_URL;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wid-aof-'));
  redis = await startRedisServer({ appendOnly: true, dir });
  // the harness takes the test Redis from the environment: point it at the private AOF server
  process.env.WID_TEST_REDIS_URL = redis.url;
  h = await startHarness({ world: { slack: { rateLimits: false }, arm: { throttle: false } } });
  worker = await startWorker({
    redisUrl: redis.url,
    prefix: h.prefix,
    policy: h.policy,
    azure: {
      credential: new ClientSecretCredential(WORLD.tenantId, WORLD.botClientId, WORLD.botClientSecret, { authorityHost: h.world.entra.url, disableInstanceDiscovery: true }),
      resourceManagerUrl: h.world.arm.url,
      retry: { maxRetries: 1, retryDelayMs: 50, maxRetryDelayMs: 200 },
    },
    kube: { kubeconfigPath: h.world.files.kubeconfig },
    entraAuthorityHost: h.world.entra.url,
    verify: { enabled: true, timeoutMs: 15_000 },
    // one job at a time, so a second approved request waits in the queue while the first runs
    concurrency: 1,
    progress: createSlackProgressSink({ botToken: WORLD.botToken, apiUrl: h.world.slack.apiUrl, store: h.store, intervalMs: 500, gate: new ApprovalMessageGate(h.store.redis, h.store.keys) }),
    queue: { lockDurationMs: 3000, stalledIntervalMs: 1000, backoffBaseMs: 200 },
  });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await h?.close();
  await redis?.stop({ keepDir: true });
  rmSync(dir, { recursive: true, force: true });
  if (savedUrl === undefined) delete process.env.WID_TEST_REDIS_URL;
  else process.env.WID_TEST_REDIS_URL = savedUrl;
});

async function requestAs(user: string, text: string): Promise<string> {
  const before = h.world.slack.ephemerals(user).length;
  expect((await h.wid(user, text)).status).toBe(200);
  for (let i = 0; i < 400; i++) {
    const hit = h.world.slack.ephemerals(user).slice(before).map((e) => `${e.text} ${JSON.stringify(e.blocks)}`).find((t) => requestIdIn(t));
    if (hit) return requestIdIn(hit) as string;
    await sleep(25);
  }
  throw new Error(`no request id for ${text}`);
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // Redis may be restarting
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('SIGKILL of Redis (AOF) with requests waiting and running: none lost, none run twice', async () => {
  const created = countCreations(h.world);
  const kubeCreates = () => h.world.kube.controls.requests({ method: 'POST', path: /\/serviceaccounts$/ }).length;
  const kube0 = kubeCreates();

  // waiting: a pending request, and a two-approval request with one approval
  const pending = await requestAs(ALICE, 'request finance redis-pending Key Vault Secrets User --reason wait through the restart');
  const halfApproved = await requestAs(ALICE, `request finance redis-half ${CONTRIBUTOR} --reason two approvals across the restart`);
  await h.click(BOB, ACTION.approve, halfApproved);
  await poll('the first approval', async () => ((await h.store.get(halfApproved))?.approvals.length === 1 ? true : undefined), 10_000);

  // running and queued: role-assignment writes take 3 s, the worker runs one job at a time
  h.world.arm.controls.setLatency(3000, { method: 'PUT', path: '/roleAssignments/' });
  const running = await requestAs(ALICE, 'request finance redis-running Key Vault Secrets User --reason running during the restart');
  const queued = await requestAs(ALICE, 'request finance redis-queued Key Vault Secrets User --reason queued during the restart');
  await h.click(BOB, ACTION.approve, running);
  await poll('the running job to reach the role assignment', async () => {
    const r = await h.store.get(running);
    return r?.steps.some((s) => s.step === 'identity' && s.outcome === 'done') ? r : undefined;
  }, 20_000);
  await h.click(BOB, ACTION.approve, queued);
  await poll('the queued job to be waiting', async () => ((await h.queues.provision.getJobState(queued)) === 'waiting' ? true : undefined), 10_000);

  const before = {
    timersDelayed: (await h.queues.timers.getJobCounts('delayed')).delayed ?? 0,
    states: Object.fromEntries(await Promise.all([pending, halfApproved, running, queued].map(async (id) => [id, (await h.store.get(id))?.state]))),
  };
  report(`before the kill: states ${JSON.stringify(Object.values(before.states))}, delayed timers ${before.timersDelayed}, running job state ${await h.queues.provision.getJobState(running)}, queued job state ${await h.queues.provision.getJobState(queued)}`);
  expect(before.timersDelayed).toBeGreaterThanOrEqual(2);

  // the crash: Redis dies mid-provisioning, stays down while the slow write completes, comes back from its AOF
  await redis.kill();
  const downAt = Date.now();
  await sleep(4000);
  redis = await startRedisServer({ appendOnly: true, dir, port: redis.port });
  const downFor = (Date.now() - downAt) / 1000;
  h.world.arm.controls.reset();

  // nothing waiting was lost
  const afterRestart = await poll('the store to answer again', async () => {
    const states = Object.fromEntries(await Promise.all([pending, halfApproved].map(async (id) => [id, (await h.store.get(id))?.state])));
    return states;
  }, 30_000);
  const timersAfter = await poll('the timers queue to answer', async () => (await h.queues.timers.getJobCounts('delayed')).delayed, 30_000);
  const half = await h.store.get(halfApproved);
  report(`after the restart (down ${downFor.toFixed(1)} s): pending ${afterRestart[pending]}, half-approved ${afterRestart[halfApproved]} with ${half?.approvals.length} approval, delayed timers ${timersAfter} (was ${before.timersDelayed})`);
  expect(afterRestart).toEqual({ [pending]: 'pending', [halfApproved]: 'pending' });
  expect(half?.approvals.map((a) => a.actor.id)).toEqual([BOB]);
  expect(timersAfter).toBe(before.timersDelayed);

  // the remaining approvals, then everything finishes
  await h.click(BOB, ACTION.approve, pending);
  await h.click(CAROL, ACTION.approve, halfApproved);
  const ids = [pending, halfApproved, running, queued];
  const finals: WidRequest[] = await Promise.all(
    ids.map((id) => poll(`request ${id} to finish`, async () => {
      const r = await h.store.get(id);
      return r && (r.state === 'succeeded' || (r.state === 'failed' && !r.failure?.retryable)) ? r : undefined;
    }, 120_000)),
  );
  const sas = ['redis-pending', 'redis-half', 'redis-running', 'redis-queued'];
  const counts = sas.map((sa) => resourcesOf(h.world, sa));
  const histories = await Promise.all(ids.map((id) => h.store.history(id)));
  const succeededTransitions = histories.map((hs) => hs.filter((e) => e.to === 'succeeded').length);
  const approvedTransitions = histories.map((hs) => hs.filter((e) => e.to === 'approved').length);
  const jobs = await h.queues.provision.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed']);
  report(
    `requests ${ids.length}, succeeded ${finals.filter((r) => r.state === 'succeeded').length}, identities ${counts.map((c) => c.identities.length).join('/')} (created ${created.identities()}), role assignments ${counts.map((c) => c.roleAssignments.length).join('/')} (created ${created.roleAssignments()}), FICs ${counts.map((c) => c.fics.length).join('/')}, ServiceAccounts created ${kubeCreates() - kube0}, succeeded transitions ${succeededTransitions.join('/')}, jobs ${jobs.length}, attempts of the running job ${jobs.find((j) => j.data.requestId === running)?.attemptsMade}`,
  );
  created.stop();
  expect(finals.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  for (const c of counts) expect([c.identities.length, c.roleAssignments.length, c.fics.length, c.serviceAccounts]).toEqual([1, 1, 1, 1]);
  expect(created.identities()).toBe(4);
  expect(created.roleAssignments()).toBe(4);
  expect(kubeCreates() - kube0).toBe(4);
  expect(succeededTransitions).toEqual([1, 1, 1, 1]);
  expect(approvedTransitions).toEqual([1, 1, 1, 1]);
  expect(finals.every((r) => r.steps.every((s) => s.outcome === 'done'))).toBe(true);
  expect(jobs.filter((j) => ids.includes(j.data.requestId))).toHaveLength(4);
}, 240_000);
