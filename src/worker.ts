/**
 * The worker role: takes provision jobs from the queue and turns approved requests into working
 * workload identities (or removes them, for revokes) with the provisioning engine. A request moves
 * approved → provisioning → succeeded | failed by compare-and-set, so it is never processed twice.
 */
import { createAzureAdapters, inReadLane, type AzureConfig } from './azure';
import { WidError, TerminalError } from './domain/errors';
import { laneOfPriority } from './domain/fairness';
import { applyAction, SYSTEM_ACTOR, type RequestAction } from './domain/lifecycle';
import type { ProgressSink } from './domain/ports';
import type { Policy, StepName, StepOutcome, WidRequest } from './domain/types';
import { createTokenExchange } from './entra';
import type { KubeAdapterConfig } from './kube';
import { lazyKubeAdapter } from './kube/lazy';
import { kubeByCluster, type KubeClusterOverride } from './kube/clusters';
import { grantPreflight, provisionAlsoClusters, provisionRevokeAll, provisionFederation, provisionGrant, provisionMigration, provisionRevoke, readInventory, resolveLimits, StepError, type EngineDeps, type ProvisionLimits, type ProvisionLogger } from './provision';
import type { Preflight } from './provision/context';
import { createProvisionWorker, parseProvisionJobId, withLock, type JobHelpers, type ProvisionJobData } from './queue';
import { RedisRequestStore } from './store';
import { IssuerHistory, recordingIssuers } from './store/issuers';
import { startRefederateWorker, type RefederateNotifier } from './app/refederate';
import { RefederationStore } from './store/refederations';
import { startGrants, type GrantWorkerConfig, type RunningGrants } from './grants/worker';
import { revokedViews } from './domain/revoke-all';

export interface WorkerConfig {
  redisUrl: string;
  /** Redis key prefix shared with the web side (default `wid`). */
  prefix?: string;
  policy: Policy;
  azure: AzureConfig;
  kube: KubeAdapterConfig;
  /** Per policy cluster: its own kubeconfig and/or context; clusters not named here use `kube`. */
  kubeClusters?: Record<string, KubeClusterOverride>;
  /** Entra authority host for the verification exchange (AZURE_AUTHORITY_HOST). */
  entraAuthorityHost?: string;
  verify: { enabled: boolean; timeoutMs: number; scope?: string };
  /** Jobs this process runs at once. */
  concurrency: number;
  progress?: ProgressSink;
  limits?: ProvisionLimits;
  logger?: ProvisionLogger;
  /** Called when each step ends, for metrics (and for crash tests: it runs after the step's record is saved). */
  onStep?(step: StepName, outcome: StepOutcome, ms: number): void | Promise<void>;
  /** Queue timing: a dead worker's job is taken over after lockDurationMs, found by a check every stalledIntervalMs. */
  queue?: { lockDurationMs?: number; stalledIntervalMs?: number; backoffBaseMs?: number };
  /** `/wid refederate` batches: where their message is kept up to date (Slack), and how many items run at once. */
  refederate?: { notifier?: Pick<RefederateNotifier, 'update'>; concurrency?: number };
  /** Time-bound grants: ends, reminders, the reconciler (src/grants). */
  grants?: Omit<GrantWorkerConfig, 'redisUrl' | 'prefix' | 'policy' | 'engine' | 'requests'>;
}

export interface RunningWorker {
  /** Stops taking jobs, lets running ones finish, then disconnects. */
  close(): Promise<void>;
  /** The grants' side (ends, reconciler). */
  grants: RunningGrants;
}

const SILENT: ProvisionLogger = { info() {}, warn() {}, error() {} };

