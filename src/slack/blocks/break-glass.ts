/**
 * The break-glass alert: a requester approved their own request under the policy's break-glass rule. The
 * approvers hear at once, with the reason and a Revoke button that ends the grant (an approver's end).
 */
import type { WidRequest } from '../../domain/types';
import { ACTION } from '../ids';
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
