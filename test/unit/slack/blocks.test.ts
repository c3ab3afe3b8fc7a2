/**
 * Every Block Kit builder stays within Slack's limits, also for the longest names and reasons, and
 * says so visibly when it had to shorten something.
 */
import { approvalMessage } from '../../../src/slack/blocks/approval';
import { duplicateMessage, errorMessage, helpMessage, refusalMessage, requestedMessage } from '../../../src/slack/blocks/messages';
import { denyModal, requestModal, scopeQuestion } from '../../../src/slack/blocks/modals';
import { approvedDm, deniedDm, expiredDm, podSnippet, reminderReply, resultDm, resultReply } from '../../../src/slack/blocks/result';
import { myRequestsMessage, statusMessage } from '../../../src/slack/blocks/status';
import { clip, fit } from '../../../src/slack/blocks/text';
import { ACTION, CALLBACK, REQUEST_BLOCK } from '../../../src/slack/ids';
import { requestOptionsFor } from '../../../src/domain/policy';
import type { WidRequest } from '../../../src/domain/types';
import { validateBlocks, validateView } from '../../emulators/slack/blocks';
import { WORLD } from '../../emulators/world';
import { history, LONGEST_SA, policy, request } from './fixtures';

const LONG_REASON = `${'needs the vault for the nightly settlement run; '.repeat(41)}END`.slice(0, 2000);

function text(blocks: unknown): string {
  return JSON.stringify(blocks);
}

function every(r: WidRequest): WidRequest[] {
  const resources = {
    identityId: r.plan.identity.resourceId,
    clientId: '00000000-1111-4222-8333-444444444444',
    principalId: '55555555-1111-4222-8333-444444444444',
    roleAssignmentId: `${r.scope}/providers/Microsoft.Authorization/roleAssignments/6f1c2c3e-0000-5000-8000-000000000001`,
    federatedCredentialId: `${r.plan.identity.resourceId}/federatedIdentityCredentials/${r.plan.federatedCredential.name}`,
    serviceAccount: `${r.namespace}/${r.serviceAccount}`,
    verified: true,
  };
  const steps = (['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'] as const).map((step) => ({ step, outcome: 'done' as const, startedAt: r.createdAt, endedAt: r.createdAt, detail: `d ${'x'.repeat(600)}` }));
  return [
    r,
    { ...r, approvals: [{ actor: { id: WORLD.users.approver }, at: r.createdAt }], plan: { ...r.plan, approvalsRequired: 2 } },
    { ...r, state: 'provisioning', steps: steps.slice(0, 2).map((s, i) => (i === 1 ? { ...s, outcome: 'running' } : s)) },
    { ...r, state: 'succeeded', steps, resources },
    { ...r, state: 'failed', steps, resources: { identityId: resources.identityId }, failure: { reason: `AuthorizationFailed ${'z'.repeat(3000)}`, step: 'roleAssignment', retryable: false } },
    { ...r, state: 'denied' },
    { ...r, state: 'expired' },
  ];
}

