/** `legacy`: aad-pod-identity leftovers, each with the `/wid request` line that moves it to workload identity. */
import type { LegacyPodIdentity } from '../domain/ports';
import type { ClusterFacts, PolicyCluster } from '../domain/types';
import { clusterRef, kubeName } from './common';
import type { LegacyItem, LegacyResult } from './types';

const ROLE_PLACEHOLDER = '<role>';

/** `--cluster` is added only when the policy has several clusters (otherwise it is the default one). */
function requestLine(namespace: string, serviceAccount: string, cluster: string | undefined): string {
  return `/wid request ${namespace} ${serviceAccount} ${ROLE_PLACEHOLDER}${cluster ? ` --cluster ${cluster}` : ''}`;
}

/** The ServiceAccount name a binding's pods would use: its selector when it is a plain name, else the identity's name. */
function serviceAccountFor(o: LegacyPodIdentity): string {
  if (o.kind === 'AzureIdentityBinding') {
    if (o.selector && !o.selector.startsWith('{')) return kubeName(o.selector);
    if (o.azureIdentity) return kubeName(o.azureIdentity);
  }
  return kubeName(o.name);
}

export function inspectLegacy(cluster: PolicyCluster, facts: ClusterFacts, objects: readonly LegacyPodIdentity[], options: { nameCluster?: boolean } = {}): LegacyResult {
  const ref = clusterRef(cluster);
  const clusterFlag = options.nameCluster ? ref.name : undefined;
  const identities = new Map(objects.filter((o) => o.kind === 'AzureIdentity').map((o) => [`${o.namespace}/${o.name}`, o]));
  const items: LegacyItem[] = objects.map((o) => {
    const bound = o.kind === 'AzureIdentityBinding' && o.azureIdentity ? identities.get(`${o.namespace}/${o.azureIdentity}`) : undefined;
    const clientId = o.clientId ?? bound?.clientId;
    const resourceId = o.resourceId ?? bound?.resourceId;
    const item: LegacyItem = {
      kind: o.kind,
      namespace: o.namespace,
      name: o.name,
      ...(clientId ? { clientId } : {}),
      ...(resourceId ? { resourceId } : {}),
      ...(o.azureIdentity ? { azureIdentity: o.azureIdentity } : {}),
      ...(o.selector ? { selector: o.selector } : {}),
      request: requestLine(o.namespace, serviceAccountFor(o), clusterFlag),
      ...(o.kind === 'AzureIdentityBinding' ? { migrate: `/wid migrate ${o.namespace} ${o.name}${clusterFlag ? ` --cluster ${clusterFlag}` : ''}` } : {}),
    };
    if (o.kind === 'AzureIdentityBinding') item.note = `Keeps the identity it uses (same client id, same roles); Finish removes the binding once the pods run with the new ServiceAccount.`;
    else item.note = `Grant the new identity the roles this one has${resourceId ? ` (az role assignment list --assignee ${clientId ?? resourceId} --all)` : ''}; then: kubectl delete azureidentity ${o.name} -n ${o.namespace}`;
    return item;
  });
  items.sort((a, b) => (a.namespace ?? '').localeCompare(b.namespace ?? '') || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  const podIdentityProfileEnabled = facts.podIdentityEnabled === true;
  if (podIdentityProfileEnabled) {
    items.push({
      kind: 'PodIdentityProfile',
      name: ref.aksName,
      request: requestLine('<namespace>', '<serviceaccount>', clusterFlag),
      note: `The AKS pod-identity add-on is on: request one workload identity per pod identity it serves, then az aks update -g ${ref.resourceGroup} -n ${ref.aksName} --disable-pod-identity`,
    });
  }
  return { verb: 'legacy', cluster: ref, podIdentityProfileEnabled, items };
}
