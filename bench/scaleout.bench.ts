/**
 * Scale-out benchmark: the same N grants (500 by default), approved at once by one requester, run by 1, 2 and 4
 * wid-bot worker processes on this machine (real child processes, each with the product's default concurrency,
 * sharing one Redis — its queue and token buckets — and one world). The ARM emulator enforces Azure's
 * documented limits, so the bound is the same for every worker count:
 *   bound = max((3N − 200) / 10, (N − 80) / 4, (3N − 250) / 25, 0) s + one idle grant's critical path
 * (see bench/provision.bench.ts); efficiency = bound / measured. Each run gets a fresh world (full ARM buckets)
 * and a fresh key prefix. Nothing may run twice: each request has one provisioning run, and each resource gets
 * one write (PUTs per resource counted in the ARM emulator's log).
 *
 *   npx tsx bench/scaleout.bench.ts [--json] [--requests 500] [--latency 50] [--workers 1,2,4]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { anyToken } from './support/setup';
import { createAzureAdapters } from '../src/azure';
import { loadPolicyFile } from '../src/config/policy';
import type { WidRequest } from '../src/domain/types';
import { createQueues, watchProvisionEvents } from '../src/queue';
import { RedisRequestStore } from '../src/store';
import { createTls } from '../test/emulators/common/tls';
import { startWorld, WORLD } from '../test/emulators/world';
import { startRedisServer, type RedisServerHandle } from '../test/support/redis-server';
import { bucketBoundSeconds, limitsText } from './provision.bench';
import { approvedGrant, countWrites } from './support/grants';
import { benchCaDir, inTrustedChild, runInTrustedChild } from './support/trusted-child';

export interface ScaleoutRun {
  workers: number;
  seconds: number;
  bound_seconds: number;
  efficiency: number;
  idle_ms: number;
  failed: number;
  azure_429: number;
  provisioning_runs: number;
  repeated_writes: number;
  extra_puts: number;
  /** The machine's 1-minute load average at the end of the run (2 cores: above 2 means processes waited for a CPU). */
  load_1m: number;
}

export interface ScaleoutBenchResult {
  scaleout: Record<string, number | string>;
}

const round = (n: number, d = 3): number => Math.round(n * 10 ** d) / 10 ** d;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function flag(argv: string[], name: string): string | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i] as string;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
}

