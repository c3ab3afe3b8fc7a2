/**
 * Re-federation against the world: a cluster recreated (once, then again) gets a new issuer; wid-bot, having
 * recorded the old one, finds the identities trusting it, writes a credential for the new issuer per
 * ServiceAccount, verifies each at Entra, skips an identity at 20 credentials by name, reports a subject whose
 * ServiceAccount is gone, and removes the old credentials only in its second step.
 */
import { createAzureAdapters } from '../../../src/azure';
import { planClusterRefederate } from '../../../src/app/refederate-plan';
import type { RefederatePlan } from '../../../src/domain/refederate';
import { createInspector } from '../../../src/inspect';
import { removeOldCredentials, runRefederate, type RefederateDeps } from '../../../src/provision/refederate';
import { IssuerHistory, recordingIssuers } from '../../../src/store/issuers';
import { processRefederateJob } from '../../../src/app/refederate';
import { applyBatchAction, type RefederationBatch } from '../../../src/domain/refederate-batch';
import { RefederationStore } from '../../../src/store/refederations';
import { startHarness, WORLD, type Harness } from './harness';

const RG = WORLD.identityResourceGroup;
const SUB = WORLD.subscriptionId;
const subject = (ns: string, sa: string) => `system:serviceaccount:${ns}:${sa}`;

let h: Harness;
let issuers: IssuerHistory;

beforeAll(async () => {
  // Issuers in AKS's shape, before and after each recreate.
  h = await startHarness({ aksIssuerRegion: 'westeurope' });
  issuers = new IssuerHistory(h.store.redis, h.prefix);
});
afterAll(async () => {
  await h?.close();
});

function planDeps() {
  const azure = createAzureAdapters(h.azureConfig);
  const clusters = recordingIssuers(azure.clusters, issuers);
  const base = h.deps();
  return { policy: h.policy, clusters, identities: azure.identities, kube: () => base.kube, issuerHistory: (c: string) => issuers.history(c) };
}

function runDeps(): RefederateDeps {
  const d = h.deps();
  return { identities: d.identities, kube: d.kube, ...(d.tokenExchange ? { tokenExchange: d.tokenExchange } : {}), redis: d.redis, keys: d.keys, verify: { enabled: true, timeoutMs: 10_000 }, limits: { retryBaseMs: 50, lockTtlMs: 1500 } };
}

