/**
 * The frozen plan at its edges: exact refusals with the fix, tag value limits, what is left out when
 * the policy does not set it. Built from domain objects only (found by `npm run test:mutation`).
 */
import { buildPlan, enableWorkloadIdentityCommand, type PlanInput } from '../../../src/domain/plan';
import type { RequestDecision } from '../../../src/domain/policy';
import type { ClusterFacts, Policy, PolicyRole } from '../../../src/domain/types';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const role: PolicyRole = { name: 'Reader', roleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7', scopes: [`/subscriptions/${SUB}`], approvals: 2, privileged: false };
const cluster = { name: 'blue', subscriptionId: SUB, resourceGroup: 'rg-aks', aksName: 'aks-blue' };
const policy: Policy = {
  source: 'test', tenantId: 'tenant-1', clusters: [cluster], defaultCluster: 'blue',
  identities: { subscriptionId: SUB, resourceGroup: 'rg-ids', location: 'westeurope', tags: { owner: 'team', 'managed-by': 'someone-else' } },
  roles: [role], namespaces: [], approvers: { users: [], groups: [], anyone: false }, operators: { users: [], groups: [], anyone: false }, allowReservedNamespaces: false, requestTtlSeconds: 60, reminderAfterSeconds: 0,
};
const decision: RequestDecision = {
  kind: 'grant', cluster, namespace: { name: 'team', requesters: { users: [], groups: [], anyone: true }, approvers: { users: [], groups: [], anyone: false }, roles: ['Reader'], defaultScopes: {} },
  serviceAccount: 'app', role, scope: `/subscriptions/${SUB}`,
};
const facts: ClusterFacts = { name: 'blue', oidcIssuerEnabled: true, issuerUrl: 'https://issuer/x/', workloadIdentityEnabled: true };
const input = (over: Partial<PlanInput> = {}): PlanInput => ({ policy, decision, clusterFacts: facts, requestId: 'r-1', requester: { id: 'U1' }, kind: 'grant', ...over });
const FIX = 'az aks update --resource-group rg-aks --name aks-blue --enable-oidc-issuer --enable-workload-identity';

describe('plan refusals', () => {
  it('say what is off and how to turn it on', () => {
    expect(enableWorkloadIdentityCommand('rg-aks', 'aks-blue')).toBe(FIX);
    expect(buildPlan(input({ clusterFacts: { ...facts, oidcIssuerEnabled: false } }))).toEqual({
      ok: false, error: { code: 'oidc-issuer-off', field: 'cluster', message: `The cluster "blue" (aks-blue) has no OIDC issuer, so Entra cannot trust its ServiceAccount tokens. Turn it on with: ${FIX}` },
    });
    expect(buildPlan(input({ clusterFacts: { ...facts, issuerUrl: '   ' } }))).toMatchObject({ ok: false, error: { code: 'oidc-issuer-off' } });
    expect(buildPlan(input({ clusterFacts: { ...facts, workloadIdentityEnabled: false } }))).toEqual({
      ok: false, error: { code: 'workload-identity-off', field: 'cluster', message: `The cluster "blue" (aks-blue) does not run the workload identity webhook, so pods would not get Azure tokens. Turn it on with: ${FIX}` },
    });
    expect(buildPlan(input({ clusterFacts: { ...facts, name: 'green' } }))).toEqual({
      ok: false, error: { code: 'cluster-mismatch', field: 'cluster', message: 'The cluster facts are for "green" but the request is for "blue".' },
    });
    expect(buildPlan(input({ requestId: ' ' }))).toEqual({ ok: false, error: { code: 'missing-request-id', message: 'A plan needs the id of its request.' } });
  });
});

describe('the plan', () => {
  it('wid-bot\'s own tags win over the policy\'s, and long tag values are cut to 256 characters', () => {
    const long = 'x'.repeat(300);
    const r = buildPlan(input({ requestId: long, requester: { id: `U${'y'.repeat(256)}` } }));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.identity.tags['managed-by']).toBe('wid-bot');
    expect(r.value.identity.tags.owner).toBe('team');
    expect(r.value.identity.tags['wid-request-id']).toBe('x'.repeat(256));
    expect(r.value.identity.tags['wid-requester']).toBe(`U${'y'.repeat(255)}`);
    const exact = buildPlan(input({ requestId: 'z'.repeat(256) }));
    expect(exact.ok && exact.value.identity.tags['wid-request-id']).toBe('z'.repeat(256));
    const sa = 'a'.repeat(253);
    const longSa = buildPlan(input({ decision: { ...decision, serviceAccount: sa } }));
    expect(longSa.ok && longSa.value.identity.tags['wid-serviceaccount']).toBe(sa);
  });

  it('carries the role, the grant kind, approvals and duration as decided', () => {
    const r = buildPlan(input({ kind: 'revoke', decision: { ...decision, durationSeconds: 600 } }));
    expect(r).toMatchObject({ ok: true, value: { kind: 'revoke', approvalsRequired: 2, durationSeconds: 600, tenantId: 'tenant-1', roleAssignment: { roleName: 'Reader', roleDefinitionId: role.roleDefinitionId, scope: `/subscriptions/${SUB}` } } });
    const { roleDefinitionId: _id, ...custom } = role;
    const c = buildPlan(input({ decision: { ...decision, role: custom } }));
    expect(c.ok && c.value.roleAssignment).toEqual({ roleName: 'Reader', scope: `/subscriptions/${SUB}` });
    expect(c.ok && 'durationSeconds' in c.value).toBe(false);
    expect(c.ok && c.value.serviceAccount.annotations).toEqual({ 'azure.workload.identity/client-id': '', 'azure.workload.identity/tenant-id': 'tenant-1' });
  });

  it('an empty tenant id is no tenant', () => {
    const r = buildPlan(input({ policy: { ...policy, tenantId: '' } }));
    expect(r.ok && 'tenantId' in r.value).toBe(false);
    expect(r.ok && r.value.serviceAccount.annotations).toEqual({ 'azure.workload.identity/client-id': '' });
  });
});