describe('approval message', () => {
  test('shows who asks, why and the exact plan, with Approve and Deny carrying the request id', () => {
    const r = request({ reason: 'read payment secrets' });
    const m = approvalMessage(r);
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    const t = text(m.blocks);
    for (const part of [`<@${WORLD.users.requester}>`, 'read payment secrets', r.plan.identity.name, WORLD.identityResourceGroup, 'Key Vault Secrets User', 'kv-finance', 'https://oidc.example/abc/', 'system:serviceaccount:finance:backend-sa', 'finance/backend-sa', '0 of 1 approval']) {
      expect(t).toContain(part);
    }
    const actions = m.blocks?.find((b) => b.type === 'actions') as { elements: Array<{ action_id: string; value: string }> };
    expect(actions.elements.map((e) => [e.action_id, e.value])).toEqual([
      [ACTION.approve, r.id],
      [ACTION.deny, r.id],
    ]);
  });

  test.each(every(request({ sa: LONGEST_SA, reason: LONG_REASON })).map((r) => [r.state, r] as const))('stays within Block Kit limits for a 253-character ServiceAccount and a 2,000-character reason (%s)', (_state, r) => {
    const m = approvalMessage(r, { decision: { actorId: WORLD.users.approver, reason: LONG_REASON } });
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    expect(m.text.length).toBeLessThanOrEqual(3000);
    const t = text(m.blocks);
    expect(t).toContain('_(shortened)_');
    expect(t).toContain('…');
  });

  test('says how many approvals it has of how many', () => {
    const r = request();
    const two = { ...r, approvals: [{ actor: { id: WORLD.users.approver }, at: r.createdAt }], plan: { ...r.plan, approvalsRequired: 2 as const } };
    expect(text(approvalMessage(two).blocks)).toContain(`1 of 2 approvals (<@${WORLD.users.approver}>)`);
  });

  test('a failed request shows the reason, what exists and Retry instead of Approve/Deny', () => {
    const failed = every(request())[4] as WidRequest;
    const t = text(approvalMessage(failed).blocks);
    expect(t).toContain('What exists now');
    expect(t).toContain(failed.plan.identity.resourceId);
    expect(t).toContain(ACTION.retry);
    expect(t).not.toContain(ACTION.approve);
  });

  test('user text cannot inject mentions or links', () => {
    const r = request({ reason: 'please <!channel> and <https://evil.example|click>' });
    const t = text(approvalMessage(r).blocks);
    expect(t).not.toContain('<!channel>');
    expect(t).toContain('&lt;!channel&gt;');
  });
});

describe('result, status and short messages', () => {
  test('the result reply carries the pod snippet and the verification result', () => {
    const done = every(request())[3] as WidRequest;
    const reply = resultReply(done);
    expect(validateBlocks(reply.blocks, 'message')).toEqual([]);
    expect(text(reply.blocks)).toContain('serviceAccountName: backend-sa');
    expect(podSnippet(done)).toContain('azure.workload.identity/use: "true"');
    expect(text(reply.blocks)).toContain('Verified');
    const unverified = resultReply({ ...done, resources: { ...done.resources, verified: false } });
    expect(text(unverified.blocks)).toContain('Not verified');
  });

  test.each(every(request({ sa: LONGEST_SA, reason: LONG_REASON })).map((r) => [r.state, r] as const))('DMs, replies and status stay within limits (%s)', (_s, r) => {
    for (const m of [resultReply(r), resultDm(r, 'https://x.slack.com/archives/C1/p1'), deniedDm(r, WORLD.users.approver, LONG_REASON), expiredDm(r), approvedDm(r), reminderReply(r, { users: Array(60).fill(WORLD.users.approver), groups: [WORLD.platformGroup] }), statusMessage(r, history(3)), requestedMessage(r, 'https://x.slack.com/archives/C1/p1')]) {
      expect(validateBlocks(m.blocks, 'message')).toEqual([]);
      expect(m.text.length).toBeLessThanOrEqual(3000);
    }
  });

  test('a long history is cut to the newest entries and says how many are not shown', () => {
    const r = request({ sa: LONGEST_SA, reason: LONG_REASON });
    const m = statusMessage(r, history(500, 200));
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    const t = text(m.blocks);
    expect(t).toMatch(/\d+ earlier entries not shown/);
    const hidden = Number(/(\d+) earlier entries not shown/.exec(t)?.[1]);
    expect(hidden).toBeGreaterThanOrEqual(480);
    expect(t.match(/• 2026/g)?.length).toBe(500 - hidden);
    expect(t).toContain('step 499');
    expect(t).not.toContain('step 0 ');
  });

  test('my requests and what waits on me: long lists say how many are not shown', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ ...request({ sa: LONGEST_SA }), id: `wid-${String(i).padStart(10, 'a')}` }));
    const m = myRequestsMessage(many, many);
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    expect(text(m.blocks)).toContain('and 45 more not shown');
    expect(text(myRequestsMessage([], undefined).blocks)).toContain('You have no open requests');
    expect(text(myRequestsMessage([], undefined).blocks)).not.toContain('Waiting for your approval');
  });

  test('refusals say what was wrong and show the right form', () => {
    const m = refusalMessage('request needs a namespace.', 'request');
    expect(text(m.blocks)).toContain('Usage: `/wid request <namespace>');
    for (const x of [refusalMessage('x'.repeat(10_000), 'request'), errorMessage('y'.repeat(10_000)), helpMessage(), helpMessage('request'), duplicateMessage('wid-abcdefghij', 'https://x.slack.com/archives/C1/p1')]) {
      expect(validateBlocks(x.blocks, 'message')).toEqual([]);
    }
  });
});

