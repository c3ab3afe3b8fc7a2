/**
 * Blue/green and multi-cluster: the same workload runs on several clusters, and one identity trusts each
 * cluster's OIDC issuer (one federated credential per issuer) instead of one identity per cluster. A federate
 * plan names the identity that already serves the ServiceAccount on one cluster, the credential for the other
 * cluster's issuer, and the ServiceAccount there. Pure: the caller reads the cluster and the credentials.
 */
import { ok, refuse, type Result } from './errors';
import { federatedCredentialName, serviceAccountSubject } from './names';
import { CLIENT_ID_PLACEHOLDER, enableWorkloadIdentityCommand } from './plan';
import { findRole } from './policy';
import { listOf } from './text';
import { revokeAllOn } from './revoke-all';
import {
  ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, WORKLOAD_IDENTITY_AUDIENCE,
  type ClusterFacts, type Plan, type PlannedExtraCluster, type Policy, type PolicyCluster, type WidRequest,
} from './types';

/** A credential as the plan needs it (the identity port's FederatedCredential fits). */
export interface CredentialView {
  name: string;
  issuer: string;
  subject: string;
}

export interface FederationPlanInput {
  policy: Policy;
  /** The plan of the request that made the identity serving the ServiceAccount (a grant or a migration). */
  source: { id: string; plan: Plan };
  target: PolicyCluster;
  targetFacts: ClusterFacts;
  /** The identity's federated credentials now. */
  credentials: readonly CredentialView[];
  /** The issuer each policy cluster has now, to name the clusters the identity trusts. */
  issuers: Readonly<Record<string, string>>;
  requestId: string;
}

/** The policy clusters whose current issuer one of the credentials trusts for this subject. */
export function trustedClusters(credentials: readonly CredentialView[], subject: string, issuers: Readonly<Record<string, string>>): string[] {
  const trusted = new Set(credentials.filter((c) => c.subject === subject).map((c) => c.issuer));
  return Object.entries(issuers).filter(([, issuer]) => issuer !== '' && trusted.has(issuer)).map(([name]) => name);
}

