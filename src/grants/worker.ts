/**
 * The grants' side of the worker role: the `wid-grants` queue's processor (ends, reminders, description
 * rewrites, releases), the loud report of an end that kept failing, and the reconciler.
 */
import { isLive } from '../domain/grants';
import type { Policy } from '../domain/types';
import { resolveRoleDefinitionId, type EngineDeps } from '../provision';
import { roleAssignmentName } from '../domain/names';
import { inReadLane } from '../azure/pacing';
import { createQueueWorker, GRANTS_QUEUE, withLock, type WidWorker } from '../queue';
import type { RedisRequestStore } from '../store';
import { resolveGrantLimits, serviceAccountLockName, type GrantDeps, type GrantLimits, type GrantNotifier } from './context';
import { endGrant, releaseGrant, reportEndFailure } from './end';
import { GrantQueue, type GrantJobData } from './queue';
import { startReconciler, type ReconcileReport } from './reconciler';
import { GrantService } from './service';
import { RedisGrantStore } from './store';
import type { Grant } from '../domain/grants';

export interface GrantWorkerConfig {
  redisUrl: string;
  prefix: string;
  policy: Policy;
  engine: EngineDeps;
  requests: RedisRequestStore;
  notifier?: GrantNotifier;
  limits?: GrantLimits;
  /** How often the reconciler runs (default 120 s); it also runs at start. */
  reconcileIntervalMs?: number;
  /** Grant jobs run at once by this process (default 16). */
  concurrency?: number;
  /** Tries of an end before it is shown loudly (default 6). */
  endAttempts?: number;
  /** First retry pause of a failed end (default 1 s, doubled per try). */
  backoffBaseMs?: number;
  reminderLeadSeconds?: number;
  onEnded?: (grant: Grant, latenessMs: number | undefined) => void;
  onEndFailed?: (grant: Grant) => void;
  onReconcile?: (r: ReconcileReport) => void;
  onEndPoint?: GrantDeps['onEndPoint'];
  /** Each policy cluster's Kubernetes API (the worker's kubeByCluster). */
  kubeFor?: GrantDeps['kubeFor'];
}

export interface RunningGrants {
  service: GrantService;
  deps: GrantDeps;
  queue: GrantQueue;
  reconcileNow(): Promise<ReconcileReport | undefined>;
  close(): Promise<void>;
}

export async function startGrants(config: GrantWorkerConfig): Promise<RunningGrants> {
  const { engine } = config;
  const grants = new RedisGrantStore(engine.redis, engine.keys);
  const queue = new GrantQueue(engine.redis, config.prefix, config.endAttempts !== undefined ? { endAttempts: config.endAttempts } : {});
  const service = new GrantService({
    grants,
    queue,
    policy: config.policy,
    ...(config.reminderLeadSeconds !== undefined ? { reminderLeadSeconds: config.reminderLeadSeconds } : {}),
    ...(engine.logger ? { logger: engine.logger } : {}),
  });
  const deps: GrantDeps = {
    engine,
    grants,
    requests: config.requests,
    ...(config.notifier ? { notifier: config.notifier } : {}),
    ...(config.limits ? { limits: config.limits } : {}),
    ...(config.onEnded ? { onEnded: config.onEnded } : {}),
    ...(config.onEndFailed ? { onEndFailed: config.onEndFailed } : {}),
    ...(config.onEndPoint ? { onEndPoint: config.onEndPoint } : {}),
    ...(config.kubeFor ? { kubeFor: config.kubeFor } : {}),
    onCheckDue: async (g, atMs) => {
      await queue.scheduleEnd(g.id, atMs);
    },
    onReleaseDue: async (g) => {
      await queue.scheduleRelease(g.id, Date.parse(g.end?.endedAt ?? g.updatedAt)).catch((e: unknown) => {
        // the identity then stays without this grant's role: harmless, and the audit shows it
        engine.logger?.warn({ requestId: g.id, err: e instanceof Error ? e.message : String(e) }, 'could not queue the release of an ended grant');
      });
    },
  };

  async function describe(grantId: string): Promise<void> {
    const g = (await grants.get(grantId))?.grant;
    const request = await config.requests.get(grantId);
    if (!g || !isLive(g) || !request?.resources.principalId) return;
    const limits = resolveGrantLimits(config.limits);
    await withLock(engine.redis, engine.keys.lock(serviceAccountLockName(g)), limits.lockTtlMs, async () => {
      const roleDefinitionId = await resolveRoleDefinitionId(request, engine);
      const scope = request.plan.roleAssignment.scope;
      const name = roleAssignmentName(scope, request.resources.principalId as string, roleDefinitionId);
      const existing = await engine.authorization.getRoleAssignment(scope, name);
      if (!existing) return;
      const description = await service.descriptionFor(request, existing);
      if (description && description !== existing.description) await engine.authorization.createRoleAssignment(scope, name, roleDefinitionId, existing.principalId, description);
    }, { waitMs: limits.lockTtlMs + 1000 });
  }

  const worker: WidWorker<GrantJobData> = createQueueWorker<GrantJobData>(
    GRANTS_QUEUE,
    config.redisUrl,
    config.prefix,
    async ({ grantId, kind, atMs }) => {
      // grant ends come in batches: their ARM reads wait behind any single request's
      if (kind === 'end') await inReadLane('batch', () => endGrant(grantId, deps));
      else if (kind === 'release') await inReadLane('batch', () => releaseGrant(grantId, deps));
      else if (kind === 'describe') await describe(grantId);
      else {
        const g = (await grants.get(grantId))?.grant;
        if (g && isLive(g) && g.endsAt && Date.parse(g.endsAt) === atMs) await config.notifier?.remind(g);
      }
    },
    {
      concurrency: config.concurrency ?? 16,
      ...(config.backoffBaseMs !== undefined ? { backoff: { baseDelayMs: config.backoffBaseMs } } : {}),
      onFinalFailure: async (data, error) => {
        if (data.kind === 'end') await reportEndFailure(data.grantId, deps, error, config.endAttempts ?? 6);
        else engine.logger?.warn({ requestId: data.grantId, kind: data.kind, err: error.message }, 'grant job failed for good');
      },
      onError: (e) => engine.logger?.error({ err: e.message }, 'grants worker error'),
    },
  );
  await worker.worker.waitUntilReady();
  const reconciler = startReconciler(deps, { policy: config.policy, intervalMs: config.reconcileIntervalMs ?? 120_000, ...(config.onReconcile ? { onPass: config.onReconcile } : {}) });

  return {
    service,
    deps,
    queue,
    reconcileNow: () => reconciler.runNow(),
    async close() {
      await reconciler.close();
      await worker.close();
      await queue.close();
    },
  };
}
