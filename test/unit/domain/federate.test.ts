/**
 * Blue/green planning: one identity, one credential per cluster issuer. Pure: the plan from a grant's plan,
 * the other cluster's facts and the identity's credentials.
 */
import fc from 'fast-check';
import path from 'node:path';
import { loadPolicyFile } from '../../../src/config/policy';
import { buildFederationPlan, extraClusterPlan, servingOn, trustedClusters, type CredentialView, type FederationPlanInput } from '../../../src/domain/federate';
import { parseCommand, type RequestCommand } from '../../../src/domain/grammar';
import { federatedCredentialName } from '../../../src/domain/names';
import { buildPlan } from '../../../src/domain/plan';
import { evaluateRequest } from '../../../src/domain/policy';
import type { ClusterFacts, Plan, PolicyCluster, WidRequest } from '../../../src/domain/types';

const policy = loadPolicyFile(path.join(__dirname, '..', '..', '..', 'policy.example.yaml'));
const BLUE = 'https://westeurope.oic.prod-aks.azure.com/tenant/blue-0000/';
const GREEN = 'https://westeurope.oic.prod-aks.azure.com/tenant/green-0000/';
const SUBJECT = 'system:serviceaccount:payments:checkout-api';

function grantPlan(cluster = 'blue'): Plan {
  const c = parseCommand(`request payments checkout-api Key Vault Secrets User --cluster ${cluster}`);
  if (!c.ok) throw new Error(c.error.message);
  const d = evaluateRequest(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: c.value as RequestCommand });
  if (!d.ok) throw new Error(d.error.message);
  const p = buildPlan({ policy, decision: d.value, clusterFacts: { name: cluster, oidcIssuerEnabled: true, issuerUrl: cluster === 'blue' ? BLUE : GREEN, workloadIdentityEnabled: true }, requestId: 'wid-source0001', requester: { id: 'U0ALICE01' }, kind: 'grant' });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

const green = policy.clusters.find((c) => c.name === 'green') as PolicyCluster;
const greenFacts = (over: Partial<ClusterFacts> = {}): ClusterFacts => ({ name: 'green', oidcIssuerEnabled: true, issuerUrl: GREEN, workloadIdentityEnabled: true, ...over });
const blueCredential: CredentialView = { name: federatedCredentialName('blue', 'payments', 'checkout-api'), issuer: BLUE, subject: SUBJECT };

function input(over: Partial<FederationPlanInput> = {}): FederationPlanInput {
  return {
    policy,
    source: { id: 'wid-source0001', plan: grantPlan() },
    target: green,
    targetFacts: greenFacts(),
    credentials: [blueCredential],
    issuers: { blue: BLUE, green: GREEN },
    requestId: 'wid-fed0000001',
    ...over,
  };
}

function refusal(over: Partial<FederationPlanInput>): { code: string; message: string } {
  const r = buildFederationPlan(input(over));
  if (r.ok) throw new Error('expected a refusal');
  return r.error;
}