/** Refuses what cannot be federated and says what to do instead; otherwise the exact plan. */
export function buildFederationPlan(input: FederationPlanInput): Result<Plan> {
  const { policy, source, target, targetFacts: facts, credentials, requestId } = input;
  const sp = source.plan;
  const { namespace, name: serviceAccount } = sp.serviceAccount;
  const ref = `${namespace}/${serviceAccount}`;
  if (requestId.trim() === '') return refuse('missing-request-id', 'A plan needs the id of its request.');
  if (facts.name !== target.name) {
    return refuse('cluster-mismatch', `The cluster facts are for "${facts.name}" but the federation is for "${target.name}".`, 'cluster');
  }
  if (sp.cluster.name === target.name) {
    return refuse(
      'same-cluster',
      `The identity '${sp.identity.name}' already serves ${ref} on "${target.name}" (request ${source.id}). Name the other cluster with --cluster; clusters: ${listOf(policy.clusters.filter((c) => c.name !== target.name).map((c) => c.name), 'none')}.`,
      'cluster',
    );
  }
  const fix = enableWorkloadIdentityCommand(target.resourceGroup, target.aksName);
  if (!facts.oidcIssuerEnabled || facts.issuerUrl.trim() === '') {
    return refuse('oidc-issuer-off', `The cluster "${target.name}" (${target.aksName}) has no OIDC issuer, so Entra cannot trust its ServiceAccount tokens. Turn it on with: ${fix}`, 'cluster');
  }
  if (!facts.workloadIdentityEnabled) {
    return refuse('workload-identity-off', `The cluster "${target.name}" (${target.aksName}) does not run the workload identity webhook, so pods would not get Azure tokens. Turn it on with: ${fix}`, 'cluster');
  }
  const subject = serviceAccountSubject(namespace, serviceAccount);
  const issuer = facts.issuerUrl;
  const already = credentials.find((c) => c.issuer === issuer && c.subject === subject);
  if (already) {
    return refuse(
      'already-federated',
      `The identity '${sp.identity.name}' already trusts ${ref} on "${target.name}" (credential '${already.name}', issuer ${issuer}). Nothing to do; /wid creds --cluster ${target.name} shows it.`,
      'cluster',
    );
  }
  const ficName = federatedCredentialName(target.name, namespace, serviceAccount);
  const sameName = credentials.find((c) => c.name.toLowerCase() === ficName.toLowerCase());
  if (sameName) {
    return refuse(
      'credential-name-taken',
      `The identity '${sp.identity.name}' has a credential '${sameName.name}' for "${target.name}" with another issuer (${sameName.issuer}, the cluster now says ${issuer}): the cluster was probably recreated. Use /wid refederate ${target.name} to move its credentials to the new issuer.`,
      'cluster',
    );
  }
  if (credentials.length >= MAX_FEDERATED_CREDENTIALS_PER_IDENTITY) {
    return refuse(
      'credential-limit',
      `The identity '${sp.identity.name}' already has ${credentials.length} federated credentials, the most Azure allows (${MAX_FEDERATED_CREDENTIALS_PER_IDENTITY}), so it cannot trust "${target.name}" too. Remove an unused credential (az identity federated-credential delete --identity-name ${sp.identity.name} --resource-group ${sp.identity.resourceGroup} --name <name>, or /wid revoke on a cluster that no longer runs the workload) and ask again.`,
      'cluster',
    );
  }
  const annotations: Record<string, string> = { [ANNOTATION_CLIENT_ID]: CLIENT_ID_PLACEHOLDER };
  const tenantId = policy.tenantId ?? sp.tenantId;
  if (tenantId) annotations[ANNOTATION_TENANT_ID] = tenantId;
  // Trusting one more cluster widens who can use the role: as many approvals as the role needs today.
  const approvals = findRole(policy, sp.roleAssignment.roleName)?.approvals ?? sp.approvalsRequired;
  return ok({
    kind: 'federate',
    cluster: { name: target.name, subscriptionId: target.subscriptionId, resourceGroup: target.resourceGroup, aksName: target.aksName },
    ...(tenantId ? { tenantId } : {}),
    identity: { ...sp.identity, tags: { ...sp.identity.tags } },
    roleAssignment: { ...sp.roleAssignment },
    federatedCredential: { name: ficName, issuer, subject, audiences: [WORKLOAD_IDENTITY_AUDIENCE] },
    serviceAccount: { namespace, name: serviceAccount, annotations },
    approvalsRequired: approvals,
    federation: {
      sourceCluster: sp.cluster.name,
      sourceRequestId: source.id,
      trustedClusters: trustedClusters(credentials, subject, input.issuers),
      credentialCount: credentials.length,
    },
  });
}

/**
 * The federate plan of one extra cluster of a multi-cluster grant (`/wid request … --cluster a,b`): the grant's
 * identity, role and ServiceAccount, that cluster's credential. The worker runs it after the grant; a revoke
 * on that cluster starts from it.
 */
export function extraClusterPlan(source: { id: string; plan: Plan }, extra: PlannedExtraCluster): Plan {
  const { alsoClusters: _also, migration: _migration, ...base } = source.plan;
  const all = [source.plan.cluster.name, ...(source.plan.alsoClusters ?? []).map((c) => c.cluster.name)];
  return {
    ...base,
    kind: 'federate',
    cluster: { ...extra.cluster },
    federatedCredential: { ...extra.federatedCredential, audiences: [...extra.federatedCredential.audiences] },
    federation: { sourceCluster: source.plan.cluster.name, sourceRequestId: source.id, trustedClusters: all.filter((n) => n !== extra.cluster.name), credentialCount: all.length - 1 },
  };
}

/**
 * The request as it serves `clusterName`: itself on its own cluster; for a multi-cluster grant's other cluster, the
 * federate request that cluster amounts to (same id and history); undefined when it does not serve that cluster.
 */
export function servingOn(r: WidRequest, clusterName: string): WidRequest | undefined {
  // revoke --cluster all undid each cluster it covers
  if (r.plan.revokeAll) return revokeAllOn(r, clusterName);
  if (r.clusterName === clusterName) return r;
  const extra = r.kind === 'grant' ? r.plan.alsoClusters?.find((c) => c.cluster.name === clusterName) : undefined;
  if (!extra) return undefined;
  const plan = extraClusterPlan(r, extra);
  const res = r.resources.clusters?.[clusterName];
  return {
    ...r,
    kind: 'federate',
    clusterName,
    plan,
    resources: { ...r.resources, ...(res?.federatedCredentialId ? { federatedCredentialId: res.federatedCredentialId } : {}), ...(res?.serviceAccount ? { serviceAccount: res.serviceAccount } : {}) },
  };
}