function positive(argv: string[], name: string, fallback: number): number {
  const v = flag(argv, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} needs a whole number above 0, got ${v}`);
  return n;
}

function workerCounts(argv: string[]): number[] {
  const v = flag(argv, 'workers') ?? '1,2,4';
  const ns = v.split(',').map((s) => Number(s.trim()));
  if (!ns.length || ns.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) throw new Error(`--workers needs worker counts from 1 to 16 separated by commas (e.g. 1,2,4), got ${v}`);
  return ns;
}

/** Starts a worker process; resolves once it takes jobs. */
async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'support', 'worker-process.ts')], {
    cwd: path.join(__dirname, '..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a worker process did not start within 60 s')), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`a worker process exited before it was ready (${code ?? signal})`));
    });
  });
  return child;
}

async function stopWorkerProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

async function oneRun(redis: RedisServerHandle, workers: number, requests: number, latencyMs: number, log: (s: string) => void): Promise<ScaleoutRun> {
  const world = await startWorld({ tls: await createTls(benchCaDir()), entra: { jwksCacheMs: 3_600_000 } });
  const prefix = `widscale:${randomBytes(3).toString('hex')}`;
  const store = await RedisRequestStore.connect(redis.url, { prefix });
  const queues = await createQueues(redis.url, prefix, { provisionAttempts: 10 });
  const policy = loadPolicyFile(world.files.policy);
  const cluster = policy.clusters[0];
  if (!cluster) throw new Error('the world policy has no cluster');
  const facts = await createAzureAdapters({ credential: anyToken, resourceManagerUrl: world.arm.url, audience: 'https://management.azure.com' }).clusters.getClusterFacts(cluster);
  const children: ChildProcess[] = [];
  const waiting = new Map<string, () => void>();
  const events = await watchProvisionEvents(redis.url, prefix, {
    onCompleted: (id) => waiting.get(id)?.(),
    onFailed: (id) => waiting.get(id)?.(),
  });
  const untilDone = (id: string): Promise<void> => new Promise((resolve) => waiting.set(id, resolve));
  try {
    const env = {
      WID_BENCH_REDIS_URL: redis.url,
      WID_BENCH_PREFIX: prefix,
      WID_BENCH_ARM_URL: world.arm.url,
      WID_BENCH_KUBECONFIG: world.files.kubeconfig,
      WID_BENCH_ENTRA_URL: world.entra.url,
      WID_BENCH_POLICY_FILE: world.files.policy,
    };
    children.push(...(await Promise.all(Array.from({ length: workers }, () => startWorkerProcess(env)))));
    for (const c of [world.arm.controls, world.kube.controls, world.entra.controls]) c.setLatency(latencyMs);

    // warm-up: every process loads its clients and opens its connections on its first jobs (2 per process slot)
    const warm = await Promise.all(Array.from({ length: workers * 2 }, (_, i) => approvedGrant(store, policy, facts, `warm-${i}`, `U0WARM${String(i).padStart(4, '0')}`)));
    const warmDone = warm.map((r) => untilDone(r.id));
    await Promise.all(warm.map((r) => queues.enqueueProvision(r.id, 'grant', { requester: r.requester.id })));
    await Promise.all(warmDone);
    await sleep(1000);
    // one grant on the idle system: the critical path the bound adds
    const idle = await approvedGrant(store, policy, facts, 'idle', 'U0IDLE0001');
    const idleDone = untilDone(idle.id);
    const i0 = performance.now();
    await queues.enqueueProvision(idle.id, 'grant', { requester: idle.requester.id });
    await idleDone;
    const idleMs = performance.now() - i0;
    await sleep(Math.max(2000, ((workers * 2 + 1) * 3 * 1000) / 10 + 1000)); // the warm-up's and idle grant's write tokens refill (10/s)

    const logFrom = world.arm.controls.log.length;
    const throttledBefore = world.arm.stats().throttled;
    const batch: WidRequest[] = [];
    for (let i = 0; i < requests; i++) batch.push(await approvedGrant(store, policy, facts, `scale-${i}`, WORLD.users.requester));
    const done = batch.map((r) => untilDone(r.id));
    const t0 = performance.now();
    for (const r of batch) await queues.enqueueProvision(r.id, 'grant', { requester: r.requester.id });
    let finished = 0;
    const ticker = setInterval(() => log(`  ${workers} worker(s): ${finished}/${requests} after ${((performance.now() - t0) / 1000).toFixed(0)} s`), 15_000);
    await Promise.all(done.map((p) => p.then(() => void finished++)));
    clearInterval(ticker);
    const seconds = (performance.now() - t0) / 1000;

    const finals = await Promise.all(batch.map((r) => store.get(r.id)));
    const failed = finals.filter((r) => r?.state !== 'succeeded' || r.resources.verified !== true).length;
    let runs = 0;
    for (const r of batch) runs += (await store.history(r.id)).filter((e) => e.to === 'provisioning').length;
    const writes = countWrites(world.arm.controls.log, logFrom);
    if (writes.identities !== requests || writes.roleAssignments !== requests || writes.federatedCredentials !== requests) {
      throw new Error(`expected ${requests} identities, role assignments and credentials written, got ${writes.identities}, ${writes.roleAssignments}, ${writes.federatedCredentials}`);
    }
    const bound = bucketBoundSeconds(requests) + idleMs / 1000;
    return {
      workers,
      seconds: round(seconds, 2),
      bound_seconds: round(bound, 2),
      efficiency: round(bound / seconds),
      idle_ms: round(idleMs, 0),
      failed,
      azure_429: world.arm.stats().throttled - throttledBefore,
      provisioning_runs: runs,
      repeated_writes: writes.repeatedWrites,
      extra_puts: writes.extraPuts,
      load_1m: round(os.loadavg()[0] ?? 0, 1),
    };
  } finally {
    await Promise.all(children.map(stopWorkerProcess));
    await events.close();
    await queues.close();
    await store.close();
    await world.close();
  }
}

async function measure(requests: number, latencyMs: number, counts: number[], log: (s: string) => void): Promise<ScaleoutBenchResult> {
  const redis = await startRedisServer();
  const out: Record<string, number | string> = { requests, limits: limitsText(), worker_concurrency: Number(process.env.WID_WORKER_CONCURRENCY ?? 4) };
  try {
    for (const n of counts) {
      const r = await oneRun(redis, n, requests, latencyMs, log);
      log(`scale-out: ${n} worker(s): ${r.seconds} s (bound ${r.bound_seconds} s) → efficiency ${r.efficiency}; failed ${r.failed}, 429 ${r.azure_429}, runs ${r.provisioning_runs}, repeated writes ${r.repeated_writes}, extra PUTs ${r.extra_puts}; load average ${r.load_1m}`);
      const key = n === 1 ? '1_worker' : `${n}_workers`;
      out[`efficiency_${key}`] = r.efficiency;
      out[`seconds_${key}`] = r.seconds;
      out[`bound_seconds_${key}`] = r.bound_seconds;
      out[`failed_${key}`] = r.failed;
      out[`azure_429_${key}`] = r.azure_429;
      out[`provisioning_runs_${key}`] = r.provisioning_runs;
      out[`repeated_writes_${key}`] = r.repeated_writes;
      out[`extra_puts_${key}`] = r.extra_puts;
      out[`load_1m_${key}`] = r.load_1m;
    }
  } finally {
    await redis.stop();
  }
  return { scaleout: out };
}

export async function run(opts: { quiet?: boolean; argv?: string[] } = {}): Promise<ScaleoutBenchResult> {
  const argv = opts.argv ?? [];
  const requests = positive(argv, 'requests', 500);
  const latencyMs = positive(argv, 'latency', 50);
  const counts = workerCounts(argv);
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(s + '\n');
  };
  if (inTrustedChild()) return measure(requests, latencyMs, counts, log);
  return runInTrustedChild<ScaleoutBenchResult>(__filename, ['--json', '--requests', String(requests), '--latency', String(latencyMs), '--workers', counts.join(',')], {
    name: 'scaleout',
    ...(opts.quiet ? { quiet: true } : {}),
  });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  run({ argv, quiet: process.env.WID_BENCH_QUIET === '1' })
    .then((r) => {
      process.stdout.write((json ? JSON.stringify(r) : Object.entries(r.scaleout).map(([k, v]) => `scaleout.${k}  ${v}`).join('\n')) + '\n');
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`scaleout bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
