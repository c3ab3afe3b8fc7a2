/**
 * The parts of a request that run on other clusters (a multi-cluster grant's other clusters, `revoke --cluster
 * all`): each runs as its own engine run on that cluster's API, and its steps are kept per cluster on the request
 * (`resources.clusters[name].steps`) and sent as progress naming the cluster, so the approval message and the App
 * Home show every cluster while the worker runs, not only the final result.
 */
import type { ClusterPart, StepRecord, WidRequest } from '../domain/types';
import type { EngineDeps, StepRecorder } from './context';

/** A recorder for one cluster's run: its steps go into `clusters[name]` (shared by the caller), never onto the request's own steps. */
export function clusterPartRecorder(request: WidRequest, deps: EngineDeps, name: string, clusters: Record<string, ClusterPart>, lines?: string[]): StepRecorder {
  return {
    async recordStep(_id: string, step: StepRecord) {
      const part = clusters[name] ?? {};
      clusters[name] = { ...part, steps: { ...part.steps, [step.step]: step.outcome } };
      if (step.outcome !== 'running' && step.detail) lines?.push(step.detail);
      await publishClusters(request, deps, clusters, { name, step });
    },
    async recordResources() {},
  };
}

/** Records the clusters' parts on the request and sends them as progress (delivery problems are logged, never thrown). */
export async function publishClusters(request: WidRequest, deps: EngineDeps, clusters: Record<string, ClusterPart>, last?: { name: string; step: StepRecord }): Promise<void> {
  const snapshot = { ...clusters };
  await deps.recorder.recordResources(request.id, { clusters: snapshot });
  if (!deps.progress || !last) return;
  try {
    await deps.progress.progress(
      { ...request, resources: { ...request.resources, clusters: snapshot } },
      {
        requestId: request.id,
        step: last.step.step,
        outcome: last.step.outcome,
        at: last.step.endedAt ?? last.step.startedAt,
        cluster: last.name,
        ...(last.step.detail ? { detail: last.step.detail } : {}),
        resources: { clusters: snapshot },
      },
    );
  } catch (e) {
    deps.logger?.warn({ requestId: request.id, err: e instanceof Error ? e.message : String(e) }, 'progress delivery failed');
  }
}
