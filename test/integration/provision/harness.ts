/**
 * The provisioning tests' world: the emulators, the test Redis, the real adapters, and requests
 * made the way the Slack side makes them (policy decision → frozen plan → approved request).
 */
import { randomBytes } from 'node:crypto';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { createAzureAdapters, type AzureConfig } from '../../../src/azure';
import { loadPolicyFile } from '../../../src/config/policy';
import { applyAction, newRequest } from '../../../src/domain/lifecycle';
import { buildPlan } from '../../../src/domain/plan';
import { evaluateRequest } from '../../../src/domain/policy';
import type { Plan, Policy, ProvisionedResources, WidRequest } from '../../../src/domain/types';
import { createTokenExchange } from '../../../src/entra';
import { createKubeAdapter } from '../../../src/kube';
import type { EngineDeps } from '../../../src/provision';
import { RedisRequestStore } from '../../../src/store';
import { startWorld, WORLD, type World, type WorldOptions } from '../../emulators/world';
import { testRedisUrl, uniquePrefix } from '../../support/redis';

export { WORLD };

export const anyToken: TokenCredential = {
  getToken: (): Promise<AccessToken> => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3600_000 }),
};

export interface Harness {
  world: World;
  policy: Policy;
  store: RedisRequestStore;
  prefix: string;
  azureConfig: AzureConfig;
  deps(overrides?: Partial<EngineDeps>): EngineDeps;
  /** An approved grant request for finance/<sa>, stored. */
  approvedGrant(serviceAccount: string, opts?: { roleName?: string; scope?: string; namespace?: string; mutatePlan?: (p: Plan) => void }): Promise<WidRequest>;
  /** An approved revoke request reusing a grant's plan, stored. */
  approvedRevoke(grant: WidRequest): Promise<WidRequest>;
  close(): Promise<void>;
}

export async function startHarness(options: WorldOptions = {}): Promise<Harness> {
  const world = await startWorld({ ...options, arm: { ficWriteMs: 5, ...options.arm } });
  const policy = loadPolicyFile(world.files.policy);
  const prefix = uniquePrefix('prov');
  const store = await RedisRequestStore.connect(testRedisUrl(), { prefix });
  const azureConfig: AzureConfig = {
    credential: anyToken,
    resourceManagerUrl: world.arm.url,
    audience: 'https://management.azure.com',
    retry: { maxRetries: 4, retryDelayMs: 20, maxRetryDelayMs: 200, maxRetryAfterSeconds: 2 },
  };
  const azure = createAzureAdapters(azureConfig);
  const kube = createKubeAdapter({ kubeconfigYaml: world.kube.kubeconfig() });
  const tokenExchange = createTokenExchange({ authorityHost: world.entra.url });
  const cluster = policy.clusters[0];
  if (!cluster) throw new Error('the world policy has no cluster');
  const facts = await azure.clusters.getClusterFacts(cluster);

  const deps = (overrides: Partial<EngineDeps> = {}): EngineDeps => ({
    identities: azure.identities,
    authorization: azure.authorization,
    clusters: azure.clusters,
    kube,
    tokenExchange,
    redis: store.redis,
    keys: store.keys,
    recorder: store,
    verify: { enabled: true, timeoutMs: 10_000 },
    limits: { retryBaseMs: 50, lockTtlMs: 1500 },
    ...overrides,
  });

  async function store2approved(request: WidRequest, event: Parameters<RedisRequestStore['create']>[1]): Promise<WidRequest> {
    await store.create(request, event);
    const approved = applyAction(request, { type: 'approve', actor: { id: WORLD.users.approver }, actorIsApprover: true }, new Date());
    if (!approved.ok) throw new Error(approved.error.message);
    if (!(await store.compareAndSet(request, approved.value.request, approved.value.event))) throw new Error('approve lost a race');
    const stored = await store.get(request.id);
    if (!stored) throw new Error('request vanished');
    return stored;
  }

  return {
    world,
    policy,
    store,
    prefix,
    azureConfig,
    deps,
    async approvedGrant(serviceAccount, opts = {}) {
      const decision = evaluateRequest(policy, {
        requester: { id: WORLD.users.requester },
        requesterGroups: [],
        command: { verb: 'request', namespace: opts.namespace ?? 'finance', serviceAccount, roleName: opts.roleName ?? 'Key Vault Secrets User', ...(opts.scope ? { scope: opts.scope } : {}) },
      });
      if (!decision.ok) throw new Error(decision.error.message);
      const id = `wid-${randomBytes(5).toString('hex')}`;
      const plan = buildPlan({ policy, decision: decision.value, clusterFacts: facts, requestId: id, requester: { id: WORLD.users.requester }, kind: 'grant' });
      if (!plan.ok) throw new Error(plan.error.message);
      opts.mutatePlan?.(plan.value);
      const { request, event } = newRequest({ id, plan: plan.value, requester: { id: WORLD.users.requester }, now: new Date(), policy });
      return store2approved(request, event);
    },
    async approvedRevoke(grant) {
      const id = `wid-${randomBytes(5).toString('hex')}`;
      const plan: Plan = { ...grant.plan, kind: 'revoke' };
      const { request, event } = newRequest({ id, plan, requester: { id: WORLD.users.requester }, now: new Date(), policy });
      return store2approved(request, event);
    },
    async close() {
      await store.close();
      await world.close();
    },
  };
}

