/**
 * Fix buttons on /wid audit findings, end to end: Request on an annotated ServiceAccount whose identity is
 * missing opens the request form prefilled with it; Revoke on an orphaned wid-bot identity creates a pending
 * revoke request (nothing is removed before an approver approves it).
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ACTION, REQUEST_BLOCK } from '../../src/slack/ids';
import { parseFixButtonValue } from '../../src/slack/blocks/fix-buttons';
import { worldWrites } from '../reliability/support';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;

type StoredBlock = { accessory?: { action_id?: string; value?: string } };

describe('fix buttons on audit findings', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: true, migrate: true, world: { kube: { namespaces: ['finance', 'payments'] } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Runs /wid audit and finds the message (summary or thread page) holding the button for this ServiceAccount. */
  async function auditButton(actionId: string, serviceAccount: string): Promise<{ channel: string; ts: string; value: string }> {
    const mark = h.world.slack.mark();
    await h.wid(ALICE, 'audit --share');
    await h.world.slack.waitFor((e) => e.kind === 'post' && (e.text ?? '').includes('wid audit'), 30_000, { since: mark });
    const until = Date.now() + 15_000;
    while (Date.now() < until) {
      const channel = WORLD.requestsChannel;
      const top = h.world.slack.messages(channel);
      const all = [...top, ...top.flatMap((m) => h.world.slack.replies(channel, m.ts))];
      for (const m of all) {
        for (const b of (m.blocks ?? []) as StoredBlock[]) {
          const v = b.accessory?.action_id === actionId ? parseFixButtonValue(b.accessory.value ?? '') : undefined;
          if (v?.serviceAccount === serviceAccount) return { channel, ts: m.ts, value: b.accessory?.value as string };
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${actionId} button for ${serviceAccount} in the audit`);
  }

  test('Request on an annotated ServiceAccount whose identity is missing opens the request form prefilled with it', async () => {
    h.world.kube.seedServiceAccount({ namespace: 'finance', name: 'lost-sa', annotations: { 'azure.workload.identity/client-id': '9a9a9a9a-0000-4000-8000-000000000001' } });
    const button = await auditButton(ACTION.fixRequest, 'lost-sa');
    const before = worldWrites(h.world);
    const views = h.world.slack.views().length;
    expect((await h.slack.blockAction({ userId: ALICE, actionId: ACTION.fixRequest, value: button.value, message: { channel: button.channel, ts: button.ts } })).status).toBe(200);
    const until = Date.now() + 10_000;
    while (h.world.slack.views().length === views && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    const opened = h.world.slack.views().at(-1);
    const blocks = (opened?.view.blocks ?? []) as Array<{ block_id?: string; element?: { initial_option?: { value: string }; initial_value?: string } }>;
    expect(blocks.find((b) => b.block_id === REQUEST_BLOCK.namespace)?.element?.initial_option?.value).toBe('finance');
    expect(blocks.find((b) => b.block_id === REQUEST_BLOCK.serviceAccount)?.element?.initial_value).toBe('lost-sa');
    // opening a form changes nothing
    expect(worldWrites(h.world)).toEqual(before);
  }, 60_000);

  test('Revoke on an orphaned wid-bot identity creates a pending revoke request; nothing is removed before approval', async () => {
    await h.wid(ALICE, 'request finance gone-sa Key Vault Secrets User --reason will be orphaned');
    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('gone-sa') && t.includes('waiting for approval'))) as string;
    await h.click(BOB, ACTION.approve, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 30_000);
    expect(done.state).toBe('succeeded');
    // the workload went away: its ServiceAccount is deleted, the credential and identity stay behind
    const kc = new KubeConfig();
    kc.loadFromString(h.world.kube.kubeconfig());
    await kc.makeApiClient(CoreV1Api).deleteNamespacedServiceAccount({ namespace: 'finance', name: 'gone-sa' });

    const button = await auditButton(ACTION.fixRevoke, 'gone-sa');
    const before = worldWrites(h.world);
    await h.slack.blockAction({ userId: ALICE, actionId: ACTION.fixRevoke, value: button.value, message: { channel: button.channel, ts: button.ts } });
    const answer = await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval') && !t.includes(id) && /revoke/i.test(t), 15_000);
    const revokeId = requestIdIn(answer) as string;
    const revoke = await h.store.get(revokeId);
    expect(revoke).toMatchObject({ kind: 'revoke', state: 'pending', namespace: 'finance', serviceAccount: 'gone-sa' });
    expect(revoke?.plan.identity.name).toBe(done.plan.identity.name);
    expect(h.approvalMessage(revokeId).channel).toBe(WORLD.approvalsChannel);
    await new Promise((r) => setTimeout(r, 500));
    expect(worldWrites(h.world)).toEqual(before);
    expect(h.world.arm.state.identities().some((i) => i.name === done.plan.identity.name)).toBe(true);
  }, 90_000);
});
