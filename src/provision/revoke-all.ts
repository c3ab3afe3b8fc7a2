/**
 * `/wid revoke … --cluster all`: each cluster's part revoked on that cluster's API, in the plan's order (per
 * identity the clusters that only federate it first, its own revoke last: src/domain/revoke-all.ts). Each part is
 * an ordinary revoke (only what wid-bot made goes; an adopted identity stays), its steps kept per cluster on the
 * request and shown as they run. A part that fails names its cluster and fails the request, which the Retry
 * button runs again from the start: every part finds what is already gone, so a re-run ends in the same world.
 */
import { TerminalError, WidError } from '../domain/errors';
import type { KubePort } from '../domain/ports';
import type { ClusterPart, ProvisionedResources, WidRequest } from '../domain/types';
import type { EngineDeps } from './context';
import { clusterPartRecorder, publishClusters } from './cluster-parts';
import { provisionRevoke } from './revoke';
import { StepError } from './step';

export async function provisionRevokeAll(request: WidRequest, deps: EngineDeps, kubeFor: (clusterName: string) => KubePort): Promise<ProvisionedResources> {
  const parts = request.plan.revokeAll?.parts;
  if (request.kind !== 'revoke' || !parts) throw new TerminalError(`Request ${request.id} is not a revoke on every cluster.`, 'WrongKind');
  // every cluster is listed from the start, so the message shows the ones still to come
  const clusters: Record<string, ClusterPart> = Object.fromEntries(parts.map((p) => [p.cluster.name, { steps: {} }]));
  await publishClusters(request, deps, clusters);
  const { progress: _progress, onStep: _onStep, ...quiet } = deps;
  for (const plan of parts) {
    const name = plan.cluster.name;
    const part: WidRequest = { ...request, clusterName: name, plan, steps: [], resources: {} };
    try {
      await provisionRevoke(part, { ...quiet, kube: kubeFor(name), recorder: clusterPartRecorder(request, deps, name, clusters) });
    } catch (e) {
      if (!(e instanceof WidError)) throw e;
      // shown on the cluster's line even when it failed before its first step (reading its ServiceAccount)
      clusters[name] = { ...clusters[name], failed: true };
      await publishClusters(request, deps, clusters).catch(() => undefined);
      if (e instanceof StepError) throw new StepError(e.step, e.original, `On cluster ${name}: ${e.message}`);
      throw new WidError(`On cluster ${name}: ${e.message}`, e.kind, e.code, e.retryAfterSeconds);
    }
    const { failed: _failed, ...rest } = clusters[name] ?? {};
    clusters[name] = { ...rest, revoked: true };
    await publishClusters(request, deps, clusters);
  }
  return { clusters };
}
