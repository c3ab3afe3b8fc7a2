/**
 * Fairness benchmark: one request approved while a big batch runs must not wait behind it.
 *
 * Against the local world (every ARM, Kubernetes and Entra call delayed by L; the ARM emulator enforcing Azure's
 * documented limits: writes 200, 10/s; reads 250, 25/s; deletes 200, 10/s; identity creates 80 per 20 s), with
 * one worker (concurrency 48, as bench/provision.bench.ts):
 *
 *  1. idle: single grant requests, each by its own requester, one after another on an idle system → the median
 *     approve → verified time T_idle;
 *  2. loaded: N grants (500 by default) approved at once by one requester (its first 5 interactive, the rest a
 *     batch), and while they run, single requests by other requesters approved every `--every` seconds, from
 *     after the write bucket's burst is spent until the batch nears its end. Each single's approve → verified
 *     time T is set against T_idle + one throttle slot (1 / 10 s of ARM's write bucket):
 *       ratio = T / (T_idle + slot)                         (goal ≤ 2)
 *     The figure is the median of the singles' ratios; the worst is given beside it.
 *  3. the batch's own efficiency against the bucket bound for N + singles grants (see provision.bench.ts), so the
 *     lanes are seen not to cost throughput; and the batch's median approve → verified time, which is what a
 *     single request queued first-come-first-served behind it would wait.
 *
 *  `--batch refederate` (`npm run bench -- --only=fairness-refederate`, keys `fairness_refederate.*`): the batch beside
 *     the singles is a refederate instead: N identities (500) trust finance/app-<i> under the cluster's issuer, the
 *     cluster is recreated, `/wid refederate` is planned and approved through RefederateService (its store and queue,
 *     as from Slack) and run by the worker's refederate worker (1 read + 1 write per identity, batch lane), with a
 *     single request approved every 6 s. Same ratio; the refederate's time is set against its bucket bound
 *     max((N − 200) / 10, (N − 250) / 25) s (the singles' own writes are not in that bound).
 *
 *   npx tsx bench/fairness.bench.ts [--json] [--latency 50] [--requests 500] [--singles 5] [--every 20] [--batch grants|refederate] [--world-in-process]
 *
 * The world runs in a child process of its own (its emulators' CPU work off the worker's event loop); `--world-in-process`
 * starts it in the measuring process instead.
 */
import os from 'node:os';
import { createAzureAdapters } from '../src/azure';
import { AZURE_LIMITS } from '../src/domain/azure-limits';
import type { ProgressSink } from '../src/domain/ports';
import type { WidRequest } from '../src/domain/types';
import { RefederateQueue, RefederateService } from '../src/app/refederate';
import type { RefederationBatch } from '../src/domain/refederate-batch';
import type { ClusterPort } from '../src/domain/ports';
import type { Policy } from '../src/domain/types';
import { createKubeAdapter } from '../src/kube';
import { RefederationStore } from '../src/store/refederations';
import { IssuerHistory, recordingIssuers } from '../src/store/issuers';
import { connectionFor } from '../src/store/redis-auth';
import { refederateBoundSeconds } from './refederate.bench';
import { RedisRequestStore } from '../src/store';
import { startWorker } from '../src/worker';
import { WORLD } from '../test/emulators/world';
import { bucketBoundSeconds, limitsText } from './provision.bench';
import { approvedGrant, countWrites } from './support/grants';
import { inTrustedChild, runInTrustedChild } from './support/trusted-child';
import type { BenchWorld } from './support/remote-world';
import { benchSetupOptions, benchWorkerConfig, startBenchSetup, WORLD_IN_PROCESS_FLAG } from './support/setup';

/** `fairness` for the 500-grant batch (the goal's key), `fairness_refederate` for the refederate beside singles. */
export type FairnessBenchResult = Partial<Record<'fairness' | 'fairness_refederate', Record<string, number | string>>>;

