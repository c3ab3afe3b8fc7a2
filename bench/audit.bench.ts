/**
 * Audit benchmark: `creds` and `audit` over 2,000 identities (3 federated credentials each) and 5,000
 * ServiceAccounts, 20 ms latency on every ARM and Kubernetes call, in two rounds:
 *
 *  1. under Azure's documented read bucket (250 tokens, refilled at 25/s per subscription and principal,
 *     which the ARM emulator enforces), each verb starting with a full bucket: the reads each verb needs
 *     (one identity page per 100 identities, one credential listing per identity, one cluster read) cannot
 *     take less than (reads − 250) / 25 s; read efficiency = that bound / the measured time. The runbook's
 *     sequential loop (list the identities, then each identity's credentials, one call at a time) runs
 *     under the same bucket beside it.
 *  2. without throttling, the same against the sequential loop: what the parallelism alone buys.
 *
 * Also the peak RSS of `wid audit --json` from dist/ as its own process.
 * The emulators run in a child process, so the figures are wid-bot's own CPU and memory.
 *   npx tsx bench/audit.bench.ts [--json] [--identities N] [--service-accounts N] [--latency MS] [--concurrency N]
 * AUDIT_BENCH_WORLD_PROFILE=<dir> writes a CPU profile of the emulators' process there.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createAzureAdapters } from '../src/azure';
import { parsePolicy } from '../src/config/policy';
import type { ManagedIdentity } from '../src/domain/ports';
import { createKubeAdapter } from '../src/kube';
import { createInspector, DEFAULT_CONCURRENCY, scopedInspectForSlack } from '../src/inspect';
import type { Policy } from '../src/domain/types';
import type { KnownBlock } from '@slack/types';

const FULL_IDENTITIES = 2000;
const FULL_SERVICE_ACCOUNTS = 5000;
const NAMESPACES = 50;

export interface AuditBenchOptions {
  quiet?: boolean;
  argv?: string[];
  identities?: number;
  serviceAccounts?: number;
  latencyMs?: number;
  concurrency?: number;
}

export interface AuditBenchFigures {
  audit: {
    identities: number;
    service_accounts: number;
    latency_ms: number;
    concurrency: number;
    creds_ms: number;
    audit_ms: number;
    /** CPU time of this process (user + system) during creds / audit: wall time above it is waiting. */
    creds_cpu_ms: number;
    audit_cpu_ms: number;
    sequential_ms: number;
    speedup_vs_sequential: number;
    creds_speedup_vs_sequential: number;
    /** Peak RSS (VmHWM) of `wid audit --json` run as its own process from dist/, as an operator runs it. */
    peak_rss_mb: number;
    /** That process's wall time, start-up included. */
    cli_wall_ms: number;
    /** The same audit inside this benchmark process (which also holds tsx and, under `npm run bench`, the other benchmarks). */
    in_process_peak_rss_mb: number;
    in_process_rss_before_audit_mb: number;
    throttled_calls: number;
    findings: number;
    scaled_down: boolean;
    /** Round 1, Azure's documented read bucket (250, 25/s). */
    read_limit: string;
    reads_needed: number;
    creds_limited_ms: number;
    audit_limited_ms: number;
    reads_made_by_audit: number;
    read_bound_ms: number;
    read_efficiency: number;
    creds_read_efficiency: number;
    sequential_limited_ms: number;
    speedup_vs_sequential_limited: number;
    azure_429_limited: number;
    failed_limited: number;
    /** `/wid audit` through the Slack app under the same read bucket: from the signed command to the first page of results reaching the Slack emulator. */
    first_results_s: number;
    /** …and to the final summary reaching it. */
    slack_audit_s: number;
    /** Entries (credential rows or findings) the first page showed. */
    first_page_entries: number;
  };
}

/** Azure's documented read bucket, which round 1 runs under. */
const READ_LIMIT = { burst: 250, perSecond: 25 };
/** Identities per list page in the emulator, as in ARM. */
const PAGE_SIZE = 100;

