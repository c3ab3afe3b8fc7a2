import path from 'node:path';
import { loadPolicyFile } from '../../../src/config/policy';
import { parseArgv, parseCommand } from '../../../src/domain/grammar';
import {
  decideFinish, deploymentPatchCommand, evaluateMigrate, otherBindingsOf, parseUserAssignedIdentityId, planMigration, podsCoveredByBinding,
  type MigrationFacts, type MigrationPlanInput,
} from '../../../src/domain/migrate';
import type { FederatedCredential, LegacyPodIdentity, ManagedIdentity, PodInfo } from '../../../src/domain/ports';
import { parseSearchScope } from '../../../src/domain/search-scopes';
import type { ClusterFacts, PolicyCluster, PolicyNamespace } from '../../../src/domain/types';
import fc from 'fast-check';

const policy = loadPolicyFile(path.join(__dirname, '..', '..', '..', 'policy.example.yaml'));
const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const ISSUER = 'https://westeurope.oic.prod-aks.azure.com/72f988bf-86f1-41af-91ab-2d7cd011db47/1a2b3c4d-0000-0000-0000-000000000000/';
const RID = `/subscriptions/${SUB}/resourceGroups/rg-legacy-identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-checkout`;
const CLIENT = '11111111-2222-3333-4444-555555555555';

