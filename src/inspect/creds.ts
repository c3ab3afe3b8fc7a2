/** `creds`: the federated credentials that trust this cluster's issuer, exactly as Entra compares it. */
import type { ClusterFacts, PolicyCluster } from '../domain/types';
import { clusterRef } from './common';
import type { IdentityCredentials, KnownCluster } from './gather';
import { clustersByIssuer, trustedClusters } from './trust';
import type { CredentialRow, CredsResult } from './types';

export function inspectCreds(cluster: PolicyCluster, facts: ClusterFacts, gathered: readonly IdentityCredentials[], knownClusters?: readonly KnownCluster[]): CredsResult {
  const rows: CredentialRow[] = [];
  const byIssuer = knownClusters ? clustersByIssuer(knownClusters) : undefined;
  let credentialsSearched = 0;
  for (const { identity, credentials } of gathered) {
    credentialsSearched += credentials.length;
    if (!facts.oidcIssuerEnabled || !facts.issuerUrl) continue;
    const trusts = byIssuer ? { identityTrustsClusters: trustedClusters(credentials, byIssuer) } : {};
    for (const c of credentials) {
      // Entra matches the issuer byte for byte, so this view does too; near misses are audit findings.
      if (c.issuer !== facts.issuerUrl) continue;
      rows.push({ identity: identity.name, identityResourceGroup: identity.resourceGroup, identityClientId: identity.clientId, credential: c.name, subject: c.subject, issuer: c.issuer, ...trusts });
    }
  }
  rows.sort((a, b) => a.identity.localeCompare(b.identity) || a.credential.localeCompare(b.credential));
  return {
    verb: 'creds',
    cluster: clusterRef(cluster),
    issuerUrl: facts.issuerUrl,
    oidcIssuerEnabled: facts.oidcIssuerEnabled,
    credentials: rows,
    identitiesSearched: gathered.length,
    credentialsSearched,
  };
}
