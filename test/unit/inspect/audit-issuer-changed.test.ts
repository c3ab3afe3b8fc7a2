/**
 * The audit's issuer-changed findings from the recorded issuer history: this cluster's previous issuer with a
 * ServiceAccount that still exists (error, /wid refederate), with one that is gone (warning, not recreated), and
 * another policy cluster's previous issuer (pointed at that cluster's audit); without history, the stale finding.
 */
import { auditCluster } from '../../../src/inspect/audit';
import type { ManagedIdentity } from '../../../src/domain/ports';
import type { PolicyCluster } from '../../../src/domain/types';

const cluster = (name: string): PolicyCluster => ({ name, subscriptionId: 's', resourceGroup: 'rg-aks', aksName: `aks-${name}` });
const facts = (name: string, issuerUrl: string) => ({ name, oidcIssuerEnabled: true, issuerUrl, workloadIdentityEnabled: true });
const A0 = 'https://westeurope.oic.prod-aks.azure.com/t/a0/';
const A1 = 'https://westeurope.oic.prod-aks.azure.com/t/a1/';
const B0 = 'https://westeurope.oic.prod-aks.azure.com/t/b0/';
const B1 = 'https://westeurope.oic.prod-aks.azure.com/t/b1/';
const identity: ManagedIdentity = { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x', name: 'id-x', subscriptionId: 's', resourceGroup: 'rg', location: 'westeurope', clientId: 'c', principalId: 'p', tenantId: 't', tags: {} };
const fic = (name: string, issuer: string, sa: string) => ({ id: `${identity.id}/federatedIdentityCredentials/${name}`, name, identityId: identity.id, issuer, subject: `system:serviceaccount:finance:${sa}`, audiences: ['api://AzureADTokenExchange'] });
const seen = (issuer: string, at: string) => ({ issuer, firstSeen: at, lastSeen: at });

function audit(withHistory: boolean) {
  return auditCluster({
    cluster: cluster('a'),
    facts: facts('a', A1),
    knownClusters: [{ cluster: cluster('a'), facts: facts('a', A1) }, { cluster: cluster('b'), facts: facts('b', B1) }],
    identities: [{ identity, credentials: [fic('here', A0, 'app'), fic('gone', A0, 'gone'), fic('other', B0, 'app')] }],
    serviceAccounts: [{ namespace: 'finance', name: 'app', annotations: {}, labels: {} }],
    pods: [],
    nameCluster: true,
    ...(withHistory ? { issuerHistory: { a: [seen(A0, '2026-01-01T00:00:00Z'), seen(A1, '2026-02-01T00:00:00Z')], b: [seen(B0, '2026-01-01T00:00:00Z'), seen(B1, '2026-02-01T00:00:00Z')] } } : {}),
  }).findings.map((f) => [f.code, f.subject.split('/').pop(), f.fix.startsWith('/wid') ? f.fix : '']);
}

test('with the history: issuer-changed for this and another cluster, -sa-gone when the ServiceAccount is gone', () => {
  expect(audit(true).sort()).toEqual(
    [
      ['credential-issuer-changed', 'here', '/wid refederate a'],
      ['credential-issuer-changed', 'other', '/wid audit --cluster b, then /wid refederate b'],
      ['credential-issuer-changed-sa-gone', 'gone', ''],
    ].sort(),
  );
});

test('without it, the same credentials are only stale', () => {
  expect(audit(false).map((f) => f[0])).toEqual(['credential-stale-issuer', 'credential-stale-issuer', 'credential-stale-issuer']);
});
