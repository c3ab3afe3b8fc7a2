/** `creds`: the federated credentials that trust this cluster's issuer, exactly as Entra compares it. */
import type { ClusterFacts, PolicyCluster } from '../domain/types';
import { clusterRef } from './common';
import type { IdentityCredentials } from './gather';
import type { CredentialRow, CredsResult } from './types';

export function inspectCreds(cluster: PolicyCluster, facts: ClusterFacts, gathered: readonly IdentityCredentials[]): CredsResult {
  const rows: CredentialRow[] = [];
  let credentialsSearched = 0;
  for (const { identity, credentials } of gathered) {
    credentialsSearched += credentials.length;
    if (!facts.oidcIssuerEnabled || !facts.issuerUrl) continue;
    for (const c of credentials) {
      // Entra matches the issuer byte for byte, so this view does too; near misses are audit findings.
      if (c.issuer !== facts.issuerUrl) continue;
      rows.push({ identity: identity.name, identityResourceGroup: identity.resourceGroup, identityClientId: identity.clientId, credential: c.name, subject: c.subject, issuer: c.issuer });
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
