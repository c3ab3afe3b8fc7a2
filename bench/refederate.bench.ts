/**
 * Re-federation benchmark, in one run against the local world with Azure's documented limits enforced by the ARM
 * emulator (throttling on, as by default):
 *
 *   N identities each trust ServiceAccount finance/<sa> under the cluster's issuer; wid-bot has seen that issuer;
 *   the cluster is recreated (new issuer); `/wid refederate` is planned (not timed: that is before approval), and
 *   then the approved batch is run by the worker's re-federation (timed): per identity one credential-list read and
 *   one credential PUT under the identity's lock, then the ServiceAccount's token exchanged at Entra.
 *
 *   Each identity needs 1 write and 1 read, so N identities cannot finish before the slower bucket hands out its
 *   last token: bound = max((N − 200) / 10, (N − 250) / 25, 0) s + one idle item's critical path (measured first,
 *   alone); efficiency = bound / measured time. The second step (old credentials removed, 1 read + 1 delete each)
 *   is timed too and reported beside its own bound max((N − 200) / 10, (N − 250) / 25, 0) s.
 *
 *   npx tsx bench/refederate.bench.ts [--json] [--identities 500]
 *
 * MSAL trusts only CAs known at process start, so the measurement runs in a child process started with
 * NODE_EXTRA_CA_CERTS pointing at the world's certificate (as bench/provision.bench.ts does).
 */
import { randomBytes } from 'node:crypto';
import { planClusterRefederate } from '../src/app/refederate-plan';
import { createAzureAdapters } from '../src/azure';
import { benchAzureConfig } from './support/setup';
import { loadPolicyFile } from '../src/config/policy';
import { AZURE_LIMITS } from '../src/domain/azure-limits';
import type { RefederatePlan } from '../src/domain/refederate';
import { createTokenExchange } from '../src/entra';
import { createKubeAdapter } from '../src/kube';
import { removeOldCredentials, runRefederate, type RefederateDeps } from '../src/provision/refederate';
import { RedisRequestStore } from '../src/store';
import { IssuerHistory, recordingIssuers } from '../src/store/issuers';
import { createTls } from '../test/emulators/common/tls';
import { benchCaDir, inTrustedChild, runInTrustedChild } from './support/trusted-child';
import { startWorld, WORLD } from '../test/emulators/world';
import { startRedisServer } from '../test/support/redis-server';

export interface RefederateBenchResult {
  refederate: {
    identities: number;
    seconds: number;
    bound_seconds: number;
    efficiency: number;
    verified: number;
    failed: number;
    skipped: number;
    idle_item_ms: number;
    writes_per_identity: number;
    reads_per_identity: number;
    azure_429: number;
    remove_seconds: number;
    remove_bound_seconds: number;
    removed: number;
    limits: string;
  };
}

/** What one identity needs of each bucket in the timed step: one credential list (read) and one credential PUT (write). */
export const PER_IDENTITY = { writes: 1, reads: 1 } as const;

/** The soonest N identities can finish under the limits: when the slowest bucket hands out its last token. */
export function refederateBoundSeconds(n: number, kind: 'writes' | 'deletes' = 'writes'): number {
  const drain = (need: number, b: { burst: number; perSecond: number }): number => Math.max(0, (need - b.burst) / b.perSecond);
  return Math.max(drain(n * PER_IDENTITY.writes, kind === 'writes' ? AZURE_LIMITS.writes : AZURE_LIMITS.deletes), drain(n * PER_IDENTITY.reads, AZURE_LIMITS.reads));
}

const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function flag(argv: string[], name: string): number | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i] as string;
  const n = Number(a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
  return n;
}