/** Starts the worker role. Resolves once connected and taking jobs. */
export async function startWorker(config: WorkerConfig): Promise<RunningWorker> {
  const logger = config.logger ?? SILENT;
  const store = await RedisRequestStore.connect(config.redisUrl, config.prefix ? { prefix: config.prefix } : {});
  const azure = createAzureAdapters(config.azure);
  // One adapter per cluster: a request's ServiceAccount lives on the cluster its plan names.
  const kubeFor = kubeByCluster(config.kube, config.kubeClusters ?? {}, lazyKubeAdapter);
  const kube = kubeFor(config.policy.defaultCluster);
  const tokenExchange = createTokenExchange(config.entraAuthorityHost ? { authorityHost: config.entraAuthorityHost } : {});
  const deps: EngineDeps = {
    identities: azure.identities,
    authorization: azure.authorization,
    schedules: azure.schedules,
    clusters: recordingIssuers(azure.clusters, new IssuerHistory(store.redis, config.prefix ?? 'wid'), logger),
    kube,
    tokenExchange,
    redis: store.redis,
    keys: store.keys,
    recorder: store,
    ...(config.progress ? { progress: config.progress } : {}),
    ...(config.limits ? { limits: config.limits } : {}),
    verify: config.verify,
    logger,
    ...(config.onStep ? { onStep: config.onStep } : {}),
  };

  // Grant ends delete from the same ARM bucket as revocations, booked at the same configured limit.
  const grants = await startGrants({
    redisUrl: config.redisUrl,
    prefix: config.prefix ?? 'wid',
    policy: config.policy,
    engine: deps,
    requests: store,
    kubeFor,
    ...config.grants,
    limits: { armDeletes: resolveLimits(config.limits).armDeletes, ...config.grants?.limits },
  });
  deps.grantAssignment = grants.service.assignmentHook();

  /** Applies one lifecycle action by compare-and-set on the freshest copy; undefined when the request moved on meanwhile. */
  async function transition(id: string, action: RequestAction, known?: WidRequest): Promise<WidRequest | undefined> {
    for (let tries = 0; tries < 5; tries++) {
      // a copy read just before is tried first: a compare-and-set it loses reads the request again
      const current = tries === 0 && known ? known : await store.get(id);
      if (!current) return undefined;
      const next = applyAction(current, action, new Date());
      if (!next.ok) return undefined;
      if (await store.compareAndSet({ id, state: current.state, updatedAt: current.updatedAt }, next.value.request, next.value.event)) {
        return { ...next.value.request, steps: current.steps, resources: { ...current.resources, ...next.value.request.resources } };
      }
    }
    throw new WidError(`Request ${id} kept changing while the worker tried to update it.`, 'retryable', 'StateContention');
  }

  async function finish(request: WidRequest | undefined, opts: { fresh?: boolean } = {}): Promise<void> {
    if (!request || !config.progress) return;
    const fresh = opts.fresh ? request : ((await store.get(request.id)) ?? request);
    try {
      await config.progress.finished(fresh);
    } catch (e) {
      logger.warn({ requestId: request.id, err: e instanceof Error ? e.message : String(e) }, 'finished notification failed');
    }
  }

  async function markFailed(request: WidRequest, error: WidError, retryable: boolean): Promise<void> {
    // The resources this run recorded are on the stored copy.
    const inventory = await readInventory((await store.get(request.id)) ?? request, { ...deps, kube: kubeFor(request.plan.cluster.name) });
    const step = error instanceof StepError ? error.step : undefined;
    const reason = `${error.message}\nWhat exists now:\n${inventory.text}`;
    const failed = await transition(request.id, { type: 'fail', reason, retryable, resources: {}, ...(step ? { step } : {}) });
    logger.warn({ requestId: request.id, step, code: error.code, retryable }, 'request failed');
    await finish(failed);
  }

  const lockTtlMs = resolveLimits(config.limits).lockTtlMs;

  /**
   * One run per request at a time, whatever the queue does: a job BullMQ wrongly thinks stalled (a busy
   * event loop missing a lock renewal) would otherwise run the request twice, concurrently. A dead holder's
   * lock expires within lockTtlMs, so the job that takes over waits at most that long.
   */
  async function processJob(data: ProvisionJobData, helpers: JobHelpers): Promise<void> {
    // The request is read while the lock is taken: what is done with the copy (the preflight's reads, a compare-and-set
    // that fails if the request changed meanwhile) is safe without the lock; every write comes after it.
    const read = store.get(data.requestId);
    read.catch(() => {
      // awaited under the lock
    });
    await withLock(store.redis, store.keys.lock(`request:${data.requestId}`), lockTtlMs, (lock) => processRequest(data, helpers, lock.signal, read), { waitMs: lockTtlMs + 1000 });
  }

  async function processRequest(data: ProvisionJobData, helpers: JobHelpers, lockSignal: AbortSignal, read: Promise<WidRequest | undefined>): Promise<void> {
    const { requestId } = data;
    let request = await read;
    if (!request) {
      logger.warn({ requestId, jobId: helpers.jobId }, 'provision job for a request that does not exist: ignored');
      return;
    }
    // The grant's preflight only reads (Azure, Kubernetes): it starts now, beside the state change and the grant's
    // bookkeeping below, and is used only if this job goes on to provision the same plan. Every check runs before the
    // first write.
    const isRetryJob = parseProvisionJobId(helpers.jobId).retry > 0;
    const preflight =
      request.kind === 'grant' && request.plan.kind === 'grant' && (request.state === 'approved' || request.state === 'provisioning')
        ? grantPreflight(request, { ...deps, kube: kubeFor(request.plan.cluster.name) })
        : undefined;
    preflight?.catch(() => {
      // provisionGrant rethrows it when it is used
    });
    if (request.state === 'approved') {
      request = await transition(requestId, { type: 'startProvisioning' }, request);
    } else if (request.state === 'failed' && isRetryJob) {
      // The retry was allowed where it was asked for (Slack or CLI checked who asked); here it only resumes.
      request = await transition(requestId, { type: 'retry', actor: SYSTEM_ACTOR, actorIsApprover: true });
    } else if (request.state !== 'provisioning') {
      logger.info({ requestId, state: request.state, jobId: helpers.jobId }, 'nothing to do for this request in its state');
      return;
    }
    if (!request || request.state !== 'provisioning') {
      logger.info({ requestId, jobId: helpers.jobId }, 'another worker moved the request on: nothing to do');
      return;
    }
    if (request.kind === 'grant') {
      // The grant begins with its first provisioning (its end counts from here); one that already ended is not made again.
      const grant = await grants.service.begin(request);
      if (grant?.state === 'ended') {
        const when = grant.end?.endedAt ?? grant.updatedAt;
        await markFailed(request, new TerminalError(`The grant ended at ${when} (${grant.end?.reason === 'expired' ? 'its time ran out' : (grant.end?.reason ?? 'ended')}) before its provisioning finished, so wid-bot does not grant it again. Make a new request if the access is still needed.`, 'GrantEnded'), false);
        return;
      }
    }

    // --cluster all: each cluster's part on its own API
    const revokeAll = (r: WidRequest, d: EngineDeps) => provisionRevokeAll(r, d, kubeFor);
    const run = request.kind === 'revoke' ? (request.plan.revokeAll ? revokeAll : provisionRevoke) : request.kind === 'migrate' ? provisionMigration : request.kind === 'federate' ? provisionFederation : provisionGrant;
    try {
      // Progress goes to the sink and onto the job, so watchProvisionEvents sees it in every process.
      const progress: ProgressSink = {
        async progress(r, event) {
          await helpers.updateProgress({ ...event }).catch(() => {});
          await config.progress?.progress(r, event);
        },
        finished: async () => {},
      };
      const signal = helpers.signal ? AbortSignal.any([helpers.signal, lockSignal]) : lockSignal;
      const lane = laneOfPriority(helpers.priority);
      const clusterDeps = { ...deps, kube: kubeFor(request.plan.cluster.name) };
      const resources = await inReadLane(lane, () =>
        preflight && request.kind === 'grant' ? provisionGrant(request, { ...clusterDeps, progress, signal, lane }, { preflight }) : run(request, { ...clusterDeps, progress, signal, lane }),
      );
      // --cluster a,b: the other clusters trust the same identity, each on its own API
      if (request.kind === 'grant' && request.plan.alsoClusters?.length) resources.clusters = await provisionAlsoClusters({ ...request, resources: { ...request.resources, ...resources } }, { ...deps, signal, lane }, kubeFor);
      const succeeded = await transition(requestId, { type: 'succeed', resources: {} });
      if (succeeded) {
        logger.info({ requestId, resources }, 'request succeeded');
        for (const view of revokedViews(succeeded)) if (view.kind === 'revoke' && !view.plan.migration && !view.plan.federation) await grants.service.endByRevokeRequest(view).catch((e: unknown) => logger.warn({ requestId, err: e instanceof Error ? e.message : String(e) }, 'could not record the end of the revoked grants'));
        // transition() read the request (every step record included) just before its compare-and-set won
        await finish(succeeded, { fresh: true });
      }
    } catch (e) {
      const error = e instanceof WidError ? e : new TerminalError(`Unexpected error: ${e instanceof Error ? e.message : String(e)}`, 'Unexpected');
      if (error.kind === 'terminal') {
        await markFailed(request, error, false);
      } else if (helpers.isFinalAttempt) {
        await markFailed(request, error, true);
      }
      throw error;
    }
  }

  const worker = createProvisionWorker(config.redisUrl, config.prefix, processJob, {
    concurrency: config.concurrency,
    ...(config.queue?.lockDurationMs ? { lockDuration: config.queue.lockDurationMs } : {}),
    ...(config.queue?.stalledIntervalMs ? { stalledInterval: config.queue.stalledIntervalMs } : {}),
    ...(config.queue?.backoffBaseMs ? { backoff: { baseDelayMs: config.queue.backoffBaseMs } } : {}),
    onFinalFailure: async (data, error, jobId) => {
      // Stalled too often (its workers kept dying): record it, unless the processor already did.
      const request = await store.get(data.requestId);
      if (request?.state !== 'provisioning') return;
      // a Retry clicked since this job failed started a newer run: that run is not this job's to fail
      const retries = (await store.history(data.requestId)).filter((e) => e.from === 'failed' && e.to === 'provisioning').length;
      if (retries > parseProvisionJobId(jobId).retry) return;
      await markFailed(request, new TerminalError(error.message, 'JobFailed'), true);
    },
    onError: (e) => logger.error({ err: e.message }, 'queue worker error'),
  });
  await worker.worker.waitUntilReady();

  // Refederate batches: the same adapters, Redis locks and ARM buckets as grants.
  const refederate = startRefederateWorker({
    redisUrl: config.redisUrl,
    prefix: config.prefix ?? 'wid',
    store: new RefederationStore(store.redis, config.prefix ?? 'wid'),
    deps: {
      identities: deps.identities,
      kube: deps.kube,
      ...(deps.tokenExchange ? { tokenExchange: deps.tokenExchange } : {}),
      redis: deps.redis,
      keys: deps.keys,
      ...(config.limits ? { limits: config.limits } : {}),
      verify: config.verify,
      logger,
      ...(config.refederate?.concurrency ? { concurrency: config.refederate.concurrency } : {}),
    },
    ...(config.refederate?.notifier ? { notifier: config.refederate.notifier } : {}),
    kubeFor,
    logger,
  });
  await refederate.worker.waitUntilReady();

  return {
    grants,
    async close() {
      await refederate.close();
      await worker.close();
      await grants.close();
      await store.close();
    },
  };
}