describe('modals', () => {
  test('the request form offers what the policy allows this user, within modal limits', () => {
    const options = requestOptionsFor(policy, WORLD.users.requester, []);
    const view = requestModal(options, { channel: 'C0FINANCE01' });
    expect(validateView(view as unknown as Record<string, unknown>)).toEqual([]);
    expect(view.callback_id).toBe(CALLBACK.requestModal);
    const ids = view.blocks.map((b) => b.block_id);
    expect(ids).toEqual([REQUEST_BLOCK.namespace, REQUEST_BLOCK.serviceAccount, REQUEST_BLOCK.role, REQUEST_BLOCK.scope, REQUEST_BLOCK.duration, REQUEST_BLOCK.reason]);
    expect(scopeQuestion(options).kind).toBe('input');
  });

  test('a user who may request only one fixed scope is not asked for a scope or a duration', () => {
    const options = { clusters: ['blue'], defaultCluster: 'blue', namespaces: [{ name: 'payments', roles: [{ name: 'Key Vault Secrets User', scopes: ['/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/kv1'], approvals: 1 as const, privileged: false }] }] };
    const view = requestModal(options, { channel: 'C1' });
    expect(view.blocks.map((b) => b.block_id)).toEqual([REQUEST_BLOCK.namespace, REQUEST_BLOCK.serviceAccount, REQUEST_BLOCK.role, REQUEST_BLOCK.reason]);
  });

  test('a choice among exact scopes is a select; long names and 150 namespaces stay within limits', () => {
    const scopes = ['/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/kv1', '/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/kv2'];
    const roles = [
      { name: `Role ${'n'.repeat(140)}`, scopes, approvals: 2 as const, privileged: true, maxDurationSeconds: 3600 },
      { name: `Role ${'n'.repeat(200)}`, scopes, approvals: 1 as const, privileged: false },
    ];
    const options = { clusters: ['blue'], defaultCluster: 'blue', namespaces: Array.from({ length: 150 }, (_, i) => ({ name: `ns-${i}-${'x'.repeat(55)}`, roles })) };
    expect(scopeQuestion(options)).toEqual({ kind: 'select', scopes });
    const view = requestModal(options, { channel: 'C1' });
    expect(validateView(view as unknown as Record<string, unknown>)).toEqual([]);
    expect(JSON.stringify(view.blocks)).toContain('1 role has a name too long for this menu');
  });

  test('the deny form asks for a reason', () => {
    const view = denyModal({ requestId: 'wid-abcdefghij', channel: 'C1', ts: '1.2' });
    expect(validateView(view as unknown as Record<string, unknown>)).toEqual([]);
    expect(JSON.parse(view.private_metadata as string)).toEqual({ requestId: 'wid-abcdefghij', channel: 'C1', ts: '1.2' });
  });
});

describe('text helpers', () => {
  test('clip cuts visibly and never exceeds the limit; fit escapes first and never leaves half an entity', () => {
    expect(clip('abcdef', 4)).toBe('abc…');
    expect(clip('abc', 4)).toBe('abc');
    const f = fit('<'.repeat(100), 50, '');
    expect(f.length).toBeLessThanOrEqual(50);
    expect(f).toMatch(/^(&lt;)+…$/);
  });
});
