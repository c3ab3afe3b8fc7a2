/**
 * Grants end whatever happens to Redis: restarted from its AOF after a SIGKILL, its delayed jobs lost, or flushed
 * after the grants were made. In each drill every grant's assignment is gone within one reconcile interval of its
 * end (or of the worker's return), `expiry.missed` is 0, and after an emptied Redis the reconciler removes only the
 * role assignments (from the descriptions Azure keeps): the identity, its federated credential and the
 * ServiceAccount annotation stay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Grant } from '../../src/domain/grants';
import type { WidRequest } from '../../src/domain/types';
import { RedisGrantStore } from '../../src/grants/store';
import { GRANTS_QUEUE, type WidQueues } from '../../src/queue';
import type { RunningWorker } from '../../src/worker';
import { storageScope } from '../emulators/world';
import { queuesFor, startHarness, startWorker, waitFor, workerConfig, worldFor, type Harness } from '../integration/provision/harness';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';

jest.setTimeout(120_000);

const RECONCILE_MS = 3000;
/** Time an end itself may take on a loaded machine, beyond the reconcile interval. */
const SLACK_MS = 2500;
const GRANTS_PER_DRILL = 3;

let redis: RedisServerHandle;
let dir: string;
let h: Harness;
let queues: WidQueues;
let grants: RedisGrantStore;
const savedUrl = process.env.WID_TEST_REDIS_URL;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wid-grants-aof-'));
  redis = await startRedisServer({ appendOnly: true, dir });
  process.env.WID_TEST_REDIS_URL = redis.url;
  h = await startHarness({ arm: { throttle: false } });
  queues = await queuesFor(h);
  grants = new RedisGrantStore(h.store.redis, h.store.keys);
});
afterAll(async () => {
  await queues?.close();
  await h?.close();
  await redis?.stop({ keepDir: true });
  rmSync(dir, { recursive: true, force: true });
  if (savedUrl === undefined) delete process.env.WID_TEST_REDIS_URL;
  else process.env.WID_TEST_REDIS_URL = savedUrl;
});

const worker = (): Promise<RunningWorker> => startWorker(workerConfig(h, { grants: { reconcileIntervalMs: RECONCILE_MS, backoffBaseMs: 100 } }));

/** Grants of `seconds`, provisioned; returns them with their ends. */
async function makeGrants(tag: string, seconds: number): Promise<Array<{ request: WidRequest; endsAt: number }>> {
  const made = await Promise.all(
    Array.from({ length: GRANTS_PER_DRILL }, (_, i) => h.approvedGrant(`${tag}-${i}`, { roleName: 'Storage Blob Data Reader', scope: storageScope(), mutatePlan: (p) => void (p.durationSeconds = seconds) })),
  );
  for (const r of made) await queues.enqueueProvision(r.id, 'grant');
  const out: Array<{ request: WidRequest; endsAt: number }> = [];
  for (const r of made) {
    const done = await waitFor(`request ${r.id} to succeed`, async () => {
      const x = await h.store.get(r.id);
      if (x?.state === 'failed') throw new Error(`request failed: ${x.failure?.reason}`);
      return x?.state === 'succeeded' ? x : undefined;
    }, 30_000);
    const g = (await grants.get(r.id))?.grant as Grant;
    out.push({ request: done, endsAt: Date.parse(g.endsAt as string) });
  }
  for (const x of out) expect(worldFor(h.world, x.request).roleAssignments).toHaveLength(1);
  return out;
}

/**
 * Waits until every grant's assignment is gone or the deadline (from `since` of each, plus one reconcile interval)
 * passes; returns how many were missed and the latest lateness after `since`.
 */
