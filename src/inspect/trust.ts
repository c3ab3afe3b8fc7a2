/** Which policy clusters an identity trusts: the clusters whose current issuer one of its credentials names exactly. */
import type { FederatedCredential } from '../domain/ports';
import type { KnownCluster } from './gather';

/** Issuer (verbatim) → the policy clusters that have it now. */
export function clustersByIssuer(known: readonly KnownCluster[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const k of known) {
    const f = k.facts;
    if (!f?.oidcIssuerEnabled || !f.issuerUrl) continue;
    out.set(f.issuerUrl, [...(out.get(f.issuerUrl) ?? []), k.cluster.name]);
  }
  return out;
}

/** The policy clusters the credentials trust, sorted, each once. */
export function trustedClusters(credentials: readonly Pick<FederatedCredential, 'issuer'>[], byIssuer: ReadonlyMap<string, string[]>): string[] {
  const names = new Set<string>();
  for (const c of credentials) for (const n of byIssuer.get(c.issuer) ?? []) names.add(n);
  return [...names].sort();
}
