/**
 * `/wid federate <namespace> <serviceaccount> --cluster <other>` behind the Slack listener: checks the policy,
 * finds the request whose identity serves the ServiceAccount on another cluster, reads the other cluster and
 * the identity's credentials, and hands them to the pure planner (src/domain/federate.ts).
 */
import { ok, refuse, type Result } from '../domain/errors';
import { buildFederationPlan } from '../domain/federate';
import { buildPlan } from '../domain/plan';
import type { RequestDecision } from '../domain/policy';
import type { FederateCommand } from '../domain/grammar';
import { validateNamespace, validateServiceAccountName } from '../domain/names';
import { describePrincipals, findCluster, findNamespace, principalsInclude } from '../domain/policy';
import type { IdentityPort } from '../domain/ports';
import { listOf } from '../domain/text';
import type { Actor, ClusterFacts, Plan, PlannedExtraCluster, Policy, PolicyCluster, WidRequest } from '../domain/types';

export interface FederationDeps {
  policy: Policy;
  clusterFacts: (cluster: PolicyCluster) => Promise<ClusterFacts>;
  identities: IdentityPort;
}

/** The newest succeeded request (grant, migration or federation) that serves the ServiceAccount on a cluster and that no revoke undid. */
export type ActiveGrantFinder = (clusterName: string, namespace: string, serviceAccount: string) => Promise<WidRequest | undefined>;

export class Federations {
  constructor(private readonly deps: FederationDeps) {}

  /**
   * The request whose identity serves the ServiceAccount elsewhere: a grant or migration first (in the policy's
   * cluster order), then a federation (its identity is the same one).
   */
  async findSource(target: string, namespace: string, serviceAccount: string, find: ActiveGrantFinder): Promise<WidRequest | undefined> {
    const others = this.deps.policy.clusters.filter((c) => c.name !== target);
    const found = (await Promise.all(others.map((c) => find(c.name, namespace, serviceAccount)))).filter((r): r is WidRequest => r !== undefined);
    return found.find((r) => r.kind !== 'federate') ?? found[0];
  }

  async plan(user: Actor, groups: readonly string[], command: FederateCommand, requestId: string, find: ActiveGrantFinder): Promise<Result<Plan>> {
    const { policy } = this.deps;
    const ns = validateNamespace(command.namespace, { allowReserved: policy.allowReservedNamespaces });
    if (!ns.ok) return ns;
    const sa = validateServiceAccountName(command.serviceAccount);
    if (!sa.ok) return sa;
    const target = findCluster(policy, command.cluster);
    if (!target.ok) return target;
    const namespace = findNamespace(policy, command.namespace);
    if (!namespace) {
      return refuse('namespace-not-in-policy', `The namespace "${command.namespace}" is not in the policy, so nobody can federate a ServiceAccount there. Namespaces in the policy: ${listOf(policy.namespaces.map((n) => n.name))}.`, 'namespace');
    }
    if (!principalsInclude(namespace.requesters, user.id, groups)) {
      return refuse('requester-not-allowed', `You may not federate ServiceAccounts of "${namespace.name}": the policy lets ${describePrincipals(namespace.requesters)} request there.`, 'namespace');
    }
    const ref = `${command.namespace}/${command.serviceAccount}`;
    const here = await find(target.value.name, command.namespace, command.serviceAccount);
    if (here && here.kind !== 'federate') {
      return refuse(
        'already-served',
        `${ref} on "${target.value.name}" already has its own identity '${here.plan.identity.name}' (request ${here.id}), so there is nothing to federate there. To let that identity trust the ServiceAccount on another cluster, run /wid federate ${command.namespace} ${command.serviceAccount} --cluster <other cluster>.`,
        'cluster',
      );
    }
    const source = await this.findSource(target.value.name, command.namespace, command.serviceAccount, find);
    if (!source) {
      return refuse(
        'nothing-to-federate',
        `No identity serves ${ref} on any other cluster yet (wid-bot has granted nothing there that is still in place), so there is nothing to federate. Ask for access first: /wid request ${command.namespace} ${command.serviceAccount} <role> --cluster ${target.value.name} (or --cluster ${policy.clusters.map((c) => c.name).join(',')} for one identity on several clusters at once).`,
        'serviceAccount',
      );
    }
    const idRef = { subscriptionId: source.plan.identity.subscriptionId, resourceGroup: source.plan.identity.resourceGroup, name: source.plan.identity.name };
    const [facts, identity, issuers] = await Promise.all([this.deps.clusterFacts(target.value), this.deps.identities.getIdentity(idRef), this.issuers()]);
    if (!identity) {
      return refuse('identity-gone', `The identity '${idRef.name}' that request ${source.id} made for ${ref} on "${source.clusterName}" no longer exists in Azure, so there is nothing to federate. Ask for access again with /wid request.`, 'serviceAccount');
    }
    const credentials = await this.deps.identities.listFederatedCredentials(idRef);
    return buildFederationPlan({ policy, source, target: target.value, targetFacts: facts, credentials, issuers, requestId });
  }

  /** Each policy cluster's issuer now ('' when it cannot be read or OIDC is off). */
  private async issuers(): Promise<Record<string, string>> {
    const entries = await Promise.all(
      this.deps.policy.clusters.map(async (c) => [c.name, await this.deps.clusterFacts(c).then((f) => (f.oidcIssuerEnabled ? f.issuerUrl : ''), () => '')] as const),
    );
    return Object.fromEntries(entries);
  }
}

/**
 * `/wid request … --cluster a,b`: the clusters after the first, each checked as the first is (known to the policy,
 * OIDC issuer and workload identity on, with the `az aks update` fix otherwise) and planned with its own
 * credential. One identity and one role assignment serve them all.
 */
export async function planAlsoClusters(
  policy: Policy,
  decision: RequestDecision,
  names: readonly string[],
  clusterFacts: (cluster: PolicyCluster) => Promise<ClusterFacts>,
  requestId: string,
  requester: Actor,
): Promise<Result<PlannedExtraCluster[]>> {
  const clusters: PolicyCluster[] = [];
  for (const name of names) {
    const c = findCluster(policy, name);
    if (!c.ok) return c;
    clusters.push(c.value);
  }
  const facts = await Promise.all(clusters.map((c) => clusterFacts(c)));
  const out: PlannedExtraCluster[] = [];
  for (const [i, cluster] of clusters.entries()) {
    const built = buildPlan({ policy, decision: { ...decision, cluster }, clusterFacts: facts[i] as ClusterFacts, requestId, requester, kind: 'grant' });
    if (!built.ok) return built;
    out.push({ cluster: built.value.cluster, federatedCredential: built.value.federatedCredential });
  }
  return ok(out);
}