const cluster = policy.clusters[0] as PolicyCluster;
const namespace = policy.namespaces.find((n) => n.name === 'payments') as PolicyNamespace;
const binding: LegacyPodIdentity = { kind: 'AzureIdentityBinding', namespace: 'payments', name: 'checkout-binding', azureIdentity: 'checkout-id', selector: 'checkout' };
const azureIdentity: LegacyPodIdentity = { kind: 'AzureIdentity', namespace: 'payments', name: 'checkout-id', clientId: CLIENT, resourceId: RID, identityType: 0 };
const identity: ManagedIdentity = {
  id: RID, name: 'id-checkout', subscriptionId: SUB, resourceGroup: 'rg-legacy-identities', location: 'westeurope', clientId: CLIENT,
  principalId: '99999999-0000-0000-0000-000000000001', tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', tags: { team: 'checkout' },
};
const fic = (i: number): FederatedCredential => ({ id: `${RID}/federatedIdentityCredentials/c${i}`, name: `c${i}`, identityId: RID, issuer: 'https://other/', subject: `system:serviceaccount:x:s${i}`, audiences: ['api://AzureADTokenExchange'] });
const facts = (over: Partial<MigrationFacts> = {}): MigrationFacts => ({
  binding, azureIdentity, identity, credentials: [],
  roles: [{ roleName: 'Key Vault Secrets User', roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6`, scope: `/subscriptions/${SUB}/resourceGroups/rg-payments/providers/Microsoft.KeyVault/vaults/kv-payments-prod`, assignmentId: '/ra/1' }],
  ...over,
});
const clusterFacts = (over: Partial<ClusterFacts> = {}): ClusterFacts => ({ name: 'blue', oidcIssuerEnabled: true, issuerUrl: ISSUER, workloadIdentityEnabled: true, ...over });
const input = (over: Partial<MigrationPlanInput> = {}): MigrationPlanInput => ({ policy, cluster, namespace, bindingName: 'checkout-binding', clusterFacts: clusterFacts(), facts: facts(), requestId: 'wid-aaaaaaaaaa', ...over });

function refusal(over: Partial<MigrationPlanInput>): { code: string; message: string } {
  const r = planMigration(input(over));
  if (r.ok) throw new Error('expected a refusal');
  return r.error;
}

describe('the migrate plan', () => {
  it('adopts the identity the AzureIdentity names, lists the roles it holds and creates neither identity nor role', () => {
    const r = planMigration(input());
    if (!r.ok) throw new Error(r.error.message);
    const p = r.value;
    expect(p.kind).toBe('migrate');
    expect(p.identity).toEqual({ subscriptionId: SUB, resourceGroup: 'rg-legacy-identities', name: 'id-checkout', location: 'westeurope', tags: { team: 'checkout' }, resourceId: RID });
    expect(p.federatedCredential).toMatchObject({ issuer: ISSUER, subject: 'system:serviceaccount:payments:checkout', audiences: ['api://AzureADTokenExchange'] });
    expect(p.serviceAccount).toMatchObject({ namespace: 'payments', name: 'checkout' });
    expect(p.migration?.existingRoles.map((x) => x.roleName)).toEqual(['Key Vault Secrets User']);
    expect(p.migration?.binding).toEqual({ namespace: 'payments', name: 'checkout-binding', selector: 'checkout' });
    expect(p.migration?.azureIdentity.clientId).toBe(CLIENT);
    expect(p.approvalsRequired).toBe(1);
  });

  it('binds the ServiceAccount named in the command instead of the selector', () => {
    const r = planMigration(input({ serviceAccount: 'checkout-api' }));
    expect(r.ok && r.value.serviceAccount.name).toBe('checkout-api');
  });

  it('asks for two approvals when the identity holds a privileged role', () => {
    const roles = [{ roleName: 'Contributor', roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c`, scope: `/subscriptions/${SUB}`, assignmentId: '/ra/2' }];
    const r = planMigration(input({ facts: facts({ roles }) }));
    expect(r.ok && r.value.approvalsRequired).toBe(2);
  });

  it('refuses a missing binding, a missing AzureIdentity, a service principal and an unknown resourceID, each saying why', () => {
    const { binding: _b, ...noBinding } = facts();
    expect(refusal({ facts: noBinding as MigrationFacts })).toMatchObject({ code: 'binding-not-found' });
    const { azureIdentity: _a, ...noIdentity } = facts();
    const missing = refusal({ facts: noIdentity as MigrationFacts });
    expect(missing.code).toBe('azureidentity-missing');
    expect(missing.message).toContain('"checkout-id"');
    const sp = refusal({ facts: facts({ azureIdentity: { ...azureIdentity, identityType: 1 } }) });
    expect(sp.code).toBe('azureidentity-not-user-assigned');
    expect(sp.message).toContain('service principal');
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, identityType: 7 } }) }).message).toContain('is an unknown kind of identity (spec.type 7)');
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, resourceId: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/virtualMachines/vm' } }) }).code).toBe('azureidentity-unknown-resource');
    const { identity: _i, ...gone } = facts();
    expect(refusal({ facts: gone as MigrationFacts }).code).toBe('identity-not-found');
  });

  it('refuses an identity outside the policy identity group and identitySearchScopes, naming what is allowed', () => {
    const other = RID.replace('rg-legacy-identities', 'rg-elsewhere');
    const e = refusal({ facts: facts({ azureIdentity: { ...azureIdentity, resourceId: other }, identity: { ...identity, id: other, resourceGroup: 'rg-elsewhere' } }) });
    expect(e.code).toBe('identity-outside-policy');
    expect(e.message).toContain(`${SUB}/rg-workload-identities`);
    expect(e.message).toContain(`${SUB}/rg-legacy-identities`);
  });

  it('refuses an identity at 20 credentials, unless one of them already trusts the ServiceAccount', () => {
    const full = Array.from({ length: 20 }, (_, i) => fic(i));
    const e = refusal({ facts: facts({ credentials: full }) });
    expect(e.code).toBe('credential-limit');
    expect(e.message).toContain('20');
    const withOurs = [...full.slice(0, 19), { ...fic(19), issuer: ISSUER, subject: 'system:serviceaccount:payments:checkout' }];
    expect(planMigration(input({ facts: facts({ credentials: withOurs }) })).ok).toBe(true);
    expect(planMigration(input({ facts: facts({ credentials: full.slice(0, 19) }) })).ok).toBe(true);
  });

  it('refuses a cluster without OIDC issuer or webhook with the az command that fixes it', () => {
    const e = refusal({ clusterFacts: clusterFacts({ oidcIssuerEnabled: false, issuerUrl: '' }) });
    expect(e.code).toBe('oidc-issuer-off');
    expect(e.message).toContain('--enable-oidc-issuer');
    expect(refusal({ clusterFacts: clusterFacts({ workloadIdentityEnabled: false }) }).code).toBe('workload-identity-off');
  });

  it('refuses a ServiceAccount bound to another identity and an AzureIdentity whose client id is stale', () => {
    expect(refusal({ facts: facts({ serviceAccount: { namespace: 'payments', name: 'checkout', annotations: { 'azure.workload.identity/client-id': 'other' }, labels: {} } }) }).code).toBe('serviceaccount-bound-elsewhere');
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, clientId: '00000000-0000-0000-0000-000000000000' } }) }).code).toBe('azureidentity-client-id-mismatch');
  });
});

