/**
 * `/wid revoke … --cluster all` behind the Slack listener: finds what serves the ServiceAccount on each policy
 * cluster (the same lookup a per-cluster revoke uses) and, for federations, the kind of the request that made their
 * identity; the pure planner (src/domain/revoke-all.ts) orders the parts.
 */
import type { Result } from '../domain/errors';
import { buildRevokeAllPlan, type ServingPart } from '../domain/revoke-all';
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
