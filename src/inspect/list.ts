/** `list [namespace]`: the ServiceAccounts set up for workload identity, and whose identity each one names. */
import type { ManagedIdentity, ServiceAccountInfo } from '../domain/ports';
import { ANNOTATION_CLIENT_ID, LABEL_USE, type PolicyCluster } from '../domain/types';
import { clusterRef } from './common';
import type { ListResult, ServiceAccountRow } from './types';

/** Client id (lowercase) → identity. */
export function identitiesByClientId(identities: readonly ManagedIdentity[]): Map<string, ManagedIdentity> {
  const map = new Map<string, ManagedIdentity>();
  for (const i of identities) if (i.clientId) map.set(i.clientId.toLowerCase(), i);
  return map;
}

export function isWorkloadIdentityServiceAccount(sa: ServiceAccountInfo): boolean {
  return Boolean(sa.annotations[ANNOTATION_CLIENT_ID]) || sa.labels[LABEL_USE] === 'true';
}

export function inspectList(cluster: PolicyCluster, serviceAccounts: readonly ServiceAccountInfo[], identities: readonly ManagedIdentity[], namespace?: string): ListResult {
  const byClientId = identitiesByClientId(identities);
  const rows: ServiceAccountRow[] = serviceAccounts
    .filter((sa) => (namespace === undefined || sa.namespace === namespace) && isWorkloadIdentityServiceAccount(sa))
    .map((sa) => {
      const clientId = sa.annotations[ANNOTATION_CLIENT_ID] || undefined;
      const identity = clientId ? byClientId.get(clientId.trim().toLowerCase()) : undefined;
      return {
        namespace: sa.namespace,
        name: sa.name,
        ...(clientId ? { clientId } : {}),
        useLabel: sa.labels[LABEL_USE] === 'true',
        ...(identity ? { identity: { name: identity.name, resourceGroup: identity.resourceGroup, subscriptionId: identity.subscriptionId } } : {}),
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { verb: 'list', cluster: clusterRef(cluster), ...(namespace !== undefined ? { namespace } : {}), serviceAccounts: rows, identitiesSearched: identities.length };
}