interface WorldReady {
  env: Record<string, string>;
  files: { ca: string; kubeconfig: string; policy: string };
}

function numberArg(argv: readonly string[], name: string): number | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const raw = argv[i]?.includes('=') ? argv[i]?.split('=')[1] : argv[i + 1];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a whole number, got ${JSON.stringify(raw)}`);
  return n;
}

// ───────────────────────── the world, in its own process ─────────────────────────

async function serveWorld(identities: number, serviceAccounts: number, latencyMs: number): Promise<void> {
  // Loaded here only: the measuring process never holds the emulators.
  const { startWorld, WORLD } = require('../test/emulators/world') as typeof import('../test/emulators/world');
  const { DEFAULT_THROTTLE_LIMITS } = require('../test/emulators/arm') as typeof import('../test/emulators/arm');
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `team-${i}`);
  const world = await startWorld({ kube: { namespaces }, arm: { throttle: { ...DEFAULT_THROTTLE_LIMITS } } });
  const throttleOn = (): void => world.arm.setThrottle({ ...DEFAULT_THROTTLE_LIMITS });
  const { arm, kube } = world;
  const issuer = kube.issuerUrl;
  const sa = (i: number): { namespace: string; name: string } => ({ namespace: namespaces[i % NAMESPACES] as string, name: `app-${i}` });
  const clientIds: string[] = [];
  for (let i = 0; i < identities; i++) {
    const id = arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: `id-app-${i}`, location: WORLD.location });
    clientIds.push(id.clientId);
    // Three credentials: the app's own ServiceAccount and two more (some beyond the 5,000 ServiceAccounts: orphans).
    for (const [k, target] of [i, i + identities, i + 2 * identities].entries()) {
      const s = sa(target);
      arm.state.seedFederatedCredential(id.id, { name: `fic-${k}`, issuer, subject: `system:serviceaccount:${s.namespace}:${s.name}` });
    }
  }
  for (let i = 0; i < serviceAccounts; i++) {
    const s = sa(i);
    const annotated = i < identities;
    kube.seedServiceAccount({ ...s, ...(annotated ? { annotations: { 'azure.workload.identity/client-id': clientIds[i] as string } } : {}) });
    if (annotated) kube.seedPod({ namespace: s.namespace, name: `${s.name}-0`, serviceAccountName: s.name, labels: { 'azure.workload.identity/use': 'true' } });
  }
  arm.controls.setLatency(latencyMs);
  kube.controls.setLatency(latencyMs);
  // The emulators' request logs would grow with every call of a long run; the bench does not read them.
  const trim = setInterval(() => {
    arm.controls.log.length = 0;
    kube.controls.log.length = 0;
  }, 1000);
  process.on('message', (m: unknown) => {
    // Buckets full again (on), or no throttling at all (off).
    if (m === 'throttle:on') throttleOn();
    if (m === 'throttle:off') world.arm.setThrottle(false);
    if (m === 'stats' || m === 'throttle:on' || m === 'throttle:off') {
      process.send?.({ stats: { ...arm.stats(), reads: arm.stats().byLimit.read.allowed, cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000) } });
    }
  });
  process.on('disconnect', () => {
    clearInterval(trim);
    void world.close().then(() => process.exit(0));
  });
  process.send?.({ ready: { env: world.env, files: world.files } satisfies WorldReady });
}

function startWorldProcess(identities: number, serviceAccounts: number, latencyMs: number): Promise<{ child: ChildProcess; ready: WorldReady }> {
  const child = fork(__filename, ['--serve-world', String(identities), String(serviceAccounts), String(latencyMs)], {
    execArgv: ['-r', 'tsx/cjs', ...(process.env.AUDIT_BENCH_WORLD_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.AUDIT_BENCH_WORLD_PROFILE}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the bench world exited with ${code}`)));
    child.on('message', (m: { ready?: WorldReady }) => {
      if (m.ready) resolve({ child, ready: m.ready });
    });
  });
}

