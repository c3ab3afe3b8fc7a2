import path from 'node:path';
import { loadPolicyFile } from '../../src/config/policy';
import { parseCommand, type RequestCommand } from '../../src/domain/grammar';
import { FEDERATED_CREDENTIAL_NAME_PATTERN, IDENTITY_NAME_PATTERN } from '../../src/domain/names';
import { buildPlan, CLIENT_ID_PLACEHOLDER, type PlanInput } from '../../src/domain/plan';
import { evaluateRequest, type RequestDecision } from '../../src/domain/policy';
import type { ClusterFacts } from '../../src/domain/types';

const policy = loadPolicyFile(path.join(__dirname, '..', '..', 'policy.example.yaml'));
const ISSUER = 'https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/1a2b3c4d-0000-0000-0000-000000000000/';

function decision(text: string): RequestDecision {
  const c = parseCommand(text);
  if (!c.ok || c.value.verb !== 'request') throw new Error(text);
  const d = evaluateRequest(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: c.value as RequestCommand });
  if (!d.ok) throw new Error(d.error.message);
  return d.value;
}

const facts = (over: Partial<ClusterFacts> = {}): ClusterFacts => ({ name: 'blue', oidcIssuerEnabled: true, issuerUrl: ISSUER, workloadIdentityEnabled: true, ...over });
const input = (over: Partial<PlanInput> = {}): PlanInput => ({
  policy,
  decision: decision('request payments checkout-api Key Vault Secrets User'),
  clusterFacts: facts(),
  requestId: 'r-001',
  requester: { id: 'U0ALICE01' },
  kind: 'grant',
  ...over,
});

describe('the plan', () => {
  it('names the exact resources', () => {
    const r = buildPlan(input());
    if (!r.ok) throw new Error(r.error.message);
    const p = r.value;
    expect(p.kind).toBe('grant');
    expect(p.cluster).toEqual({ name: 'blue', subscriptionId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590', resourceGroup: 'rg-aks-prod', aksName: 'aks-prod-blue' });
    expect(p.identity).toMatchObject({ subscriptionId: '0b1f6471-1bf0-4dda-aec3-cb9272f09590', resourceGroup: 'rg-workload-identities', location: 'westeurope' });
    expect(p.identity.name).toMatch(/^wid-blue-payments-checkout-api-[0-9a-f]{12}$/);
    expect(p.identity.name).toMatch(IDENTITY_NAME_PATTERN);
    expect(p.identity.resourceId).toBe(`/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-workload-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${p.identity.name}`);
    expect(p.identity.tags).toEqual({
      'cost-center': '4711', owner: 'platform-team', 'managed-by': 'wid-bot', 'wid-request-id': 'r-001', 'wid-requester': 'U0ALICE01',
      'wid-cluster': 'blue', 'wid-namespace': 'payments', 'wid-serviceaccount': 'checkout-api',
    });
    expect(p.roleAssignment).toEqual({
      roleName: 'Key Vault Secrets User', roleDefinitionId: '4633458b-17de-408a-b874-0445c86b69e6',
      scope: '/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourcegroups/rg-payments/providers/microsoft.keyvault/vaults/kv-payments-prod',
    });
    expect(p.federatedCredential).toEqual({ name: expect.stringMatching(FEDERATED_CREDENTIAL_NAME_PATTERN), issuer: ISSUER, subject: 'system:serviceaccount:payments:checkout-api', audiences: ['api://AzureADTokenExchange'] });
    expect(p.serviceAccount).toEqual({
      namespace: 'payments', name: 'checkout-api',
      annotations: { 'azure.workload.identity/client-id': CLIENT_ID_PLACEHOLDER, 'azure.workload.identity/tenant-id': '72f988bf-86f1-41af-91ab-2d7cd011db47' },
    });
    expect(p.tenantId).toBe('72f988bf-86f1-41af-91ab-2d7cd011db47');
    expect(p.approvalsRequired).toBe(1);
    expect(p.durationSeconds).toBeUndefined();
  });

  it('copies the issuer verbatim, with or without a trailing slash', () => {
    for (const issuer of ['https://oidc.example/abc/', 'https://oidc.example/ABC', 'https://oidc.example/abc//']) {
      const r = buildPlan(input({ clusterFacts: facts({ issuerUrl: issuer }) }));
      expect(r.ok && r.value.federatedCredential.issuer).toBe(issuer);
    }
  });

  it('is the same for the same inputs and differs per cluster', () => {
    expect(buildPlan(input())).toEqual(buildPlan(input()));
    const green = buildPlan(input({ decision: decision('request payments checkout-api Key Vault Secrets User --cluster green'), clusterFacts: facts({ name: 'green' }) }));
    const blue = buildPlan(input());
    expect(green.ok && blue.ok && green.value.identity.name !== blue.value.identity.name).toBe(true);
    expect(green.ok && blue.ok && green.value.federatedCredential.name !== blue.value.federatedCredential.name).toBe(true);
  });

  it('carries approvals and duration of the role', () => {
    const r = buildPlan(input({ decision: decision('request payments sa Storage Blob Data Contributor --scope /subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-data/x --for 1d') }));
    expect(r).toMatchObject({ ok: true, value: { approvalsRequired: 2, durationSeconds: 86400 } });
  });

  it('refuses clusters without OIDC issuer or workload identity, with the fix', () => {
    for (const f of [facts({ oidcIssuerEnabled: false, issuerUrl: '' }), facts({ issuerUrl: '' })]) {
      const r = buildPlan(input({ clusterFacts: f }));
      expect(r).toMatchObject({ ok: false, error: { code: 'oidc-issuer-off' } });
      expect(!r.ok && r.error.message).toContain('az aks update --resource-group rg-aks-prod --name aks-prod-blue --enable-oidc-issuer --enable-workload-identity');
    }
    const wi = buildPlan(input({ clusterFacts: facts({ workloadIdentityEnabled: false }) }));
    expect(wi).toMatchObject({ ok: false, error: { code: 'workload-identity-off' } });
    expect(!wi.ok && wi.error.message).toContain('--enable-workload-identity');
    expect(buildPlan(input({ clusterFacts: facts({ name: 'green' }) }))).toMatchObject({ ok: false, error: { code: 'cluster-mismatch' } });
  });

  it('omits the tenant annotation when the policy has no tenant', () => {
    const { tenantId: _t, ...noTenant } = policy;
    const r = buildPlan(input({ policy: noTenant }));
    expect(r.ok && r.value.serviceAccount.annotations).toEqual({ 'azure.workload.identity/client-id': '' });
    expect(r.ok && 'tenantId' in r.value).toBe(false);
  });
});
