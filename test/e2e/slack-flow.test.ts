/**
 * From slash command to the posted result: the real Slack app and worker against the emulators.
 */
import { ACTION } from '../../src/slack/ids';
import { ANNOTATION_CLIENT_ID, LABEL_USE } from '../../src/domain/types';
import { validateBlocks } from '../emulators/slack/blocks';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;

describe('request → approve → provision → result', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('the whole flow ends with working resources and the result in Slack', async () => {
    const started = h.world.slack.mark();
    const sent = await h.wid(ALICE, 'request finance backend-sa Key Vault Secrets User --reason read payment secrets');
    expect(sent.status).toBe(200);
    expect(sent.elapsedMs).toBeLessThan(1000);

    const confirmation = await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval'));
    const id = requestIdIn(confirmation) as string;
    expect(id).toMatch(/^wid-[a-z2-7]{10}$/);

    const approval = h.approvalMessage(id);
    expect(approval.channel).toBe(WORLD.approvalsChannel);
    const shown = JSON.stringify(approval.blocks);
    const stored = await h.store.get(id);
    expect(stored?.state).toBe('pending');
    // the approver sees exactly the plan: identity, role, scope, issuer, subject, ServiceAccount and why
    for (const part of [stored?.plan.identity.name, 'Key Vault Secrets User', 'kv-finance', h.world.kube.issuerUrl, 'system:serviceaccount:finance:backend-sa', 'read payment secrets', `<@${ALICE}>`]) {
      expect(shown).toContain(part);
    }
    expect(validateBlocks(approval.blocks, 'message')).toEqual([]);

    const click = await h.click(BOB, ACTION.approve, id);
    expect(click.status).toBe(200);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 30_000);
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('succeeded');

    // the resources exist in Azure and Kubernetes
    const identity = h.world.arm.state.identities().find((i) => i.name === done.plan.identity.name);
    expect(identity).toBeDefined();
    const fic = h.world.arm.state.federatedCredentials().find((f) => f.subject === 'system:serviceaccount:finance:backend-sa');
    expect(fic?.issuer).toBe(h.world.kube.issuerUrl);
    const sa = h.world.kube.getServiceAccount('finance', 'backend-sa');
    expect(sa?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);

    // the approval message ends with the resource ids; the thread has the pod snippet; Alice has a DM
    const final = await h.world.slack.waitFor(
      (e) => e.kind === 'update' && e.ts === approval.ts && JSON.stringify(e.blocks).includes('Done'),
      10_000,
      { since: started },
    );
    expect(JSON.stringify(final.blocks)).toContain(identity?.clientId as string);
    await h.world.slack.waitFor((e) => e.kind === 'post' && e.threadTs === approval.ts && (e.text ?? '').includes('ready'), 10_000, { since: started });
    const reply = h.world.slack.replies(approval.channel, approval.ts).map((m) => JSON.stringify(m.blocks)).join('\n');
    expect(reply).toContain('serviceAccountName: backend-sa');
    expect(reply).toContain(`${LABEL_USE}: \\"true\\"`);
    expect(reply).toContain('Verified');
    const dms = h.world.slack.dms(ALICE).map((m) => m.text).join('\n');
    expect(dms).toContain(id);

    // the message was edited in place as it went, and every version stayed within Block Kit limits
    const edits = h.world.slack.message(approval.channel, approval.ts)?.versions ?? [];
    expect(edits.length).toBeGreaterThan(2);
    for (const v of edits) expect(validateBlocks(v.blocks, 'message')).toEqual([]);

    const history = await h.store.history(id);
    expect(history.map((e) => e.to)).toEqual(['pending', 'approved', 'provisioning', 'succeeded']);
  }, 60_000);
});
