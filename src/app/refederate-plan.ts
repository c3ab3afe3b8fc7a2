/**
 * Gathering for `/wid refederate <cluster>`: the cluster's issuer now and before (the recorded history), every
 * identity wid-bot can see with its federated credentials, and the cluster's ServiceAccounts, handed to the pure
 * planner. Reads only.
 */
import { ok, refuse, type Result } from '../domain/errors';
import type { ClusterPort, IdentityPort, KubePort } from '../domain/ports';
import { planRefederate, previousIssuers, type IssuerRecord, type RefederatePlan } from '../domain/refederate';
import type { Policy, PolicyCluster } from '../domain/types';
import { gatherClusterFacts, gatherCredentials, identityScopes, streamIdentities, type IdentityScope, type RetryOptions } from '../inspect/gather';

export interface RefederatePlanDeps {
  policy: Policy;
  clusters: ClusterPort;
  identities: IdentityPort;
  kube: (clusterName: string) => KubePort;
  issuerHistory: (clusterName: string) => Promise<IssuerRecord[]>;
  /** Scopes searched for identities besides the policy's identity resource group. */
  extraIdentityScopes?: IdentityScope[];
  concurrency?: number;
  retry?: RetryOptions;
}

/** The policy cluster by name (case-insensitively), or a refusal naming the choices. */
export function findPolicyCluster(policy: Policy, name: string | undefined): Result<PolicyCluster> {
  const wanted = (name ?? policy.defaultCluster).trim();
  const found = policy.clusters.find((c) => c.name === wanted) ?? policy.clusters.find((c) => c.name.toLowerCase() === wanted.toLowerCase());
  if (!found) return refuse('unknown-cluster', `There is no cluster "${wanted}" in the policy. Clusters: ${policy.clusters.map((c) => c.name).join(', ')}.`, 'cluster');
  return ok(found);
}

/**
 * Plans the re-federation of one policy cluster, or refuses: the cluster has no OIDC issuer now, or wid-bot never
 * saw it with another issuer (nothing is known to have changed).
 */
export async function planClusterRefederate(deps: RefederatePlanDeps, clusterName: string): Promise<Result<RefederatePlan>> {
  const found = findPolicyCluster(deps.policy, clusterName);
  if (!found.ok) return found;
  const cluster = found.value;
  const facts = await gatherClusterFacts(deps.clusters, cluster, deps.retry);
  if (!facts.oidcIssuerEnabled || !facts.issuerUrl) {
    return refuse(
      'oidc-off',
      `Cluster ${cluster.name} (AKS ${cluster.aksName}) has no OIDC issuer, so there is nothing its ServiceAccounts could be re-federated to. Turn it on: az aks update -g ${cluster.resourceGroup} -n ${cluster.aksName} --enable-oidc-issuer --enable-workload-identity`,
      'cluster',
    );
  }
  // The facts read just now were recorded too, so the history has the current issuer.
  const previous = previousIssuers(await deps.issuerHistory(cluster.name), facts.issuerUrl);
  if (previous.length === 0) {
    return refuse(
      'issuer-unchanged',
      `wid-bot has only ever seen cluster ${cluster.name} with its current issuer ${facts.issuerUrl}, so no credential is known to trust an old one. (wid-bot records a cluster's issuer whenever it reads the cluster; credentials trusting issuers it never saw show in /wid audit as credential-stale-issuer.)`,
      'cluster',
    );
  }
  const scopes = identityScopes(deps.policy, deps.extraIdentityScopes);
  const [gathered, serviceAccounts] = await Promise.all([
    gatherCredentials(deps.identities, streamIdentities(deps.identities, scopes, deps.retry), { ...(deps.concurrency ? { concurrency: deps.concurrency } : {}), ...(deps.retry ? { retry: deps.retry } : {}) }),
    deps.kube(cluster.name).listServiceAccounts(),
  ]);
  return ok(
    planRefederate({
      cluster: cluster.name,
      currentIssuer: facts.issuerUrl,
      previousIssuers: previous,
      identities: gathered.map(({ identity, credentials }) => ({
        id: identity.id,
        name: identity.name,
        subscriptionId: identity.subscriptionId,
        resourceGroup: identity.resourceGroup,
        clientId: identity.clientId,
        tenantId: identity.tenantId,
        credentials: credentials.map((c) => ({ name: c.name, issuer: c.issuer, subject: c.subject, audiences: c.audiences })),
      })),
      serviceAccounts: new Set(serviceAccounts.map((sa) => `${sa.namespace}/${sa.name}`)),
    }),
  );
}