interface WorldStats {
  throttled: number;
  reads: number;
  cpuMs: number;
}

/** The emulators' throttled-call and read counts and CPU time so far (after switching throttling, when asked). */
function worldStats(child: ChildProcess, command: 'stats' | 'throttle:on' | 'throttle:off' = 'stats'): Promise<WorldStats> {
  return new Promise((resolve) => {
    const onMessage = (m: { stats?: WorldStats }): void => {
      if (!m.stats) return;
      child.off('message', onMessage);
      resolve(m.stats);
    };
    child.on('message', onMessage);
    child.send(command);
  });
}

// ───────────────────────── the measurement ─────────────────────────

export async function run(opts: AuditBenchOptions = {}): Promise<AuditBenchFigures> {
  const argv = opts.argv ?? [];
  const identities = opts.identities ?? numberArg(argv, 'identities') ?? FULL_IDENTITIES;
  const serviceAccounts = opts.serviceAccounts ?? numberArg(argv, 'service-accounts') ?? FULL_SERVICE_ACCOUNTS;
  const latencyMs = opts.latencyMs ?? numberArg(argv, 'latency') ?? 20;
  const concurrency = opts.concurrency ?? numberArg(argv, 'concurrency') ?? DEFAULT_CONCURRENCY;
  const log = (s: string): void => {
    if (!opts.quiet) process.stdout.write(s + '\n');
  };
  const scaledDown = identities < FULL_IDENTITIES || serviceAccounts < FULL_SERVICE_ACCOUNTS;
  log(`audit bench: ${identities} identities × 3 credentials, ${serviceAccounts} ServiceAccounts, ${latencyMs} ms per call, throttling on, concurrency ${concurrency}`);
  if (scaledDown) log(`   SCALED DOWN from ${FULL_IDENTITIES} identities / ${FULL_SERVICE_ACCOUNTS} ServiceAccounts (--identities / --service-accounts): the figures are for this size.`);

  const t0 = Date.now();
  const { child, ready } = await startWorldProcess(identities, serviceAccounts, latencyMs);
  log(`   world seeded in a child process (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  try {
    const credential = { getToken: async () => ({ token: 'bench', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const azure = createAzureAdapters({ credential, resourceManagerUrl: ready.env.AZURE_RESOURCE_MANAGER_URL as string, tlsCa: readFileSync(ready.files.ca, 'utf8') });
    const kube = createKubeAdapter({ kubeconfigPath: ready.files.kubeconfig });
    const policy = parsePolicy(readFileSync(ready.files.policy, 'utf8'), ready.files.policy);
    /** The runbook: list the identities, then `az identity federated-credential list` for each, one at a time. */
    const sequentialLoop = async (): Promise<{ listed: ManagedIdentity[]; sequentialCredentials: number }> => {
      const listed: ManagedIdentity[] = [];
      for await (const i of azure.identities.listIdentities(policy.identities.subscriptionId, policy.identities.resourceGroup)) listed.push(i);
      let sequentialCredentials = 0;
      for (const i of listed) {
        sequentialCredentials += (await azure.identities.listFederatedCredentials({ subscriptionId: i.subscriptionId, resourceGroup: i.resourceGroup, name: i.name })).length;
      }
      return { listed, sequentialCredentials };
    };
    const inspector = createInspector({ policy, clusters: azure.clusters, identities: azure.identities, kube: () => kube, concurrency });

    // Warm-up: TLS sessions and lazy SDK loading are not what is measured.
    await inspector.cluster();
    log(`   RSS with the SDKs loaded: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB (heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB)`);

    // Round 1: Azure's documented read bucket, full at the start of each verb.
    const readsNeeded = Math.ceil(identities / PAGE_SIZE) + identities + 1;
    const readBoundMs = Math.max(0, (readsNeeded - READ_LIMIT.burst) / READ_LIMIT.perSecond) * 1000;
    log(`   round 1, Azure's read bucket (${READ_LIMIT.burst}, ${READ_LIMIT.perSecond}/s): each verb needs ${readsNeeded} ARM reads, so at least ${(readBoundMs / 1000).toFixed(1)} s`);
    const limited = async <T>(what: string, fn: () => Promise<T>): Promise<{ ms: number; reads: number; throttled: number; failed: number; value?: T }> => {
      const before = await worldStats(child, 'throttle:on');
      const t1 = Date.now();
      let value: T | undefined;
      let failed = 0;
      try {
        value = await fn();
      } catch (e) {
        failed = 1;
        log(`   ${what} failed under the read bucket: ${e instanceof Error ? e.message : String(e)}`);
      }
      const ms = Date.now() - t1;
      const after = await worldStats(child);
      log(`   ${what}: ${ms} ms, ${after.reads - before.reads} reads, ${after.throttled - before.throttled} answered 429`);
      return { ms, reads: after.reads - before.reads, throttled: after.throttled - before.throttled, failed, ...(value !== undefined ? { value } : {}) };
    };
    const credsLimited = await limited('creds', () => inspector.creds());
    const auditLimited = await limited('audit', () => inspector.audit());
    const sequentialLimited = await limited('sequential loop', () => sequentialLoop());
    const throttledLimited = credsLimited.throttled + auditLimited.throttled;
    const slackRound = await slackFirstResults(child, ready, policy, azure, kube, concurrency, log);

    // Round 2: no throttling.
    log('   round 2, no throttling');
    const worldBefore = await worldStats(child, 'throttle:off');
    let t = Date.now();
    let cpu = process.cpuUsage();
    const creds = await inspector.creds();
    const worldAfter = await worldStats(child);
    const credsMs = Date.now() - t;
    const credsCpu = process.cpuUsage(cpu);
    const credsCpuMs = Math.round((credsCpu.user + credsCpu.system) / 1000);
    log(`   creds: ${creds.credentials.length} credentials for this issuer in ${credsMs} ms (${credsCpuMs} ms CPU in this process, ${worldAfter.cpuMs - worldBefore.cpuMs} ms in the emulators)`);

    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 50);
    t = Date.now();
    cpu = process.cpuUsage();
    const audit = await inspector.audit();
    const auditMs = Date.now() - t;
    const auditCpu = process.cpuUsage(cpu);
    const auditCpuMs = Math.round((auditCpu.user + auditCpu.system) / 1000);
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    log(`   audit: ${audit.findings.length} findings (${audit.counts.error} errors, ${audit.counts.warning} warnings) in ${auditMs} ms (${auditCpuMs} ms CPU), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB`);

    t = Date.now();
    const { listed, sequentialCredentials } = await sequentialLoop();
    const sequentialMs = Date.now() - t;
    log(`   sequential loop: ${listed.length} identities, ${sequentialCredentials} credentials in ${sequentialMs} ms`);
    if (listed.length !== identities || creds.credentialsSearched !== sequentialCredentials) {
      throw new Error(`the inspector and the sequential loop saw different worlds (${creds.credentialsSearched} vs ${sequentialCredentials} credentials)`);
    }

    // The product as shipped: `wid audit --json` from dist/, its peak RSS read from the kernel (VmHWM).
    const cli = await auditCliProcess(ready);
    log(`   wid audit (node dist/cli.js audit --json, its own process): ${cli.findings} findings in ${cli.wallMs} ms including start-up, peak RSS ${cli.peakRssMb} MB`);
    if (cli.findings !== audit.findings.length) throw new Error(`the CLI found ${cli.findings} findings, the in-process audit ${audit.findings.length}`);

    const throttled = (await worldStats(child)).throttled - worldBefore.throttled;
    const figures: AuditBenchFigures = {
      audit: {
        identities,
        service_accounts: serviceAccounts,
        latency_ms: latencyMs,
        concurrency,
        creds_ms: credsMs,
        audit_ms: auditMs,
        creds_cpu_ms: credsCpuMs,
        audit_cpu_ms: auditCpuMs,
        sequential_ms: sequentialMs,
        speedup_vs_sequential: Number((sequentialMs / auditMs).toFixed(1)),
        creds_speedup_vs_sequential: Number((sequentialMs / credsMs).toFixed(1)),
        peak_rss_mb: cli.peakRssMb,
        cli_wall_ms: cli.wallMs,
        in_process_peak_rss_mb: Number((peakRss / 2 ** 20).toFixed(1)),
        in_process_rss_before_audit_mb: Number((rssBefore / 2 ** 20).toFixed(1)),
        throttled_calls: throttled,
        findings: audit.findings.length,
        scaled_down: scaledDown,
        read_limit: `${READ_LIMIT.burst} burst, ${READ_LIMIT.perSecond}/s`,
        reads_needed: readsNeeded,
        creds_limited_ms: credsLimited.ms,
        audit_limited_ms: auditLimited.ms,
        reads_made_by_audit: auditLimited.reads,
        read_bound_ms: Math.round(readBoundMs),
        read_efficiency: Number((readBoundMs / auditLimited.ms).toFixed(3)),
        creds_read_efficiency: Number((readBoundMs / credsLimited.ms).toFixed(3)),
        sequential_limited_ms: sequentialLimited.ms,
        speedup_vs_sequential_limited: Number((sequentialLimited.ms / auditLimited.ms).toFixed(2)),
        azure_429_limited: throttledLimited,
        failed_limited: credsLimited.failed + auditLimited.failed,
        first_results_s: slackRound.firstResultsS,
        slack_audit_s: slackRound.totalS,
        first_page_entries: slackRound.firstPageEntries,
      },
    };
    const a = figures.audit;
    log(`   under the read bucket: audit ${a.audit_limited_ms} ms against the bound ${a.read_bound_ms} ms: read efficiency ${a.read_efficiency} (creds ${a.creds_read_efficiency}; goal ≥ 0.9), ${a.azure_429_limited} answered 429, ${a.failed_limited} failed; the sequential loop ${a.sequential_limited_ms} ms (${a.speedup_vs_sequential_limited}×)`);
    log(`   through Slack under the read bucket: the first page of /wid audit reached Slack after ${a.first_results_s} s (${a.first_page_entries} findings on it; goal ≤ 2 s), the full answer after ${a.slack_audit_s} s`);
    log(`   without throttling: audit ${a.speedup_vs_sequential}× and creds ${a.creds_speedup_vs_sequential}× faster than the sequential loop (goal ≥ 20×); peak RSS ${a.peak_rss_mb} MB (goal ≤ 250 MB)`);
    return figures;
  } finally {
    child.disconnect();
    await new Promise((r) => child.once('exit', r));
  }
}

