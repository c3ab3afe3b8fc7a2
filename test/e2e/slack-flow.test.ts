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

  test('a failure shows the reason, what exists and a Retry button; an approver retries it to success', async () => {
    h.world.arm.controls.failNext(1, { method: 'PUT', path: 'roleAssignments', status: 403, code: 'AuthorizationFailed', message: 'wid-bot may not assign roles here' });
    const started = h.world.slack.mark();
    await h.wid(ALICE, 'request finance retry-sa Key Vault Secrets User --reason retry me');
    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('retry-sa'))) as string;
    await h.click(BOB, ACTION.approve, id);
    const failed = await h.waitForRequest(id, (r) => r.state === 'failed' || r.state === 'succeeded', 30_000);
    expect(failed.state).toBe('failed');
    const approval = h.approvalMessage(id);
    const update = await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === approval.ts && JSON.stringify(e.blocks).includes(ACTION.retry), 10_000, { since: started });
    const shown = JSON.stringify(update.blocks);
    expect(shown).toContain('Failed');
    expect(shown).toContain('What exists now');
    expect(shown).toContain('Identity'); // the identity was created before the role assignment failed
    expect(validateBlocks(update.blocks, 'message')).toEqual([]);

    // the requester may not retry; an approver may
    await h.click(ALICE, ACTION.retry, id);
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('Only approvers'));
    expect((await h.store.get(id))?.state).toBe('failed');
    await h.click(BOB, ACTION.retry, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded', 30_000);
    expect(done.state).toBe('succeeded');
    expect(h.world.kube.getServiceAccount('finance', 'retry-sa')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeTruthy();
  }, 60_000);

  test('/wid revoke follows the same request → approval → worker path and removes the grant', async () => {
    const grant = (await h.store.listByRequester(ALICE)).find((r) => r.serviceAccount === 'backend-sa' && r.state === 'succeeded');
    expect(grant).toBeDefined();
    await h.wid(ALICE, 'revoke finance backend-sa --reason not needed any more');
    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval') && !t.includes(grant?.id as string) && /Revoke/.test(t))) as string;
    const r = await h.store.get(id);
    expect(r).toMatchObject({ kind: 'revoke', state: 'pending', serviceAccount: 'backend-sa' });
    expect(r?.plan.identity.name).toBe(grant?.plan.identity.name);
    await h.click(BOB, ACTION.approve, id);
    const done = await h.waitForRequest(id, (x) => x.state === 'succeeded' || x.state === 'failed', 30_000);
    expect(done.failure).toBeUndefined();
    expect(h.world.arm.state.identities().find((i) => i.name === grant?.plan.identity.name)).toBeUndefined();
    // nothing left to revoke
    await h.wid(ALICE, 'revoke finance backend-sa');
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('nothing to revoke'));
  }, 60_000);
});
