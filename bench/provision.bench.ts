/**
 * Provisioning benchmark, in one run against the local world with every ARM, Kubernetes and Entra call
 * delayed by L:
 *
 *  1. critical path: approve → succeeded for one request through the real worker and engine, in units of L,
 *     beside a sequential implementation of the same steps (same adapters, one call after another);
 *  2. throughput: N grant requests approved at once under Azure's documented limits, which the ARM emulator
 *     enforces (token buckets per subscription and principal: writes 200, refilled at 10/s; reads 250, 25/s;
 *     identity creates 80 per 20 s per subscription and region). Each grant needs 3 writes (identity, role
 *     assignment, federated credential), 1 identity create and 3 reads (cluster, identity, credentials), so N
 *     grants cannot finish before the slowest bucket has handed out its last token:
 *       bound = max((3N − 200) / 10, (N − 80) / 4, (3N − 250) / 25, 0) s + one idle grant's critical path;
 *     efficiency = bound / measured time.
 *
 *  1a. the approval path: approve → succeeded through RequestService.approve itself (the approval stored, the approval
 *     message updated in the Slack emulator at the same L, the job queued), with the job queued while the message is
 *     updated (the approval gate, src/store/approval-gate.ts, as the web side runs it) and with the message updated
 *     first, alternated;
 *  1b. under Azure's waits: the same, with a new identity's replication D and a new credential's propagation F injected
 *     (default 3 s and 6 s), against the bound max(D, F) + 4 L, beside the same steps one after another (polling the
 *     exchange the same way, and with the doubled back-off it used before);
 *
 *   npx tsx bench/provision.bench.ts [--json] [--latency 50] [--requests 500] [--runs 3] [--principal-delay 3000] [--credential-delay 6000] [--world-in-process]
 *
 * The default of 500 grants takes about 135 s (the write bucket: (1500 − 200) / 10 = 130 s).
 * The world runs in a child process of its own, as Azure, Kubernetes and Slack are other machines, so its emulators'
 * CPU work is not counted in the worker's times; `--world-in-process` starts it in the measuring process instead.
 * WID_TRACE=1 prints every emulator call of each critical-path run with its offset, and the steps' times.
 * MSAL (inside @azure/identity) trusts only CAs known at process start, so the measurement runs in a child
 * process started with NODE_EXTRA_CA_CERTS pointing at the world's certificate.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createAzureAdapters, type AzureConfig } from '../src/azure';
import { applyAction, newRequest } from '../src/domain/lifecycle';
import { buildPlan } from '../src/domain/plan';
import { evaluateRequest } from '../src/domain/policy';
import type { ProgressSink } from '../src/domain/ports';
import { roleAssignmentName } from '../src/domain/names';
import { roleDefinitionResourceId } from '../src/domain/roles';
import { ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, WORKLOAD_IDENTITY_AUDIENCE, type ClusterFacts, type Policy, type WidRequest } from '../src/domain/types';
import { AZURE_LIMITS, type AzureLimits } from '../src/domain/azure-limits';
import { createTokenExchange } from '../src/entra';
import { createKubeAdapter } from '../src/kube';
import { DEFAULT_VERIFY_SCOPE, PROPAGATION_CODES } from '../src/provision';
import { propagationPause } from '../src/provision/pacing';
import { WidError } from '../src/domain/errors';
import type { TokenExchangePort } from '../src/domain/ports';
import { RedisRequestStore } from '../src/store';
import { startWorker, type WorkerConfig } from '../src/worker';
import { inTrustedChild, runInTrustedChild } from './support/trusted-child';
import { WORLD } from '../test/emulators/world';
import { WebClient } from '@slack/web-api';
import { RequestService } from '../src/app/requests';
import { SlackRequestNotifier } from '../src/slack/request-notifier';
import { ApprovalMessageGate } from '../src/store/approval-gate';
import { DEFAULT_BOT_TOKEN } from '../test/emulators/slack';
import type { BenchWorld } from './support/remote-world';
import { benchSetupOptions, benchWorkerConfig, startBenchSetup, WORLD_IN_PROCESS_FLAG, type BenchSetupOptions } from './support/setup';

export interface ProvisionBenchOptions {
  /** Print nothing (the caller prints). */
  quiet?: boolean;
  /** Command-line arguments (`--latency`, `--requests`, `--runs`). */
  argv?: string[];
  latencyMs?: number;
  requests?: number;
  runs?: number;
  /** Principal replication delay D and credential propagation delay F for the propagation runs (default 3000, 6000). */
  principalDelayMs?: number;
  credentialDelayMs?: number;
  /** Start the world in the benchmark's process (`--world-in-process`) instead of a child process of its own. */
  worldInProcess?: boolean;
}