describe('who may migrate', () => {
  const cmd = (text: string) => {
    const c = parseCommand(text);
    if (!c.ok || c.value.verb !== 'migrate') throw new Error(text);
    return c.value;
  };
  it("lets the namespace's requesters migrate, and its approvers also finish", () => {
    expect(evaluateMigrate(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate payments checkout-binding') }).ok).toBe(true);
    const bob = evaluateMigrate(policy, { requester: { id: 'U0BOB0001' }, requesterGroups: [], command: cmd('migrate payments checkout-binding') });
    expect(bob.ok).toBe(false);
    expect(!bob.ok && bob.error.code).toBe('requester-not-allowed');
    expect(evaluateMigrate(policy, { requester: { id: 'U0BOB0001' }, requesterGroups: [], command: cmd('migrate --finish payments checkout-binding') }).ok).toBe(true);
    expect(evaluateMigrate(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate nowhere b') }).ok).toBe(false);
  });
});

describe('the migrate grammar', () => {
  it('reads the binding, an optional ServiceAccount, --finish anywhere, --cluster and --reason', () => {
    expect(parseCommand('migrate payments checkout-binding')).toEqual({ ok: true, value: { verb: 'migrate', namespace: 'payments', binding: 'checkout-binding', finish: false } });
    expect(parseCommand('migrate payments b sa --cluster green --reason move off pod identity')).toEqual({ ok: true, value: { verb: 'migrate', namespace: 'payments', binding: 'b', serviceAccount: 'sa', cluster: 'green', reason: 'move off pod identity', finish: false } });
    expect(parseArgv(['migrate', '--finish', 'payments', 'b'])).toEqual({ ok: true, value: { verb: 'migrate', namespace: 'payments', binding: 'b', finish: true } });
    expect(parseCommand('migrate payments b --finish')).toMatchObject({ ok: true, value: { finish: true } });
  });
  it('refuses a missing binding, extra words, a value on --finish and --finish twice', () => {
    for (const text of ['migrate payments', 'migrate', 'migrate a b c d', 'migrate --finish=yes a b', 'migrate --finish --finish a b']) {
      const r = parseCommand(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toContain('Usage: /wid migrate');
    }
  });
});

describe('pods, Finish and the add-on', () => {
  const pod = (name: string, over: Partial<PodInfo> = {}): PodInfo => ({ namespace: 'payments', name, serviceAccountName: 'default', labels: { aadpodidbinding: 'checkout' }, phase: 'Running', ...over });
  const m = { binding: { namespace: 'payments', name: 'checkout-binding', selector: 'checkout' }, azureIdentity: { namespace: 'payments', name: 'checkout-id', resourceId: RID, clientId: CLIENT }, existingRoles: [], credentialsAtPlan: 0 };

  it('the binding covers the running pods with the matching aadpodidbinding label in its namespace', () => {
    const pods = [pod('a'), pod('b', { phase: 'Succeeded' }), pod('c', { namespace: 'other' }), pod('d', { labels: { aadpodidbinding: 'else' } }), pod('e', { labels: {} })];
    expect(podsCoveredByBinding(pods, m.binding).map((p) => p.name)).toEqual(['a']);
  });

  it('Finish waits while a covered pod runs without the ServiceAccount or the use label, and names it', () => {
    const moved = { serviceAccountName: 'checkout', labels: { aadpodidbinding: 'checkout', 'azure.workload.identity/use': 'true' } };
    const v = decideFinish([pod('old'), pod('new', moved), pod('half', { serviceAccountName: 'checkout' })], m, 'checkout');
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.waiting).toHaveLength(2);
      expect(v.waiting[0]).toContain('payments/half has no label azure.workload.identity/use');
      expect(v.waiting[1]).toContain('payments/old runs as ServiceAccount default, not checkout');
    }
    expect(decideFinish([pod('new', moved), pod('gone', { phase: 'Failed' })], m, 'checkout')).toEqual({ ok: true, covered: ['payments/new'] });
    expect(decideFinish([], m, 'checkout')).toEqual({ ok: true, covered: [] });
  });

  it('keeps an AzureIdentity another binding still names', () => {
    const objects: LegacyPodIdentity[] = [binding, azureIdentity, { ...binding, name: 'second' }, { ...binding, namespace: 'other', name: 'third' }];
    expect(otherBindingsOf(objects, m.azureIdentity, 'checkout-binding')).toEqual(['payments/second']);
  });

  it('tells how to patch the Deployment', () => {
    const cmd = deploymentPatchCommand('payments', 'checkout');
    const json = /--patch '(.*)'$/.exec(cmd)?.[1] as string;
    expect(JSON.parse(json)).toEqual({ spec: { template: { metadata: { labels: { 'azure.workload.identity/use': 'true' } }, spec: { serviceAccountName: 'checkout' } } } });
  });
});

describe('ids and scopes', () => {
  it('parses user-assigned identity ids case-insensitively and nothing else', () => {
    expect(parseUserAssignedIdentityId(RID.toUpperCase().replace('SUBSCRIPTIONS', 'subscriptions'))?.name).toBe('ID-CHECKOUT');
    expect(parseUserAssignedIdentityId(RID)).toEqual({ subscriptionId: SUB, resourceGroup: 'rg-legacy-identities', name: 'id-checkout' });
    fc.assert(fc.property(fc.string(), (s) => {
      const p = parseUserAssignedIdentityId(s);
      return p === undefined || /userassignedidentities/i.test(s);
    }));
  });

  it('reads search scopes as a subscription, subscription/group or ARM id, and refuses anything else', () => {
    expect(parseSearchScope(SUB)).toEqual({ ok: true, value: { subscriptionId: SUB } });
    expect(parseSearchScope(`${SUB.toUpperCase()}/rg-a`)).toEqual({ ok: true, value: { subscriptionId: SUB, resourceGroup: 'rg-a' } });
    expect(parseSearchScope(`/subscriptions/${SUB}/resourceGroups/rg-a/`)).toEqual({ ok: true, value: { subscriptionId: SUB, resourceGroup: 'rg-a' } });
    for (const bad of ['', 'not-a-guid', `${SUB}/rg/extra`, `${SUB}/bad name`, `${SUB}/ends.`]) expect(parseSearchScope(bad).ok).toBe(false);
  });
});
