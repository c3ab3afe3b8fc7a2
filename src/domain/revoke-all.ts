/**
 * `/wid revoke <namespace> <serviceaccount> --cluster all`: one approval removes what wid-bot made for the
 * ServiceAccount on every cluster. Each cluster's part is the request serving it there (a grant, a migration, a
 * federation, or a multi-cluster grant's other cluster). Per identity, the clusters that only federate it lose
 * their credential and annotation first; the identity's own revoke runs last, so it finds no other cluster using
 * the identity and removes the role assignments and the identity (only what wid-bot made, as any revoke).
 * An identity adopted from aad-pod-identity is never deleted and its roles never touched. Pure: no I/O.
 */
import { ok, refuse, type Result } from './errors';
import { listOf } from './text';
import type { Plan, WidRequest } from './types';

/** What serves the ServiceAccount on one cluster. */
export interface ServingPart {
  /** The request as it serves this cluster (src/domain/federate.ts servingOn). */
  serving: WidRequest;
  /** For a federation: the kind of the request that made its identity ('grant' when wid-bot made it); undefined when unknown. */
  rootKind?: WidRequest['kind'];
}

function revokePlanOf(plan: Plan, own: boolean): Plan {
  const { alsoClusters: _also, revokeAll: _all, federation, ...rest } = plan;
  // the identity's own revoke: a federation whose identity wid-bot made (for a grant) is revoked in full, as the last cluster
  return { ...rest, ...(federation && !own ? { federation } : {}), kind: 'revoke', approvalsRequired: 1 };
}

/**
 * The revoke-all plan: the first identity's own part as the request's plan, with every part in the order they
 * run. Refused when nothing serves the ServiceAccount anywhere.
 */
export function buildRevokeAllPlan(parts: readonly ServingPart[], looked: readonly string[], ref: string): Result<Plan> {
  if (parts.length === 0) {
    return refuse(
      'nothing-to-revoke',
      `wid-bot has granted nothing to ${ref} on any cluster (looked at ${listOf([...looked], 'none')}) that is still in place, so there is nothing to revoke.`,
      'cluster',
    );
  }
  const groups = new Map<string, ServingPart[]>();
  for (const p of parts) {
    const key = p.serving.plan.identity.resourceId.toLowerCase();
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const ordered: Plan[] = [];
  let primary: Plan | undefined;
  for (const group of groups.values()) {
    let owner = group.findIndex((p) => p.serving.kind !== 'federate');
    // only federations are left: the last one removes the identity when wid-bot made it for a grant
    if (owner < 0 && group[0]?.rootKind === 'grant') owner = 0;
    const plans = group.map((p, i) => revokePlanOf(p.serving.plan, i === owner));
    const own = owner >= 0 ? plans[owner] : undefined;
    const others = plans.filter((_, i) => i !== owner);
    ordered.push(...others, ...(own ? [own] : []));
    primary ??= own ?? plans[0];
  }
  return ok({ ...(primary as Plan), revokeAll: { parts: ordered, clusters: [...looked] } });
}

/** The clusters a revoke-all request covers, in the order they run; [] for any other request. */
export function revokeAllClusters(r: Pick<WidRequest, 'plan'>): string[] {
  return (r.plan.revokeAll?.parts ?? []).map((p) => p.cluster.name);
}

/** A revoke-all request as it serves one cluster: the revoke of that cluster's part; undefined when it covers none there. */
export function revokeAllOn(r: WidRequest, clusterName: string): WidRequest | undefined {
  const part = r.plan.revokeAll?.parts.find((p) => p.cluster.name === clusterName);
  if (!part) return undefined;
  return { ...r, clusterName, plan: part };
}

/** What a revoke-all part removes, in words for the plan shown to the approver. */
export function describeRevokePart(plan: Plan): string {
  if (plan.migration) return 'its credential and annotation (the adopted identity and its roles stay)';
  if (plan.federation) return 'its credential and annotation';
  return 'its credential and annotation, then the role assignments and the identity wid-bot made, once no other cluster uses them';
}

/** A revoke as it undid each cluster: a revoke-all request once per cluster it covered, any other request as it is. */
export function revokedViews(r: WidRequest): WidRequest[] {
  return r.plan.revokeAll ? revokeAllClusters(r).flatMap((c) => revokeAllOn(r, c) ?? []) : [r];
}

/**
 * `/wid revoke … --cluster X` of one cluster's part. A federation (another cluster's credential for an identity)
 * keeps the identity and its roles while another cluster still uses them; when it is the last cluster left and
 * wid-bot made the identity for a grant, its revoke removes everything, as the grant's own cluster's would.
 */
export function singleClusterRevokePlan(serving: WidRequest, rootKind: WidRequest['kind'] | undefined, otherClustersServed: number): Plan {
  const last = serving.plan.federation !== undefined && !serving.plan.migration && otherClustersServed === 0 && rootKind === 'grant';
  return last ? revokePlanOf(serving.plan, true) : { ...serving.plan, kind: 'revoke', approvalsRequired: 1 };
}