async function plan(): Promise<RefederatePlan> {
  const p = await planClusterRefederate(planDeps(), clusterName());
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

const clusterName = () => h.policy.clusters[0]?.name ?? 'aks-dev';

describe('refederate', () => {
  it('refuses while wid-bot has seen only one issuer, and names the cluster without OIDC', async () => {
    const r = await planClusterRefederate(planDeps(), clusterName());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('issuer-unchanged');
    const unknown = await planClusterRefederate(planDeps(), 'nope');
    expect(!unknown.ok && unknown.error.message).toContain('There is no cluster "nope" in the policy');
  });

  it('after a recreate: plans, writes, verifies, skips at the limit, reports gone ServiceAccounts, removes old credentials in step two', async () => {
    const { world } = h;
    const oldIssuer = world.kube.issuerUrl;
    await planDeps().clusters.getClusterFacts(h.policy.clusters[0] as never); // wid-bot sees the cluster before it is recreated
    const seed = (name: string) => world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name });
    const apps = ['orders', 'billing', 'ledger'];
    const ids = apps.map((a) => {
      const i = seed(`id-${a}`);
      world.arm.state.seedFederatedCredential(i.id, { name: `finance-${a}`, issuer: oldIssuer, subject: subject('finance', a) });
      world.kube.seedServiceAccount({ namespace: 'finance', name: a, annotations: { 'azure.workload.identity/client-id': i.clientId } });
      return i;
    });
    const full = seed('id-full');
    world.arm.state.seedFederatedCredential(full.id, { name: 'finance-full', issuer: oldIssuer, subject: subject('finance', 'full') });
    for (let i = 0; i < 19; i++) world.arm.state.seedFederatedCredential(full.id, { name: `gha-${i}`, issuer: 'https://token.actions.githubusercontent.com', subject: `repo:c/a:environment:e${i}` });
    world.kube.seedServiceAccount({ namespace: 'finance', name: 'full', annotations: { 'azure.workload.identity/client-id': full.clientId } });
    const gone = seed('id-gone');
    world.arm.state.seedFederatedCredential(gone.id, { name: 'finance-gone', issuer: oldIssuer, subject: subject('finance', 'gone') });

    const newIssuer = world.recreateCluster();
    expect(newIssuer).not.toBe(oldIssuer);
    expect(oldIssuer).toMatch(new RegExp(`^https://westeurope\\.oic\\.prod-aks\\.azure\\.com/${WORLD.tenantId}/[0-9a-f-]{36}/$`));
    expect(newIssuer).toMatch(new RegExp(`^https://westeurope\\.oic\\.prod-aks\\.azure\\.com/${WORLD.tenantId}/[0-9a-f-]{36}/$`));

    // The audit names the change and points at /wid refederate.
    const d = planDeps();
    const audit = await createInspector({ ...d, kube: d.kube }).audit({});
    const changed = audit.findings.filter((f) => f.code === 'credential-issuer-changed');
    expect(changed.map((f) => f.subject).sort()).toEqual([...apps, 'full'].map((a) => `credential/${RG}/id-${a}/finance-${a}`).sort());
    expect(changed[0]?.fix).toBe(`/wid refederate ${clusterName()}`);
    expect(audit.findings.filter((f) => f.code === 'credential-issuer-changed-sa-gone').map((f) => f.subject)).toEqual([`credential/${RG}/id-gone/finance-gone`]);
    expect(audit.findings.some((f) => f.code === 'credential-stale-issuer')).toBe(false);

    const p = await plan();
    expect(p.currentIssuer).toBe(newIssuer);
    expect(p.previousIssuers).toEqual([oldIssuer]);
    expect(p.items.map((i) => i.identity.name).sort()).toEqual(apps.map((a) => `id-${a}`).sort());
    expect(p.skipped.map((s) => s.identity.name)).toEqual(['id-full']);
    expect(p.gone.map((g) => g.subject)).toEqual([subject('finance', 'gone')]);

    const results = await runRefederate(p, runDeps());
    expect(results.filter((r) => r.outcome === 'done').map((r) => r.identity).sort()).toEqual(apps.map((a) => `id-${a}`).sort());
    expect(results.every((r) => r.outcome !== 'done' || r.verified)).toBe(true);
    expect(results.find((r) => r.identity === 'id-full')).toMatchObject({ outcome: 'skipped', detail: expect.stringContaining('limit reached') });
    // Old credentials are still there until step two.
    const azure = createAzureAdapters(h.azureConfig);
    const ref = (i: { name: string }) => ({ subscriptionId: SUB, resourceGroup: RG, name: i.name });
    for (const i of ids) {
      const creds = await azure.identities.listFederatedCredentials(ref(i));
      expect(creds.map((c) => c.issuer).sort()).toEqual([newIssuer, oldIssuer].sort());
    }
    // Running again writes nothing new.
    const before = world.arm.stats().byLimit.write.allowed;
    const again = await runRefederate(p, runDeps());
    expect(again.filter((r) => r.outcome === 'done')).toHaveLength(3);
    expect(world.arm.stats().byLimit.write.allowed).toBe(before);

    const verified = new Set(results.filter((r) => r.outcome === 'done' && r.verified).map((r) => r.key));
    const removal = await removeOldCredentials(p, verified, runDeps());
    expect(removal.filter((r) => r.outcome === 'done')).toHaveLength(3);
    for (const i of ids) {
      const creds = await azure.identities.listFederatedCredentials(ref(i));
      expect(creds.map((c) => c.issuer)).toEqual([newIssuer]);
    }
    // Removing twice is harmless.
    expect((await removeOldCredentials(p, verified, runDeps())).every((r) => r.outcome === 'done')).toBe(true);

    // Recreated a second time: the history holds both old issuers, and the credentials just written move on again.
    await planDeps().clusters.getClusterFacts(h.policy.clusters[0] as never);
    const third = world.recreateCluster();
    const p2 = await plan();
    expect(p2.currentIssuer).toBe(third);
    expect(p2.previousIssuers).toEqual([newIssuer, oldIssuer]);
    expect(p2.items.map((i) => i.identity.name).sort()).toEqual(apps.map((a) => `id-${a}`).sort());
    const r2 = await runRefederate(p2, runDeps());
    expect(r2.filter((r) => r.outcome === 'done' && r.verified)).toHaveLength(3);
    const history = await issuers.history(clusterName());
    expect(history.map((x) => x.issuer)).toEqual([oldIssuer, newIssuer, third]);
  });

  it('the worker step: a ServiceAccount deleted before verification fails its item (others done), Retry reruns only it once it is back, and the claim allows one batch per cluster', async () => {
    const { world } = h;
    const store = new RefederationStore(h.store.redis, h.prefix);
    const oldIssuer = world.kube.issuerUrl;
    await planDeps().clusters.getClusterFacts(h.policy.clusters[0] as never);
    for (const a of ['ship', 'track']) {
      const i = world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: `id-${a}` });
      world.arm.state.seedFederatedCredential(i.id, { name: `payments-${a}`, issuer: oldIssuer, subject: subject('payments', a) });
      world.kube.seedServiceAccount({ namespace: 'payments', name: a, annotations: { 'azure.workload.identity/client-id': i.clientId } });
    }
    world.recreateCluster();
    const p = await plan();
    const now = new Date();
    const base: RefederationBatch = {
      id: 'ref-retrytest22', cluster: clusterName(), state: 'pending', requester: { id: 'UADMIN' }, plan: { ...p, items: p.items.filter((i) => i.namespace === 'payments'), skipped: [], gone: [] },
      keepOldCredentials: false, results: [], removal: [], createdAt: now.toISOString(), updatedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString(), version: 0,
    };
    expect(await store.create(base)).toEqual({ created: true });
    expect(await store.create({ ...base, id: 'ref-othertest22' })).toEqual({ created: false, holder: 'ref-retrytest22' });
    const approved = applyBatchAction(base, { type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true }, now);
    if (!approved.ok) throw new Error(approved.error.message);
    expect(await store.compareAndSet(base, approved.value)).toBe(true);
    expect(await store.compareAndSet(base, approved.value)).toBe(false); // a second writer with the old version loses

    await h.deps().kube.deleteServiceAccount('payments', 'track');
    const ran = await processRefederateJob({ store, deps: runDeps() }, { batchId: base.id, kind: 'run' });
    expect(ran?.state).toBe('verified');
    const byId = Object.fromEntries((ran?.results ?? []).map((r) => [r.identity, r]));
    expect(byId['id-ship']).toMatchObject({ outcome: 'done', verified: true });
    expect(byId['id-track']).toMatchObject({ outcome: 'failed', detail: expect.stringContaining('payments/track') });
    expect(await store.holderOf(clusterName())).toBeUndefined(); // the run ended: the cluster is free

    world.kube.seedServiceAccount({ namespace: 'payments', name: 'track' });
    const cur = (await store.get(base.id)) as RefederationBatch;
    const retry = applyBatchAction(cur, { type: 'retry', actor: { id: 'UADMIN' }, actorMayConfirm: true }, new Date());
    if (!retry.ok) throw new Error(retry.error.message);
    expect(await store.compareAndSet(cur, retry.value)).toBe(true);
    const writes = world.arm.stats().byLimit.write.allowed;
    const again = await processRefederateJob({ store, deps: runDeps() }, { batchId: base.id, kind: 'run' });
    expect(again?.results.filter((r) => r.outcome !== 'done' || !r.verified)).toEqual([]);
    expect(world.arm.stats().byLimit.write.allowed).toBe(writes); // the credential was written the first time; the retry only verifies
  });
});