/**
 * `/wid audit` as a person types it: a signed slash command to the real Slack app (startWeb, Redis, the scan lane),
 * whose scan reads the world under the read bucket (full at the start) and posts to a Slack emulator in this process.
 */
async function slackFirstResults(
  child: ChildProcess,
  ready: WorldReady,
  worldPolicy: Policy,
  azure: ReturnType<typeof createAzureAdapters>,
  kube: ReturnType<typeof createKubeAdapter>,
  concurrency: number,
  log: (s: string) => void,
): Promise<{ firstResultsS: number; totalS: number; firstPageEntries: number }> {
  const { startSlackEmulator } = require('../test/emulators/slack') as typeof import('../test/emulators/slack');
  const { SlackSigningClient } = require('../test/emulators/slack/client') as typeof import('../test/emulators/slack/client');
  const { WORLD } = require('../test/emulators/world') as typeof import('../test/emulators/world');
  const { startRedisServer } = require('../test/support/redis-server') as typeof import('../test/support/redis-server');
  const { startWeb } = require('../src/web') as typeof import('../src/web');
  const CAROL = WORLD.users.admin;
  // the world's policy with the asker as an operator, who sees every namespace
  const policy: Policy = { ...worldPolicy, operators: { ...worldPolicy.operators, users: [...worldPolicy.operators.users, CAROL] } };
  const redis = await startRedisServer();
  const slack = await startSlackEmulator();
  const inspect = scopedInspectForSlack({ policy, clusters: azure.clusters, identities: azure.identities, kube: () => kube, concurrency }, { reuseMs: 0 });
  const web = await startWeb({
    slack: { mode: 'http', botToken: WORLD.botToken, signingSecret: WORLD.signingSecret, apiUrl: slack.apiUrl, port: 0 },
    redisUrl: redis.url,
    prefix: `bench-first-${process.pid}`,
    policy,
    clusterFacts: (c) => azure.clusters.getClusterFacts(c),
    inspect: async (verb, args, user, onProgress) => {
      const toKnown = (ms: { text: string; blocks: unknown[] }[]) => ms.map((m) => ({ text: m.text, blocks: m.blocks as KnownBlock[] }));
      const answer = await inspect(verb, args, { id: user.id, scope: user.scope }, onProgress && (({ early, ...p }) => onProgress({ ...p, ...(early ? { early: () => toKnown(early()) } : {}) })));
      return { ...answer, messages: toKnown(answer.messages) };
    },
  });
  try {
    const client = new SlackSigningClient({ botUrl: `http://127.0.0.1:${web.port}/slack/events`, signingSecret: WORLD.signingSecret, emulator: slack });
    await worldStats(child, 'throttle:on');
    const mark = slack.mark();
    const t0 = Date.now();
    await client.slashCommand({ text: 'audit', userId: CAROL, channelId: WORLD.requestsChannel });
    const first = await slack.waitFor((e) => e.kind === 'ephemeral' && e.user === CAROL && (e.text ?? '').includes('Early results'), 300_000, { since: mark });
    const final = await slack.waitFor((e) => e.kind === 'ephemeral' && e.user === CAROL && (e.text ?? '').includes('Only you can see this'), 300_000, { since: mark });
    const firstPageEntries = (first.blocks ?? []).filter((b) => (b as { type?: string }).type === 'section').length;
    log(`   /wid audit through Slack: first page after ${first.at - t0} ms, the full answer after ${final.at - t0} ms: ${(final.text ?? '').slice(0, 160)}`);
    return { firstResultsS: Number(((first.at - t0) / 1000).toFixed(2)), totalS: Number(((final.at - t0) / 1000).toFixed(1)), firstPageEntries };
  } finally {
    await web.close();
    await slack.close();
    await redis.stop();
  }
}

