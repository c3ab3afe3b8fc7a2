/**
 * `/wid status`: one request with its history, or my open requests and what waits on me.
 */
import { clusterProgressLine, clustersOf } from '../../domain/cluster-progress';
import type { KnownBlock } from '@slack/types';
import type { TransitionEvent, WidRequest } from '../../domain/types';
import { planFields } from './approval';
import { clip, code, context, esc, fit, header, LIMIT, mention, section, type SlackMessage } from './text';

/** History entries shown in full; older ones are summarised in one line. */
export const HISTORY_SHOWN = 20;
/** Requests listed per section of `/wid status`. */
export const LIST_SHOWN = 15;

function eventLine(e: TransitionEvent): string {
  const who = e.actor.id === 'system' ? 'wid-bot' : mention(e.actor.id);
  const reason = e.reason ? ` — ${fit(e.reason, 100, '')}` : '';
  return `• ${e.at.slice(0, 19).replace('T', ' ')} ${e.from ?? 'new'} → *${e.to}* by ${who}${reason}`;
}

export function statusMessage(r: WidRequest, history: readonly TransitionEvent[]): SlackMessage {
  // newest entries first until the section is full; older ones are counted instead of shown
  const budget = LIMIT.sectionText - 120;
  const kept: string[] = [];
  let used = 0;
  for (let i = history.length - 1; i >= 0 && kept.length < HISTORY_SHOWN; i--) {
    const line = eventLine(history[i] as TransitionEvent);
    if (used + line.length + 1 > budget) break;
    kept.unshift(line);
    used += line.length + 1;
  }
  const hidden = history.length - kept.length;
  let lines = kept.join('\n');
  if (hidden > 0) lines = `… ${hidden} earlier entr${hidden === 1 ? 'y' : 'ies'} not shown\n${lines}`;
  const blocks: KnownBlock[] = [
    header(`${r.id} · ${r.state}`),
    section(`${mention(r.requester.id)} asked for *${esc(clip(r.roleName, 200))}* for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 400))} on *${esc(clip(clustersOf(r).join(', '), 300))}*${r.reason ? `:\n>${fit(r.reason, 1200).replace(/\n/g, '\n>')}` : '.'}`),
    { type: 'section', fields: planFields(r) },
    section(`*History*\n${clip(lines || '_none_', LIMIT.sectionText - 20)}`),
  ];
  const perCluster = r.state === 'pending' ? undefined : clusterProgressLine(r);
  if (perCluster) blocks.push(context(`Clusters: ${esc(clip(perCluster, 1000))}`));
  if (r.failure) blocks.push(context(`Failure: ${fit(r.failure.reason, 1000)}`));
  return { text: `${r.id} is ${r.state}`, blocks };
}

function requestLine(r: WidRequest): string {
  return `• ${code(r.id)} *${r.state}* — ${esc(clip(r.roleName, 60))} for ${code(clip(`${r.namespace}/${r.serviceAccount}`, 80))}${r.state === 'pending' ? ` (${r.approvals.length} of ${r.plan.approvalsRequired})` : ''}`;
}

function listSection(title: string, items: readonly WidRequest[], empty: string): KnownBlock {
  if (items.length === 0) return section(`*${title}*\n_${empty}_`);
  const shown = items.slice(0, LIST_SHOWN);
  const more = items.length - shown.length;
  return section(`*${title}*\n${shown.map(requestLine).join('\n')}${more > 0 ? `\n… and ${more} more not shown` : ''}`);
}

export function myRequestsMessage(mine: readonly WidRequest[], waitingOnMe: readonly WidRequest[] | undefined): SlackMessage {
  const blocks: KnownBlock[] = [listSection('Your open requests', mine, 'You have no open requests.')];
  if (waitingOnMe) blocks.push(listSection('Waiting for your approval', waitingOnMe, 'Nothing waits for you.'));
  blocks.push(context('Details of one request: `/wid status <request id>`'));
  return { text: `You have ${mine.length} open request${mine.length === 1 ? '' : 's'}${waitingOnMe ? `; ${waitingOnMe.length} wait${waitingOnMe.length === 1 ? 's' : ''} for you` : ''}.`, blocks };
}
