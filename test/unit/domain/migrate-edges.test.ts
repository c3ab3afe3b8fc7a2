/**
 * Migration from aad-pod-identity, the edges: every refusal's words (they tell people what to fix), the
 * ServiceAccount chosen, the plan's frozen parts (annotations, tenant, roles in order, credential name), who may
 * migrate, pods and bindings, the patch, and the scopes identities may be adopted from.
 */
import path from 'node:path';
import { loadPolicyFile } from '../../../src/config/policy';
import { parseCommand } from '../../../src/domain/grammar';
import {
  adoptableScopes,
  AZURE_IDENTITY_TYPES,
  deploymentPatch,
  deploymentPatchCommand,
  evaluateMigrate,
  inScopes,
  LABEL_POD_IDENTITY_BINDING,
  migrationRoleName,
  migrationServiceAccount,
  otherBindingsOf,
  planMigration,
  parseUserAssignedIdentityId,
  podNotMoved,
  podsCoveredByBinding,
  type MigrationFacts,
  type MigrationPlanInput,
} from '../../../src/domain/migrate';
import { federatedCredentialName } from '../../../src/domain/names';
import type { FederatedCredential, LegacyPodIdentity, ManagedIdentity, PodInfo } from '../../../src/domain/ports';
import type { ClusterFacts, PolicyCluster, PolicyNamespace } from '../../../src/domain/types';

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
const kv = { roleName: 'Key Vault Secrets User', roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6`, scope: `/subscriptions/${SUB}/resourceGroups/rg-payments`, assignmentId: '/ra/1' };
const facts = (over: Partial<MigrationFacts> = {}): MigrationFacts => ({ binding, azureIdentity, identity, credentials: [], roles: [kv], ...over });
const clusterFacts = (over: Partial<ClusterFacts> = {}): ClusterFacts => ({ name: 'blue', oidcIssuerEnabled: true, issuerUrl: ISSUER, workloadIdentityEnabled: true, ...over });
const input = (over: Partial<MigrationPlanInput> = {}): MigrationPlanInput => ({ policy, cluster, namespace, bindingName: 'checkout-binding', clusterFacts: clusterFacts(), facts: facts(), requestId: 'wid-aaaaaaaaaa', ...over });
const where = `in namespace "payments" on ${cluster.name}`;

function refusal(over: Partial<MigrationPlanInput>): { code: string; message: string; field?: string } {
  const r = planMigration(input(over));
  if (r.ok) throw new Error('expected a refusal');
  return r.error;
}
function plan(over: Partial<MigrationPlanInput> = {}) {
  const r = planMigration(input(over));
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe('the refusals say what is wrong and what to do', () => {
  test('the binding', () => {
    expect(refusal({ facts: facts({ binding: azureIdentity }) })).toEqual({ code: 'binding-not-found', message: `There is no AzureIdentityBinding "checkout-binding" ${where}. \`/wid legacy\` lists the bindings the cluster has.`, field: 'binding' });
    expect(refusal({ facts: facts({ binding: { ...binding, azureIdentity: '' } }) })).toEqual({
      code: 'binding-names-no-identity',
      message: `The AzureIdentityBinding "checkout-binding" ${where} names no AzureIdentity (spec.azureIdentity is empty), so there is no identity to adopt.`,
      field: 'binding',
    });
    expect(refusal({ facts: facts({ binding: { ...binding, selector: '' } }) })).toEqual({
      code: 'binding-selector-unsupported',
      message: `The AzureIdentityBinding "checkout-binding" ${where} has no selector; wid-bot migrates bindings whose spec.selector is a plain value of the pod label aadpodidbinding.`,
      field: 'binding',
    });
    expect(refusal({ facts: facts({ binding: { ...binding, selector: '{"matchLabels":{}}' } }) }).message).toContain('has the selector {"matchLabels":{}}; wid-bot migrates');
  });

  test('the AzureIdentity', () => {
    expect(refusal({ facts: facts({ azureIdentity: binding }) })).toEqual({
      code: 'azureidentity-missing',
      message: `The AzureIdentityBinding "checkout-binding" ${where} names the AzureIdentity "checkout-id", which does not exist in "payments". Its pods get no Azure identity today; use /wid request for a new identity instead.`,
      field: 'binding',
    });
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, identityType: 2 } }) }).message).toBe(
      `The AzureIdentity "checkout-id" ${where} is a service principal with a certificate (spec.type 2), not a user-assigned managed identity: federated credentials for workload identity can be added only to a user-assigned identity or an app registration, which wid-bot does not manage. Use /wid request for a new identity and grant it the roles this one has.`,
    );
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, identityType: 1 } }) }).message).toContain('is a service principal (spec.type 1)');
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, identityType: 3 } }) }).message).toBe(
      `The AzureIdentity "checkout-id" ${where} is an unknown kind of identity (spec.type 3), not a user-assigned managed identity: federated credentials for workload identity can be added only to a user-assigned identity. Use /wid request for a new identity and grant it the roles this one has.`,
    );
    const { identityType: _t, ...untyped } = azureIdentity;
    expect(planMigration(input({ facts: facts({ azureIdentity: untyped as LegacyPodIdentity }) })).ok).toBe(true);
    expect(AZURE_IDENTITY_TYPES).toEqual({ 0: 'user-assigned managed identity', 1: 'service principal', 2: 'service principal with a certificate' });
    const { resourceId: _r, ...noRid } = azureIdentity;
    expect(refusal({ facts: facts({ azureIdentity: noRid as LegacyPodIdentity }) })).toEqual({
      code: 'azureidentity-unknown-resource',
      message: `The AzureIdentity "checkout-id" ${where} has no resourceID (expected /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>).`,
      field: 'binding',
    });
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, resourceId: '/x' } }) }).message).toContain("has the resourceID '/x', which is not the id of a user-assigned managed identity (expected");
  });

  test('the identity in Azure', () => {
    const other = RID.replace('rg-legacy-identities', 'rg-elsewhere');
    const outside = refusal({ facts: facts({ azureIdentity: { ...azureIdentity, resourceId: other } }) });
    expect(outside.code).toBe('identity-outside-policy');
    expect(outside.message).toMatch(new RegExp(`^The identity 'id-checkout' is in subscription ${SUB}, resource group rg-elsewhere, which the policy does not let wid-bot adopt from\\. Allowed: .+\\. Ask the platform team to add the scope to identitySearchScopes\\.$`));
    const { identity: _i, ...gone } = facts();
    expect(refusal({ facts: gone as MigrationFacts })).toEqual({
      code: 'identity-not-found',
      message: `The AzureIdentity "checkout-id" ${where} names the identity '${RID}', which Azure does not have (deleted, or a typo). Nothing to adopt; use /wid request for a new identity.`,
      field: 'binding',
    });
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, clientId: 'aaaa' } }) })).toEqual({
      code: 'azureidentity-client-id-mismatch',
      message: `The AzureIdentity "checkout-id" ${where} says client id aaaa, but the identity 'id-checkout' in Azure has client id ${CLIENT} (it was probably recreated). Fix spec.clientID first, so the migration adopts the identity the pods really use.`,
      field: 'binding',
    });
    // the client id compares without case; an AzureIdentity without one is taken at its resourceID
    expect(planMigration(input({ facts: facts({ azureIdentity: { ...azureIdentity, clientId: CLIENT.toUpperCase() } }) })).ok).toBe(true);
    const { clientId: _c, ...noClient } = azureIdentity;
    expect(planMigration(input({ facts: facts({ azureIdentity: noClient as LegacyPodIdentity }) })).ok).toBe(true);
  });

  test('the cluster', () => {
    const oidc = refusal({ clusterFacts: clusterFacts({ oidcIssuerEnabled: false }) });
    expect(oidc.code).toBe('oidc-issuer-off');
    expect(oidc.message).toMatch(new RegExp(`^The cluster "${cluster.name}" \\(${cluster.aksName}\\) has no OIDC issuer, so Entra cannot trust its ServiceAccount tokens\\. Turn it on with: az aks update`));
    expect(oidc.field).toBe('cluster');
    expect(refusal({ clusterFacts: clusterFacts({ issuerUrl: '  ' }) }).code).toBe('oidc-issuer-off');
    const wi = refusal({ clusterFacts: clusterFacts({ workloadIdentityEnabled: false }) });
    expect(wi.message).toMatch(new RegExp(`^The cluster "${cluster.name}" \\(${cluster.aksName}\\) does not run the workload identity webhook, so pods would not get Azure tokens\\. Turn it on with: az aks update`));
  });

  test('the credential limit and the ServiceAccount', () => {
    const full = Array.from({ length: 20 }, (_, i) => fic(i));
    expect(refusal({ facts: facts({ credentials: full }) })).toEqual({
      code: 'credential-limit',
      message: "The identity 'id-checkout' already has 20 federated credentials, the most Azure allows (20), so it cannot also trust system:serviceaccount:payments:checkout. Remove an unused one (az identity federated-credential list --identity-name id-checkout --resource-group rg-legacy-identities), then ask again.",
      field: 'binding',
    });
    // one of the 20 already has the name wid-bot would give: it is reused, so there is room
    const named = [...full.slice(0, 19), { ...fic(19), name: federatedCredentialName(cluster.name, 'payments', 'checkout').toUpperCase() }];
    expect(planMigration(input({ facts: facts({ credentials: named }) })).ok).toBe(true);
    // one trusting the subject under another audience does not count as ours
    const otherAudience = [...full.slice(0, 19), { ...fic(19), issuer: ISSUER, subject: 'system:serviceaccount:payments:checkout', audiences: ['api://other'] }];
    expect(refusal({ facts: facts({ credentials: otherAudience }) }).code).toBe('credential-limit');
    const bound = refusal({ facts: facts({ serviceAccount: { namespace: 'payments', name: 'checkout', annotations: { 'azure.workload.identity/client-id': ' other ' }, labels: {} } }) });
    expect(bound).toEqual({
      code: 'serviceaccount-bound-elsewhere',
      message: 'The ServiceAccount payments/checkout is already bound to another workload identity (azure.workload.identity/client-id: other); wid-bot never rebinds a ServiceAccount. Name another one: /wid migrate payments checkout-binding <serviceaccount>.',
      field: 'serviceAccount',
    });
    const same = { namespace: 'payments', name: 'checkout', annotations: { 'azure.workload.identity/client-id': CLIENT.toUpperCase() }, labels: {} };
    expect(planMigration(input({ facts: facts({ serviceAccount: same }) })).ok).toBe(true);
    expect(planMigration(input({ facts: facts({ serviceAccount: { ...same, annotations: { 'azure.workload.identity/client-id': '  ' } } }) })).ok).toBe(true);
    expect(refusal({ requestId: ' ' })).toEqual({ code: 'missing-request-id', message: 'A plan needs the id of its request.' });
  });
});

