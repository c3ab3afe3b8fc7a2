/** `cluster`: is the AKS cluster ready for workload identity, and the command that fixes it when not. */
import type { ClusterFacts, PolicyCluster } from '../domain/types';
import { clusterRef, enableCommand } from './common';
import type { ClusterResult } from './types';

export function inspectCluster(cluster: PolicyCluster, facts: ClusterFacts): ClusterResult {
  const ref = clusterRef(cluster);
  const problems: string[] = [];
  if (!facts.oidcIssuerEnabled) problems.push('The OIDC issuer is off: Entra ID cannot verify the cluster\'s ServiceAccount tokens.');
  if (!facts.workloadIdentityEnabled) problems.push('Workload identity is off: the webhook that gives pods AZURE_CLIENT_ID and the token file is not running.');
  const notes: string[] = [];
  if (facts.podIdentityEnabled) {
    notes.push(`The legacy pod-identity add-on is on. Move its identities with \`wid legacy\`, then: az aks update -g ${ref.resourceGroup} -n ${ref.aksName} --disable-pod-identity`);
  }
  return {
    verb: 'cluster',
    cluster: ref,
    oidcIssuerEnabled: facts.oidcIssuerEnabled,
    issuerUrl: facts.issuerUrl,
    workloadIdentityEnabled: facts.workloadIdentityEnabled,
    ...(facts.identityType ? { identityType: facts.identityType } : {}),
    podIdentityEnabled: facts.podIdentityEnabled === true,
    problems,
    ...(problems.length > 0 ? { fixCommand: enableCommand(ref) } : {}),
    notes,
  };
}
