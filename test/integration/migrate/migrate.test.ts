/**
 * `/wid migrate` against the world: the planner reads the AzureIdentityBinding, its AzureIdentity and
 * the identity in ARM; the engine adds the credential and binds the ServiceAccount; Finish removes the
 * pod-identity objects only once the pods moved; a revoke keeps the adopted identity and its roles.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createAzureAdapters } from '../../../src/azure';
import { parsePolicy } from '../../../src/config/policy';
import { Migrations } from '../../../src/app/migrate';
import { TerminalError } from '../../../src/domain/errors';
import type { MigrateCommand } from '../../../src/domain/grammar';
import { applyAction, newRequest } from '../../../src/domain/lifecycle';
import type { Plan, Policy, WidRequest } from '../../../src/domain/types';
import { createKubeAdapter } from '../../../src/kube';
import { provisionMigration, provisionRevoke, readInventory, StepError } from '../../../src/provision';
import { run as runPlan } from '../../../src/cli/plan';
import { keyVaultScope, worldPolicyYaml } from '../../emulators/world';
import { startHarness, WORLD, type Harness } from '../provision/harness';

const SUB = WORLD.subscriptionId;
const LEGACY_RG = 'rg-legacy-identities';
const ALICE = WORLD.users.requester;

function migratePolicy(): Policy {
  return parsePolicy(`${worldPolicyYaml()}identitySearchScopes:\n  - ${SUB}/${LEGACY_RG}\n`, 'migrate test policy');
}

describe('/wid migrate against the world', () => {
  let h: Harness;
  let migrations: Migrations;
  let policy: Policy;
  let core: CoreV1Api;

  beforeAll(async () => {
    h = await startHarness({ kube: { namespaces: ['finance', 'payments'], podIdentityCrds: true } });
    policy = migratePolicy();
    for (const name of [LEGACY_RG, 'rg-far-away']) h.world.arm.state.putResourceGroup({ subscriptionId: SUB, name, location: WORLD.location });
    const azure = createAzureAdapters(h.azureConfig);
    const kube = createKubeAdapter({ kubeconfigYaml: h.world.kube.kubeconfig() });
    migrations = new Migrations({ policy, identities: azure.identities, authorization: azure.authorization, kube: () => kube, clusterFacts: (c) => azure.clusters.getClusterFacts(c) });
    const kc = new KubeConfig();
    kc.loadFromString(h.world.kube.kubeconfig());
    core = kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** An aad-pod-identity setup: an identity in the legacy group with a role, its AzureIdentity and binding, and pods. */
  function legacyApp(app: string, opts: { pods?: number; type?: number; resourceID?: string } = {}) {
    const identity = h.world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: LEGACY_RG, name: `id-${app}`, createdAt: Date.now() - 600_000 });
    h.world.arm.state.seedRoleAssignment({ scope: keyVaultScope(), role: 'Key Vault Secrets User', principalId: identity.principalId });
    h.world.kube.seedAzureIdentity({ namespace: 'finance', name: `${app}-identity`, clientID: identity.clientId, resourceID: opts.resourceID ?? identity.id, ...(opts.type !== undefined ? { type: opts.type } : {}) });
    h.world.kube.seedAzureIdentityBinding({ namespace: 'finance', name: `${app}-binding`, azureIdentity: `${app}-identity`, selector: app });
    for (let i = 0; i < (opts.pods ?? 1); i++) h.world.kube.seedPod({ namespace: 'finance', name: `${app}-old-${i}`, labels: { aadpodidbinding: app } });
    return identity;
  }

  const command = (binding: string, over: Partial<MigrateCommand> = {}): MigrateCommand => ({ verb: 'migrate', namespace: 'finance', binding, finish: false, ...over });

  async function plan(binding: string, over: Partial<MigrateCommand> = {}, user = ALICE) {
    return migrations.plan({ id: user }, [], command(binding, over), `wid-${randomBytes(5).toString('hex')}`);
  }

  async function approved(p: Plan): Promise<WidRequest> {
    const id = `wid-${randomBytes(5).toString('hex')}`;
    const { request, event } = newRequest({ id, plan: p, requester: { id: ALICE }, now: new Date(), policy });
    await h.store.create(request, event);
    const a = applyAction(request, { type: 'approve', actor: { id: WORLD.users.approver }, actorIsApprover: true }, new Date());
    if (!a.ok) throw new Error(a.error.message);
    await h.store.compareAndSet(request, a.value.request, a.value.event);
    return (await h.store.get(id)) as WidRequest;
  }

  async function migrated(app: string): Promise<{ request: WidRequest; identity: ReturnType<typeof legacyApp> }> {
    const identity = legacyApp(app, { pods: 2 });
    const p = await plan(`${app}-binding`);
    if (!p.ok) throw new Error(p.error.message);
    const request = await approved(p.value);
    const resources = await provisionMigration(request, h.deps());
    const succeeded = applyAction({ ...request, state: 'provisioning' }, { type: 'succeed', resources }, new Date());
    if (!succeeded.ok) throw new Error(succeeded.error.message);
    return { request: { ...succeeded.value.request, resources: { ...request.resources, ...resources } }, identity };
  }

  it('plans the adopted identity with the roles it holds, then binds the ServiceAccount to it without creating anything in Azure but the credential', async () => {
    const identity = legacyApp('reports', { pods: 2 });
    const identitiesBefore = h.world.arm.state.identities().length;
    const assignmentsBefore = h.world.arm.state.roleAssignments().length;

    const p = await plan('reports-binding');
    if (!p.ok) throw new Error(p.error.message);
    expect(p.value.kind).toBe('migrate');
    expect(p.value.identity.resourceId.toLowerCase()).toBe(identity.id.toLowerCase());
    expect(p.value.migration?.existingRoles).toEqual([expect.objectContaining({ roleName: 'Key Vault Secrets User', scope: keyVaultScope() })]);
    expect(p.value.serviceAccount.name).toBe('reports');

    const request = await approved(p.value);
    const resources = await provisionMigration(request, h.deps());
    expect(resources).toMatchObject({ clientId: identity.clientId, identityCreatedByWid: false, verified: true, serviceAccount: 'finance/reports' });
    expect(resources.migratedPods).toEqual(['finance/reports-old-0', 'finance/reports-old-1']);

    const fics = h.world.arm.state.federatedCredentials().filter((f) => f.identityId.toLowerCase() === identity.id.toLowerCase());
    expect(fics.map((f) => [f.issuer, f.subject])).toEqual([[h.world.kube.issuerUrl, 'system:serviceaccount:finance:reports']]);
    expect(h.world.kube.getServiceAccount('finance', 'reports')?.metadata.annotations?.['azure.workload.identity/client-id']).toBe(identity.clientId);
    expect(h.world.arm.state.identities()).toHaveLength(identitiesBefore);
    expect(h.world.arm.state.roleAssignments()).toHaveLength(assignmentsBefore);
    // aad-pod-identity keeps serving the pods meanwhile
    const legacy = await createKubeAdapter({ kubeconfigYaml: h.world.kube.kubeconfig() }).listLegacyPodIdentities();
    expect(legacy.filter((o) => o.name.startsWith('reports-')).map((o) => o.kind).sort()).toEqual(['AzureIdentity', 'AzureIdentityBinding']);

    // running it again changes nothing
    const again = await provisionMigration({ ...request, resources }, h.deps());
    expect(again.clientId).toBe(identity.clientId);
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId.toLowerCase() === identity.id.toLowerCase())).toHaveLength(1);
  }, 30_000);

  it('Finish refuses while a covered pod runs the old way, then removes the binding and AzureIdentity, says the add-on can go, and is idempotent', async () => {
    const { request } = await migrated('ledger');
    const first = await migrations.finish({ id: ALICE }, [], request);
    expect(first.kind).toBe('refused');
    expect(first.message).toContain('finance/ledger-old-0 runs as ServiceAccount default, not ledger');
    expect(first.message).toContain('finance/ledger-old-1');

    // the Deployment rolled: old pods gone, new ones on the ServiceAccount with the use label
    await core.deleteNamespacedPod({ namespace: 'finance', name: 'ledger-old-0' });
    await core.deleteNamespacedPod({ namespace: 'finance', name: 'ledger-old-1' });
    h.world.kube.seedPod({ namespace: 'finance', name: 'ledger-new-0', serviceAccountName: 'ledger', labels: { aadpodidbinding: 'ledger', 'azure.workload.identity/use': 'true' } });

    const done = await migrations.finish({ id: ALICE }, [], request);
    expect(done.kind).toBe('finished');
    if (done.kind !== 'finished') return;
    expect(done.removed).toEqual(['AzureIdentityBinding finance/ledger-binding', 'AzureIdentity finance/ledger-identity']);
    expect(done.message).toContain('finance/ledger-new-0');
    // the reports binding of the first test is still there: the add-on must stay
    expect(done.addonOff).toContain('keep the pod-identity add-on');
    const legacy = await createKubeAdapter({ kubeconfigYaml: h.world.kube.kubeconfig() }).listLegacyPodIdentities();
    expect(legacy.some((o) => o.name.startsWith('ledger-'))).toBe(false);
    // the identity itself stays
    expect(h.world.arm.state.identities().some((i) => i.name === 'id-ledger')).toBe(true);

    const twice = await migrations.finish({ id: ALICE }, [], request);
    expect(twice).toMatchObject({ kind: 'finished', removed: [] });
    expect(twice.message).toContain('Nothing left to remove');
  }, 30_000);

  it('revoking a migration removes only the credential and the annotation: the adopted identity and its roles stay', async () => {
    const { request, identity } = await migrated('audit');
    const assignments = h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity.principalId);
    expect(assignments).toHaveLength(1);
    const id = `wid-${randomBytes(5).toString('hex')}`;
    const { request: revoke } = newRequest({ id, plan: { ...request.plan, kind: 'revoke', approvalsRequired: 1 }, requester: { id: ALICE }, now: new Date(), policy });
    await h.store.create(revoke, { requestId: id, actor: { id: ALICE }, from: null, to: 'pending', at: new Date().toISOString() });
    await provisionRevoke({ ...revoke, kind: 'revoke', resources: request.resources }, h.deps());
    expect(h.world.arm.state.identities().some((i) => i.id.toLowerCase() === identity.id.toLowerCase())).toBe(true);
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity.principalId)).toEqual(assignments);
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId.toLowerCase() === identity.id.toLowerCase())).toEqual([]);
    expect(h.world.kube.getServiceAccount('finance', 'audit')?.metadata.annotations?.['azure.workload.identity/client-id']).toBeUndefined();
  }, 30_000);

  it('refuses a binding whose AzureIdentity is missing, a service principal, an unknown resourceID and one outside the policy scopes', async () => {
    h.world.kube.seedAzureIdentityBinding({ namespace: 'finance', name: 'orphan-binding', azureIdentity: 'nobody', selector: 'orphan' });
    const orphan = await plan('orphan-binding');
    expect(!orphan.ok && orphan.error).toMatchObject({ code: 'azureidentity-missing' });

    legacyApp('sp', { type: 1 });
    const sp = await plan('sp-binding');
    expect(!sp.ok && sp.error.code).toBe('azureidentity-not-user-assigned');
    expect(!sp.ok && sp.error.message).toContain('service principal');

    legacyApp('ghost', { resourceID: `/subscriptions/${SUB}/resourceGroups/${LEGACY_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-never-made` });
    const ghost = await plan('ghost-binding');
    expect(!ghost.ok && ghost.error.code).toBe('identity-not-found');

    const far = h.world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-far-away', name: 'id-far' });
    h.world.kube.seedAzureIdentity({ namespace: 'finance', name: 'far-identity', clientID: far.clientId, resourceID: far.id });
    h.world.kube.seedAzureIdentityBinding({ namespace: 'finance', name: 'far-binding', azureIdentity: 'far-identity', selector: 'far' });
    const outside = await plan('far-binding');
    expect(!outside.ok && outside.error.code).toBe('identity-outside-policy');

    const none = await plan('no-such-binding');
    expect(!none.ok && none.error.code).toBe('binding-not-found');
  }, 30_000);

  it('refuses a requester the namespace does not allow', async () => {
    h.world.kube.seedAzureIdentityBinding({ namespace: 'payments', name: 'pay-binding', azureIdentity: 'pay-identity', selector: 'pay' });
    const r = await migrations.plan({ id: WORLD.users.outsider }, [], { verb: 'migrate', namespace: 'payments', binding: 'pay-binding', finish: false }, 'wid-aaaaaaaaaa');
    expect(!r.ok && r.error.code).toBe('requester-not-allowed');
  });

  it('an identity at 20 credentials is refused at planning, and at provisioning when it filled up after the approval', async () => {
    const full = legacyApp('full');
    for (let i = 0; i < 20; i++) h.world.arm.state.seedFederatedCredential(full.id, { name: `gha-${i}`, issuer: 'https://token.actions.githubusercontent.com', subject: `repo:contoso/app:environment:e${i}` });
    const refused = await plan('full-binding');
    expect(!refused.ok && refused.error.code).toBe('credential-limit');

    const late = legacyApp('late');
    const p = await plan('late-binding');
    if (!p.ok) throw new Error(p.error.message);
    const request = await approved(p.value);
    for (let i = 0; i < 20; i++) h.world.arm.state.seedFederatedCredential(late.id, { name: `gha-${i}`, issuer: 'https://token.actions.githubusercontent.com', subject: `repo:contoso/app:environment:e${i}` });
    const e = await provisionMigration(request, h.deps()).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(TerminalError);
    expect((e as TerminalError).code).toBe('FederatedCredentialLimit');
    expect(h.world.kube.getServiceAccount('finance', 'late')).toBeUndefined();
  }, 30_000);

  it('says where wid-bot lacks permission when Azure answers 403 for the identity credentials', async () => {
    legacyApp('locked');
    h.world.arm.deny({ path: 'id-locked/federatedIdentityCredentials', action: 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/*' });
    try {
      const r = await plan('locked-binding');
      expect(!r.ok && r.error.code).toBe('identity-not-writable');
      expect(!r.ok && r.error.message).toContain('Managed Identity Contributor');
      expect(!r.ok && r.error.message).toContain(LEGACY_RG);
    } finally {
      h.world.arm.clearDenies();
    }
  });

  it('a credential write Azure refuses (403) fails terminally, saying wid-bot lacks Managed Identity Contributor there', async () => {
    legacyApp('readonly');
    const p = await plan('readonly-binding');
    if (!p.ok) throw new Error(p.error.message);
    const request = await approved(p.value);
    h.world.arm.deny({ method: 'PUT', path: 'id-readonly/federatedIdentityCredentials' });
    try {
      const e = await provisionMigration(request, h.deps()).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(StepError);
      expect(e).toMatchObject({ kind: 'terminal', step: 'federatedCredential', code: 'AuthorizationFailed' });
      expect((e as StepError).message).toContain(`Managed Identity Contributor on resource group ${LEGACY_RG}`);
      // what the failed request shows: the identity and its own roles as they were, no role assignment "missing"
      const inventory = await readInventory(request, h.deps());
      expect(inventory.text).toContain('unchanged: the adopted identity\'s own 1 role assignment(s)');
      expect(inventory.text).not.toContain('missing: role assignment');
      expect(inventory.text).toContain(`missing: federated credential '${request.plan.federatedCredential.name}'`);
    } finally {
      h.world.arm.clearDenies();
    }
  });

  it('refuses a cluster without OIDC issuer', async () => {
    legacyApp('nooidc');
    h.world.arm.setCluster({ subscriptionId: SUB, resourceGroup: WORLD.aksResourceGroup, name: WORLD.aksName, location: WORLD.location, oidcIssuerEnabled: false, workloadIdentityEnabled: false });
    const r = await plan('nooidc-binding');
    expect(!r.ok && r.error.code).toBe('oidc-issuer-off');
    expect(!r.ok && r.error.message).toContain('az aks update');
  });
});

describe('wid plan … migrate', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ kube: { namespaces: ['finance', 'payments'], podIdentityCrds: true } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('prints the migrate plan with the roles the identity holds, and refuses with the planner\'s reason', async () => {
    const identity = h.world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: WORLD.identityResourceGroup, name: 'id-dry' });
    h.world.arm.state.seedRoleAssignment({ scope: keyVaultScope(), role: 'Key Vault Secrets User', principalId: identity.principalId });
    h.world.kube.seedAzureIdentity({ namespace: 'finance', name: 'dry-identity', clientID: identity.clientId, resourceID: identity.id });
    h.world.kube.seedAzureIdentityBinding({ namespace: 'finance', name: 'dry-binding', azureIdentity: 'dry-identity', selector: 'dry' });
    const azure = createAzureAdapters(h.azureConfig);
    const kube = createKubeAdapter({ kubeconfigYaml: h.world.kube.kubeconfig() });
    const deps = { clusterPort: azure.clusters, migrations: { identities: azure.identities, authorization: azure.authorization, kube: () => kube } };
    const out: string[] = [];
    const io = { out: (t: string) => void out.push(t), err: () => {}, env: {} };
    expect(await runPlan(['--policy', h.world.files.policy, 'migrate', 'finance', 'dry-binding'], io, deps)).toBe(0);
    const plan = JSON.parse(out.join('')) as Plan;
    expect(plan.kind).toBe('migrate');
    expect(plan.migration?.existingRoles.map((r) => r.roleName)).toEqual(['Key Vault Secrets User']);
    expect(plan.federatedCredential.issuer).toBe(h.world.kube.issuerUrl);
    // nothing was written
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId.toLowerCase() === identity.id.toLowerCase())).toEqual([]);
    await expect(runPlan(['--policy', h.world.files.policy, 'migrate', 'finance', 'no-binding'], io, deps)).rejects.toThrow('There is no AzureIdentityBinding "no-binding"');
    await expect(runPlan(['--policy', h.world.files.policy, '--as', WORLD.users.outsider, 'migrate', 'payments', 'dry-binding'], io, deps)).rejects.toThrow('You may not migrate bindings in "payments"');
  });
});
