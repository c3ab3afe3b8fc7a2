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
import { identityRefOf, type EngineDeps, type Preflight } from './context';
import { federatedCredentialStep } from './federated-credential';
import { runPhase, startRun } from './runner';
import { serviceAccountStep } from './service-account';
import { done, StepError, type Step } from './step';
import { prefetchVerifyToken, verifyStep } from './verify';

/** The identity serving the source cluster: recorded, never written. */
export const federatedIdentityStep: Step = {
  name: 'identity',
  async run(run) {
    const identity = run.preflight.identity;
    if (!identity) throw new TerminalError(`The identity ${run.request.plan.identity.resourceId} does not exist any more, so there is nothing to federate.`, 'FederatedIdentityGone');
    run.identity = identity;
    const patch = { identityId: identity.id, clientId: identity.clientId, principalId: identity.principalId, tenantId: identity.tenantId, identityCreatedByWid: false };
    await run.deps.recorder.recordResources(run.request.id, patch);
    Object.assign(run.resources, patch);
    const from = run.request.plan.federation?.sourceCluster ?? 'another cluster';
    return done(`uses ${identity.id}, which serves ${run.request.plan.serviceAccount.namespace}/${run.request.plan.serviceAccount.name} on ${from} (client id ${identity.clientId}; its roles unchanged)`);
  },
};

export const FEDERATE_PHASES: readonly (readonly Step[])[] = [[federatedIdentityStep], [federatedCredentialStep, serviceAccountStep], [verifyStep]];

async function federatePreflight(request: WidRequest, deps: EngineDeps): Promise<Preflight> {
  const plan = request.plan;
  const ref = identityRefOf(request);
  const { namespace, name } = plan.serviceAccount;
  const [facts, identity, serviceAccount] = await Promise.all([
    deps.clusters.getClusterFacts({ name: plan.cluster.name, subscriptionId: plan.cluster.subscriptionId, resourceGroup: plan.cluster.resourceGroup, aksName: plan.cluster.aksName }),
    deps.identities.getIdentity(ref),
    deps.kube.getServiceAccount(namespace, name),
  ]);
  const cluster = `${plan.cluster.name} (${plan.cluster.aksName})`;
  if (!facts.oidcIssuerEnabled || facts.issuerUrl === '') {
    throw new TerminalError(`The cluster ${cluster} no longer has an OIDC issuer, so Entra cannot trust its ServiceAccount tokens. Turn it on (az aks update --resource-group ${plan.cluster.resourceGroup} --name ${plan.cluster.aksName} --enable-oidc-issuer --enable-workload-identity) and retry.`, 'OidcIssuerOff');
  }
  if (!facts.workloadIdentityEnabled) {
    throw new TerminalError(`The cluster ${cluster} no longer runs the workload identity webhook, so pods would not get Azure tokens. Turn it on (az aks update --enable-workload-identity) and retry.`, 'WorkloadIdentityOff');
  }
  if (facts.issuerUrl !== plan.federatedCredential.issuer) {
    throw new TerminalError(
      `The cluster ${cluster} has a different OIDC issuer than when this federation was planned and approved: planned '${plan.federatedCredential.issuer}', the cluster now says '${facts.issuerUrl}'. Nothing was changed; ask again so the plan and its approval name the new issuer.`,
      'IssuerChanged',
    );
  }
  if (!identity) {
    throw new TerminalError(`The identity ${plan.identity.resourceId} that this federation extends no longer exists in Azure. Nothing was changed; ask for access again with /wid request.`, 'FederatedIdentityGone');
  }
  const federatedCredentials = await deps.identities.listFederatedCredentials(ref);
  return { identity, federatedCredentials, ...(serviceAccount ? { serviceAccount } : {}), roleDefinitionId: '' };
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
  const discard = { recordStep: async () => {}, recordResources: async () => {} };
  for (const extra of request.plan.alsoClusters ?? []) {
    const name = extra.cluster.name;
    const part: WidRequest = { ...request, kind: 'federate', clusterName: name, plan: extraClusterPlan(request, extra), steps: [], resources: {} };
    let res: ProvisionedResources;
    try {
      res = await provisionFederation(part, { ...quiet, kube: kubeFor(name), recorder: discard });
    } catch (e) {
      if (!(e instanceof WidError)) throw e;
      const step = e instanceof StepError ? e.step : 'federatedCredential';
      throw new StepError(step, e instanceof StepError ? e.original : e, `On cluster ${name}: ${e.message}`);
    }
    clusters[name] = {
      ...(res.federatedCredentialId ? { federatedCredentialId: res.federatedCredentialId } : {}),
      ...(res.serviceAccount ? { serviceAccount: res.serviceAccount } : {}),
      ...(res.verified !== undefined ? { verified: res.verified } : {}),
    };
    await deps.recorder.recordResources(request.id, { clusters: { ...clusters } });
  }
  return clusters;
}
