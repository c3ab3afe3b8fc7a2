/**
 * `/wid revoke … --cluster all` behind the Slack listener: finds what serves the ServiceAccount on each policy
 * cluster (the same lookup a per-cluster revoke uses) and, for federations, the kind of the request that made their
 * identity; the pure planner (src/domain/revoke-all.ts) orders the parts.
 */
import type { Result } from '../domain/errors';
import { buildRevokeAllPlan, singleClusterRevokePlan, type ServingPart } from '../domain/revoke-all';
import type { Plan, Policy, WidRequest } from '../domain/types';
import type { ActiveGrantFinder } from './federate';

export async function planRevokeAll(
  policy: Policy,
  find: ActiveGrantFinder,
  get: (id: string) => Promise<WidRequest | undefined>,
  namespace: string,
  serviceAccount: string,
): Promise<Result<Plan>> {
  const looked = policy.clusters.map((c) => c.name);
  const found = await Promise.all(looked.map((c) => find(c, namespace, serviceAccount)));
  const parts: ServingPart[] = [];
  for (const serving of found) {
    if (!serving) continue;
    const source = serving.kind === 'federate' ? serving.plan.federation?.sourceRequestId : undefined;
    const rootKind = source ? (await get(source))?.kind : undefined;
    parts.push({ serving, ...(rootKind ? { rootKind } : {}) });
  }
  return buildRevokeAllPlan(parts, looked, `${namespace}/${serviceAccount}`);
}

/** The plan of `/wid revoke … --cluster X`: a federation that is the identity's last cluster is revoked in full. */
export async function revokeOnOneCluster(policy: Policy, serving: WidRequest, find: ActiveGrantFinder, get: (id: string) => Promise<WidRequest | undefined>): Promise<Plan> {
  const source = serving.kind === 'federate' ? serving.plan.federation?.sourceRequestId : undefined;
  if (!source) return singleClusterRevokePlan(serving, undefined, 0);
  const identity = serving.plan.identity.resourceId.toLowerCase();
  const others = policy.clusters.filter((c) => c.name !== serving.clusterName);
  const found = await Promise.all(others.map((c) => find(c.name, serving.namespace, serving.serviceAccount)));
  const served = found.filter((r) => r && r.plan.identity.resourceId.toLowerCase() === identity).length;
  return singleClusterRevokePlan(serving, (await get(source))?.kind, served);
}
