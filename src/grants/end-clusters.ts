/**
 * The end of a multi-cluster grant on its other clusters (`/wid request … --cluster a,b --for 8h`): each cluster
 * after the first loses the federated credential and the ServiceAccount annotation the grant made there, so the
 * workload there stops signing in as the identity when the role goes.
 *
 *   per cluster: federated credential (ARM, under the identity's one-writer lock) → annotation (that cluster's API)
 *
 * Every cluster is tried; the credential goes first, so a cluster whose API cannot be reached stops being trusted
 * all the same. Any cluster left unfinished fails the step, the grant stays `ending` and the end is retried (the
 * job's retries, then the reconciler): it is never recorded as ended half-way. Each removal finds its target by
 * its deterministic name and touches only what still names this grant's identity, so a re-run after a crash
 * finds what is done and ends in the same world.
 */
import { clusterEndNote, clustersAtEnd } from '../domain/grant-clusters';
import { TerminalError, WidError } from '../domain/errors';
import type { KubePort, ManagedIdentity } from '../domain/ports';
import { ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, type PlannedExtraCluster } from '../domain/types';
import { identityCredentialLockKey } from '../provision/federated-credential';
import { resolveLimits } from '../provision/context';
import { withLock } from '../queue/lock';
import type { EndRun } from './context';
import { deleteTurn, type EndStep, type EndStepResult } from './end-steps';

/** What one cluster's removal did: lines for the notes, or the error that stopped it. */
export interface ClusterEndResult {
  cluster: string;
  lines: string[];
  error?: WidError;
}

async function removeCredential(run: EndRun, extra: PlannedExtraCluster, identity: ManagedIdentity | undefined): Promise<string> {
  const { engine } = run.deps;
  const fic = extra.federatedCredential;
  if (!identity) return `identity ${run.request.plan.identity.name} does not exist, so neither does its credential '${fic.name}'`;
  const ref = { subscriptionId: identity.subscriptionId, resourceGroup: identity.resourceGroup, name: identity.name };
  const ttl = resolveLimits(engine.limits).lockTtlMs;
  return withLock(engine.redis, identityCredentialLockKey(engine.keys, identity.id), ttl, async () => {
    const existing = await engine.identities.getFederatedCredential(ref, fic.name);
    if (!existing) return `federated credential '${fic.name}' already gone`;
    if (existing.subject !== fic.subject) return `federated credential '${fic.name}' trusts ${existing.subject}, not ${fic.subject}: left as it is`;
    // a credential delete spends the identity's subscription's ARM delete budget
    await deleteTurn(run, `/subscriptions/${identity.subscriptionId}`);
    await engine.identities.deleteFederatedCredential(ref, fic.name);
    return `deleted federated credential ${existing.id}`;
  }, { waitMs: ttl + 1000 });
}

async function removeAnnotation(run: EndRun, kube: KubePort, clientId: string | undefined): Promise<string> {
  const { namespace, name } = run.request.plan.serviceAccount;
  const sa = await kube.getServiceAccount(namespace, name);
  if (!sa) return `ServiceAccount ${namespace}/${name} does not exist`;
  const bound = sa.annotations[ANNOTATION_CLIENT_ID];
  if (bound === undefined) return `ServiceAccount ${namespace}/${name} has no ${ANNOTATION_CLIENT_ID} annotation`;
  if (!clientId || bound !== clientId) return `ServiceAccount ${namespace}/${name} is bound to ${bound}, not to this identity: left as it is`;
  const remove: Record<string, null> = { [ANNOTATION_CLIENT_ID]: null };
  const tenantId = run.request.plan.tenantId ?? run.request.resources.tenantId;
  if (tenantId && sa.annotations[ANNOTATION_TENANT_ID] === tenantId) remove[ANNOTATION_TENANT_ID] = null;
  await kube.patchServiceAccountAnnotations(namespace, name, remove);
  return `removed ${Object.keys(remove).join(' and ')} from ServiceAccount ${namespace}/${name}`;
}

/** Removes one cluster's part; never throws (the error is in the result). */
async function endOnCluster(run: EndRun, extra: PlannedExtraCluster, identity: ManagedIdentity | undefined, kube: KubePort): Promise<ClusterEndResult> {
  const cluster = extra.cluster.name;
  const lines: string[] = [];
  const fail = (e: unknown): ClusterEndResult => ({ cluster, lines, error: e instanceof WidError ? e : new TerminalError(`Unexpected error: ${e instanceof Error ? e.message : String(e)}`, 'Unexpected') });
  try {
    lines.push(await removeCredential(run, extra, identity));
  } catch (e) {
    return fail(e);
  }
  try {
    lines.push(await removeAnnotation(run, kube, identity?.clientId ?? run.request.resources.clientId));
  } catch (e) {
    return fail(e);
  }
  return { cluster, lines };
}

export const clustersEndStep: EndStep = {
  name: 'clusters',
  async run(run): Promise<EndStepResult> {
    const extras = run.request.plan.alsoClusters ?? [];
    if (extras.length === 0) return { outcome: 'skipped', detail: `the grant serves ${run.request.plan.cluster.name} only` };
    const decision = clustersAtEnd(run.grant, extras.map((c) => c.cluster.name), run.others);
    const kept = decision.keep.map((k) => `on ${k.cluster}: credential and annotation kept (${k.why})`);
    const record = { removed: decision.remove, kept: decision.keep.map((k) => k.cluster) };
    if (decision.remove.length === 0) {
      run.clusterEnd = record;
      return { outcome: 'skipped', detail: kept.join('; ') };
    }
    const kubeFor = run.deps.kubeFor;
    if (!kubeFor) throw new TerminalError(`Grant ${run.grant.id} serves ${decision.remove.join(', ')} too, but this worker has no Kubernetes API for other clusters (WID_KUBECONFIGS or WID_KUBE_CONTEXTS).`, 'NoClusterAdapters');
    const { engine } = run.deps;
    const p = run.request.plan.identity;
    const identity = await engine.identities.getIdentity({ subscriptionId: p.subscriptionId, resourceGroup: p.resourceGroup, name: p.name });
    const parts = extras.filter((e) => decision.remove.includes(e.cluster.name));
    const results = await Promise.all(parts.map((extra) => endOnCluster(run, extra, identity, kubeFor(extra.cluster.name))));
    run.clusters = results;
    const failed = results.filter((r) => r.error);
    if (failed.length > 0) {
      const what = failed.map((r) => `on ${r.cluster}: ${r.error?.message ?? 'failed'}`).join('; ');
      const finished = results.filter((r) => !r.error).map((r) => r.cluster);
      const terminal = failed.some((r) => r.error?.kind === 'terminal');
      throw new WidError(
        `The end of grant ${run.grant.id} could not remove its part ${what}${finished.length ? ` (done on ${finished.join(', ')})` : ''}. The grant stays ending and wid-bot tries again.`,
        terminal ? 'terminal' : 'retryable',
        failed[0]?.error?.code ?? 'ClusterEndFailed',
        failed[0]?.error?.retryAfterSeconds,
      );
    }
    run.clusterEnd = record;
    return { outcome: 'done', detail: [...results.map((r) => clusterEndNote(r.cluster, r.lines)), ...kept].join('; ') };
  },
};