describe('the ServiceAccount a migration binds', () => {
  test('the one asked for (validated), else the selector, else the AzureIdentity name, else a refusal saying how to name it', () => {
    expect(migrationServiceAccount(binding, 'api')).toEqual({ ok: true, value: 'api' });
    expect(migrationServiceAccount(binding, 'Not Valid').ok).toBe(false);
    expect(migrationServiceAccount(binding, undefined)).toEqual({ ok: true, value: 'checkout' });
    expect(migrationServiceAccount({ ...binding, selector: 'Bad Selector' }, undefined)).toEqual({ ok: true, value: 'checkout-id' });
    const none = migrationServiceAccount({ ...binding, selector: 'Bad Selector', azureIdentity: 'Also Bad' }, undefined);
    expect(none).toEqual({
      ok: false,
      error: { code: 'serviceaccount-needed', message: 'The binding "checkout-binding" has no selector or AzureIdentity name that is a valid ServiceAccount name; name the ServiceAccount: /wid migrate payments checkout-binding <serviceaccount>.', field: 'serviceAccount' },
    });
  });
});

describe('the plan', () => {
  test('annotations with the tenant, the credential name, the role line, roles ordered by scope then name, the credential count', () => {
    const roles = [
      { ...kv, roleName: 'B', scope: '/subscriptions/s/resourceGroups/b' },
      { ...kv, roleName: 'Z', scope: '/subscriptions/s/resourceGroups/a' },
      { ...kv, roleName: 'A', scope: '/subscriptions/s/resourceGroups/b' },
    ];
    const p = plan({ facts: facts({ roles, credentials: [fic(1), fic(2)] }) });
    expect(p.serviceAccount.annotations).toEqual({ 'azure.workload.identity/client-id': expect.any(String), 'azure.workload.identity/tenant-id': policy.tenantId });
    expect(p.tenantId).toBe(policy.tenantId);
    expect(p.federatedCredential.name).toBe(federatedCredentialName(cluster.name, 'payments', 'checkout'));
    expect(p.roleAssignment).toEqual({ roleName: 'migrate checkout-binding', scope: RID });
    expect(p.migration?.existingRoles.map((r) => r.roleName)).toEqual(['Z', 'A', 'B']);
    expect(p.migration?.credentialsAtPlan).toBe(2);
    expect(p.cluster).toEqual({ name: cluster.name, subscriptionId: cluster.subscriptionId, resourceGroup: cluster.resourceGroup, aksName: cluster.aksName });
    expect(p.identity.subscriptionId).toBe(SUB);
    const noTenant = plan({ policy: { ...policy, tenantId: '' } });
    expect('tenantId' in noTenant).toBe(false);
    expect(Object.keys(noTenant.serviceAccount.annotations)).toEqual(['azure.workload.identity/client-id']);
    expect(migrationRoleName('b')).toBe('migrate b');
    // a privileged role by name alone also needs two approvers
    expect(plan({ facts: facts({ roles: [{ ...kv, roleName: 'Owner', roleDefinitionId: '/x/unknown' }] }) }).approvalsRequired).toBe(2);
    expect(plan({ facts: facts({ roles: [] }) }).approvalsRequired).toBe(1);
  });
});

