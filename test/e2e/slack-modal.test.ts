/**
 * The request modal (options from the policy, field errors), /wid status and the inspection verbs.
 */
import { CALLBACK, INPUT_ACTION, REQUEST_BLOCK } from '../../src/slack/ids';
import type { InspectHook } from '../../src/slack/inspect';
import { validateView } from '../emulators/slack/blocks';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;

type Values = Record<string, Record<string, unknown>>;

function form(fields: { ns?: string; sa?: string; role?: string; scope?: string; duration?: string; reason?: string }): Values {
  const select = (v?: string) => ({ type: 'static_select', selected_option: v ? { value: v, text: { type: 'plain_text', text: v } } : null });
  const text = (v?: string) => ({ type: 'plain_text_input', value: v ?? null });
  return {
    [REQUEST_BLOCK.namespace]: { [INPUT_ACTION]: select(fields.ns) },
    [REQUEST_BLOCK.serviceAccount]: { [INPUT_ACTION]: text(fields.sa) },
    [REQUEST_BLOCK.role]: { [INPUT_ACTION]: select(fields.role) },
    [REQUEST_BLOCK.scope]: { [INPUT_ACTION]: text(fields.scope) },
    [REQUEST_BLOCK.duration]: { [INPUT_ACTION]: text(fields.duration) },
    [REQUEST_BLOCK.reason]: { [INPUT_ACTION]: text(fields.reason) },
  };
}

