/**
 * Federate: one more cluster for an identity that already serves the ServiceAccount on another cluster.
 *
 *   the identity as it is (read only) → (federated credential for this cluster's issuer ∥ ServiceAccount here) → verify here
 *
 * No identity is created or retagged and no role assignment is written: the ServiceAccount on this cluster gets
 * the roles the identity already holds. The credential step is the grant's: one writer per identity (the
 * Redis lock every credential write under the identity takes) and at most 20 credentials. The engine's kube
 * is this cluster's API, so the ServiceAccount and the verification token come from this cluster.
 */
import { TerminalError, WidError } from '../domain/errors';
import { extraClusterPlan } from '../domain/federate';
import type { KubePort } from '../domain/ports';
import type { ProvisionedResources, WidRequest } from '../domain/types';
import type { EngineDeps, Preflight } from './context';
import { federatedCredentialStep } from './federated-credential';
import { existingIdentityPreflight, existingIdentityStep, runPhase, startRun } from './runner';
import { serviceAccountStep } from './service-account';
import { StepError, type Step } from './step';
import { prefetchVerifyToken, verifyStep } from './verify';
import { clusterPartRecorder } from './cluster-parts';

/** The identity serving the source cluster: recorded, never written. */
export const federatedIdentityStep: Step = existingIdentityStep(
  (id) => ({ message: `The identity ${id} does not exist any more, so there is nothing to federate.`, code: 'FederatedIdentityGone' }),
  (run, identity) =>
    `uses ${identity.id}, which serves ${run.request.plan.serviceAccount.namespace}/${run.request.plan.serviceAccount.name} on ${run.request.plan.federation?.sourceCluster ?? 'another cluster'} (client id ${identity.clientId}; its roles unchanged)`,
);

export const FEDERATE_PHASES: readonly (readonly Step[])[] = [[federatedIdentityStep], [federatedCredentialStep, serviceAccountStep], [verifyStep]];

function federatePreflight(request: WidRequest, deps: EngineDeps): Promise<Preflight> {
  return existingIdentityPreflight(request, deps, 'federation', {
    message: `The identity ${request.plan.identity.resourceId} that this federation extends no longer exists in Azure. Nothing was changed; ask for access again with /wid request.`,
    code: 'FederatedIdentityGone',
  });
}

/** Provisions a federate request; rejects with a StepError like provisionGrant. */
export async function provisionFederation(request: WidRequest, deps: EngineDeps): Promise<ProvisionedResources> {
  if (request.kind !== 'federate' || request.plan.kind !== 'federate' || !request.plan.federation) {
    throw new TerminalError(`Request ${request.id} is a ${request.kind}, not a federation.`, 'WrongKind');
  }
  const preflight = await federatePreflight(request, deps);
  const run = startRun(request, deps, preflight, FEDERATE_PHASES);
  if (preflight.serviceAccount) prefetchVerifyToken(run);
  for (const phase of FEDERATE_PHASES) await runPhase(run, phase);
  return run.resources;
}

/**
 * A multi-cluster grant (`/wid request … --cluster a,b`), after its first cluster: each other cluster as a
 * federation of the identity the grant just made, on that cluster's API, verified with that cluster's token.
 * Recorded on the grant as `resources.clusters`; a failure names the cluster and is retried like any step.
 */
export async function provisionAlsoClusters(request: WidRequest, deps: EngineDeps, kubeFor: (clusterName: string) => KubePort): Promise<NonNullable<ProvisionedResources['clusters']>> {
  const clusters: NonNullable<ProvisionedResources['clusters']> = { ...request.resources.clusters };
  const { progress: _progress, onStep: _onStep, ...quiet } = deps;
  for (const extra of request.plan.alsoClusters ?? []) {
    const name = extra.cluster.name;
    const part: WidRequest = { ...request, kind: 'federate', clusterName: name, plan: extraClusterPlan(request, extra), steps: [], resources: {} };
    let res: ProvisionedResources;
    try {
      // its steps are kept per cluster and shown as they run (src/provision/cluster-parts.ts)
      res = await provisionFederation(part, { ...quiet, kube: kubeFor(name), recorder: clusterPartRecorder(request, deps, name, clusters) });
    } catch (e) {
      if (!(e instanceof WidError)) throw e;
      const step = e instanceof StepError ? e.step : 'federatedCredential';
      throw new StepError(step, e instanceof StepError ? e.original : e, `On cluster ${name}: ${e.message}`);
    }
    clusters[name] = {
      ...(clusters[name]?.steps ? { steps: clusters[name]?.steps } : {}),
      ...(res.federatedCredentialId ? { federatedCredentialId: res.federatedCredentialId } : {}),
      ...(res.serviceAccount ? { serviceAccount: res.serviceAccount } : {}),
      ...(res.verified !== undefined ? { verified: res.verified } : {}),
    };
    await deps.recorder.recordResources(request.id, { clusters: { ...clusters } });
  }
  return clusters;
}
