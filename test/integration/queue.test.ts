import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RetryableError, TerminalError } from '../../src/domain/errors';
import {
  createProvisionWorker,
  createQueues,
  createTimerWorker,
  parseProvisionJobId,
  provisionJobId,
  PROVISION_QUEUE,
  timerJobId,
  watchProvisionEvents,
  widBackoffStrategy,
  type JobHelpers,
  type ProvisionJobData,
  type TimerJobData,
  type WidQueues,
  type WidWorker,
} from '../../src/queue';
import { storeKeys } from '../../src/store';
import { testRedisUrl, uniquePrefix } from '../support/redis';

const closers: (() => Promise<void>)[] = [];
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const close of closers.reverse()) await close();
});

async function queues(prefix: string, opts: Parameters<typeof createQueues>[2] = {}): Promise<WidQueues> {
  const q = await createQueues(testRedisUrl(), prefix, opts);
  closers.push(() => q.close());
  return q;
}

function track<D>(w: WidWorker<D>): WidWorker<D> {
  closers.push(() => w.close());
  return w;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('job ids and backoff', () => {
  test('provision and timer job ids are deterministic and BullMQ-safe', () => {
    expect(provisionJobId('wid-abc')).toBe('wid-abc');
    expect(provisionJobId('wid-abc', 2)).toBe('wid-abc-retry-2');
    expect(parseProvisionJobId('wid-abc-retry-2')).toEqual({ requestId: 'wid-abc', retry: 2 });
    expect(parseProvisionJobId('wid-abc')).toEqual({ requestId: 'wid-abc', retry: 0 });
    expect(timerJobId('wid-abc', 'expire')).toBe('expire-wid-abc');
    expect(() => provisionJobId('a:b')).toThrow(TerminalError);
    expect(() => provisionJobId('123')).toThrow(TerminalError);
  });

  test('backoff grows exponentially within [d/2, d], is capped, and honours Retry-After', () => {
    const lo = widBackoffStrategy({ baseDelayMs: 1000, maxDelayMs: 8000, random: () => 0 });
    const hi = widBackoffStrategy({ baseDelayMs: 1000, maxDelayMs: 8000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5].map((n) => lo(n))).toEqual([500, 1000, 2000, 4000, 4000]);
    expect([1, 2, 3, 4, 5].map((n) => hi(n))).toEqual([1000, 2000, 4000, 8000, 8000]);
    expect(lo(1, 'x', new RetryableError('429', 'TooManyRequests', 17))).toBe(17_000);
    expect(hi(1, 'x', new RetryableError('429', 'TooManyRequests', 17))).toBe(18_000);
  });
});

describe('provision queue', () => {
  test('the same request queued twice, even concurrently, is one job; a numbered retry is another', async () => {
    const prefix = uniquePrefix('dup');
    const q = await queues(prefix);
    const ids = await Promise.all(Array.from({ length: 10 }, () => q.enqueueProvision('wid-dup-1', 'grant')));
    expect(new Set(ids)).toEqual(new Set(['wid-dup-1']));
    expect(await q.provision.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed')).toMatchObject({ waiting: 1 });
    expect(await q.enqueueProvision('wid-dup-1', 'grant', { retry: 1 })).toBe('wid-dup-1-retry-1');
    expect(await q.provision.count()).toBe(2);
    const job = await q.provision.getJob('wid-dup-1');
    expect(job?.data).toEqual({ requestId: 'wid-dup-1', action: 'grant' });
    expect(job?.opts.attempts).toBe(8);
    // all keys live under the prefix
    const r = new Redis(testRedisUrl());
    closers.push(async () => void (await r.quit()));
    const keys = await r.keys(`${prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith(`${storeKeys(prefix).bullPrefix}:`))).toBe(true);
    expect(keys.some((k) => k.startsWith(`${storeKeys(prefix).bullPrefix}:${PROVISION_QUEUE}:`))).toBe(true);
  });

  test('a TerminalError fails the job at once: no retries, reason kept, final-failure hook called once', async () => {
    const prefix = uniquePrefix('term');
    const q = await queues(prefix);
    let calls = 0;
    const finals: string[] = [];
    track(
      createProvisionWorker(
        testRedisUrl(),
        prefix,
        async () => {
          calls++;
          throw new TerminalError('The identity already has 20 federated credentials (the Azure limit).', 'FederatedCredentialLimit');
        },
        { backoff: { baseDelayMs: 10 }, onFinalFailure: (d, e) => void finals.push(`${d.requestId}: ${e.message}`) },
      ),
    );
    await q.enqueueProvision('wid-term-1', 'grant');
    await waitFor('job failed', async () => (await q.provision.getJob('wid-term-1'))?.isFailed());
    // Read the job again once it is failed: an object fetched while it was still active carries attemptsMade 0.
    const job = await q.provision.getJob('wid-term-1');
    expect(calls).toBe(1);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain('20 federated credentials');
    await waitFor('final hook', async () => finals.length > 0);
    expect(finals).toEqual(['wid-term-1: The identity already has 20 federated credentials (the Azure limit).']);
  });

  test('a RetryableError is retried with growing backoff, and Retry-After is honoured', async () => {
    const prefix = uniquePrefix('retry');
    const q = await queues(prefix);
    const seen: { at: number; h: JobHelpers }[] = [];
    track(
      createProvisionWorker(
        testRedisUrl(),
        prefix,
        async (_d, h) => {
          seen.push({ at: Date.now(), h });
          if (seen.length === 1) throw new RetryableError('ARM 503', 'ServiceUnavailable');
          if (seen.length === 2) throw new RetryableError('ARM 503', 'ServiceUnavailable');
          if (seen.length === 3) throw new RetryableError('ARM 429', 'TooManyRequests', 1);
        },
        { backoff: { baseDelayMs: 200 } },
      ),
    );
    await q.enqueueProvision('wid-retry-1', 'grant');
    await waitFor('job completed', async () => (await q.provision.getJob('wid-retry-1'))?.isCompleted());
    expect(seen.map((s) => s.h.attemptsMade)).toEqual([0, 1, 2, 3]);
    expect(seen.every((s) => s.h.attempts === 8 && !s.h.isFinalAttempt && s.h.jobId === 'wid-retry-1')).toBe(true);
    const gaps = seen.slice(1).map((s, i) => s.at - (seen[i] as { at: number }).at);
    // attempt 1 → [100, 200] ms, attempt 2 → [200, 400] ms, then Retry-After 1 s → [1000, 1100] ms (+ polling slack)
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[0]).toBeLessThan(1000);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[1]).toBeLessThan(1200);
    expect(gaps[2]).toBeGreaterThanOrEqual(995);
  });

  test('retries run out: the last attempt knows it is final and the job fails', async () => {
    const prefix = uniquePrefix('exhaust');
    const q = await queues(prefix, { provisionAttempts: 3 });
    const finals: boolean[] = [];
    const hooks: string[] = [];
    track(
      createProvisionWorker(
        testRedisUrl(),
        prefix,
        async (_d, h) => {
          finals.push(h.isFinalAttempt);
          throw new RetryableError('still 503', 'ServiceUnavailable');
        },
        { backoff: { baseDelayMs: 20 }, onFinalFailure: (d) => void hooks.push(d.requestId) },
      ),
    );
    await q.enqueueProvision('wid-exh-1', 'revoke');
    await waitFor('job failed', async () => (await q.provision.getJob('wid-exh-1'))?.isFailed());
    expect(finals).toEqual([false, false, true]);
    await waitFor('final hook', async () => hooks.length > 0);
    expect(hooks).toEqual(['wid-exh-1']);
  });

  test('close() waits for a running job to finish', async () => {
    const prefix = uniquePrefix('close');
    const q = await queues(prefix);
    let finished = false;
    let started = false;
    const w = createProvisionWorker(testRedisUrl(), prefix, async () => {
      started = true;
      await new Promise((r) => setTimeout(r, 500));
      finished = true;
    });
    await q.enqueueProvision('wid-close-1', 'grant');
    await waitFor('job started', async () => started);
    await w.close();
    expect(finished).toBe(true);
    expect(await (await q.provision.getJob('wid-close-1'))?.isCompleted()).toBe(true);
  });

  test('a worker killed mid-job (SIGKILL) leaves a stalled job that another worker picks up and finishes', async () => {
    const prefix = uniquePrefix('stall');
    const q = await queues(prefix);
    await q.enqueueProvision('wid-stall-1', 'grant');
    const stallOpts = { lockDuration: 1000, stalledInterval: 500 };
    const code = `
      const { createProvisionWorker } = require('./src/queue');
      createProvisionWorker(process.env.WID_URL, process.env.WID_PREFIX, async (d) => {
        process.stdout.write('STARTED ' + d.requestId + '\\n');
        await new Promise(() => {});
      }, ${JSON.stringify(stallOpts)});
    `;
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', code], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, WID_URL: testRedisUrl(), WID_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let startTimer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('STARTED wid-stall-1')) resolve();
      });
      child.once('exit', (c) => reject(new Error(`worker child exited early with ${c}`)));
      startTimer = setTimeout(() => reject(new Error('worker child did not start the job')), 20_000);
    }).finally(() => clearTimeout(startTimer));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await (await q.provision.getJob('wid-stall-1'))?.getState()).toBe('active');

    const runs: number[] = [];
    const stalled: string[] = [];
    const w = track(
      createProvisionWorker(
        testRedisUrl(),
        prefix,
        async () => {
          runs.push(Date.now());
        },
        stallOpts,
      ),
    );
    w.worker.on('stalled', (id) => stalled.push(id));
    const killedAt = Date.now();
    await waitFor('job completed by the second worker', async () => (await q.provision.getJob('wid-stall-1'))?.isCompleted(), 15_000);
    expect(runs).toHaveLength(1);
    expect(stalled).toEqual(['wid-stall-1']);
    // recovered after the dead worker's lock ran out, well within a few stall intervals
    expect((runs[0] as number) - killedAt).toBeLessThan(5000);
  }, 40_000);
});

describe('provision events', () => {
  test('progress, completion and final failure reach a watcher, named by request id', async () => {
    const prefix = uniquePrefix('events');
    const q = await queues(prefix, { provisionAttempts: 2 });
    const seen: string[] = [];
    const watch = await watchProvisionEvents(testRedisUrl(), prefix, {
      onProgress: (id, p) => seen.push(`progress ${id} ${JSON.stringify(p)}`),
      onCompleted: (id) => seen.push(`completed ${id}`),
      onFailed: (id, reason) => seen.push(`failed ${id} ${reason}`),
    });
    closers.push(() => watch.close());
    await new Promise((r) => setTimeout(r, 200));
    track(
      createProvisionWorker(
        testRedisUrl(),
        prefix,
        async (d, h) => {
          if (d.requestId === 'wid-ev-bad') throw new RetryableError('ARM 503', 'ServiceUnavailable');
          await h.updateProgress({ step: 'identity', outcome: 'done' });
        },
        { backoff: { baseDelayMs: 20 } },
      ),
    );
    await q.enqueueProvision('wid-ev-ok', 'grant', { retry: 1 });
    await waitFor('completed event', async () => seen.some((s) => s.startsWith('completed')));
    await q.enqueueProvision('wid-ev-bad', 'grant');
    await waitFor('failed event', async () => seen.some((s) => s.startsWith('failed')));
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['progress wid-ev-ok {"step":"identity","outcome":"done"}', 'completed wid-ev-ok', 'failed wid-ev-bad ARM 503']);
  });
});

describe('timers', () => {
  test('scheduling twice yields one expire and one remind job; they fire on time; cancel removes pending ones', async () => {
    const prefix = uniquePrefix('timers');
    const q = await queues(prefix);
    const t0 = Date.now();
    await q.scheduleTimers('wid-t-1', t0 + 900, t0 + 300);
    await q.scheduleTimers('wid-t-1', t0 + 900, t0 + 300);
    await Promise.all([q.scheduleTimers('wid-t-2', t0 + 60_000), q.scheduleTimers('wid-t-2', t0 + 60_000)]);
    expect(await q.timers.getJobCounts('delayed')).toEqual({ delayed: 3 });
    await q.cancelTimers('wid-t-2');
    expect(await q.timers.getJobCounts('delayed')).toEqual({ delayed: 2 });

    const fired: { data: TimerJobData; at: number }[] = [];
    track(createTimerWorker(testRedisUrl(), prefix, async (data) => void fired.push({ data, at: Date.now() - t0 })));
    await waitFor('both timers fired', async () => fired.length >= 2, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(fired.map((f) => f.data)).toEqual([
      { requestId: 'wid-t-1', kind: 'remind' },
      { requestId: 'wid-t-1', kind: 'expire' },
    ]);
    expect(fired[0]?.at).toBeGreaterThanOrEqual(290);
    expect(fired[1]?.at).toBeGreaterThanOrEqual(890);
    // a finished timer's id is still taken, so scheduling again does not fire again
    await q.scheduleTimers('wid-t-1', Date.now(), Date.now());
    await new Promise((r) => setTimeout(r, 300));
    expect(fired).toHaveLength(2);
  });

  test('a producer fails fast with a retryable error when Redis is unreachable', async () => {
    await expect(createQueues('redis://127.0.0.1:1', uniquePrefix('down'))).rejects.toMatchObject({ kind: 'retryable', code: 'RedisUnavailable' });
  });
});

// keep the BullMQ types referenced so the job data contract is checked at compile time
export type _ProvisionQueue = Queue<ProvisionJobData>;