describe('buildFederationPlan', () => {
  it('names the same identity and role, green’s issuer and a credential named for green', () => {
    const r = buildFederationPlan(input());
    if (!r.ok) throw new Error(r.error.message);
    const p = r.value;
    const source = grantPlan();
    expect(p.kind).toBe('federate');
    expect(p.cluster).toEqual({ name: 'green', subscriptionId: green.subscriptionId, resourceGroup: green.resourceGroup, aksName: green.aksName });
    expect(p.identity).toEqual(source.identity);
    expect(p.roleAssignment).toEqual(source.roleAssignment);
    expect(p.federatedCredential).toEqual({ name: federatedCredentialName('green', 'payments', 'checkout-api'), issuer: GREEN, subject: SUBJECT, audiences: ['api://AzureADTokenExchange'] });
    expect(p.federatedCredential.name).not.toBe(blueCredential.name);
    expect(p.serviceAccount).toEqual({ namespace: 'payments', name: 'checkout-api', annotations: { 'azure.workload.identity/client-id': '', 'azure.workload.identity/tenant-id': policy.tenantId } });
    expect(p.federation).toEqual({ sourceCluster: 'blue', sourceRequestId: 'wid-source0001', trustedClusters: ['blue'], credentialCount: 1 });
    expect(p.approvalsRequired).toBe(1);
  });

  it('the issuer is copied verbatim, trailing slash and all', () => {
    const odd = 'https://Issuer.Example/x//';
    const r = buildFederationPlan(input({ targetFacts: greenFacts({ issuerUrl: odd }) }));
    expect(r.ok && r.value.federatedCredential.issuer).toBe(odd);
  });

  it('the same cluster, no OIDC issuer, no webhook, a credential already there or a name taken by an old issuer are refused with what to do', () => {
    expect(refusal({ target: policy.clusters[0] as PolicyCluster, targetFacts: { name: 'blue', oidcIssuerEnabled: true, issuerUrl: BLUE, workloadIdentityEnabled: true } })).toMatchObject({ code: 'same-cluster' });
    const off = refusal({ targetFacts: greenFacts({ oidcIssuerEnabled: false, issuerUrl: '' }) });
    expect(off.code).toBe('oidc-issuer-off');
    expect(off.message).toContain(`az aks update --resource-group ${green.resourceGroup} --name ${green.aksName} --enable-oidc-issuer --enable-workload-identity`);
    expect(refusal({ targetFacts: greenFacts({ workloadIdentityEnabled: false }) }).code).toBe('workload-identity-off');
    expect(refusal({ targetFacts: greenFacts({ name: 'blue' }) }).code).toBe('cluster-mismatch');
    const already = refusal({ credentials: [blueCredential, { name: 'by-hand', issuer: GREEN, subject: SUBJECT }] });
    expect(already.code).toBe('already-federated');
    expect(already.message).toContain("credential 'by-hand'");
    const taken = refusal({ credentials: [blueCredential, { name: federatedCredentialName('green', 'payments', 'checkout-api'), issuer: 'https://old/', subject: SUBJECT }] });
    expect(taken.code).toBe('credential-name-taken');
    expect(taken.message).toContain('/wid refederate green');
  });

  it('an identity with fewer than 20 credentials gets one more; at 20 or more it is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), (others) => {
        const creds = [blueCredential, ...Array.from({ length: others }, (_, i) => ({ name: `c${i}`, issuer: `https://i/${i}/`, subject: `system:serviceaccount:x:s${i}` }))];
        const r = buildFederationPlan(input({ credentials: creds }));
        if (creds.length >= 20) {
          expect(r.ok).toBe(false);
          if (!r.ok) {
            expect(r.error.code).toBe('credential-limit');
            expect(r.error.message).toContain(`already has ${creds.length} federated credentials`);
          }
        } else {
          expect(r.ok && r.value.federation?.credentialCount).toBe(creds.length);
        }
      }),
    );
  });

  it('trustedClusters names the policy clusters whose current issuer trusts the subject', () => {
    expect(trustedClusters([blueCredential, { name: 'g', issuer: GREEN, subject: 'system:serviceaccount:other:sa' }], SUBJECT, { blue: BLUE, green: GREEN })).toEqual(['blue']);
    expect(trustedClusters([blueCredential], SUBJECT, { blue: '', green: GREEN })).toEqual([]);
  });
});

describe('multi-cluster grants', () => {
  const extra = { cluster: { name: 'green', subscriptionId: green.subscriptionId, resourceGroup: green.resourceGroup, aksName: green.aksName }, federatedCredential: { name: federatedCredentialName('green', 'payments', 'checkout-api'), issuer: GREEN, subject: SUBJECT, audiences: ['api://AzureADTokenExchange'] } };
  const plan: Plan = { ...grantPlan(), alsoClusters: [extra] };
  const request = { id: 'wid-multi00001', kind: 'grant', state: 'succeeded', clusterName: 'blue', namespace: 'payments', serviceAccount: 'checkout-api', plan, resources: { clientId: 'c', clusters: { green: { federatedCredentialId: '/fic/green', serviceAccount: 'payments/checkout-api', verified: true } } } } as unknown as WidRequest;

  it('each extra cluster is a federation of the grant’s identity with that cluster’s credential', () => {
    const p = extraClusterPlan(request, extra);
    expect(p).toMatchObject({ kind: 'federate', cluster: extra.cluster, federatedCredential: extra.federatedCredential, identity: plan.identity, roleAssignment: plan.roleAssignment });
    expect(p.federation).toEqual({ sourceCluster: 'blue', sourceRequestId: 'wid-multi00001', trustedClusters: ['blue'], credentialCount: 1 });
    expect(p.alsoClusters).toBeUndefined();
  });

  it('servingOn gives the request itself on its cluster, its part on an extra cluster, nothing elsewhere', () => {
    expect(servingOn(request, 'blue')).toBe(request);
    const part = servingOn(request, 'green');
    expect(part).toMatchObject({ id: 'wid-multi00001', kind: 'federate', clusterName: 'green', resources: { federatedCredentialId: '/fic/green', serviceAccount: 'payments/checkout-api' } });
    expect(part?.plan.federatedCredential.issuer).toBe(GREEN);
    expect(servingOn(request, 'red')).toBeUndefined();
    expect(servingOn({ ...request, kind: 'revoke' } as WidRequest, 'green')).toBeUndefined();
  });
});

