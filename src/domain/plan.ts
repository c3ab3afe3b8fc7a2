/**
 * The plan: the exact Azure and Kubernetes resources a request will create, frozen before approval
 * so approvers see precisely what they approve. Same inputs, same plan.
 */
import { ok, refuse, type Result } from './errors';
import { federatedCredentialName, identityName, identityResourceId, serviceAccountSubject } from './names';
import type { RequestDecision } from './policy';
import {
  ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, TAG_MANAGED_BY, TAG_MANAGED_BY_VALUE, WORKLOAD_IDENTITY_AUDIENCE,
  type Actor, type ClusterFacts, type Plan, type Policy,
} from './types';

/** Tags wid-bot writes on every identity it creates, besides the policy's own. */
export const TAG_REQUEST_ID = 'wid-request-id';
export const TAG_REQUESTER = 'wid-requester';
export const TAG_CLUSTER = 'wid-cluster';
export const TAG_NAMESPACE = 'wid-namespace';
export const TAG_SERVICE_ACCOUNT = 'wid-serviceaccount';

/**
 * The client-id annotation's value in a plan: empty until the identity exists, because Azure assigns
 * the client id on creation. The worker sets the real value when it annotates the ServiceAccount.
 */
export const CLIENT_ID_PLACEHOLDER = '';

export interface PlanInput {
  policy: Policy;
  decision: RequestDecision;
  clusterFacts: ClusterFacts;
  requestId: string;
  requester: Actor;
  kind: 'grant' | 'revoke';
}

/** The command that turns on what workload identity needs on an AKS cluster. */
export function enableWorkloadIdentityCommand(resourceGroup: string, aksName: string): string {
  return `az aks update --resource-group ${resourceGroup} --name ${aksName} --enable-oidc-issuer --enable-workload-identity`;
}

/** Azure tag values are at most 256 characters. */
function tagValue(v: string): string {
  return v.length > 256 ? v.slice(0, 256) : v;
}

export function buildPlan(input: PlanInput): Result<Plan> {
  const { policy, decision, clusterFacts: facts, requestId, requester, kind } = input;
  const cluster = decision.cluster;
  const fix = enableWorkloadIdentityCommand(cluster.resourceGroup, cluster.aksName);
  if (facts.name !== cluster.name) {
    return refuse('cluster-mismatch', `The cluster facts are for "${facts.name}" but the request is for "${cluster.name}".`, 'cluster');
  }
  if (!facts.oidcIssuerEnabled || facts.issuerUrl.trim() === '') {
    return refuse(
      'oidc-issuer-off',
      `The cluster "${cluster.name}" (${cluster.aksName}) has no OIDC issuer, so Entra cannot trust its ServiceAccount tokens. Turn it on with: ${fix}`,
      'cluster',
    );
  }
  if (!facts.workloadIdentityEnabled) {
    return refuse(
      'workload-identity-off',
      `The cluster "${cluster.name}" (${cluster.aksName}) does not run the workload identity webhook, so pods would not get Azure tokens. Turn it on with: ${fix}`,
      'cluster',
    );
  }
  if (requestId.trim() === '') return refuse('missing-request-id', 'A plan needs the id of its request.');

  const namespace = decision.namespace.name;
  const serviceAccount = decision.serviceAccount;
  const placement = policy.identities;
  const name = identityName(cluster.name, namespace, serviceAccount);
  const tags: Record<string, string> = {
    ...placement.tags,
    [TAG_MANAGED_BY]: TAG_MANAGED_BY_VALUE,
    [TAG_REQUEST_ID]: tagValue(requestId),
    [TAG_REQUESTER]: tagValue(requester.id),
    [TAG_CLUSTER]: cluster.name,
    [TAG_NAMESPACE]: namespace,
    [TAG_SERVICE_ACCOUNT]: tagValue(serviceAccount),
  };
  const annotations: Record<string, string> = { [ANNOTATION_CLIENT_ID]: CLIENT_ID_PLACEHOLDER };
  if (policy.tenantId) annotations[ANNOTATION_TENANT_ID] = policy.tenantId;

  const plan: Plan = {
    kind,
    cluster: { name: cluster.name, subscriptionId: cluster.subscriptionId, resourceGroup: cluster.resourceGroup, aksName: cluster.aksName },
    ...(policy.tenantId ? { tenantId: policy.tenantId } : {}),
    identity: {
      subscriptionId: placement.subscriptionId,
      resourceGroup: placement.resourceGroup,
      name,
      location: placement.location,
      tags,
      resourceId: identityResourceId(placement.subscriptionId, placement.resourceGroup, name),
    },
    roleAssignment: {
      roleName: decision.role.name,
      ...(decision.role.roleDefinitionId ? { roleDefinitionId: decision.role.roleDefinitionId } : {}),
      scope: decision.scope,
    },
    federatedCredential: {
      name: federatedCredentialName(cluster.name, namespace, serviceAccount),
      // Verbatim: Entra compares the issuer as an exact string, trailing slash included.
      issuer: facts.issuerUrl,
      subject: serviceAccountSubject(namespace, serviceAccount),
      audiences: [WORKLOAD_IDENTITY_AUDIENCE],
    },
    serviceAccount: { namespace, name: serviceAccount, annotations },
    approvalsRequired: decision.role.approvals,
    ...(decision.durationSeconds !== undefined ? { durationSeconds: decision.durationSeconds } : {}),
  };
  return ok(plan);
}