async function missedAfter(made: Array<{ request: WidRequest; endsAt: number }>, since: (endsAt: number) => number): Promise<{ missed: number; worstMs: number }> {
  const gone = new Map<string, number>();
  const deadline = Math.max(...made.map((m) => since(m.endsAt))) + RECONCILE_MS + SLACK_MS;
  while (Date.now() < deadline && gone.size < made.length) {
    for (const m of made) if (!gone.has(m.request.id) && worldFor(h.world, m.request).roleAssignments.length === 0) gone.set(m.request.id, Date.now());
    await new Promise((r) => setTimeout(r, 50));
  }
  const missed = made.filter((m) => !gone.has(m.request.id) || (gone.get(m.request.id) as number) > since(m.endsAt) + RECONCILE_MS + SLACK_MS).length;
  const worstMs = Math.max(0, ...made.map((m) => (gone.get(m.request.id) ?? Infinity) - since(m.endsAt)));
  return { missed, worstMs };
}

function report(drill: string, r: { missed: number; worstMs: number }): void {
  process.stdout.write(`[chaos] ${drill}: expiry.missed=${r.missed}, latest removal ${(r.worstMs / 1000).toFixed(1)} s after the end (reconcile interval ${RECONCILE_MS / 1000} s)\n`);
}

test('Redis SIGKILLed and restarted from its AOF (same directory) while grants run: every grant still ends, none missed', async () => {
  const w1 = await worker();
  let made: Array<{ request: WidRequest; endsAt: number }>;
  try {
    made = await makeGrants('aof', 6);
  } finally {
    await w1.close();
  }
  await redis.kill();
  redis = await startRedisServer({ port: redis.port, appendOnly: true, dir });
  await waitFor('the store to reconnect', async () => ((await h.store.redis.ping().catch(() => undefined)) === 'PONG' ? true : undefined), 15_000);
  // the AOF kept the grants and their delayed end jobs
  for (const m of made) expect((await grants.get(m.request.id))?.grant.state).toBe('active');
  const w2 = await worker();
  try {
    const r = await missedAfter(made, (endsAt) => endsAt);
    report('Redis restarted from AOF', r);
    expect(r.missed).toBe(0);
    for (const m of made) expect((await grants.get(m.request.id))?.grant.state).toBe('ended');
  } finally {
    await w2.close();
  }
});

test('the delayed end jobs are lost (BullMQ delayed set deleted): the reconciler ends every grant within one interval', async () => {
  const w = await worker();
  try {
    const made = await makeGrants('lost-jobs', 6);
    const delayed = `${h.store.keys.bullPrefix}:${GRANTS_QUEUE}:delayed`;
    expect(await h.store.redis.zcard(delayed)).toBeGreaterThan(0);
    await h.store.redis.del(delayed);
    const r = await missedAfter(made, (endsAt) => endsAt);
    report('delayed jobs lost', r);
    expect(r.missed).toBe(0);
    for (const m of made) expect((await grants.get(m.request.id))?.grant.end).toMatchObject({ reason: 'expired', assignmentRemoved: true });
  } finally {
    await w.close();
  }
});

test('Redis flushed after the grants were made (FLUSHALL): the returning worker ends them from Azure\'s descriptions and removes only the role assignments', async () => {
  const w1 = await worker();
  let made: Array<{ request: WidRequest; endsAt: number }>;
  try {
    made = await makeGrants('flushed', 5);
  } finally {
    await w1.close();
  }
  await h.store.redis.flushall();
  await new Promise((r) => setTimeout(r, Math.max(0, Math.max(...made.map((m) => m.endsAt)) - Date.now() + 200)));
  const back = Date.now();
  const w2 = await worker();
  try {
    const r = await missedAfter(made, () => back);
    report('Redis flushed', r);
    expect(r.missed).toBe(0);
  } finally {
    await w2.close();
  }
  for (const m of made) {
    const left = worldFor(h.world, m.request);
    expect(left.roleAssignments).toHaveLength(0);
    // another grant may still need these: the reconciler never takes them with the assignment
    expect(left.identity).toBeDefined();
    expect(left.federatedCredentials).toHaveLength(1);
    expect(left.annotations['azure.workload.identity/client-id']).toBe(left.identity?.clientId);
  }
});