describe('buildFederationPlan: the exact refusals and what the plan takes from where', () => {
  const FIX = `az aks update --resource-group ${green.resourceGroup} --name ${green.aksName} --enable-oidc-issuer --enable-workload-identity`;
  const ID = grantPlan().identity.name;

  it('each refusal in full, with the field it is about', () => {
    expect(buildFederationPlan(input({ requestId: '  ' }))).toEqual({ ok: false, error: { code: 'missing-request-id', message: 'A plan needs the id of its request.' } });
    expect(refusal({ targetFacts: greenFacts({ name: 'blue' }) })).toEqual({ code: 'cluster-mismatch', field: 'cluster', message: 'The cluster facts are for "blue" but the federation is for "green".' });
    expect(refusal({ target: policy.clusters[0] as PolicyCluster, targetFacts: { name: 'blue', oidcIssuerEnabled: true, issuerUrl: BLUE, workloadIdentityEnabled: true } })).toEqual({
      code: 'same-cluster', field: 'cluster', message: `The identity '${ID}' already serves payments/checkout-api on "blue" (request wid-source0001). Name the other cluster with --cluster; clusters: green.`,
    });
    expect(refusal({ targetFacts: greenFacts({ issuerUrl: '  ' }) })).toEqual({
      code: 'oidc-issuer-off', field: 'cluster', message: `The cluster "green" (${green.aksName}) has no OIDC issuer, so Entra cannot trust its ServiceAccount tokens. Turn it on with: ${FIX}`,
    });
    expect(refusal({ targetFacts: greenFacts({ workloadIdentityEnabled: false }) })).toEqual({
      code: 'workload-identity-off', field: 'cluster', message: `The cluster "green" (${green.aksName}) does not run the workload identity webhook, so pods would not get Azure tokens. Turn it on with: ${FIX}`,
    });
    expect(refusal({ credentials: [blueCredential, { name: 'by-hand', issuer: GREEN, subject: SUBJECT }] })).toEqual({
      code: 'already-federated', field: 'cluster', message: `The identity '${ID}' already trusts payments/checkout-api on "green" (credential 'by-hand', issuer ${GREEN}). Nothing to do; /wid creds --cluster green shows it.`,
    });
    expect(refusal({ credentials: [blueCredential, { name: federatedCredentialName('green', 'payments', 'checkout-api'), issuer: 'https://old/', subject: SUBJECT }] })).toMatchObject({ field: 'cluster' });
    const many = Array.from({ length: 20 }, (_, i) => ({ name: `c${i}`, issuer: `https://i/${i}/`, subject: `system:serviceaccount:x:s${i}` }));
    expect(refusal({ credentials: many })).toMatchObject({ code: 'credential-limit', field: 'cluster' });
  });

  it('same cluster in a policy of one cluster: the message says there is no other', () => {
    const one = { ...policy, clusters: [policy.clusters[0] as PolicyCluster] };
    expect(refusal({ policy: one, target: policy.clusters[0] as PolicyCluster, targetFacts: { name: 'blue', oidcIssuerEnabled: true, issuerUrl: BLUE, workloadIdentityEnabled: true } }).message).toMatch(/Name the other cluster with --cluster; clusters: none\.$/);
  });

  it('a credential for green’s issuer but another subject is no federation of this ServiceAccount', () => {
    const r = buildFederationPlan(input({ credentials: [blueCredential, { name: 'other', issuer: GREEN, subject: 'system:serviceaccount:other:sa' }] }));
    expect(r.ok).toBe(true);
  });

  it('the tenant: the policy’s, else the source plan’s, else none at all', () => {
    const source = grantPlan();
    const ok = (over: Partial<FederationPlanInput>) => {
      const r = buildFederationPlan(input(over));
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    };
    const other = ok({ policy: { ...policy, tenantId: 'policy-tenant' } });
    expect(other.tenantId).toBe('policy-tenant');
    expect(other.serviceAccount.annotations['azure.workload.identity/tenant-id']).toBe('policy-tenant');
    const { tenantId: _t, ...noTenant } = policy;
    const fromSource = ok({ policy: noTenant, source: { id: 'wid-source0001', plan: { ...source, tenantId: 'source-tenant' } } });
    expect(fromSource.tenantId).toBe('source-tenant');
    expect(fromSource.serviceAccount.annotations['azure.workload.identity/tenant-id']).toBe('source-tenant');
    const { tenantId: _s, ...sourceNoTenant } = source;
    const none = ok({ policy: noTenant, source: { id: 'wid-source0001', plan: sourceNoTenant } });
    expect('tenantId' in none).toBe(false);
    expect(none.serviceAccount.annotations).toStrictEqual({ 'azure.workload.identity/client-id': '' });
  });

  it('approvals: as many as the role needs today; the source’s count when the role left the policy', () => {
    const twice = { ...policy, roles: policy.roles.map((r) => (r.name === 'Key Vault Secrets User' ? { ...r, approvals: 2 as const } : r)) };
    const r = buildFederationPlan(input({ policy: twice }));
    expect(r.ok && r.value.approvalsRequired).toBe(2);
    const gone = { ...policy, roles: policy.roles.filter((x) => x.name !== 'Key Vault Secrets User') };
    const g = buildFederationPlan(input({ policy: gone, source: { id: 'wid-source0001', plan: { ...grantPlan(), approvalsRequired: 2 } } }));
    expect(g.ok && g.value.approvalsRequired).toBe(2);
  });

  it('trustedClusters ignores a credential with an empty issuer', () => {
    expect(trustedClusters([{ name: 'x', issuer: '', subject: SUBJECT }], SUBJECT, { blue: '', green: GREEN })).toEqual([]);
  });
});