describe('who may migrate', () => {
  const cmd = (text: string) => {
    const c = parseCommand(text);
    if (!c.ok || c.value.verb !== 'migrate') throw new Error(text);
    return c.value;
  };
  test('a namespace outside the policy and a requester outside it are refused, saying who may', () => {
    const nowhere = evaluateMigrate(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate nowhere b') });
    expect(!nowhere.ok && nowhere.error.code).toBe('namespace-not-in-policy');
    expect(!nowhere.ok && nowhere.error.message).toMatch(/^The namespace "nowhere" is not in the policy, so nobody can move its pods to workload identity through wid-bot\. Namespaces in the policy: .*payments/);
    const bob = evaluateMigrate(policy, { requester: { id: 'U0BOB0001' }, requesterGroups: [], command: cmd('migrate payments b') });
    expect(!bob.ok && bob.error.message).toMatch(/^You may not migrate bindings in "payments": the policy lets .+ request there\.$/);
    const eve = evaluateMigrate(policy, { requester: { id: 'U0EVE0001' }, requesterGroups: [], command: cmd('migrate --finish payments b') });
    expect(!eve.ok && eve.error.message).toMatch(/request there, and its approvers finish migrations\.$/);
    expect(evaluateMigrate(policy, { requester: { id: 'U0EVE0001' }, requesterGroups: [], command: cmd('migrate payments b'), skipRequesterCheck: true }).ok).toBe(true);
    expect(evaluateMigrate(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate kube-system b') }).ok).toBe(false);
    expect(evaluateMigrate(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate payments b --cluster nope') }).ok).toBe(false);
  });
});

describe('who may migrate: the fields and the decision', () => {
  const cmd = (text: string) => {
    const c = parseCommand(text);
    if (!c.ok || c.value.verb !== 'migrate') throw new Error(text);
    return c.value;
  };
  test('refusals point at the namespace field; an allowed migration names the cluster and the namespace of the policy', () => {
    const nowhere = evaluateMigrate(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate nowhere b') });
    expect(!nowhere.ok && nowhere.error.field).toBe('namespace');
    const bob = evaluateMigrate(policy, { requester: { id: 'U0BOB0001' }, requesterGroups: [], command: cmd('migrate payments b') });
    expect(!bob.ok && bob.error.field).toBe('namespace');
    const reserved = evaluateMigrate(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate kube-system b') });
    expect(!reserved.ok && reserved.error.code).toBe('reserved-namespace');
    expect(evaluateMigrate(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate payments b') })).toEqual({ ok: true, value: { cluster, namespace } });
  });
  test('a policy that allows reserved namespaces lets a migration there through the namespace check', () => {
    const open = { ...policy, allowReservedNamespaces: true, namespaces: [...policy.namespaces, { ...namespace, name: 'kube-system' }] };
    expect(evaluateMigrate(open, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: cmd('migrate kube-system b') }).ok).toBe(true);
  });
});

describe('the plan’s checks, at their edges', () => {
  const SUBJECT = 'system:serviceaccount:payments:checkout';
  test('the identity refusals point at the binding field', () => {
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, identityType: 2 } }) }).field).toBe('binding');
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, resourceId: RID.replace('rg-legacy-identities', 'rg-elsewhere') } }) }).field).toBe('binding');
  });
  test('at 20 credentials only one for this issuer and this subject counts as already there', () => {
    const others = Array.from({ length: 19 }, (_, i) => fic(i));
    const one = (c: Partial<FederatedCredential>) => ({ ...fic(99), name: 'by-hand', ...c });
    expect(refusal({ facts: facts({ credentials: [...others, one({ issuer: ISSUER })] }) }).code).toBe('credential-limit');
    expect(refusal({ facts: facts({ credentials: [...others, one({ subject: SUBJECT })] }) }).code).toBe('credential-limit');
    expect(refusal({ facts: facts({ credentials: [...others, one({ issuer: ISSUER, subject: SUBJECT, audiences: ['api://other'] })] }) }).code).toBe('credential-limit');
    expect(planMigration(input({ facts: facts({ credentials: [...others, one({ issuer: ISSUER, subject: SUBJECT })] }) })).ok).toBe(true);
  });
  test('a service principal (type 1) is pointed to app registrations too; a cluster without the webhook is about the cluster field', () => {
    expect(refusal({ facts: facts({ azureIdentity: { ...azureIdentity, identityType: 1 } }) }).message).toContain('only to a user-assigned identity or an app registration, which wid-bot does not manage.');
    expect(refusal({ clusterFacts: clusterFacts({ workloadIdentityEnabled: false }) })).toMatchObject({ code: 'workload-identity-off', field: 'cluster' });
  });
  test('a ServiceAccount name asked for is validated', () => {
    expect(planMigration(input({ serviceAccount: 'Not_A_Name' })).ok).toBe(false);
  });
  test('client ids compare without case, letters included; a ServiceAccount without the annotation is free', () => {
    const LETTERS = 'abcdef12-3456-7890-abcd-ef1234567890';
    const lettered = facts({ identity: { ...identity, clientId: LETTERS }, azureIdentity: { ...azureIdentity, clientId: LETTERS.toUpperCase() } });
    expect(planMigration(input({ facts: lettered })).ok).toBe(true);
    const sa = (annotations: Record<string, string>) => ({ namespace: 'payments', name: 'checkout', annotations, labels: {} });
    expect(planMigration(input({ facts: { ...lettered, serviceAccount: sa({ 'azure.workload.identity/client-id': ` ${LETTERS.toUpperCase()} ` }) } })).ok).toBe(true);
    expect(planMigration(input({ facts: { ...lettered, serviceAccount: sa({}) } })).ok).toBe(true);
    expect(refusal({ facts: { ...lettered, serviceAccount: sa({ 'azure.workload.identity/client-id': CLIENT }) } }).code).toBe('serviceaccount-bound-elsewhere');
  });
});

