/**
 * Per-requester fairness on the real BullMQ queue (the test Redis): one requester's batch is queued behind any
 * single request, two batches interleave, queueing a job twice does not move it, and the worker is told the lane.
 */
import { createProvisionWorker, createQueues, type JobHelpers, type WidQueues, type WidWorker, type ProvisionJobData } from '../../src/queue';
import { testRedisUrl, uniquePrefix } from '../support/redis';

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

async function queues(prefix: string): Promise<WidQueues> {
  const q = await createQueues(testRedisUrl(), prefix);
  closers.push(() => q.close());
  return q;
}

interface Seen {
  requestId: string;
  priority: number;
}

/** A worker taking one job at a time, each for `ms`; records the order and the priority it saw. */
function recorder(prefix: string, ms: number, seen: Seen[], opts: { autorun?: boolean } = {}): WidWorker<ProvisionJobData> {
  const w = createProvisionWorker(
    testRedisUrl(),
    prefix,
    async (data: ProvisionJobData, helpers: JobHelpers) => {
      seen.push({ requestId: data.requestId, priority: helpers.priority });
      await new Promise((r) => setTimeout(r, ms));
    },
    { concurrency: 1, ...opts },
  );
  closers.push(() => w.close());
  return w;
}

async function until(what: string, fn: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a single request approved while a 40-job batch runs is taken next, ahead of the 30-odd batch jobs still queued', async () => {
  const prefix = uniquePrefix('fair');
  const q = await queues(prefix);
  const seen: Seen[] = [];
  recorder(prefix, 40, seen);
  for (let i = 0; i < 40; i++) await q.enqueueProvision(`wid-batch-${i}`, 'grant', { requester: 'U-BATCH' });
  await until('the batch to start', () => seen.length >= 8);
  const startedBefore = seen.length;
  await q.enqueueProvision('wid-single', 'grant', { requester: 'U-ONE' });
  await until('every job to run', () => seen.length === 41);
  const at = seen.findIndex((s) => s.requestId === 'wid-single');
  // it was queued after 8+ jobs had started: at most one more (taken while it was being queued) ran before it
  expect(at).toBeGreaterThanOrEqual(startedBefore);
  expect(at).toBeLessThanOrEqual(startedBefore + 1);
  const batchAfter = seen.slice(at + 1).length;
  expect(batchAfter).toBeGreaterThanOrEqual(25);
  expect(seen[at]?.priority).toBe(0);
  // the batch's first jobs were interactive; the rest ran in the requester's order, prioritised
  const batch = seen.filter((s) => s.requestId.startsWith('wid-batch-'));
  expect(batch.slice(0, 5).every((s) => s.priority === 0)).toBe(true);
  expect(batch.slice(5).every((s) => s.priority > 0)).toBe(true);
  expect(batch.map((s) => s.requestId)).toEqual(Array.from({ length: 40 }, (_, i) => `wid-batch-${i}`));
  expect(new Set(seen.map((s) => s.requestId)).size).toBe(41);
}, 30_000);

test('two requesters’ batches interleave instead of the first running to its end; queueing a job again neither moves nor repeats it', async () => {
  const prefix = uniquePrefix('fair2');
  const q = await queues(prefix);
  const seen: Seen[] = [];
  const w = recorder(prefix, 5, seen, { autorun: false });
  for (let i = 0; i < 15; i++) await q.enqueueProvision(`wid-a-${i}`, 'grant', { requester: 'U-A' });
  for (let i = 0; i < 15; i++) await q.enqueueProvision(`wid-b-${i}`, 'grant', { requester: 'U-B' });
  // approving twice queues one job, and does not push it to the back of the requester's line
  expect(await q.enqueueProvision('wid-a-7', 'grant', { requester: 'U-A' })).toBe('wid-a-7');
  await q.enqueueProvision('wid-urgent', 'grant', { requester: 'U-A', lane: 'interactive' });
  void w.worker.run();
  await until('every job to run', () => seen.length === 31);
  const order = seen.map((s) => s.requestId);
  expect(new Set(order).size).toBe(31);
  // the 10 interactive ones (5 each) and the forced one first, then a-5, b-5, a-6, b-6, …
  expect(order.slice(0, 11).sort()).toEqual([...['wid-urgent'], ...Array.from({ length: 5 }, (_, i) => `wid-a-${i}`), ...Array.from({ length: 5 }, (_, i) => `wid-b-${i}`)].sort());
  const rest = order.slice(11);
  for (let k = 0; k < 10; k++) expect([rest[2 * k], rest[2 * k + 1]].sort()).toEqual([`wid-a-${k + 5}`, `wid-b-${k + 5}`]);
}, 30_000);

test('a forced batch job without a requester still queues behind interactive ones', async () => {
  const prefix = uniquePrefix('fair3');
  const q = await queues(prefix);
  const seen: Seen[] = [];
  const w = recorder(prefix, 5, seen, { autorun: false });
  await q.enqueueProvision('wid-bulk', 'grant', { requester: 'U-X', lane: 'batch' });
  await q.enqueueProvision('wid-plain', 'grant');
  void w.worker.run();
  await until('both jobs to run', () => seen.length === 2);
  expect(seen.map((s) => [s.requestId, s.priority])).toEqual([
    ['wid-plain', 0],
    ['wid-bulk', 1],
  ]);
});
