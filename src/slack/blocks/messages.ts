/**
 * Short ephemeral answers: help, refusals with the right form, confirmations.
 */
import { helpText, usage, type Verb } from '../../domain/grammar';
import type { WidRequest } from '../../domain/types';
import { ACTION } from '../ids';
import { clip, code, context, esc, fit, section, type SlackMessage } from './text';

export function helpMessage(topic?: Verb): SlackMessage {
  const text = helpText(topic);
  return { text: clip(text, 3000), blocks: [section(`\`\`\`${clip(text, 2900)}\`\`\``)] };
}

/** A refusal: what was wrong, and the right form of the command when one applies. */
export function refusalMessage(message: string, verb?: Verb): SlackMessage {
  const form = verb && !message.includes('Usage:') ? `\nUsage: \`${usage(verb)}\`` : '';
  const text = `:warning: ${fit(message, 2500)}${form}`;
  return { text: clip(`${message}`, 3000), blocks: [section(text)] };
}

export function errorMessage(what: string): SlackMessage {
  return { text: clip(what, 3000), blocks: [section(`:x: ${fit(what, 2800)}`)] };
}

export function infoMessage(text: string): SlackMessage {
  return { text: clip(text, 3000), blocks: [section(fit(text, 2900))] };
}

export function requestedMessage(r: WidRequest, link?: string, opts: { breakGlass?: boolean } = {}): SlackMessage {
  const where = link ? ` <${link}|View the approval message.>` : '';
  return {
    text: `Request ${r.id} is waiting for approval.`,
    blocks: [
      section(`:inbox_tray: Request ${code(r.id)} is waiting for approval (${r.plan.approvalsRequired} needed).${where}`),
      context(`${r.kind === 'revoke' ? 'Revoke' : r.kind === 'federate' ? `Trust ${r.plan.federation ? `${esc(r.plan.federation.sourceCluster)}'s identity` : 'the identity'} (${esc(clip(r.roleName, 200))})` : esc(clip(r.roleName, 200))} for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 600))} on ${esc(r.clusterName)}${r.plan.alsoClusters?.length ? ` and ${r.plan.alsoClusters.map((c) => esc(c.cluster.name)).join(', ')}` : ''}. Follow it with \`/wid status ${r.id}\`.`),
      {
        type: 'actions',
        elements: [
          { type: 'button', action_id: ACTION.withdraw, style: 'danger', text: { type: 'plain_text', text: 'Withdraw' }, value: r.id },
          // only when the policy enables break-glass for this role or namespace
          ...(opts.breakGlass ? [{ type: 'button' as const, action_id: ACTION.breakGlass, text: { type: 'plain_text' as const, text: 'Break glass' }, value: r.id }] : []),
        ],
      },
    ],
  };
}

export function duplicateMessage(existingId: string, link?: string): SlackMessage {
  const where = link ? ` <${link}|Open it.>` : '';
  return {
    text: `Request ${existingId} for the same ServiceAccount and role is still open.`,
    blocks: [section(`:information_source: Request ${code(existingId)} for the same cluster, namespace, ServiceAccount and role is still open, so wid-bot did not create another.${where} Follow it with \`/wid status ${existingId}\`.`)],
  };
}