async function measure(n: number, log: (s: string) => void): Promise<RefederateBenchResult> {
  const redis = await startRedisServer();
  const world = await startWorld({ tls: await createTls(benchCaDir()), entra: { jwksCacheMs: 3_600_000 } });
  const prefix = `widbench:${randomBytes(3).toString('hex')}`;
  const store = await RedisRequestStore.connect(redis.url, { prefix });
  try {
    const policy = loadPolicyFile(world.files.policy);
    const cluster = policy.clusters[0];
    if (!cluster) throw new Error('the world policy has no cluster');
    const azureConfig = benchAzureConfig(world);
    const azure = createAzureAdapters(azureConfig);
    const kube = createKubeAdapter({ kubeconfigYaml: world.kube.kubeconfig() });
    const issuers = new IssuerHistory(store.redis, prefix);
    const clusters = recordingIssuers(azure.clusters, issuers);
    const oldIssuer = (await clusters.getClusterFacts(cluster)).issuerUrl;

    // N + 1 identities trusting finance/<sa> under the old issuer; the extra one measures an idle item.
    const sas: string[] = [];
    for (let i = 0; i <= n; i++) {
      const name = i === n ? 'idle' : `app-${i}`;
      const identity = world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: `id-${name}` });
      world.arm.state.seedFederatedCredential(identity.id, { name: `finance-${name}`, issuer: oldIssuer, subject: `system:serviceaccount:finance:${name}` });
      world.kube.seedServiceAccount({ namespace: 'finance', name, annotations: { 'azure.workload.identity/client-id': identity.clientId } });
      sas.push(name);
    }
    const newIssuer = world.recreateCluster();
    log(`cluster recreated: ${oldIssuer} → ${newIssuer}`);

    const t0 = performance.now();
    const planned = await planClusterRefederate({ policy, clusters, identities: azure.identities, kube: () => kube, issuerHistory: (c) => issuers.history(c) }, cluster.name);
    if (!planned.ok) throw new Error(planned.error.message);
    const plan = planned.value;
    log(`planned ${plan.items.length} items in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (plan.items.length !== n + 1) throw new Error(`expected ${n + 1} items, planned ${plan.items.length}`);

    const deps: RefederateDeps = {
      identities: azure.identities,
      kube,
      tokenExchange: createTokenExchange({ authorityHost: world.entra.url }),
      redis: store.redis,
      keys: store.keys,
      verify: { enabled: true, timeoutMs: 60_000 },
      concurrency: 48,
    };
    const idleItem = plan.items.filter((i) => i.serviceAccount === 'idle');
    const batch: RefederatePlan = { ...plan, items: plan.items.filter((i) => i.serviceAccount !== 'idle') };
    // Planning drained the read bucket: let it refill, as it would while the approver reads the plan.
    await sleep(12_000);
    const i0 = performance.now();
    const idle = await runRefederate({ ...plan, items: idleItem, skipped: [] }, deps);
    const idleMs = performance.now() - i0;
    if (idle[0]?.outcome !== 'done') throw new Error(`idle item failed: ${idle[0]?.detail}`);
    await sleep(1000);

    const before = world.arm.stats();
    let finished = 0;
    const r0 = performance.now();
    const ticker = setInterval(() => log(`  ${finished}/${n} after ${((performance.now() - r0) / 1000).toFixed(0)} s`), 10_000);
    const results = await runRefederate(batch, deps, { onItem: () => void finished++ });
    clearInterval(ticker);
    const seconds = (performance.now() - r0) / 1000;
    const after = world.arm.stats();
    const verified = results.filter((r) => r.outcome === 'done' && r.verified).length;
    const failed = results.filter((r) => r.outcome === 'failed');
    for (const f of failed.slice(0, 3)) log(`  failed ${f.identity}: ${f.detail}`);
    const bound = refederateBoundSeconds(n) + idleMs / 1000;

    await sleep(12_000);
    const d0 = performance.now();
    const removal = await removeOldCredentials(batch, new Set(results.filter((r) => r.verified).map((r) => r.key)), deps);
    const removeSeconds = (performance.now() - d0) / 1000;
    const l = AZURE_LIMITS;
    return {
      refederate: {
        identities: n,
        seconds: round(seconds),
        bound_seconds: round(bound),
        efficiency: round(bound / seconds, 3),
        verified,
        failed: failed.length,
        skipped: results.filter((r) => r.outcome === 'skipped').length,
        idle_item_ms: round(idleMs, 0),
        writes_per_identity: round((after.byLimit.write.allowed - before.byLimit.write.allowed) / n, 2),
        reads_per_identity: round((after.byLimit.read.allowed - before.byLimit.read.allowed) / n, 2),
        azure_429: after.throttled - before.throttled,
        remove_seconds: round(removeSeconds),
        remove_bound_seconds: round(refederateBoundSeconds(n, 'deletes')),
        removed: removal.filter((r) => r.outcome === 'done').length,
        limits: `reads ${l.reads.burst}/${l.reads.perSecond}s⁻¹, writes ${l.writes.burst}/${l.writes.perSecond}s⁻¹, deletes ${l.deletes.burst}/${l.deletes.perSecond}s⁻¹`,
      },
    };
  } finally {
    await store.close();
    await world.close();
    await redis.stop();
  }
}

/** Runs the benchmark (in a child process that trusts the world's certificate) and returns its figures. */
export async function run(opts: { quiet?: boolean; argv?: string[] } = {}): Promise<RefederateBenchResult> {
  const n = flag(opts.argv ?? [], 'identities') ?? 500;
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(s + '\n');
  };
  if (inTrustedChild()) return measure(n, log);
  return runInTrustedChild<RefederateBenchResult>(__filename, ['--json', '--identities', String(n)], { name: 'refederate', ...(opts.quiet ? { quiet: true } : {}) });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  run({ argv, quiet: process.env.WID_BENCH_QUIET === '1' })
    .then((r) => {
      process.stdout.write(JSON.stringify(argv.includes('--json') ? r : r, null, argv.includes('--json') ? undefined : 2) + '\n');
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`refederate bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