describe('multi-cluster grants: three clusters, and requests with less recorded', () => {
  const extraOf = (name: string) => ({ cluster: { name, subscriptionId: green.subscriptionId, resourceGroup: green.resourceGroup, aksName: `aks-${name}` }, federatedCredential: { name: federatedCredentialName(name, 'payments', 'checkout-api'), issuer: `https://issuer/${name}/`, subject: SUBJECT, audiences: ['api://AzureADTokenExchange'] } });

  it('an extra cluster trusts the grant’s own cluster and every other extra one', () => {
    const plan: Plan = { ...grantPlan(), alsoClusters: [extraOf('green'), extraOf('red')] };
    expect(extraClusterPlan({ id: 'wid-multi00001', plan }, extraOf('red')).federation).toEqual({ sourceCluster: 'blue', sourceRequestId: 'wid-multi00001', trustedClusters: ['blue', 'green'], credentialCount: 2 });
    // a plan that lists no extra clusters: the grant's own cluster is still trusted
    expect(extraClusterPlan({ id: 'wid-multi00001', plan: grantPlan() }, extraOf('green')).federation).toMatchObject({ sourceCluster: 'blue', trustedClusters: ['blue'] });
  });

  it('servingOn copes with a grant of one cluster and with no per-cluster resources recorded yet', () => {
    const base = { id: 'wid-multi00001', kind: 'grant', state: 'approved', clusterName: 'blue', namespace: 'payments', serviceAccount: 'checkout-api', resources: {} };
    expect(servingOn({ ...base, plan: grantPlan() } as unknown as WidRequest, 'green')).toBeUndefined();
    const multi = { ...base, plan: { ...grantPlan(), alsoClusters: [extraOf('green')] } } as unknown as WidRequest;
    expect(servingOn(multi, 'green')?.resources).toEqual({});
    const other = { ...multi, resources: { clusters: { red: { federatedCredentialId: '/fic/red' } } } } as unknown as WidRequest;
    expect(servingOn(other, 'green')?.resources).toEqual({ clusters: { red: { federatedCredentialId: '/fic/red' } } });
  });
});