export interface ProvisionBenchResult {
  critical_path: {
    L_ms: number;
    wall_ms: number;
    ratio_to_L: number;
    sequential_ms: number;
    ratio_to_sequential: number;
    /**
     * approve → succeeded through the approval path itself (RequestService.approve: the approval stored, the approval
     * message updated in the Slack emulator at the same L, the job queued), median, with the preflight reads handed
     * over at approval (as wid-bot runs), and without (the worker reads after taking the job), alternated in one run.
     */
    approve_ms: number;
    approve_ratio_to_L: number;
    approve_message_first_ms: number;
    approve_message_first_ratio_to_L: number;
    /** Azure's waits injected for the propagation runs: principal replication D and credential propagation F (ms). */
    D_ms: number;
    F_ms: number;
    /** approve → verified with D and F injected (median), and divided by max(D, F) + 4 L. */
    propagation_ms: number;
    propagation_ratio: number;
    /** The same steps one after another (same adapters, the same polling of the exchange), divided by the same bound. */
    propagation_sequential_ms: number;
    propagation_sequential_ratio: number;
    /** The same steps one after another, the exchange retried with the doubled back-off (500 ms → 5 s) used before. */
    propagation_sequential_backoff_ms: number;
    propagation_sequential_backoff_ratio: number;
  };
  throttle: {
    requests: number;
    seconds: number;
    rate: number;
    bound_seconds: number;
    bound_rate: number;
    efficiency: number;
    failed: number;
    azure_429: number;
    writes_per_grant: number;
    reads_per_grant: number;
    limits: string;
  };
}

/** What one grant needs of each bucket, at the least. */
export const PER_GRANT = { writes: 3, identityCreates: 1, reads: 3 } as const;

/** The soonest N grants can finish under the limits: when the slowest bucket hands out its last token. */
export function bucketBoundSeconds(n: number, limits: AzureLimits = AZURE_LIMITS): number {
  const drain = (need: number, b: { burst: number; perSecond: number }): number => Math.max(0, (need - b.burst) / b.perSecond);
  return Math.max(drain(n * PER_GRANT.writes, limits.writes), drain(n * PER_GRANT.identityCreates, limits.identityCreates), drain(n * PER_GRANT.reads, limits.reads));
}

export function limitsText(l: AzureLimits = AZURE_LIMITS): string {
  return `reads ${l.reads.burst}/${l.reads.perSecond}s⁻¹, writes ${l.writes.burst}/${l.writes.perSecond}s⁻¹, deletes ${l.deletes.burst}/${l.deletes.perSecond}s⁻¹, identity creates ${l.identityCreates.burst}/${l.identityCreates.perSecond}s⁻¹`;
}

