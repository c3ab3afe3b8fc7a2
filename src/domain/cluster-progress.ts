/**
 * Where a request that spans clusters stands on each of them while the worker runs: a multi-cluster grant
 * (`--cluster a,b`: the first cluster's own steps, then each other cluster's federation) and `revoke --cluster
 * all` (each cluster's revoke). The approval message and the App Home show one line from it, e.g.
 * "blue ✓ · green … federated credential". Pure: no I/O.
 */
import type { StepName, StepOutcome, WidRequest } from './types';

export type ClusterStatus = 'waiting' | 'running' | 'done' | 'failed';

export interface ClusterProgress {
  cluster: string;
  status: ClusterStatus;
  /** The step running, or the one that failed. */
  step?: StepName;
}

const ORDER: readonly StepName[] = ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'];

export const STEP_WORDS: Record<StepName, string> = {
  identity: 'identity',
  roleAssignment: 'role assignment',
  federatedCredential: 'federated credential',
  serviceAccount: 'ServiceAccount annotation',
  verify: 'token exchange check',
};

function fromSteps(cluster: string, steps: Partial<Record<StepName, StepOutcome>>, complete: boolean, requestFailed: boolean): ClusterProgress {
  const failed = ORDER.find((s) => steps[s] === 'failed');
  if (failed) return { cluster, status: 'failed', step: failed };
  if (complete) return { cluster, status: 'done' };
  const running = ORDER.find((s) => steps[s] === 'running');
  if (running) return { cluster, status: requestFailed ? 'failed' : 'running', step: running };
  const started = ORDER.some((s) => steps[s] !== undefined);
  // between two steps: the next one not yet recorded
  const next = started ? ORDER.find((s) => steps[s] === undefined) : undefined;
  return started ? { cluster, status: 'running', ...(next ? { step: next } : {}) } : { cluster, status: 'waiting' };
}

/** Each cluster's progress, in the request's order; undefined for a request on one cluster. */
export function clusterProgress(r: WidRequest): ClusterProgress[] | undefined {
  const parts = r.resources.clusters ?? {};
  const failed = r.state === 'failed';
  if (r.plan.revokeAll) {
    return r.plan.revokeAll.parts.map((p) => {
      const part = parts[p.cluster.name];
      const at = fromSteps(p.cluster.name, part?.steps ?? {}, part?.revoked === true || r.state === 'succeeded', failed && part?.steps !== undefined && Object.keys(part.steps).length > 0);
      return part?.failed && at.status !== 'done' ? { ...at, status: 'failed' } : at;
    });
  }
  const also = r.kind === 'grant' ? (r.plan.alsoClusters ?? []) : [];
  if (also.length === 0) return undefined;
  const own: Partial<Record<StepName, StepOutcome>> = Object.fromEntries(r.steps.map((s) => [s.step, s.outcome]));
  const ownDone = r.state === 'succeeded' || r.resources.verified !== undefined || own.verify === 'done' || own.verify === 'skipped';
  return [
    fromSteps(r.plan.cluster.name, own, ownDone, failed),
    ...also.map((c) => {
      const part = parts[c.cluster.name];
      const steps = part?.steps ?? {};
      const done = r.state === 'succeeded' || part?.verified !== undefined || steps.verify === 'done' || steps.verify === 'skipped';
      return fromSteps(c.cluster.name, steps, done, failed && Object.keys(steps).length > 0);
    }),
  ];
}

/** One line: "blue ✓ · green … federated credential · red waiting"; undefined for a request on one cluster. */
export function clusterProgressLine(r: WidRequest): string | undefined {
  const all = clusterProgress(r);
  if (!all) return undefined;
  return all
    .map((c) => {
      if (c.status === 'done') return `${c.cluster} ✓`;
      if (c.status === 'failed') return `${c.cluster} ✗${c.step ? ` at ${STEP_WORDS[c.step]}` : ''}`;
      if (c.status === 'running') return `${c.cluster} …${c.step ? ` ${STEP_WORDS[c.step]}` : ''}`;
      return `${c.cluster} waiting`;
    })
    .join(' · ');
}

/** The clusters a request spans, in order: "blue, green"; just its cluster otherwise. */
export function clustersOf(r: Pick<WidRequest, 'clusterName' | 'kind' | 'plan'>): string[] {
  if (r.plan.revokeAll) return r.plan.revokeAll.parts.map((p) => p.cluster.name).filter((c, i, a) => a.indexOf(c) === i);
  if (r.kind === 'grant' && r.plan.alsoClusters?.length) return [r.clusterName, ...r.plan.alsoClusters.map((c) => c.cluster.name)];
  return [r.clusterName];
}