const round = (n: number, d = 3): number => Math.round(n * 10 ** d) / 10 ** d;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function positive(argv: string[], name: string, fallback: number): number {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallback;
  const a = argv[i] as string;
  const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a number above 0, got ${String(v)}`);
  return n;
}

/** What runs beside the single requests: 500 grant requests by one requester, or a refederate of 500 identities. */
export type FairnessBatch = 'grants' | 'refederate';

interface Options {
  latencyMs: number;
  requests: number;
  singles: number;
  everySeconds: number;
  batch: FairnessBatch;
  worldInProcess: boolean;
}

async function measure(o: Options, log: (s: string) => void): Promise<FairnessBenchResult> {
  const setup = await startBenchSetup('widfair', { worldInProcess: o.worldInProcess });
  const { redis, world, prefix, store, queues, policy, cluster, azureConfig } = setup;
  const azure = createAzureAdapters(azureConfig);
  // Every issuer read is recorded, as the web side does, so a recreated cluster's old issuer stays known.
  const issuers = new IssuerHistory(store.redis, prefix);
  const clusters = recordingIssuers(azure.clusters, issuers);
  if (o.batch === 'refederate') {
    // N identities trusting finance/app-<i> under the cluster's issuer, then the cluster recreated (a new issuer)
    const oldIssuer = (await clusters.getClusterFacts(cluster)).issuerUrl;
    for (let i = 0; i < o.requests; i++) {
      const identity = await world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: `id-app-${i}` });
      await world.arm.state.seedFederatedCredential(identity.id, { name: `finance-app-${i}`, issuer: oldIssuer, subject: `system:serviceaccount:finance:app-${i}` });
      await world.kube.seedServiceAccount({ namespace: 'finance', name: `app-${i}`, annotations: { 'azure.workload.identity/client-id': identity.clientId } });
    }
    const newIssuer = await world.recreateCluster();
    log(`fairness: ${o.requests} identities trust ${oldIssuer}; the cluster was recreated with issuer ${newIssuer}`);
  }
  const facts = await clusters.getClusterFacts(cluster);
  const finished = new Map<string, (r: WidRequest) => void>();
  const progress: ProgressSink = { progress: async () => {}, finished: async (r) => finished.get(r.id)?.(r) };
  const worker = await startWorker(benchWorkerConfig(setup, progress));
  let singleNo = 0;
  /** Approves one request by its own requester; resolves with its approve → verified time in ms. */
  const single = async (): Promise<number> => {
    const requester = `U0SINGLE${String(++singleNo).padStart(3, '0')}`;
    const r = await approvedGrant(store, policy, facts, `single-${singleNo}`, requester);
    const done = new Promise<WidRequest>((resolve) => finished.set(r.id, resolve));
    const t0 = performance.now();
    await queues.enqueueProvision(r.id, 'grant', { requester });
    const final = await done;
    const ms = performance.now() - t0;
    if (process.env.WID_TRACE) {
      const wall0 = Date.now() - ms;
      const started = (await store.history(r.id)).find((e) => e.to === 'provisioning')?.at;
      log(`TRACE ${r.id}: taken by the worker +${started ? Date.parse(started) - wall0 : '?'} ms; steps ${JSON.stringify(final.steps.map((x) => [x.step, Date.parse(x.startedAt) - wall0, Date.parse(x.endedAt ?? '') - wall0]))}`);
    }
    if (final.state !== 'succeeded' || final.resources.verified !== true) throw new Error(`single request ${r.id} ended ${final.state}: ${final.failure?.reason ?? 'not verified'}`);
    return ms;
  };

  try {
    log(`world: ${world.where === 'process' ? `its own process (pid ${world.pid ?? '?'})` : 'in this process'}`);
    for (const c of [world.arm.controls, world.kube.controls, world.entra.controls]) await c.setLatency(o.latencyMs);
    await single(); // warm-up: connections, the issuer's keys at Entra
    await sleep(1000);
    const idle: number[] = [];
    for (let i = 0; i < Math.max(3, o.singles); i++) {
      idle.push(await single());
      await sleep(500);
    }
    const idleMs = median(idle);
    const slotMs = 1000 / AZURE_LIMITS.writes.perSecond;
    log(`fairness: idle single requests ${idle.map((m) => m.toFixed(0)).join(', ')} ms (median ${idleMs.toFixed(0)} ms); one write slot ${slotMs} ms`);
    await sleep(3000); // the buckets refill
    if (o.batch === 'refederate') return await refederateBeside({ o, log, world, store, prefix, policy, clusters, azure, issuers, cluster: cluster.name, redisUrl: redis.url, single, idleMs, slotMs });

    const throttledBefore = (await world.arm.stats()).throttled;
    const logFrom = await world.arm.controls.logLength();
    const batch: WidRequest[] = [];
    for (let i = 0; i < o.requests; i++) batch.push(await approvedGrant(store, policy, facts, `batch-${i}`, WORLD.users.requester));
    const batchMs: number[] = [];
    const t0 = performance.now();
    const batchDone = batch.map(
      (r) =>
        new Promise<WidRequest>((resolve) =>
          finished.set(r.id, (f) => {
            batchMs.push(performance.now() - t0);
            resolve(f);
          }),
        ),
    );
    for (const r of batch) await queues.enqueueProvision(r.id, 'grant', { requester: r.requester.id });
    const loaded: { at: number; ms: number }[] = [];
    const singles = (async () => {
      // the first after the write bucket's burst is spent: then every write waits for a token
      for (let k = 0; k < o.singles; k++) {
        const at = (k + 1) * o.everySeconds * 1000;
        await sleep(Math.max(0, at - (performance.now() - t0)));
        if (batchMs.length >= o.requests * 0.95) break;
        const ms = await single();
        loaded.push({ at: (performance.now() - t0 - ms) / 1000, ms });
        log(`fairness: single request approved at ${(at / 1000).toFixed(0)} s into the batch (${batchMs.length}/${o.requests} done): ${ms.toFixed(0)} ms = ${(ms / (idleMs + slotMs)).toFixed(2)} × (idle + slot)`);
      }
    })();
    const finals = await Promise.all(batchDone);
    const seconds = (performance.now() - t0) / 1000;
    await singles;
    if (!loaded.length) throw new Error('no single request ran while the batch did: the batch was too short for --every');
    const ratios = loaded.map((l) => l.ms / (idleMs + slotMs));
    const failed = finals.filter((r) => r.state !== 'succeeded').length;
    const writes = countWrites(await world.arm.controls.log(logFrom));
    const bound = bucketBoundSeconds(o.requests + loaded.length) + idleMs / 1000;
    return {
      fairness: {
        single_request_ratio: round(median(ratios)),
        single_request_ratio_max: round(Math.max(...ratios)),
        single_loaded_ms: round(median(loaded.map((l) => l.ms)), 0),
        single_loaded_max_ms: round(Math.max(...loaded.map((l) => l.ms)), 0),
        single_idle_ms: round(idleMs, 0),
        slot_ms: slotMs,
        singles: loaded.length,
        batch_requests: o.requests,
        batch_seconds: round(seconds, 2),
        batch_bound_seconds: round(bound, 2),
        batch_efficiency: round(bound / seconds),
        batch_item_median_s: round(median(batchMs) / 1000, 2),
        batch_failed: failed,
        azure_429: (await world.arm.stats()).throttled - throttledBefore,
        repeated_writes: writes.repeatedWrites,
        L_ms: o.latencyMs,
        load_1m: round(os.loadavg()[0] ?? 0, 1),
        limits: limitsText(),
      },
    };
  } finally {
    await worker.close();
    await setup.close();
  }
}

interface RefederateBeside {
  o: Options;
  log: (s: string) => void;
  world: BenchWorld;
  store: RedisRequestStore;
  prefix: string;
  policy: Policy;
  clusters: ClusterPort;
  azure: ReturnType<typeof createAzureAdapters>;
  issuers: IssuerHistory;
  cluster: string;
  redisUrl: string;
  single: () => Promise<number>;
  idleMs: number;
  slotMs: number;
}

/**
 * The refederate beside single requests: `/wid refederate` planned and approved the way the Slack side does it
 * (RefederateService, its queue and store), run by the same worker process's refederate worker (batch lane for ARM
 * writes and reads), while single requests by other requesters are approved every `--every` seconds.
 */
async function refederateBeside(c: RefederateBeside): Promise<FairnessBenchResult> {
  const { o, log, world, store, prefix } = c;
  const batches = new RefederationStore(store.redis, prefix);
  const connection = connectionFor(c.redisUrl, { maxRetriesPerRequest: null });
  const queue = new RefederateQueue(connection, prefix);
  const service = new RefederateService({
    store: batches,
    queue,
    policy: c.policy,
    plan: { policy: c.policy, clusters: c.clusters, identities: c.azure.identities, kube: () => createKubeAdapter({ kubeconfigYaml: world.kube.kubeconfig() }), issuerHistory: (name) => c.issuers.history(name) },
    // where Slack would show the batch: this benchmark reads its state from the store instead
    notifier: { post: async () => ({ channel: WORLD.approvalsChannel, ts: '1700000000.000100' }), update: async () => {} },
    groupsOf: async () => [],
  });
  try {
    const submitted = await service.submit({ id: WORLD.users.admin }, c.cluster);
    if (submitted.kind !== 'created') throw new Error(`refederate refused: ${submitted.message}`);
    const batchId = submitted.batch.id;
    if (submitted.batch.plan.items.length !== o.requests) throw new Error(`expected ${o.requests} items, planned ${submitted.batch.plan.items.length}`);
    await sleep(12_000); // planning spent the read bucket: it refills while the approver reads the plan
    const statsBefore = await world.arm.stats();
    const throttledBefore = statsBefore.throttled;
    const writesBefore = statsBefore.byLimit.write.allowed;
    const t0 = performance.now();
    const approved = await service.approve(batchId, { id: WORLD.users.approver });
    if (!approved.changed) throw new Error(`approve refused: ${approved.message}`);
    let final: RefederationBatch | undefined;
    const done = (async () => {
      for (;;) {
        const b = await batches.get(batchId);
        if (b && ['verified', 'finished', 'denied', 'expired'].includes(b.state)) return (final = b);
        await sleep(100);
      }
    })();
    const loaded: number[] = [];
    for (let k = 0; k < o.singles && !final; k++) {
      const at = (k + 1) * o.everySeconds * 1000;
      while (!final && performance.now() - t0 < at) await sleep(100);
      if (final) break;
      const ms = await c.single();
      loaded.push(ms);
      log(`fairness: single request approved ${(at / 1000).toFixed(0)} s into the refederate: ${ms.toFixed(0)} ms = ${(ms / (c.idleMs + c.slotMs)).toFixed(2)} × (idle + slot)`);
    }
    const batch = await done;
    const seconds = (performance.now() - t0) / 1000;
    if (!loaded.length) throw new Error('no single request ran while the refederate did: the refederate was too short for --every');
    const ratios = loaded.map((ms) => ms / (c.idleMs + c.slotMs));
    const results = batch.results;
    const bound = refederateBoundSeconds(o.requests);
    const statsAfter = await world.arm.stats();
    return {
      fairness_refederate: {
        single_request_ratio: round(median(ratios)),
        single_request_ratio_max: round(Math.max(...ratios)),
        single_loaded_ms: round(median(loaded), 0),
        single_idle_ms: round(c.idleMs, 0),
        singles: loaded.length,
        refederate_identities: o.requests,
        refederate_state: batch.state,
        refederate_verified: results.filter((r) => r.outcome === 'done' && r.verified).length,
        refederate_failed: results.filter((r) => r.outcome === 'failed').length,
        refederate_seconds: round(seconds, 2),
        refederate_bound_seconds: round(bound, 2),
        // the bucket bound for the refederate's own writes and reads (the singles' few are not counted in it)
        ...(bound > 0 ? { refederate_efficiency: round(bound / seconds) } : {}),
        refederate_writes: statsAfter.byLimit.write.allowed - writesBefore,
        azure_429: statsAfter.throttled - throttledBefore,
        L_ms: o.latencyMs,
        load_1m: round(os.loadavg()[0] ?? 0, 1),
        limits: limitsText(),
      },
    };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

function batchOf(argv: string[]): FairnessBatch {
  const i = argv.findIndex((a) => a === '--batch' || a.startsWith('--batch='));
  if (i < 0) return 'grants';
  const a = argv[i] as string;
  const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  if (v !== 'grants' && v !== 'refederate') throw new Error(`--batch must be grants or refederate, got ${String(v)}`);
  return v;
}

/** `npm run bench -- --only=fairness-refederate`: the single requests beside a refederate of 500 identities. */
export function runBesideRefederate(opts: { quiet?: boolean; argv?: string[] } = {}): Promise<FairnessBenchResult> {
  // a refederate of 500 spends the write bucket's burst in about a second and is bound at 30 s: singles every 6 s
  const argv = (opts.argv ?? []).filter((a) => !a.startsWith('--batch'));
  return run({ ...opts, argv: [...argv, ...(argv.some((a) => a.startsWith('--every')) ? [] : ['--every=6']), '--batch=refederate'] });
}

export async function run(opts: { quiet?: boolean; argv?: string[] } = {}): Promise<FairnessBenchResult> {
  const argv = opts.argv ?? [];
  const o: Options = {
    latencyMs: positive(argv, 'latency', 50),
    requests: Math.round(positive(argv, 'requests', 500)),
    singles: Math.round(positive(argv, 'singles', 5)),
    everySeconds: positive(argv, 'every', 20),
    batch: batchOf(argv),
    worldInProcess: benchSetupOptions(argv).worldInProcess ?? false,
  };
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(s + '\n');
  };
  if (inTrustedChild()) return measure(o, log);
  const args = ['--json', '--latency', String(o.latencyMs), '--requests', String(o.requests), '--singles', String(o.singles), '--every', String(o.everySeconds), '--batch', o.batch, ...(o.worldInProcess ? [WORLD_IN_PROCESS_FLAG] : [])];
  return runInTrustedChild<FairnessBenchResult>(__filename, args, { name: o.batch === 'grants' ? 'fairness' : `fairness (${o.batch})`, ...(opts.quiet ? { quiet: true } : {}) });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  run({ argv, quiet: process.env.WID_BENCH_QUIET === '1' })
    .then((r) => {
      process.stdout.write((json ? JSON.stringify(r) : Object.entries(r).flatMap(([g, figs]) => Object.entries(figs ?? {}).map(([k, v]) => `${g}.${k}  ${v}`)).join('\n')) + '\n');
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`fairness bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
