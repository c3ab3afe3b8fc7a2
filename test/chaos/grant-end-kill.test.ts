/**
 * Ending a grant survives a crash at every point: the worker is SIGKILLed right after the end was recorded as
 * asked for, right before the delete, right after the delete (before its record), and right after the record;
 * a new worker finishes it. Exactly one DELETE reaches ARM, the assignment is gone, the record says so once.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Grant } from '../../src/domain/grants';
import type { EndPoint } from '../../src/grants/context';
import { RedisGrantStore } from '../../src/grants/store';
import type { WidQueues } from '../../src/queue';
import { storageScope } from '../emulators/world';
import { queuesFor, startHarness, startWorker, waitFor, workerConfig, worldFor, type Harness } from '../integration/provision/harness';
import { testRedisUrl } from '../support/redis';

jest.setTimeout(120_000);

let h: Harness;
let queues: WidQueues;
let grants: RedisGrantStore;

beforeAll(async () => {
  h = await startHarness({ arm: { throttle: false } });
  queues = await queuesFor(h);
  grants = new RedisGrantStore(h.store.redis, h.store.keys);
});
afterAll(async () => {
  await queues?.close();
  await h?.close();
});

function doomedWorker(point: EndPoint): { exited: Promise<NodeJS.Signals | null>; ready: Promise<void> } {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.resolve(__dirname, '../support/worker-child.ts')], {
    cwd: path.resolve(__dirname, '../..'),
    env: {
      ...process.env,
      WID_REDIS_URL: testRedisUrl(),
      WID_PREFIX: h.prefix,
      WID_ARM_URL: h.world.arm.url,
      WID_KUBECONFIG: h.world.files.kubeconfig,
      WID_ENTRA_URL: h.world.entra.url,
      WID_POLICY_FILE: h.world.files.policy,
      WID_KILL_AT_END_POINT: point,
      WID_LOCK_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_c, s) => resolve(s)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (c, s) => reject(new Error(`worker child exited before it was ready (${c ?? s})`)));
  });
  return { exited, ready };
}

const POINTS: EndPoint[] = ['ending', 'removing', 'removed', 'ended'];

test.each(POINTS)('SIGKILL at %s of the end, then a new worker: the assignment goes exactly once and the record says so', async (point) => {
  const sa = `end-kill-${point}`;
  const request = await h.approvedGrant(sa, {
    roleName: 'Storage Blob Data Reader',
    scope: storageScope(),
    mutatePlan: (p) => {
      p.durationSeconds = 4;
    },
  });
  // provisioned by a worker that then stops (so the doomed one is the only one when the end comes)
  const first = await startWorker(workerConfig(h, { grants: { reconcileIntervalMs: 60_000 } }));
  await queues.enqueueProvision(request.id, 'grant');
  const done = await waitFor(`request ${request.id} to succeed`, async () => {
    const r = await h.store.get(request.id);
    return r?.state === 'succeeded' ? r : undefined;
  });
  await first.close();
  const [ra] = worldFor(h.world, done).roleAssignments;
  expect(ra).toBeDefined();
  const deletes = () => h.world.arm.controls.requests({ method: 'DELETE', path: ra?.name as string }).length;
  const deletes0 = deletes();

  const doomed = doomedWorker(point);
  await doomed.ready;
  const signal = await doomed.exited;
  expect(signal).toBe('SIGKILL');

  const rescuer = await startWorker(workerConfig(h, { grants: { reconcileIntervalMs: 1000, limits: { lockTtlMs: 1500 } } }));
  try {
    const ended = await waitFor(`grant ${request.id} to end`, async () => {
      const g = (await grants.get(request.id))?.grant;
      return g?.state === 'ended' ? g : undefined;
    }, 30_000);
    expect((ended as Grant).end).toMatchObject({ reason: 'expired', assignmentRemoved: true });
    expect(worldFor(h.world, done).roleAssignments).toHaveLength(0);
    expect(deletes() - deletes0).toBe(1);
  } finally {
    await rescuer.close();
  }
});
