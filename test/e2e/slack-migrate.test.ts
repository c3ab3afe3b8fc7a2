/**
 * From aad-pod-identity to workload identity through Slack: /wid legacy's Migrate button → the plan with the
 * roles the identity already holds → approve → worker → credential and annotated ServiceAccount → result
 * with Finish → Finish refused while the old pod runs → pods moved → /wid migrate --finish removes the binding →
 * /wid revoke removes only the credential and annotation.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createKubeAdapter } from '../../src/kube';
import { ACTION } from '../../src/slack/ids';
import { ANNOTATION_CLIENT_ID } from '../../src/domain/types';
import { validateBlocks } from '../emulators/slack/blocks';
import { keyVaultScope, WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;

describe('migrate from aad-pod-identity through Slack', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: true, migrate: true, world: { kube: { namespaces: ['finance', 'payments'], podIdentityCrds: true }, arm: { podIdentityEnabled: true } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('Migrate → approve → credential and ServiceAccount → Finish once the pods moved', async () => {
    const { arm, kube, slack } = h.world;
    const identity = arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: 'id-legacy-reports', createdAt: Date.now() - 600_000 });
    arm.state.seedRoleAssignment({ scope: keyVaultScope(), role: 'Key Vault Secrets User', principalId: identity.principalId });
    kube.seedAzureIdentity({ namespace: 'finance', name: 'reports-identity', clientID: identity.clientId, resourceID: identity.id });
    kube.seedAzureIdentityBinding({ namespace: 'finance', name: 'reports-binding', azureIdentity: 'reports-identity', selector: 'reports' });
    kube.seedPod({ namespace: 'finance', name: 'reports-old-0', labels: { aadpodidbinding: 'reports' } });
    const identitiesBefore = arm.state.identities().length;

    // /wid legacy shows the binding with a Migrate button, to the asker alone
    const started = slack.mark();
    await h.wid(ALICE, 'legacy');
    const listed = await slack.waitFor((e) => e.kind === 'ephemeral' && e.user === ALICE && JSON.stringify(e.blocks ?? []).includes(ACTION.migrate), 15_000, { since: started });
    expect(slack.events().filter((e) => e.seq > started && e.kind === 'post' && e.channel === WORLD.requestsChannel)).toEqual([]);
    expect(validateBlocks(listed.blocks, 'message')).toEqual([]);
    // an ephemeral click carries no message (as in Slack): the button's value comes from what was shown
    const button = (listed.blocks as Array<{ accessory?: { action_id?: string; value?: string } }>).find((b) => b.accessory?.action_id === ACTION.migrate)?.accessory;
    expect(button?.value).toBeDefined();
    await h.slack.blockAction({ userId: ALICE, actionId: ACTION.migrate, value: button?.value as string, message: { channel: WORLD.requestsChannel, ts: listed.ts as string, ephemeral: true } });
    const confirmation = await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval'));
    const id = requestIdIn(confirmation) as string;

    // the approver sees the adopted identity and the roles it already holds
    const approval = h.approvalMessage(id);
    const shown = JSON.stringify(approval.blocks);
    for (const part of ['Migrate from pod identity', 'id-legacy-reports', 'Roles it already holds', 'Key Vault Secrets User', keyVaultScope(), 'finance/reports-binding', kube.issuerUrl, 'system:serviceaccount:finance:reports', 'No new identity']) {
      expect(shown).toContain(part);
    }
    expect(validateBlocks(approval.blocks, 'message')).toEqual([]);

    await h.click(BOB, ACTION.approve, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 30_000);
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('succeeded');
    expect(done.resources).toMatchObject({ identityCreatedByWid: false, verified: true, migratedPods: ['finance/reports-old-0'] });

    // the credential is on the adopted identity, the ServiceAccount names it, nothing else was created
    const fic = arm.state.federatedCredentials().find((f) => f.subject === 'system:serviceaccount:finance:reports');
    expect(fic?.identityId.toLowerCase()).toBe(identity.id.toLowerCase());
    expect(kube.getServiceAccount('finance', 'reports')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity.clientId);
    expect(arm.state.identities()).toHaveLength(identitiesBefore);

    // the result names the covered pod, the Deployment change and offers Finish
    await slack.waitFor((e) => e.kind === 'post' && e.threadTs === approval.ts && JSON.stringify(e.blocks ?? []).includes(ACTION.migrateFinish), 10_000, { since: started });
    const result = slack.replies(approval.channel, approval.ts).find((m) => JSON.stringify(m.blocks).includes(ACTION.migrateFinish));
    const resultText = JSON.stringify(result?.blocks);
    expect(resultText).toContain('finance/reports-old-0');
    expect(resultText).toContain('serviceAccountName: reports');
    expect(resultText).toContain('azure.workload.identity/use');
    expect(validateBlocks(result?.blocks, 'message')).toEqual([]);

    // Finish while the old pod still runs: refused, naming it
    await h.slack.blockAction({ userId: ALICE, actionId: ACTION.migrateFinish, message: { channel: approval.channel, ts: result?.ts as string } });
    const notYet = await waitForEphemeral(h.world, ALICE, (t) => t.includes('Not yet'));
    expect(notYet).toContain('finance/reports-old-0 runs as ServiceAccount default');

    // the Deployment rolled onto the ServiceAccount
    const kc = new KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    await kc.makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace: 'finance', name: 'reports-old-0' });
    kube.seedPod({ namespace: 'finance', name: 'reports-new-0', serviceAccountName: 'reports', labels: { aadpodidbinding: 'reports', 'azure.workload.identity/use': 'true' } });

    await h.wid(ALICE, 'migrate --finish finance reports-binding');
    const finished = await waitForEphemeral(h.world, ALICE, (t) => t.includes('Removed AzureIdentityBinding'));
    expect(finished).toContain('AzureIdentity finance/reports-identity');
    expect(finished).toContain('--disable-pod-identity');
    expect(await createKubeAdapter({ kubeconfigYaml: kube.kubeconfig() }).listLegacyPodIdentities()).toEqual([]);
    await slack.waitFor((e) => e.kind === 'post' && e.threadTs === approval.ts && (e.text ?? '').includes('pressed Finish'), 10_000, { since: started });
    // the identity stays: wid-bot did not create it
    expect(arm.state.identities().some((i) => i.id.toLowerCase() === identity.id.toLowerCase())).toBe(true);

    // revoking the migrated ServiceAccount takes only what wid-bot added; the identity and its role stay
    await h.wid(ALICE, 'revoke finance reports --reason moved to another identity');
    const revokeId = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval') && !t.includes(id))) as string;
    expect(JSON.stringify(h.approvalMessage(revokeId).blocks)).toContain('the adopted identity and its roles stay');
    await h.click(BOB, ACTION.approve, revokeId);
    const revoked = await h.waitForRequest(revokeId, (r) => r.state === 'succeeded' || r.state === 'failed', 30_000);
    expect(revoked.failure).toBeUndefined();
    expect(arm.state.identities().some((i) => i.id.toLowerCase() === identity.id.toLowerCase())).toBe(true);
    expect(arm.state.roleAssignments().filter((a) => a.principalId === identity.principalId)).toHaveLength(1);
    expect(arm.state.federatedCredentials().some((f) => f.subject === 'system:serviceaccount:finance:reports')).toBe(false);
    expect(kube.getServiceAccount('finance', 'reports')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeUndefined();
  }, 90_000);
});
