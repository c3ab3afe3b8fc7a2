/**
 * The break-glass alert: a requester approved their own request under the policy's break-glass rule. The
 * approvers hear at once, with the reason and a Revoke button that ends the grant (an approver's end).
 */
import type { ModalView } from '@slack/types';
import type { WidRequest } from '../../domain/types';
import { ACTION, BREAK_GLASS_BLOCK, CALLBACK, INPUT_ACTION } from '../ids';
import { clip, code, context, duration, esc, fit, mention, section, type SlackMessage } from './text';

export function breakGlassAlert(r: WidRequest, who: { users: string[]; groups: string[] }): SlackMessage {
  const reason = r.breakGlass?.reason ?? r.reason ?? '';
  const to = [...who.users.filter((u) => u !== r.requester.id).map(mention), ...who.groups.map((g) => `<!subteam^${g}>`)].slice(0, 40).join(' ');
  const cap = r.durationSeconds !== undefined ? ` for ${duration(r.durationSeconds)}` : '';
  return {
    text: clip(`Break-glass: ${r.requester.name ?? r.requester.id} approved ${r.id} themselves (${r.roleName} for ${r.namespace}/${r.serviceAccount}).`, 3000),
    blocks: [
      section(
        `:rotating_light: *Break-glass* ${to ? `${to}: ` : ''}${mention(r.requester.id)} approved their own request ${code(r.id)}: *${esc(clip(r.roleName, 200))}* for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} on *${esc(r.clusterName)}*${cap}.\n>${fit(reason, 1500).replace(/\n/g, '\n>')}`,
      ),
      context('Break-glass skips the approval; the audit marks it. Revoke ends the access at once.'),
      { type: 'actions', elements: [{ type: 'button', action_id: ACTION.grantDone, style: 'danger', text: { type: 'plain_text', text: 'Revoke' }, value: r.id }] },
    ],
  };
}

/** The form that asks why (mandatory) before the requester approves their own request. */
export function breakGlassModal(r: WidRequest, capSeconds: number): ModalView {
  const granted = r.durationSeconds === undefined ? capSeconds : Math.min(r.durationSeconds, capSeconds);
  return {
    type: 'modal',
    callback_id: CALLBACK.breakGlassModal,
    title: { type: 'plain_text', text: 'Break glass' },
    submit: { type: 'plain_text', text: 'Approve myself' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify({ requestId: r.id }),
    blocks: [
      section(`Approve your own request ${code(r.id)} (*${esc(clip(r.roleName, 200))}* for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))}) without waiting for an approver? The access lasts at most *${duration(granted)}*; the approvers are told at once and can revoke it, and the audit marks it as break-glass.`),
      {
        type: 'input',
        block_id: BREAK_GLASS_BLOCK.reason,
        label: { type: 'plain_text', text: 'Why you need it now' },
        element: { type: 'plain_text_input', action_id: INPUT_ACTION, multiline: true, max_length: 2000 },
      },
    ],
  };
}
