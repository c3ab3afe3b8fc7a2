/**
 * The federation engine against the world with three clusters: two federations of one identity at once keep to
 * one writer per identity (ARM refuses concurrent credential writes under one identity), each verified with
 * its own cluster's token; an identity that reached 20 credentials after planning is refused before any write.
 */
import { createAzureAdapters } from '../../../src/azure';
import { buildFederationPlan } from '../../../src/domain/federate';
import { applyAction, newRequest } from '../../../src/domain/lifecycle';
import type { PolicyCluster, WidRequest } from '../../../src/domain/types';
import type { IdentityPort } from '../../../src/domain/ports';
import { createKubeAdapter } from '../../../src/kube';
import { provisionFederation, provisionGrant } from '../../../src/provision';
import { caught } from '../../support/helpers';
import { startHarness, WORLD, type Harness } from '../provision/harness';

describe('provisionFederation', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ extraClusters: [{ name: 'green', aksName: 'aks-green' }, { name: 'red', aksName: 'aks-red' }] });
  });
  afterAll(async () => h?.close());

  const kubeOf = (name: string) => createKubeAdapter({ kubeconfigYaml: (name === 'blue' ? h.world.kube : h.world.kubes[name])?.kubeconfig() ?? '' });

  /** The approved federate request of `source` for a cluster, planned as /wid federate plans it. */
  async function approvedFederation(source: WidRequest, clusterName: string): Promise<WidRequest> {
    const azure = createAzureAdapters(h.azureConfig);
    const target = h.policy.clusters.find((c) => c.name === clusterName) as PolicyCluster;
    const ref = { subscriptionId: source.plan.identity.subscriptionId, resourceGroup: source.plan.identity.resourceGroup, name: source.plan.identity.name };
    const id = `wid-fed${clusterName}${Math.random().toString(36).slice(2, 6)}`;
    const plan = buildFederationPlan({
      policy: h.policy,
      source,
      target,
      targetFacts: await azure.clusters.getClusterFacts(target),
      credentials: await azure.identities.listFederatedCredentials(ref),
      issuers: {},
      requestId: id,
    });
    if (!plan.ok) throw new Error(plan.error.message);
    const { request, event } = newRequest({ id, plan: plan.value, requester: { id: WORLD.users.requester }, now: new Date(), policy: h.policy });
    await h.store.create(request, event);
    const approved = applyAction(request, { type: 'approve', actor: { id: WORLD.users.approver }, actorIsApprover: true }, new Date());
    if (!approved.ok || !(await h.store.compareAndSet(request, approved.value.request, approved.value.event))) throw new Error('could not approve');
    return (await h.store.get(id)) as WidRequest;
  }

  it('two clusters federated at once: both credentials written one at a time, each verified on its own cluster', async () => {
    const grant = await h.approvedGrant('fed-sa');
    await provisionGrant(grant, h.deps());
    const [green, red] = await Promise.all([approvedFederation(grant, 'green'), approvedFederation(grant, 'red')]);
    // Counts credential writes in flight under the identity; each write is held 100 ms so an unserialised pair overlaps.
    const real = h.deps().identities;
    let inFlight = 0;
    let most = 0;
    const counting = new Proxy(real, {
      get(target, key) {
        if (key === 'putFederatedCredential') {
          return async (...args: Parameters<IdentityPort['putFederatedCredential']>) => {
            most = Math.max(most, ++inFlight);
            try {
              await new Promise((r) => setTimeout(r, 100));
              return await target.putFederatedCredential(...args);
            } finally {
              inFlight--;
            }
          };
        }
        const v: unknown = Reflect.get(target, key);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const [g, r] = await Promise.all([
      provisionFederation(green, h.deps({ kube: kubeOf('green'), identities: counting })),
      provisionFederation(red, h.deps({ kube: kubeOf('red'), identities: counting })),
    ]);
    expect(most).toBe(1);
    expect(g.verified).toBe(true);
    expect(r.verified).toBe(true);
    const identity = h.world.arm.state.identities().find((i) => i.name === grant.plan.identity.name);
    expect(identity?.federatedCredentials.map((f) => f.issuer).sort()).toEqual([h.world.kube.issuerUrl, h.world.kubes.green?.issuerUrl, h.world.kubes.red?.issuerUrl].sort());
    for (const k of [h.world.kubes.green, h.world.kubes.red]) expect(k?.getServiceAccount('finance', 'fed-sa')?.metadata.annotations?.['azure.workload.identity/client-id']).toBe(identity?.clientId);
    // one role assignment serves all three clusters
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(1);
    // run again: nothing new is written
    await provisionFederation(green, h.deps({ kube: kubeOf('green') }));
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)?.federatedCredentials).toHaveLength(3);
  }, 60_000);

  it('an identity that reached 20 credentials after the plan was approved is refused before anything is written', async () => {
    const grant = await h.approvedGrant('full-sa');
    await provisionGrant(grant, h.deps());
    const green = await approvedFederation(grant, 'green');
    const identity = h.world.arm.state.identities().find((i) => i.name === grant.plan.identity.name);
    for (let i = 0; i < 19; i++) h.world.arm.state.seedFederatedCredential(identity?.id as string, { name: `later-${i}`, issuer: `https://later/${i}/`, subject: `system:serviceaccount:x:s${i}` });
    const e = await caught(provisionFederation(green, h.deps({ kube: kubeOf('green') })));
    expect(e.code).toBe('FederatedCredentialLimit');
    expect(e.message).toContain('already has 20 federated credentials');
    expect(h.world.kubes.green?.getServiceAccount('finance', 'full-sa')).toBeUndefined();
  }, 60_000);
});
