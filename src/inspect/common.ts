/**
 * Small pure helpers the verbs share: cluster references, issuer comparison, ServiceAccount subjects.
 */
import type { PolicyCluster } from '../domain/types';
import type { ClusterRef } from './types';

export function clusterRef(c: PolicyCluster): ClusterRef {
  return { name: c.name, subscriptionId: c.subscriptionId, resourceGroup: c.resourceGroup, aksName: c.aksName };
}

/** The one command that turns on both features workload identity needs (harmless for what is already on). */
export function enableCommand(c: ClusterRef): string {
  return `az aks update -g ${c.resourceGroup} -n ${c.aksName} --enable-oidc-issuer --enable-workload-identity`;
}

/** An issuer with case and trailing slashes ignored: two issuers equal here but not byte for byte are a near miss. */
export function looseIssuer(issuer: string): string {
  return issuer.trim().replace(/\/+$/, '').toLowerCase();
}

export function serviceAccountSubject(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** `system:serviceaccount:<ns>:<name>` → its parts; undefined for any other subject. */
export function parseServiceAccountSubject(subject: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject);
  return m ? { namespace: m[1] as string, name: m[2] as string } : undefined;
}

/** Issuers of federations that are not Kubernetes clusters; a credential for them is never "stale". */
const NON_CLUSTER_ISSUER_HOSTS = ['token.actions.githubusercontent.com', 'app.terraform.io', 'vstoken.dev.azure.com', 'gitlab.com', 'accounts.google.com', 'sts.windows.net', 'login.microsoftonline.com'];

export function isNonClusterIssuer(issuer: string): boolean {
  try {
    const host = new URL(issuer).hostname.toLowerCase();
    return NON_CLUSTER_ISSUER_HOSTS.some((h) => host === h || host.endsWith(`.${h}`));
  } catch {
    return false;
  }
}

/** A valid Kubernetes object name derived from free text (lowercase, [a-z0-9-], at most 63). */
export function kubeName(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return cleaned || 'workload';
}
