import { planMigration } from '../../../src/domain/migrate';
import { newRequest } from '../../../src/domain/lifecycle';
import type { PolicyCluster, PolicyNamespace, WidRequest } from '../../../src/domain/types';
import { approvalMessage } from '../../../src/slack/blocks/approval';
import { finishMessage } from '../../../src/slack/blocks/migrate';
import { resultReply } from '../../../src/slack/blocks/result';
import { ACTION } from '../../../src/slack/ids';
import { validateBlocks } from '../../emulators/slack/blocks';
import { WORLD } from '../../emulators/world';
import { policy } from './fixtures';

const SUB = WORLD.subscriptionId;
const RID = `/subscriptions/${SUB}/resourceGroups/${WORLD.identityResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-reports`;

function migration(roles: number, pods: string[] = []): WidRequest {
  const plan = planMigration({
    policy,
    cluster: policy.clusters[0] as PolicyCluster,
    namespace: policy.namespaces.find((n) => n.name === 'finance') as PolicyNamespace,
    bindingName: 'reports-binding',
    clusterFacts: { name: 'blue', oidcIssuerEnabled: true, issuerUrl: 'https://oidc.example/abc/', workloadIdentityEnabled: true },
    facts: {
      binding: { kind: 'AzureIdentityBinding', namespace: 'finance', name: 'reports-binding', azureIdentity: 'reports-identity', selector: 'reports' },
      azureIdentity: { kind: 'AzureIdentity', namespace: 'finance', name: 'reports-identity', clientId: 'c1', resourceId: RID, identityType: 0 },
      identity: { id: RID, name: 'id-reports', subscriptionId: SUB, resourceGroup: WORLD.identityResourceGroup, location: 'westeurope', clientId: 'c1', principalId: 'p1', tenantId: WORLD.tenantId, tags: {} },
      credentials: [],
      roles: Array.from({ length: roles }, (_, i) => ({ roleName: 'Storage Blob Data Reader', roleDefinitionId: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', scope: `/subscriptions/${SUB}/resourceGroups/rg-data-${i}/providers/Microsoft.Storage/storageAccounts/st${i}`, assignmentId: `/ra/${i}` })),
    },
    requestId: 'wid-abcdefghij',
  });
  if (!plan.ok) throw new Error(plan.error.message);
  const { request } = newRequest({ id: 'wid-abcdefghij', plan: plan.value, requester: { id: WORLD.users.requester }, now: new Date('2026-01-01T10:00:00Z'), policy });
  return { ...request, slack: { channel: WORLD.approvalsChannel, ts: '1.1' }, resources: { migratedPods: pods, verified: true, clientId: 'c1' } };
}

describe('migration messages', () => {
  it('the approval message names the adopted identity and its roles, within Slack limits even with 200 roles', () => {
    for (const n of [0, 1, 200]) {
      const m = approvalMessage(migration(n));
      expect(validateBlocks(m.blocks, 'message')).toEqual([]);
      const text = JSON.stringify(m.blocks);
      expect(text).toContain('Migrate from pod identity');
      expect(text).toContain('id-reports');
      expect(text).toContain(n === 0 ? 'holds no role assignment' : 'rg-data-0');
      expect(text).toContain(`${ACTION.approve}`);
    }
    expect(JSON.stringify(approvalMessage(migration(200)).blocks)).toContain('shortened');
  });

  it('the result lists the covered pods (at most 30 by name) with the Deployment change and a Finish button', () => {
    const pods = Array.from({ length: 45 }, (_, i) => `finance/reports-${i}`);
    const r = { ...migration(1, pods), state: 'succeeded' as const };
    const m = resultReply(r);
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('covers 45 running pods');
    expect(text).toContain('and 15 more');
    expect(text).toContain('serviceAccountName: reports');
    expect(text).toContain(ACTION.migrateFinish);
    expect(JSON.stringify(resultReply({ ...migration(1, []), state: 'succeeded' }).blocks)).toContain('No running pod carries the label');
  });

  it("Finish's answer escapes what it quotes", () => {
    const m = finishMessage(false, 'Not yet: <@U1> & pods');
    expect(JSON.stringify(m.blocks)).toContain('&lt;@U1&gt; &amp; pods');
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
  });
});
