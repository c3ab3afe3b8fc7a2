/**
 * The `/wid refederate` message: the exact plan (issuers, per-identity credentials, what is skipped or gone), its
 * state, the per-identity results and the buttons the state allows. Pure; kept within Slack's limits however
 * many identities the batch has (long lists are cut with a count of the rest).
 */
import type { KnownBlock } from '@slack/types';
import { failedKeys, removableKeys, type RefederationBatch } from '../../domain/refederate-batch';
import { ACTION } from '../ids';
import { clip, code, esc, LIMIT, mention, type SlackMessage } from './text';

/** Lines listed per group before "…and N more". */
const LIST_MAX = 15;

function lines(items: string[], max = LIST_MAX): string {
  const shown = items.slice(0, max);
  const rest = items.length - shown.length;
  return clip([...shown, ...(rest > 0 ? [`…and ${rest} more`] : [])].join('\n'), LIMIT.sectionText);
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMIT.sectionText) } };
}

const STATE_TEXT: Record<RefederationBatch['state'], string> = {
  pending: ':hourglass_flowing_sand: waiting for approval',
  approved: ':white_check_mark: approved, queued for the worker',
  running: ':gear: the worker is writing and verifying credentials',
  verified: ':white_check_mark: new credentials written and verified; the old ones are still in place',
  removing: ':broom: removing the old credentials',
  finished: ':tada: finished',
  denied: ':no_entry: denied',
  expired: ':zzz: expired',
};

export function refederateMessage(batch: RefederationBatch): SlackMessage {
  const { plan } = batch;
  const writes = plan.items.filter((i) => !i.present).length;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(`Refederate cluster ${batch.cluster}`, LIMIT.headerText) } },
    section(
      `*${batch.id}* asked by ${mention(batch.requester.id)}${batch.reason ? ` — ${esc(batch.reason)}` : ''}\n` +
        `The cluster's OIDC issuer is now ${code(plan.currentIssuer)}; before it was ${plan.previousIssuers.map(code).join(', ')}.\n` +
        `*Plan:* ${writes} new federated credential(s) (same subject, new issuer), ${plan.items.length} ServiceAccount(s) verified at Entra ID. ` +
        (batch.keepOldCredentials ? 'The policy keeps the old credentials.' : 'Old credentials stay until the new ones verify, then are removed only when someone clicks *Remove old credentials*.'),
    ),
    section(`*Identities* (${plan.items.length})\n${lines(plan.items.map((i) => `• ${code(i.identity.name)} ← ${code(i.subject)}${i.present ? ' (already trusts the new issuer: verify only)' : `: new credential ${code(i.credential.name)}`}; old: ${i.oldCredentials.map((o) => code(o.name)).join(', ')}`))}`),
  ];
  if (plan.skipped.length) blocks.push(section(`*Skipped: limit reached* (${plan.skipped.length})\n${lines(plan.skipped.map((s) => `• ${code(s.identity.name)} ← ${code(s.subject)}: already at 20 federated credentials`))}`));
  if (plan.gone.length) blocks.push(section(`*ServiceAccount gone, not recreated* (${plan.gone.length})\n${lines(plan.gone.map((g) => `• ${code(g.identity.name)}: ${code(g.credential)} trusts ${code(g.subject)}`))}`));
  blocks.push(section(`*State:* ${STATE_TEXT[batch.state]}${batch.approver ? ` — approved by ${mention(batch.approver.id)}` : ''}`));

  if (batch.results.length) {
    const done = batch.results.filter((r) => r.outcome === 'done');
    const skipped = batch.results.filter((r) => r.outcome === 'skipped');
    const failed = batch.results.filter((r) => r.outcome === 'failed');
    blocks.push(section(`*Result:* ${done.length} done (${done.filter((r) => r.verified).length} verified), ${skipped.length} skipped, ${failed.length} failed`));
    if (skipped.length) blocks.push(section(`*Skipped*\n${lines(skipped.map((r) => `• ${code(r.identity)}: ${esc(r.detail)}`), 8)}`));
    if (failed.length) blocks.push(section(`*Failed*\n${lines(failed.map((r) => `• ${code(r.identity)} (${code(r.subject)}): ${esc(r.detail)}`), 8)}`));
  }
  const removed = batch.removal.filter((r) => r.outcome === 'done');
  const removalFailed = batch.removal.filter((r) => r.outcome === 'failed');
  if (batch.removal.length) {
    blocks.push(section(`*Old credentials:* removed from ${removed.length} identit${removed.length === 1 ? 'y' : 'ies'}${removalFailed.length ? `; ${removalFailed.length} failed:\n${lines(removalFailed.map((r) => `• ${code(r.identity)}: ${esc(r.detail)}`), 8)}` : ''}`));
  }

  const buttons: KnownBlock[] = [];
  const button = (action: string, text: string, style?: 'primary' | 'danger') => ({ type: 'button' as const, action_id: action, text: { type: 'plain_text' as const, text }, value: batch.id, ...(style ? { style } : {}) });
  if (batch.state === 'pending') {
    buttons.push({ type: 'actions', elements: [button(ACTION.refederateApprove, 'Approve', 'primary'), button(ACTION.refederateDeny, 'Deny', 'danger')] });
  }
  const elements = [];
  if (batch.state === 'verified' && removableKeys(batch).length) elements.push(button(ACTION.refederateRemoveOld, `Remove old credentials (${removableKeys(batch).length})`, 'danger'));
  if ((batch.state === 'verified' || batch.state === 'finished') && failedKeys(batch).length) elements.push(button(ACTION.refederateRetry, `Retry failed (${failedKeys(batch).length})`));
  if (elements.length) buttons.push({ type: 'actions', elements });
  const all = [...blocks.slice(0, LIMIT.messageBlocks - buttons.length), ...buttons];
  const text = clip(`${batch.id}: refederate cluster ${batch.cluster} — ${STATE_TEXT[batch.state].replace(/^:[a-z_]+: /, '')}`, LIMIT.fallbackText);
  return { text, blocks: all };
}
