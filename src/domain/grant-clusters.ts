/**
 * The end of a multi-cluster grant (`/wid request … --cluster a,b --for 8h`): besides its role assignment, the
 * grant made one federated credential and one ServiceAccount annotation on each cluster after the first. When it
 * ends, each of those goes too, unless another live grant of the same ServiceAccount was made for that cluster
 * as well (it still needs the same credential). Pure: no I/O.
 */
import { isLive, type Grant } from './grants';

export interface ClusterEndDecision {
  /** The clusters whose credential and annotation this end removes, in the grant's order. */
  remove: string[];
  /** The clusters kept, with why. */
  keep: Array<{ cluster: string; why: string }>;
}

/**
 * Which of the grant's other clusters lose their part at its end. `clusters` are the grant's clusters after the
 * first (its plan's alsoClusters); `others` the open grants of the same ServiceAccount.
 */
export function clustersAtEnd(grant: Pick<Grant, 'id'>, clusters: readonly string[], others: readonly Grant[]): ClusterEndDecision {
  const live = others.filter((o) => o.id !== grant.id && isLive(o));
  const out: ClusterEndDecision = { remove: [], keep: [] };
  for (const cluster of new Set(clusters)) {
    const users = live.filter((o) => (o.alsoClusters ?? []).includes(cluster));
    if (users.length > 0) out.keep.push({ cluster, why: `grant${users.length > 1 ? 's' : ''} ${users.map((u) => u.id).join(', ')} also serve${users.length > 1 ? '' : 's'} ${cluster}` });
    else out.remove.push(cluster);
  }
  return out;
}

/** One line per cluster for the end's notes: what was removed there, or why it was kept. */
export function clusterEndNote(cluster: string, lines: readonly string[]): string {
  return `on ${cluster}: ${lines.length ? lines.join(', ') : 'nothing to remove'}`;
}