function flag(argv: string[], name: string): number | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i] as string;
  const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got ${String(v)}`);
  return n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;

/** An approved grant request for finance/<sa>, stored, as the Slack side leaves it. */
async function approvedRequest(store: RedisRequestStore, policy: Policy, facts: ClusterFacts, serviceAccount: string): Promise<WidRequest> {
  const decision = evaluateRequest(policy, {
    requester: { id: WORLD.users.requester },
    requesterGroups: [],
    command: { verb: 'request', namespace: 'finance', serviceAccount, roleName: 'Key Vault Secrets User' },
  });
  if (!decision.ok) throw new Error(decision.error.message);
  const id = `wid-${randomBytes(6).toString('hex')}`;
  const plan = buildPlan({ policy, decision: decision.value, clusterFacts: facts, requestId: id, requester: { id: WORLD.users.requester }, kind: 'grant' });
  if (!plan.ok) throw new Error(plan.error.message);
  const { request, event } = newRequest({ id, plan: plan.value, requester: { id: WORLD.users.requester }, now: new Date(), policy });
  await store.create(request, event);
  const approved = applyAction(request, { type: 'approve', actor: { id: WORLD.users.approver }, actorIsApprover: true }, new Date());
  if (!approved.ok) throw new Error(approved.error.message);
  if (!(await store.compareAndSet(request, approved.value.request, approved.value.event))) throw new Error('approve lost a race');
  return approved.value.request;
}

/** How the sequential run waits out Entra's propagation answers: the engine's polling, or the doubled back-off it replaced. */
type SequentialWait = 'poll' | 'backoff';

/** The exchange, retried through Entra's propagation answers (at most 60 s). */
async function exchangeUntilAccepted(exchange: TokenExchangePort, tenantId: string, clientId: string, token: string, wait: SequentialWait): Promise<void> {
  const started = Date.now();
  let pause = 500;
  for (;;) {
    try {
      await exchange.exchange(tenantId, clientId, token, DEFAULT_VERIFY_SCOPE);
      return;
    } catch (e) {
      const waited = Date.now() - started;
      if (!(e instanceof WidError) || !(PROPAGATION_CODES as readonly string[]).includes(e.code) || waited > 60_000) throw e;
      const ms = wait === 'poll' ? propagationPause(waited, { minMs: 250, maxMs: 5000 }) : pause / 2 + (Math.random() * pause) / 2;
      pause = Math.min(5000, pause * 2);
      await new Promise((r) => setTimeout(r, ms));
    }
  }
}

/** The same steps, one call after another: what the engine is measured against. */
async function provisionSequentially(world: BenchWorld, azureConfig: AzureConfig, request: WidRequest, wait: SequentialWait = 'poll'): Promise<void> {
  const azure = createAzureAdapters(azureConfig);
  const kube = createKubeAdapter({ kubeconfigYaml: world.kube.kubeconfig() });
  const exchange = createTokenExchange({ authorityHost: world.entra.url });
  const plan = request.plan;
  const ref = { subscriptionId: plan.identity.subscriptionId, resourceGroup: plan.identity.resourceGroup, name: plan.identity.name };
  const { namespace, name } = plan.serviceAccount;
  // checks
  await azure.clusters.getClusterFacts({ name: plan.cluster.name, subscriptionId: plan.cluster.subscriptionId, resourceGroup: plan.cluster.resourceGroup, aksName: plan.cluster.aksName });
  const existing = await azure.identities.getIdentity(ref);
  const sa = await kube.getServiceAccount(namespace, name);
  // identity
  const identity = existing ?? (await azure.identities.putIdentity(ref, plan.identity.location, plan.identity.tags));
  // role assignment
  const roleDefinitionId = roleDefinitionResourceId(WORLD.subscriptionId, plan.roleAssignment.roleDefinitionId ?? '');
  await azure.authorization.createRoleAssignment(plan.roleAssignment.scope, roleAssignmentName(plan.roleAssignment.scope, identity.principalId, roleDefinitionId), roleDefinitionId, identity.principalId);
  // federated credential: read first, then write
  const fics = await azure.identities.listFederatedCredentials(ref);
  const fic = plan.federatedCredential;
  if (!fics.some((f) => f.issuer === fic.issuer && f.subject === fic.subject)) await azure.identities.putFederatedCredential(ref, fic.name, fic.issuer, fic.subject, fic.audiences);
  // ServiceAccount
  const annotations = { [ANNOTATION_CLIENT_ID]: identity.clientId, [ANNOTATION_TENANT_ID]: identity.tenantId };
  if (sa) await kube.patchServiceAccountAnnotations(namespace, name, annotations);
  else await kube.createServiceAccount(namespace, name, annotations);
  // verify
  const token = await kube.requestServiceAccountToken(namespace, name, WORKLOAD_IDENTITY_AUDIENCE);
  await exchangeUntilAccepted(exchange, identity.tenantId, identity.clientId, token, wait);
}

/** The measurement itself; needs the world's certificate in NODE_EXTRA_CA_CERTS. */
async function measure(latencyMs: number, requests: number, runs: number, log: (s: string) => void, delays: { D: number; F: number } = { D: 3000, F: 6000 }, setupOptions: BenchSetupOptions = {}): Promise<ProvisionBenchResult> {
  const setup = await startBenchSetup('widbench', setupOptions);
  const { redis, world, prefix, store, queues, policy, cluster, azureConfig } = setup;
  const facts = await createAzureAdapters(azureConfig).clusters.getClusterFacts(cluster);

  const finished = new Map<string, (r: WidRequest) => void>();
  const progress: ProgressSink = { progress: async () => {}, finished: async (r) => finished.get(r.id)?.(r) };
  const config: WorkerConfig = benchWorkerConfig(setup, progress);
  const worker = await startWorker(config);
  const untilFinished = (id: string): Promise<WidRequest> => new Promise((resolve) => finished.set(id, resolve));
  let counter = 0;
  const nextSa = (label: string): string => `${label}-${counter++}`;

  try {
    log(`world: ${world.where === 'process' ? `its own process (pid ${world.pid ?? '?'})` : 'in this process'}`);
    for (const c of [world.arm.controls, world.kube.controls, world.entra.controls]) await c.setLatency(latencyMs);
    // warm-up: connections, the issuer's keys at Entra, the limiter's bucket
    for (const impl of ['engine', 'sequential']) {
      const r = await approvedRequest(store, policy, facts, nextSa('warm'));
      if (impl === 'engine') {
        const done = untilFinished(r.id);
        await queues.enqueueProvision(r.id, 'grant');
        await done;
      } else await provisionSequentially(world, azureConfig, r);
    }
    await new Promise((r) => setTimeout(r, 1000)); // let the identity-write buckets refill

    const engineMs: number[] = [];
    const beforeVerifyMs: number[] = [];
    const sequentialMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await approvedRequest(store, policy, facts, nextSa('critical'));
      const done = untilFinished(r.id);
      const t0 = performance.now();
      const wall0 = Date.now();
      await queues.enqueueProvision(r.id, 'grant');
      const final = await done;
      engineMs.push(performance.now() - t0);
      const verifyStart = final.steps.find((x) => x.step === 'verify')?.startedAt;
      if (verifyStart) beforeVerifyMs.push(Date.parse(verifyStart) - wall0);
      if (process.env.WID_TRACE) {
        const since = Date.now() - (performance.now() - t0);
        const all = [
          ...(await world.arm.controls.log()).map((e) => ({ ...e, who: 'arm' })),
          ...(await world.kube.controls.log()).map((e) => ({ ...e, who: 'kube' })),
          ...(await world.entra.controls.log()).map((e) => ({ ...e, who: 'entra' })),
        ].filter((e) => e.at >= since - 5).sort((a, b) => a.at - b.at);
        for (const e of all) log(`TRACE +${e.at - since} ${e.who} ${e.method} ${e.path.slice(0, 140)}`);
        log(`TRACE steps ${JSON.stringify(final.steps.map((x) => [x.step, Date.parse(x.startedAt) - since, Date.parse(x.endedAt ?? '') - since]))}`);
      }
      if (final.state !== 'succeeded') throw new Error(`critical-path request failed: ${final.failure?.reason ?? final.state}`);
      await new Promise((res) => setTimeout(res, 600));
      const s = await approvedRequest(store, policy, facts, nextSa('sequential'));
      const t1 = performance.now();
      await provisionSequentially(world, azureConfig, s);
      sequentialMs.push(performance.now() - t1);
      await new Promise((res) => setTimeout(res, 600));
    }
    const wall = median(engineMs);
    const sequential = median(sequentialMs);
    log(`critical path: engine ${engineMs.map((m) => m.toFixed(0)).join(', ')} ms; sequential ${sequentialMs.map((m) => m.toFixed(0)).join(', ')} ms`);
    const bv = median(beforeVerifyMs);
    log(`critical path: the engine reached the verify step after ${bv.toFixed(0)} ms = ${(bv / latencyMs).toFixed(2)} L (identity, role assignment, credential and ServiceAccount done)`);

    // The approval path itself: the request submitted and its approval message posted as the Slack side does, then
    // approve() timed to the worker's finished(): with the job queued while the message is updated, and after it.
    await world.slack.controls.setLatency(latencyMs);
    const approveMs: number[] = [];
    const approveBareMs: number[] = [];
    const slackClient = new WebClient(DEFAULT_BOT_TOKEN, { slackApiUrl: world.urls.slackApi, retryConfig: { retries: 0 } });
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const serviceWith = (gate: boolean): RequestService =>
      new RequestService({
        store,
        queues,
        policy,
        clusterFacts: async () => facts,
        notifier: new SlackRequestNotifier({ client: slackClient, logger: quiet }),
        groups: { groupsOf: async () => [] },
        logger: quiet,
        // as the web side runs it: the job is queued while the approval message is updated
        ...(gate ? { approvalGate: new ApprovalMessageGate(store.redis, store.keys) } : {}),
      });
    for (let i = 0; i < 2 * runs + 2; i++) {
      const gated = i % 2 === 0;
      const service = serviceWith(gated);
      const submitted = await service.submit({ id: WORLD.users.requester }, { verb: 'request', namespace: 'finance', serviceAccount: nextSa(gated ? 'approve' : 'approve-first'), roleName: 'Key Vault Secrets User' });
      if (submitted.kind !== 'created') throw new Error(`submit: ${JSON.stringify(submitted)}`);
      const done = untilFinished(submitted.request.id);
      const t0 = performance.now();
      const approved = await service.approve(submitted.request.id, { id: WORLD.users.approver });
      if (!approved.changed) throw new Error(`approve: ${approved.message}`);
      const final = await done;
      if (final.state !== 'succeeded') throw new Error(`approve-path request failed: ${final.failure?.reason ?? final.state}`);
      if (i >= 2) (gated ? approveMs : approveBareMs).push(performance.now() - t0); // the first pair warms the web-side adapters
      await new Promise((res) => setTimeout(res, 600));
    }
    await world.slack.controls.reset();
    log(`approval path (approve() → succeeded, the approval message updated at L): queued while the message is updated ${approveMs.map((m) => m.toFixed(0)).join(', ')} ms; message first ${approveBareMs.map((m) => m.toFixed(0)).join(', ')} ms`);

    // Azure's waits: a new identity replicates for D, a new credential propagates for F (same world, same L)
    await world.setDelays({ principalReplicationMs: delays.D, credentialPropagationMs: delays.F });
    const bound = Math.max(delays.D, delays.F) + 4 * latencyMs;
    const propagationMs: number[] = [];
    const propagationSeqMs: number[] = [];
    const propagationBackoffMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const r = await approvedRequest(store, policy, facts, nextSa('propagation'));
      const done = untilFinished(r.id);
      const t0 = performance.now();
      await queues.enqueueProvision(r.id, 'grant');
      const final = await done;
      propagationMs.push(performance.now() - t0);
      if (final.state !== 'succeeded' || !final.resources.verified) throw new Error(`propagation request failed: ${final.failure?.reason ?? final.state}`);
      for (const [wait, into] of [['poll', propagationSeqMs], ['backoff', propagationBackoffMs]] as const) {
        const s = await approvedRequest(store, policy, facts, nextSa(`propagation-${wait}`));
        const t1 = performance.now();
        await provisionSequentially(world, azureConfig, s, wait);
        into.push(performance.now() - t1);
      }
    }
    await world.setDelays({ principalReplicationMs: 0, credentialPropagationMs: 0 });
    const fmt = (xs: number[]): string => xs.map((m) => m.toFixed(0)).join(', ');
    log(`propagation (D = ${delays.D} ms, F = ${delays.F} ms, bound max(D, F) + 4 L = ${bound} ms): engine ${fmt(propagationMs)} ms; sequential ${fmt(propagationSeqMs)} ms; sequential with the doubled back-off ${fmt(propagationBackoffMs)} ms`);

    // throughput under the throttle
    await new Promise((r) => setTimeout(r, 4000));
    const statsBefore = await world.arm.stats();
    const batch: WidRequest[] = [];
    for (let i = 0; i < requests; i++) batch.push(await approvedRequest(store, policy, facts, nextSa('burst')));
    const results = batch.map((r) => untilFinished(r.id));
    const t0 = performance.now();
    await Promise.all(batch.map((r) => queues.enqueueProvision(r.id, 'grant')));
    let done = 0;
    const ticker = setInterval(() => log(`  throughput: ${done}/${requests} finished after ${((performance.now() - t0) / 1000).toFixed(0)} s`), 10_000);
    const finals = await Promise.all(results.map((p) => p.then((r) => (done++, r))));
    clearInterval(ticker);
    const seconds = (performance.now() - t0) / 1000;
    const failed = finals.filter((r) => r.state !== 'succeeded').length;
    const rate = requests / seconds;
    const statsAfter = await world.arm.stats();
    const boundSeconds = bucketBoundSeconds(requests) + wall / 1000;

    return {
      critical_path: {
        L_ms: latencyMs,
        wall_ms: round(wall, 1),
        ratio_to_L: round(wall / latencyMs),
        sequential_ms: round(sequential, 1),
        ratio_to_sequential: round(wall / sequential, 3),
        approve_ms: round(median(approveMs), 1),
        approve_ratio_to_L: round(median(approveMs) / latencyMs),
        approve_message_first_ms: round(median(approveBareMs), 1),
        approve_message_first_ratio_to_L: round(median(approveBareMs) / latencyMs),
        D_ms: delays.D,
        F_ms: delays.F,
        propagation_ms: round(median(propagationMs), 1),
        propagation_ratio: round(median(propagationMs) / bound, 3),
        propagation_sequential_ms: round(median(propagationSeqMs), 1),
        propagation_sequential_ratio: round(median(propagationSeqMs) / bound, 3),
        propagation_sequential_backoff_ms: round(median(propagationBackoffMs), 1),
        propagation_sequential_backoff_ratio: round(median(propagationBackoffMs) / bound, 3),
      },
      throttle: {
        requests,
        seconds: round(seconds),
        rate: round(rate, 3),
        bound_seconds: round(boundSeconds),
        bound_rate: round(requests / boundSeconds, 3),
        efficiency: round(boundSeconds / seconds, 3),
        failed,
        azure_429: statsAfter.throttled - statsBefore.throttled,
        writes_per_grant: round((statsAfter.byLimit.write.allowed - statsBefore.byLimit.write.allowed) / requests, 2),
        reads_per_grant: round((statsAfter.byLimit.read.allowed - statsBefore.byLimit.read.allowed) / requests, 2),
        limits: limitsText(),
      },
    };
  } finally {
    await worker.close();
    await setup.close();
  }
}

function options(opts: ProvisionBenchOptions): { latencyMs: number; requests: number; runs: number; D: number; F: number; worldInProcess: boolean } {
  const argv = opts.argv ?? [];
  return {
    worldInProcess: opts.worldInProcess ?? benchSetupOptions(argv).worldInProcess ?? false,
    latencyMs: opts.latencyMs ?? flag(argv, 'latency') ?? 50,
    requests: opts.requests ?? flag(argv, 'requests') ?? 500,
    runs: opts.runs ?? flag(argv, 'runs') ?? 3,
    D: opts.principalDelayMs ?? flag(argv, 'principal-delay') ?? 3000,
    F: opts.credentialDelayMs ?? flag(argv, 'credential-delay') ?? 6000,
  };
}

/** Runs the benchmark (in a child process that trusts the world's certificate) and returns its figures. */
export async function run(opts: ProvisionBenchOptions = {}): Promise<ProvisionBenchResult> {
  const o = options(opts);
  const log = (s: string): void => {
    if (!opts.quiet) process.stderr.write(s + '\n');
  };
  if (inTrustedChild()) return measure(o.latencyMs, o.requests, o.runs, log, { D: o.D, F: o.F }, { worldInProcess: o.worldInProcess });
  const args = ['--json', '--latency', String(o.latencyMs), '--requests', String(o.requests), '--runs', String(o.runs), '--principal-delay', String(o.D), '--credential-delay', String(o.F), ...(o.worldInProcess ? [WORLD_IN_PROCESS_FLAG] : [])];
  return runInTrustedChild<ProvisionBenchResult>(__filename, args, { name: 'provision', ...(opts.quiet ? { quiet: true } : {}) });
}

function table(r: ProvisionBenchResult): string {
  const c = r.critical_path;
  const t = r.throttle;
  return [
    'provision benchmark',
    `  critical path (approve → succeeded, one request, L = ${c.L_ms} ms per call)`,
    `    engine        ${c.wall_ms.toFixed(0).padStart(7)} ms   = ${c.ratio_to_L.toFixed(2)} L   (goal ≤ 5 L; ≤ 4 L stretch)`,
    `    sequential    ${c.sequential_ms.toFixed(0).padStart(7)} ms   = ${(c.sequential_ms / c.L_ms).toFixed(2)} L`,
    `    engine / sequential          ${c.ratio_to_sequential.toFixed(3)}`,
    `    approve() → succeeded ${c.approve_ms.toFixed(0).padStart(7)} ms   = ${c.approve_ratio_to_L.toFixed(2)} L   (job queued while the message is updated; message first: ${c.approve_message_first_ms.toFixed(0)} ms = ${c.approve_message_first_ratio_to_L.toFixed(2)} L)`,
    `  under Azure's waits (D = ${c.D_ms} ms replication, F = ${c.F_ms} ms propagation; bound max(D, F) + 4 L = ${Math.max(c.D_ms, c.F_ms) + 4 * c.L_ms} ms)`,
    `    engine        ${c.propagation_ms.toFixed(0).padStart(7)} ms   = ${c.propagation_ratio.toFixed(3)} × bound   (goal ≤ 1.1)`,
    `    sequential    ${c.propagation_sequential_ms.toFixed(0).padStart(7)} ms   = ${c.propagation_sequential_ratio.toFixed(3)} × bound`,
    `    sequential, doubled back-off ${c.propagation_sequential_backoff_ms.toFixed(0).padStart(7)} ms = ${c.propagation_sequential_backoff_ratio.toFixed(3)} × bound`,
    `  throughput (${t.requests} grants approved at once; Azure's limits: ${t.limits})`,
    `    wall time     ${t.seconds.toFixed(1).padStart(7)} s   (bound ${t.bound_seconds.toFixed(1)} s)`,
    `    rate          ${t.rate.toFixed(3).padStart(7)} requests/s (bound ${t.bound_rate}/s)`,
    `    per grant     ${t.writes_per_grant} writes, ${t.reads_per_grant} reads`,
    `    efficiency    ${(t.efficiency * 100).toFixed(1).padStart(7)} %   (goal ≥ 90 %)`,
    `    failed        ${String(t.failed).padStart(7)}`,
    `    Azure 429s    ${String(t.azure_429).padStart(7)}`,
  ].join('\n');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  run({ argv, quiet: process.env.WID_BENCH_QUIET === '1' })
    .then((r) => {
      process.stdout.write((json ? JSON.stringify(r) : table(r)) + '\n');
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`provision bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    });
}
