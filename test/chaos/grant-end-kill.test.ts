/**
 * Ending a grant survives a crash at every point: the worker is SIGKILLed right after the end was recorded as
 * asked for, right before the delete, right after the delete (before its record), and right after the record;
 * a new worker finishes it. Exactly one DELETE reaches ARM, the assignment is gone, the record says so once.
 */
import type { Grant } from '../../src/domain/grants';
import type { EndPoint } from '../../src/grants/context';
import { RedisGrantStore } from '../../src/grants/store';
import type { WidQueues } from '../../src/queue';
import { storageScope } from '../emulators/world';
import { queuesFor, startHarness, startWorker, startWorkerChild, waitFor, workerConfig, worldFor, type Harness } from '../integration/provision/harness';

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

  const doomed = await startWorkerChild(h, { WID_KILL_AT_END_POINT: point });
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