describe('request modal, status and inspection', () => {
  let h: Harness;
  const inspected: Array<[string, unknown, unknown]> = [];
  const inspect: InspectHook = async (verb, args, user) => {
    inspected.push([verb, args, user]);
    return [
      { text: `cluster report for ${args.cluster ?? 'default'}`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Cluster blue*: ready' } }] },
      { text: 'details 1' },
      { text: 'details 2' },
    ];
  };
  beforeAll(async () => {
    h = await startHarness({ web: { inspect } });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('/wid request alone opens a form with what the policy allows this user; field errors come back in the form', async () => {
    const sent = await h.wid(ALICE, 'request');
    expect(sent.status).toBe(200);
    const opened = await h.world.slack.waitFor((e) => e.kind === 'view_open' && e.user === ALICE, 5000, { since: 0 });
    const view = opened.view as { blocks: Array<{ block_id: string; element?: { options?: Array<{ value: string }> } }> };
    expect(validateView(view as unknown as Record<string, unknown>)).toEqual([]);
    const options = (block: string) => view.blocks.find((b) => b.block_id === block)?.element?.options?.map((o) => o.value);
    expect(options(REQUEST_BLOCK.namespace)).toEqual(['finance', 'payments']);
    expect(options(REQUEST_BLOCK.role)).toEqual(['Key Vault Secrets User', 'Storage Blob Data Reader', 'Contributor']);
    expect(view.blocks.map((b) => b.block_id)).toContain(REQUEST_BLOCK.duration);

    const submit = (values: Values) => h.slack.viewSubmission({ userId: ALICE, view: { id: opened.viewId as string, callback_id: CALLBACK.requestModal, state: { values } } });

    const missing = await submit(form({ ns: 'finance' }));
    expect(missing.body).toMatchObject({ response_action: 'errors', errors: { [REQUEST_BLOCK.serviceAccount]: expect.any(String), [REQUEST_BLOCK.role]: expect.any(String), [REQUEST_BLOCK.reason]: expect.any(String) } });

    const badName = await submit(form({ ns: 'finance', sa: 'Bad_SA', role: 'Key Vault Secrets User', reason: 'x' }));
    expect(badName.body).toMatchObject({ response_action: 'errors', errors: { [REQUEST_BLOCK.serviceAccount]: expect.stringContaining('Bad_SA') } });

    const wrongRole = await submit(form({ ns: 'payments', sa: 'pay-sa', role: 'Storage Blob Data Reader', reason: 'x' }));
    expect(wrongRole.body).toMatchObject({ response_action: 'errors', errors: { [REQUEST_BLOCK.role]: expect.stringContaining('may not be requested for "payments"') } });

    const tooLong = await submit(form({ ns: 'finance', sa: 'blob-sa', role: 'Storage Blob Data Reader', scope: `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.Storage/storageAccounts/stfinance`, duration: '30d', reason: 'x' }));
    expect(tooLong.body).toMatchObject({ response_action: 'errors', errors: { [REQUEST_BLOCK.duration]: expect.stringContaining('7d') } });
    expect(await h.store.listByRequester(ALICE)).toEqual([]);

    const ok = await submit(form({ ns: 'finance', sa: 'modal-sa', role: 'Storage Blob Data Reader', scope: `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.Storage/storageAccounts/stfinance`, duration: '8h', reason: 'nightly export' }));
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('');
    const confirmation = await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval'));
    const id = requestIdIn(confirmation) as string;
    const r = await h.store.get(id);
    expect(r).toMatchObject({ state: 'pending', namespace: 'finance', serviceAccount: 'modal-sa', roleName: 'Storage Blob Data Reader', durationSeconds: 8 * 3600, reason: 'nightly export' });
  });

  test('a 253-character ServiceAccount and a 2,000-character reason are accepted by Slack (the emulator enforces Block Kit limits)', async () => {
    const sa = [...Array(4)].map((_, i) => String.fromCharCode(97 + i).repeat(63)).join('.').slice(0, 253);
    const reason = 'we need to read the settlement secrets every night; '.repeat(40).slice(0, 2000);
    const before = h.world.slack.stats().refused;
    const mark = h.world.slack.mark();
    await h.wid(ALICE, 'request');
    const opened = await h.world.slack.waitFor((e) => e.kind === 'view_open' && e.user === ALICE, 5000, { since: mark });
    const ok = await h.slack.viewSubmission({ userId: ALICE, view: { id: opened.viewId as string, callback_id: CALLBACK.requestModal, state: { values: form({ ns: 'finance', sa, role: 'Key Vault Secrets User', reason }) } } });
    expect(ok.body).toBe('');
    const confirmation = await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval') && t.includes('aaaaaaaaaaaaaaaa'));
    const id = requestIdIn(confirmation) as string;
    expect(JSON.stringify(h.approvalMessage(id).blocks)).toContain('_(shortened)_');
    expect(h.world.slack.stats().refused).toBe(before);
  });

  test('/wid status lists my open requests, what waits on an approver, and one request with its history', async () => {
    const mine = await h.store.listByRequester(ALICE);
    const id = mine[0]?.id as string;
    await h.wid(ALICE, 'status');
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('Your open requests') && t.includes(id));
    await h.wid(BOB, 'status');
    await waitForEphemeral(h.world, BOB, (t) => t.includes('Waiting for your approval') && t.includes(id));
    await h.wid(ALICE, `status ${id}`);
    const one = await waitForEphemeral(h.world, ALICE, (t) => t.includes('History'));
    expect(one).toContain('new → *pending*');
    await h.wid(ALICE, 'status wid-aaaaaaaaaa');
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('There is no request wid-aaaaaaaaaa'));
  });

  test('inspection verbs post a scanning note, then the report to the asker alone; with --share in the channel with the rest in its thread', async () => {
    const mark = h.world.slack.mark();
    await h.wid(BOB, 'cluster --cluster blue');
    await waitForEphemeral(h.world, BOB, (t) => t.includes('Scanning'));
    const head = await h.world.slack.waitFor((e) => e.kind === 'ephemeral' && e.user === BOB && (e.text ?? '').includes('cluster report'), 5000, { since: mark });
    expect(head.text).toContain('Only you can see this');
    await h.world.slack.waitFor((e) => e.kind === 'ephemeral' && e.user === BOB && e.text === 'details 2', 5000, { since: mark });
    expect(h.world.slack.events().filter((e) => e.seq > mark && e.kind === 'post')).toEqual([]);
    // Bob approves in finance only: the hook is told so
    expect(inspected[0]).toEqual(['cluster', { cluster: 'blue' }, { id: BOB, name: BOB.toLowerCase(), scope: { all: false, namespaces: ['finance'] } }]);

    await h.wid(BOB, 'cluster --cluster blue --share');
    const first = await h.world.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.requestsChannel && (e.text ?? '').includes('cluster report'), 5000, { since: mark });
    await h.world.slack.waitFor((e) => e.kind === 'post' && e.threadTs === first.ts && e.text === 'details 2', 5000, { since: mark });
    expect(h.world.slack.replies(WORLD.requestsChannel, first.ts as string).map((m) => m.text)).toEqual(['details 1', 'details 2']);
    expect(first.text).toContain('Shared in the channel with --share');

    await h.wid(BOB, 'list finance');
    for (let i = 0; i < 100 && inspected.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(inspected[2]?.slice(0, 2)).toEqual(['list', { namespace: 'finance' }]);
    // a namespace Bob may not see is answered without scanning
    await h.wid(BOB, 'list payments');
    await waitForEphemeral(h.world, BOB, (t) => t.includes('/wid list payments: you may see only the namespaces you may request for or approve in: finance'));
    expect(inspected).toHaveLength(3);
  });
});

describe('inspection without a hook', () => {
  test('says it is not configured', async () => {
    const h = await startHarness();
    try {
      await h.wid(BOB, 'audit');
      await waitForEphemeral(h.world, BOB, (t) => t.includes('not configured'));
    } finally {
      await h.close();
    }
  });
});
