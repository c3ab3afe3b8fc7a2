/**
 * Audit benchmark: `creds` and `audit` over 2,000 identities (3 federated credentials each) and 5,000
 * ServiceAccounts, 20 ms latency on every ARM and Kubernetes call, throttling on — against the
 * runbook's sequential loop (list the identities, then each identity's credentials, one call at a
 * time) through the same adapters, in the same run. Also the peak RSS of this process during the audit.
 *
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
import { createInspector, DEFAULT_CONCURRENCY } from '../src/inspect';

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
  };
}

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
    if (m === 'stats') process.send?.({ stats: { ...arm.stats(), cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000) } });
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

/** The emulators' throttled-call count and CPU time so far. */
function worldStats(child: ChildProcess): Promise<{ throttled: number; cpuMs: number }> {
  return new Promise((resolve) => {
    const onMessage = (m: { stats?: { throttled: number; cpuMs: number } }): void => {
      if (!m.stats) return;
      child.off('message', onMessage);
      resolve(m.stats);
    };
    child.on('message', onMessage);
    child.send('stats');
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
    const inspector = createInspector({ policy, clusters: azure.clusters, identities: azure.identities, kube: () => kube, concurrency });

    // Warm-up: TLS sessions and lazy SDK loading are not what is measured.
    await inspector.cluster();
    log(`   RSS with the SDKs loaded: ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB (heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MB)`);

    const worldBefore = await worldStats(child);
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

    // The runbook: list the identities, then `az identity federated-credential list` for each, one at a time.
    t = Date.now();
    const listed: ManagedIdentity[] = [];
    for await (const i of azure.identities.listIdentities(policy.identities.subscriptionId, policy.identities.resourceGroup)) listed.push(i);
    let sequentialCredentials = 0;
    for (const i of listed) {
      sequentialCredentials += (await azure.identities.listFederatedCredentials({ subscriptionId: i.subscriptionId, resourceGroup: i.resourceGroup, name: i.name })).length;
    }
    const sequentialMs = Date.now() - t;
    log(`   sequential loop: ${listed.length} identities, ${sequentialCredentials} credentials in ${sequentialMs} ms`);
    if (listed.length !== identities || creds.credentialsSearched !== sequentialCredentials) {
      throw new Error(`the inspector and the sequential loop saw different worlds (${creds.credentialsSearched} vs ${sequentialCredentials} credentials)`);
    }

    // The product as shipped: `wid audit --json` from dist/, its peak RSS read from the kernel (VmHWM).
    const cli = await auditCliProcess(ready);
    log(`   wid audit (node dist/cli.js audit --json, its own process): ${cli.findings} findings in ${cli.wallMs} ms including start-up, peak RSS ${cli.peakRssMb} MB`);
    if (cli.findings !== audit.findings.length) throw new Error(`the CLI found ${cli.findings} findings, the in-process audit ${audit.findings.length}`);

    const throttled = (await worldStats(child)).throttled;
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
      },
    };
    const a = figures.audit;
    log(`   audit ${a.speedup_vs_sequential}× and creds ${a.creds_speedup_vs_sequential}× faster than the sequential loop (goal ≥ 20×); peak RSS ${a.peak_rss_mb} MB (goal ≤ 250 MB)`);
    return figures;
  } finally {
    child.disconnect();
    await new Promise((r) => child.once('exit', r));
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
