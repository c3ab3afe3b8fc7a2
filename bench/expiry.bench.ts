/**
 * Grants end on time under Azure's documented ARM delete limits (200 burst, 10/s per subscription), against the
 * emulated world with its throttling on, through the real worker (delayed end jobs, reconciler, Redis buckets).
 *
 *   expiry.lateness_p99_s / expiry.bound_s: N grants (default 1,000) ending within the same few seconds; p99 of
 *     each end's record time after its endsAt, beside the time the delete limits need to delete them all
 *     ((N − burst) / rate). Goal: lateness ≤ 1.1 × bound.
 *   expiry.after_downtime_ratio: the worker down across M ends (default 200; 30 s down, 10 s reconcile interval),
 *     then started: time until all are removed ÷ (reconcile interval + the throttle-bound time for M deletes).
 *     Goal ≤ 1.1.
 *   expiry.missed: grants whose assignment was still there at the deadline (both scenarios); must be 0.
 *
 * The grants are set up the way the worker leaves them (request, identity, role assignment with its description,
 * grant and end job) without provisioning each through ARM, which would spend the same buckets being measured.
 *   expiry.single_request_ratio(_max): single grant requests approved every `--expiry-every-s` (12) s while the N
 *     ends run (`--expiry-singles`, 5), each approve → verified time ÷ (its median on the idle worker + one write
 *     slot), as fairness.single_request_ratio.
 * Each ServiceAccount also holds a grant for good, so an end removes only its assignment (the release of an
 * identity is a separate, later job). `--expiry-n=N`, `--expiry-m=M`, `--expiry-down-s=S` scale it.
 */
import os from 'node:os';
import path from 'node:path';
import type { Grant } from '../src/domain/grants';
import { assignmentDescription } from '../src/domain/grants';
import { roleAssignmentName } from '../src/domain/names';
import { AZURE_LIMITS } from '../src/domain/azure-limits';
import type { WidRequest } from '../src/domain/types';
import { resolveRoleDefinitionId } from '../src/provision';
import type { RunningWorker } from '../src/worker';
import { storageScope } from '../test/emulators/world';
import { startRedisServer } from '../test/support/redis-server';
import { inTrustedChild, runInTrustedChild } from './support/trusted-child';
import { queuesFor, startHarness, startWorker, workerConfig, type Harness } from '../test/integration/provision/harness';

const ROLE = 'Storage Blob Data Reader';
const FOR_GOOD = 'Key Vault Secrets User';


function arg(argv: string[], name: string, fallback: number): number {
  const v = argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const n = v === undefined ? NaN : Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)] ?? 0;
}

/** The delete-limited time to remove `n` assignments starting with a full bucket. */
function deleteBoundSeconds(n: number): number {
  const { burst, perSecond } = AZURE_LIMITS.deletes;
  return Math.max(0, n - burst) / perSecond;
}

interface Made {
  request: WidRequest;
  assignmentName: string;
}