describe('user-assigned identity ids', () => {
  test('spaces around are ignored; anything before /subscriptions or after the name is not an identity id', () => {
    expect(parseUserAssignedIdentityId(`  ${RID}/ `)).toEqual({ subscriptionId: SUB, resourceGroup: 'rg-legacy-identities', name: 'id-checkout' });
    expect(parseUserAssignedIdentityId(`/x${RID}`)).toBeUndefined();
    expect(parseUserAssignedIdentityId(`${RID}/federatedIdentityCredentials/c1`)).toBeUndefined();
    expect(parseUserAssignedIdentityId(`${RID}x/`)?.name).toBe('id-checkoutx');
  });
});

describe('pods, bindings and the patch', () => {
  const pod = (name: string, over: Partial<PodInfo> = {}): PodInfo => ({ namespace: 'payments', name, serviceAccountName: 'default', labels: { aadpodidbinding: 'checkout' }, phase: 'Running', ...over });
  test('covered: running or pending or without a phase, sorted by name', () => {
    const pods = [pod('z'), pod('p', { phase: 'Pending' }), pod('n', { phase: undefined }), pod('f', { phase: 'Failed' })];
    expect(podsCoveredByBinding(pods, { namespace: 'payments', selector: 'checkout' }).map((p) => p.name)).toEqual(['n', 'p', 'z']);
    expect(LABEL_POD_IDENTITY_BINDING).toBe('aadpodidbinding');
  });
  test('why a pod has not moved, each reason and both', () => {
    expect(podNotMoved(pod('a', { serviceAccountName: 'checkout', labels: { 'azure.workload.identity/use': 'true' } }), 'checkout')).toBeUndefined();
    expect(podNotMoved(pod('a'), 'checkout')).toBe('payments/a runs as ServiceAccount default, not checkout and has no label azure.workload.identity/use: "true"');
    expect(podNotMoved(pod('a', { serviceAccountName: 'checkout', labels: { 'azure.workload.identity/use': 'yes' } }), 'checkout')).toBe('payments/a has no label azure.workload.identity/use: "true"');
  });
  test('other bindings of the AzureIdentity: same namespace, same AzureIdentity, not this one, not the AzureIdentity itself', () => {
    const objects: LegacyPodIdentity[] = [binding, azureIdentity, { ...binding, name: 'b2' }, { ...binding, name: 'b3', azureIdentity: 'else' }, { ...azureIdentity, name: 'checkout-id' }];
    expect(otherBindingsOf(objects, { namespace: 'payments', name: 'checkout-id' }, 'checkout-binding')).toEqual(['payments/b2']);
  });
  test('the Deployment patch, as YAML and as one kubectl command', () => {
    expect(deploymentPatch('checkout')).toBe('spec:\n  template:\n    metadata:\n      labels:\n        azure.workload.identity/use: "true"\n    spec:\n      serviceAccountName: checkout');
    expect(deploymentPatchCommand('payments', 'checkout')).toBe(
      `kubectl -n payments patch deployment <name> --patch '{"spec":{"template":{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"serviceAccountName":"checkout"}}}}'`,
    );
  });
});

describe('adoptable scopes', () => {
  test('the identity group first, then identitySearchScopes; a subscription scope covers all its groups; case does not matter', () => {
    const scopes = adoptableScopes({ ...policy, identitySearchScopes: [{ subscriptionId: 'AAAA' }] });
    expect(scopes[0]).toEqual({ subscriptionId: policy.identities.subscriptionId, resourceGroup: policy.identities.resourceGroup });
    expect(scopes.at(-1)).toEqual({ subscriptionId: 'AAAA' });
    expect(adoptableScopes({ ...policy, identitySearchScopes: undefined })).toHaveLength(1);
    expect(inScopes(scopes, { subscriptionId: 'aaaa', resourceGroup: 'anything', name: 'x' })).toBe(true);
    expect(inScopes(scopes, { subscriptionId: policy.identities.subscriptionId.toUpperCase(), resourceGroup: policy.identities.resourceGroup.toUpperCase(), name: 'x' })).toBe(true);
    expect(inScopes(scopes, { subscriptionId: policy.identities.subscriptionId, resourceGroup: 'other', name: 'x' })).toBe(false);
    expect(inScopes([], { subscriptionId: 'aaaa', resourceGroup: 'g', name: 'x' })).toBe(false);
  });
});