const ROOT = path.resolve(__dirname, '..');

/** Runs `wid audit --json` as its own process against the world and reads its peak RSS from /proc. */
async function auditCliProcess(ready: WorldReady): Promise<{ wallMs: number; peakRssMb: number; findings: number }> {
  if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) {
    const b = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const t0 = Date.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'audit', '--json', '--policy', ready.files.policy], {
    env: { ...process.env, ...ready.env, NODE_EXTRA_CA_CERTS: ready.files.ca },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let hwmKb = 0;
  const sample = (): void => {
    try {
      const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
      hwmKb = Math.max(hwmKb, kb);
    } catch {
      // the process has just exited
    }
  };
  const timer = setInterval(sample, 20);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearInterval(timer);
  if (code !== 0) throw new Error(`wid audit exited with ${code}`);
  const result = JSON.parse(out) as { findings?: unknown[] };
  return { wallMs: Date.now() - t0, peakRssMb: Number((hwmKb / 1024).toFixed(1)), findings: result.findings?.length ?? -1 };
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--serve-world') {
    void serveWorld(Number(argv[1]), Number(argv[2]), Number(argv[3]));
  } else {
    const json = argv.includes('--json');
    run({ quiet: json, argv }).then(
      (figures) => {
        if (json) process.stdout.write(JSON.stringify(figures) + '\n');
        process.exit(0);
      },
      (e: unknown) => {
        process.stderr.write(`audit bench failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  }
}