/** Everything in the world that belongs to one request's plan. */
export function worldFor(world: World, request: WidRequest) {
  const plan = request.plan;
  const identities = world.arm.state.identities().filter((i) => i.name === plan.identity.name);
  const identity = identities[0];
  const roleAssignments = world.arm.state.roleAssignments().filter((a) => identity && a.principalId === identity.principalId);
  const sa = world.kube.getServiceAccount(plan.serviceAccount.namespace, plan.serviceAccount.name);
  return {
    identities,
    identity,
    roleAssignments,
    federatedCredentials: identity?.federatedCredentials ?? [],
    serviceAccount: sa,
    annotations: (sa?.metadata?.annotations ?? {}) as Record<string, string>,
  };
}

export function sameResources(a: ProvisionedResources): ProvisionedResources {
  return { ...a };
}

// ───────────────────────────── worker processes ─────────────────────────────

import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startWorker, type WorkerConfig } from '../../../src/worker';
import type { StepName } from '../../../src/domain/types';
import { createQueues, type WidQueues } from '../../../src/queue';

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The worker config for this world (in-process workers). */
export function workerConfig(h: Harness, extra: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    redisUrl: testRedisUrl(),
    prefix: h.prefix,
    policy: h.policy,
    azure: h.azureConfig,
    kube: { kubeconfigYaml: h.world.kube.kubeconfig() },
    entraAuthorityHost: h.world.entra.url,
    verify: { enabled: true, timeoutMs: 10_000 },
    concurrency: 4,
    limits: { retryBaseMs: 50, lockTtlMs: 1500 },
    queue: { lockDurationMs: 1000, stalledIntervalMs: 300, backoffBaseMs: 200 },
    ...extra,
  };
}

export { startWorker };

export async function queuesFor(h: Harness): Promise<WidQueues> {
  return createQueues(testRedisUrl(), h.prefix);
}

/**
 * A worker process (test/support/worker-child.ts) that SIGKILLs itself at the point `kill` names, e.g.
 * `{ WID_KILL_AFTER_STEP: step }` or `{ WID_KILL_AT_END_POINT: point }`. Resolves once it takes jobs; `exited` when it died.
 */
export async function startWorkerChild(h: Harness, kill: Record<string, string>): Promise<{ child: ChildProcess; exited: Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.resolve(__dirname, '../../support/worker-child.ts')], {
    cwd: path.resolve(__dirname, '../../..'),
    env: {
      ...process.env,
      WID_REDIS_URL: testRedisUrl(),
      WID_PREFIX: h.prefix,
      WID_ARM_URL: h.world.arm.url,
      WID_KUBECONFIG: h.world.files.kubeconfig,
      WID_ENTRA_URL: h.world.entra.url,
      WID_POLICY_FILE: h.world.files.policy,
      WID_LOCK_MS: '1000',
      ...kill,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker child did not start within 20 s')), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker child exited early (${code ?? signal})`));
    });
  });
  return { child, exited };
}

/** A worker process that SIGKILLs itself right after `step` ends. */
export function startDoomedWorker(h: Harness, step: StepName): Promise<{ child: ChildProcess; exited: Promise<NodeJS.Signals | null> }> {
  return startWorkerChild(h, { WID_KILL_AFTER_STEP: step });
}

/**
 * The crash drill: a request is approved and queued, a worker process dies right after `step`, a new worker
 * takes the stalled job over. Resolves with the request once it is final.
 */
export async function crashAfterStepAndRecover(h: Harness, queues: WidQueues, step: StepName, serviceAccount: string): Promise<{ request: WidRequest; signal: NodeJS.Signals | null }> {
  const request = await h.approvedGrant(serviceAccount);
  const doomed = await startDoomedWorker(h, step);
  await queues.enqueueProvision(request.id, 'grant');
  const signal = await doomed.exited;
  const rescuer = await startWorker(workerConfig(h));
  try {
    const final = await waitFor(`request ${request.id} to finish`, async () => {
      const r = await h.store.get(request.id);
      return r && (r.state === 'succeeded' || r.state === 'failed') ? r : undefined;
    });
    return { request: final, signal };
  } finally {
    await rescuer.close();
  }
}
