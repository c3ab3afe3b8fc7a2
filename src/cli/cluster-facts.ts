/**
 * Where the CLI gets a cluster's facts (OIDC issuer, workload identity): an issuer given on the
 * command line, the policy's issuerUrl for offline use, or the AKS API through a ClusterPort.
 */
import type { ClusterPort } from '../domain/ports';
import type { ClusterFacts, PolicyCluster } from '../domain/types';
import { CliError } from './verb';

export interface ClusterFactsSource {
  /** Issuer URL given by the operator (`--issuer`); trusted as-is, no network. */
  issuerUrl?: string;
  /** Reads the live cluster; verbs that talk to Azure pass the ARM adapter here. */
  clusterPort?: ClusterPort;
}

/** Offline facts: OIDC issuer and workload identity taken as on, with the issuer given. */
export function offlineClusterFacts(cluster: PolicyCluster, issuerUrl: string): ClusterFacts {
  return { name: cluster.name, oidcIssuerEnabled: true, issuerUrl, workloadIdentityEnabled: true };
}

export function checkIssuerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--issuer ${JSON.stringify(url)} is not a URL; give the cluster's OIDC issuer URL exactly, e.g. https://westeurope.oic.prod-aks.azure.com/<tenant>/<id>/`);
  }
  if (parsed.protocol !== 'https:') throw new CliError(`--issuer must be an https URL (Entra only trusts https issuers), got ${JSON.stringify(url)}.`);
  return url;
}

export async function clusterFactsFor(cluster: PolicyCluster, source: ClusterFactsSource): Promise<ClusterFacts> {
  if (source.issuerUrl !== undefined) return offlineClusterFacts(cluster, checkIssuerUrl(source.issuerUrl));
  if (cluster.issuerUrl) return offlineClusterFacts(cluster, cluster.issuerUrl);
  if (source.clusterPort) return source.clusterPort.getClusterFacts(cluster);
  throw new CliError(
    `Reading the OIDC issuer of cluster "${cluster.name}" (${cluster.aksName}) needs Azure, which this command does not call. ` +
      `Pass --issuer <url> (find it with: az aks show --resource-group ${cluster.resourceGroup} --name ${cluster.aksName} --query oidcIssuerProfile.issuerUrl -o tsv) ` +
      'or set issuerUrl for the cluster in the policy.',
  );
}