/** N approved grant requests set up as provisioned, each with a grant for good of another role on the same ServiceAccount. */
async function setUp(h: Harness, w: RunningWorker, tag: string, n: number, seconds: number): Promise<Made[]> {
  const out: Made[] = [];
  let roleDefinitionId: string | undefined;
  for (let i = 0; i < n; i++) {
    const r = await h.approvedGrant(`${tag}-${i}`, { roleName: ROLE, scope: storageScope(), mutatePlan: (p) => void (p.durationSeconds = seconds) });
    const plan = r.plan.identity;
    const identity = h.world.arm.state.seedIdentity({ subscriptionId: plan.subscriptionId, resourceGroup: plan.resourceGroup, name: plan.name, createdAt: 0 });
    roleDefinitionId ??= await resolveRoleDefinitionId(r, h.deps());
    const name = roleAssignmentName(r.plan.roleAssignment.scope, identity.principalId, roleDefinitionId);
    const id = `${r.plan.roleAssignment.scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
    await h.store.recordResources(r.id, { principalId: identity.principalId, clientId: identity.clientId, roleAssignmentId: id });
    out.push({ request: (await h.store.get(r.id)) as WidRequest, assignmentName: name });
    // the grant for good beside it: the end removes only the assignment
    await w.grants.service.begin(await h.approvedGrant(r.serviceAccount, { roleName: FOR_GOOD }));
  }
  return out;
}

/** Starts the grants so that all end at `endAt` (to the second), and writes each end into Azure. */
async function begin(h: Harness, w: RunningWorker, made: Made[], endAt: number): Promise<Map<string, number>> {
  const ends = new Map<string, number>();
  for (const m of made) {
    const request = { ...m.request, durationSeconds: Math.max(1, Math.round((endAt - Date.now()) / 1000)) };
    const g = (await w.grants.service.begin(request)) as Grant;
    ends.set(m.request.id, Date.parse(g.endsAt as string));
    h.world.arm.state.seedRoleAssignment({ scope: m.request.plan.roleAssignment.scope, role: ROLE, principalId: m.request.resources.principalId as string, name: m.assignmentName, description: assignmentDescription(g.id, g.endsAt) });
  }
  return ends;
}

/** Polls the world until every assignment is gone or the deadline passes; the time each went. */
async function removals(h: Harness, made: Made[], deadline: number): Promise<Map<string, number>> {
  const gone = new Map<string, number>();
  while (gone.size < made.length && Date.now() < deadline) {
    for (const m of made) if (!gone.has(m.request.id) && !h.world.arm.state.getRoleAssignment(m.assignmentName)) gone.set(m.request.id, Date.now());
    await new Promise((r) => setTimeout(r, 100));
  }
  return gone;
}

/** Runs the measurement in a child process that trusts the world's certificate, and returns its figures. */
export async function run(opts: { quiet?: boolean; argv?: string[] } = {}): Promise<Record<string, Record<string, number>>> {
  if (inTrustedChild()) return measure(opts);
  return runInTrustedChild<Record<string, Record<string, number>>>(__filename, opts.argv ?? [], { name: 'expiry', caDir: path.join(os.tmpdir(), 'wid-bench-expiry-ca'), ...(opts.quiet ? { quiet: true } : {}) });
}

async function measure(opts: { quiet?: boolean; argv?: string[] }): Promise<Record<string, Record<string, number>>> {
  const argv = opts.argv ?? [];
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(s + '\n');
  };
  const n = arg(argv, 'expiry-n', 1000);
  const singles = arg(argv, 'expiry-singles', 5);
  const everyMs = arg(argv, 'expiry-every-s', 12) * 1000;
  const m = arg(argv, 'expiry-m', 200);
  const downMs = arg(argv, 'expiry-down-s', 30) * 1000;
  const intervalMs = 10_000;
  const redis = await startRedisServer();
  const saved = process.env.WID_TEST_REDIS_URL;
  process.env.WID_TEST_REDIS_URL = redis.url;
  let missed = 0;
  const figures: Record<string, number> = {};
  try {
    // ── N grants ending together ──
    {
      const h = await startHarness();
      try {
        log(`setting up ${n} grants…`);
        const w = await startWorker(workerConfig(h, { grants: { reconcileIntervalMs: 60_000 } }));
        const queues = await queuesFor(h);
        /** One grant request approved and provisioned (an interactive job); its approve → verified time in ms. */
        const single = async (sa: string): Promise<number> => {
          const r = await h.approvedGrant(sa);
          const t0 = performance.now();
          await queues.enqueueProvision(r.id, 'grant');
          for (;;) {
            const cur = await h.store.get(r.id);
            if (cur?.state === 'succeeded' && cur.resources.verified === true) return performance.now() - t0;
            if (cur?.state === 'failed') throw new Error(`single request ${r.id} failed: ${cur.failure?.reason ?? '?'}`);
            await new Promise((res) => setTimeout(res, 10));
          }
        };
        const slotMs = 1000 / AZURE_LIMITS.writes.perSecond;
        let idleMs = 0;
        try {
          await single('single-warm');
          const idle: number[] = [];
          for (let k = 0; k < 3; k++) idle.push(await single(`single-idle-${k}`));
          idleMs = median(idle);
          log(`idle single requests ${idle.map((x) => x.toFixed(0)).join(', ')} ms (median ${idleMs.toFixed(0)} ms)`);
          const made = await setUp(h, w, 'late', n, 3600);
          // all end at one moment, a little after the last grant has begun (a slow begin only ends later)
          const ends = await begin(h, w, made, Date.now() + 30 * n + 5000);
          const bound = deleteBoundSeconds(n);
          const deadline = Math.max(...ends.values()) + (bound * 1.5 + 30) * 1000;
          log(`${n} grants end between ${new Date(Math.min(...ends.values())).toISOString()} and ${new Date(Math.max(...ends.values())).toISOString()}; waiting for their removals…`);
          // single requests approved while the ends run: they must not wait behind them (grant ends are a batch)
          const singlesDone = (async () => {
            const loaded: number[] = [];
            const first = Math.min(...ends.values());
            for (let k = 0; k < singles; k++) {
              await new Promise((r) => setTimeout(r, Math.max(0, first + (k + 1) * everyMs - Date.now())));
              // fewer than 5 % of the ending assignments left to remove: the ends are nearly over
              if (made.filter((mm) => h.world.arm.state.getRoleAssignment(mm.assignmentName)).length < n * 0.05) break;
              const ms = await single(`single-${k}`);
              loaded.push(ms);
              log(`single request approved ${((k + 1) * everyMs) / 1000} s into the ends: ${ms.toFixed(0)} ms = ${(ms / (idleMs + slotMs)).toFixed(2)} × (idle + slot)`);
            }
            return loaded;
          })();
          const gone = await removals(h, made, deadline);
          const loaded = await singlesDone;
          if (loaded.length) {
            const ratios = loaded.map((ms) => ms / (idleMs + slotMs));
            figures.single_request_ratio = Number(median(ratios).toFixed(3));
            figures.single_request_ratio_max = Number(Math.max(...ratios).toFixed(3));
            figures.single_idle_ms = Math.round(idleMs);
            figures.singles = loaded.length;
          }
          missed += made.length - gone.size;
          const lateness: number[] = [];
          for (const mm of made) {
            const g = (await w.grants.service.store.get(mm.request.id))?.grant;
            const endedAt = g?.end?.endedAt ? Date.parse(g.end.endedAt) : gone.get(mm.request.id);
            if (endedAt !== undefined) lateness.push((endedAt - (ends.get(mm.request.id) as number)) / 1000);
          }
          figures.lateness_p99_s = Number(p99(lateness).toFixed(2));
          figures.bound_s = bound;
          if (bound > 0) figures.lateness_to_bound = Number((figures.lateness_p99_s / bound).toFixed(3));
          figures.n = n;
          log(`lateness p99 ${figures.lateness_p99_s} s; the delete limits need ${bound} s for ${n} deletes (ratio ${figures.lateness_to_bound})`);
        } finally {
          await queues.close();
          await w.close();
        }
      } finally {
        await h.close();
      }
    }
    // ── M ends while the worker is down ──
    {
      const h = await startHarness();
      try {
        log(`setting up ${m} grants for the downtime run…`);
        const w1 = await startWorker(workerConfig(h, { grants: { reconcileIntervalMs: intervalMs } }));
        const made = await setUp(h, w1, 'down', m, 3600);
        const ends = await begin(h, w1, made, Date.now() + 3000 + 20 * m);
        await w1.close();
        const downUntil = Math.min(...ends.values()) + downMs;
        log(`worker down across ${m} ends; back at ${new Date(downUntil).toISOString()}`);
        await new Promise((r) => setTimeout(r, Math.max(0, downUntil - Date.now())));
        const back = Date.now();
        const w2 = await startWorker(workerConfig(h, { grants: { reconcileIntervalMs: intervalMs } }));
        try {
          const denominator = intervalMs / 1000 + deleteBoundSeconds(m);
          const gone = await removals(h, made, back + denominator * 3000);
          missed += made.length - gone.size;
          const allGone = gone.size === made.length ? (Math.max(...gone.values()) - back) / 1000 : Infinity;
          figures.after_downtime_s = Number(allGone.toFixed(2));
          figures.after_downtime_ratio = Number((allGone / denominator).toFixed(3));
          figures.m = m;
          figures.down_s = downMs / 1000;
          figures.reconcile_interval_s = intervalMs / 1000;
          log(`all ${m} removed ${figures.after_downtime_s} s after the worker came back; ÷ (${intervalMs / 1000} s + ${deleteBoundSeconds(m)} s) = ${figures.after_downtime_ratio}`);
        } finally {
          await w2.close();
        }
      } finally {
        await h.close();
      }
    }
  } finally {
    if (saved === undefined) delete process.env.WID_TEST_REDIS_URL;
    else process.env.WID_TEST_REDIS_URL = saved;
    await redis.stop();
  }
  figures.missed = missed;
  return { expiry: figures };
}

if (require.main === module) {
  measure({ argv: process.argv.slice(2), quiet: process.env.WID_BENCH_QUIET === '1' })
    .then((r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`expiry bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
