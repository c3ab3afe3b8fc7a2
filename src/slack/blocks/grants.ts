/**
 * Block Kit for grants: the end in each reader's own time zone (Slack's date token) with a countdown, the
 * reminder with Extend and I'm done, the end notice, the loud failure, and the list of active grants.
 */
import type { KnownBlock } from '@slack/types';
import { countdown, END_REASON_TEXT, TOKEN_VALIDITY_NOTE, type Grant } from '../../domain/grants';
import { ACTION } from '../ids';
import { clip, code, context, esc, header, LIMIT, mention, section, when, type SlackMessage } from './text';

function access(g: Grant): string {
  return `*${esc(clip(g.roleName, 200))}* for ${code(clip(`${g.namespace}/${g.serviceAccount}`, 400))} on ${code(clip(g.scope, 600))}`;
}

/** `ends <date> (2h 14m left)`, or that the grant has no end. */
export function endLine(g: Grant, now: Date): string {
  if (!g.endsAt) return 'no end date (the policy grants this role for good)';
  return `ends ${when(g.endsAt)} (${countdown(g.endsAt, now)})`;
}

/** Blocks appended to the result reply and DM of a grant with an end. */
export function grantEndBlocks(g: Grant, now: Date): KnownBlock[] {
  if (!g.endsAt) return [];
  return [section(`:hourglass_flowing_sand: This grant ${endLine(g, now)}; wid-bot removes the role assignment then, and reminds you before.`), context(TOKEN_VALIDITY_NOTE)];
}

/** `<grant id> <end ms>`: the Extend button names the end it was shown with, so two clicks extend once. */
export function grantButtonValue(g: Grant): string {
  return g.endsAt ? `${g.id} ${Date.parse(g.endsAt)}` : g.id;
}

export function parseGrantButtonValue(value: string): { grantId: string; endsAt?: string } {
  const [grantId = '', ms] = value.split(' ');
  const t = ms !== undefined ? Number(ms) : NaN;
  return Number.isFinite(t) ? { grantId, endsAt: new Date(t).toISOString() } : { grantId };
}

function buttons(g: Grant): KnownBlock {
  return {
    type: 'actions',
    elements: [
      { type: 'button', text: { type: 'plain_text', text: 'Extend' }, action_id: ACTION.grantExtend, value: grantButtonValue(g) },
      { type: 'button', text: { type: 'plain_text', text: "I'm done" }, action_id: ACTION.grantDone, value: g.id, style: 'danger' },
    ],
  };
}

/** The DM before the end. */
export function grantReminderDm(g: Grant, now: Date): SlackMessage {
  return {
    text: clip(`Your grant ${g.id} (${g.roleName} for ${g.namespace}/${g.serviceAccount}) ${g.endsAt ? `ends at ${g.endsAt}` : 'has no end'}.`, LIMIT.fallbackText),
    blocks: [section(`:alarm_clock: Your grant ${code(g.id)}: ${access(g)} ${endLine(g, now)}.`), buttons(g), context(`Extend asks for a new approval unless the policy lets you extend within its limit. ${TOKEN_VALIDITY_NOTE}`)],
  };
}

function endedBy(g: Grant): string {
  const e = g.end;
  if (!e) return 'ended';
  const who = e.actor.id === 'system' ? 'wid-bot' : mention(e.actor.id);
  return `ended ${e.endedAt ? when(e.endedAt) : ''} by ${who}: ${END_REASON_TEXT[e.reason]}`;
}

/** The block added to the approval message once the grant ended (by whom, why). */
function removedText(g: Grant): string {
  const role = g.end?.assignmentRemoved ? 'its role assignment was removed' : 'its role assignment stays (another grant needs it, it was already gone, or it predates the grant)';
  return `${role}${clustersText(g)}`;
}

/** A multi-cluster grant's other clusters at its end. */
function clustersText(g: Grant): string {
  const c = g.end?.clusters;
  if (!c) return '';
  const removed = c.removed.length ? `; on ${c.removed.map(esc).join(', ')} its federated credential and ServiceAccount annotation were removed` : '';
  const kept = c.kept.length ? `; on ${c.kept.map(esc).join(', ')} they stay for another grant` : '';
  return `${removed}${kept}`;
}

export function grantEndedBlocks(g: Grant): KnownBlock[] {
  return [section(`:checkered_flag: *Grant ${endedBy(g)}*; ${removedText(g)}.`), context(TOKEN_VALIDITY_NOTE)];
}

/** The DM to the requester when the grant ended. */
export function grantEndedDm(g: Grant): SlackMessage {
  return {
    text: clip(`Your grant ${g.id} (${g.roleName} for ${g.namespace}/${g.serviceAccount}) has ended.`, LIMIT.fallbackText),
    blocks: [section(`:checkered_flag: Your grant ${code(g.id)}: ${access(g)} has ${endedBy(g)}; ${removedText(g)}.`), context(TOKEN_VALIDITY_NOTE)],
  };
}

/** The loud one: the end kept failing. */
export function grantEndFailedMessage(g: Grant, message: string): SlackMessage {
  return {
    text: clip(`ALERT: grant ${g.id} should have ended but its ${g.alsoClusters?.length ? "role assignment or another cluster's credential and annotation" : 'role assignment'} could not be removed: ${message}`, LIMIT.fallbackText),
    blocks: [
      header(`:rotating_light: Grant ${g.id} did not end`),
      section(`${access(g)} should have ended${g.endsAt ? ` at ${when(g.endsAt)}` : ''}, but removing its ${g.alsoClusters?.length ? `role assignment, or its part on ${g.alsoClusters.map(esc).join(', ')},` : 'role assignment'} kept failing:\n>${esc(clip(message, 1500))}`),
      context('wid-bot keeps trying every reconcile interval. If this persists, remove the role assignment by hand (az role assignment delete) and check wid-bot\'s permissions on the scope.'),
    ],
  };
}

/** `/wid grants`: active grants with their ends. */
export function grantsListMessage(grants: readonly Grant[], now: Date, namespace?: string): SlackMessage {
  // as many whole lines as fit the section, the rest counted
  const budget = LIMIT.sectionText - 80;
  const lines: string[] = [];
  let used = 0;
  for (const g of grants.slice(0, 30)) {
    const line = `• ${code(g.id)} ${access(g)} — ${g.state === 'active' ? endLine(g, now) : `*${g.state}*`}`;
    if (used + line.length + 1 > budget) break;
    lines.push(line);
    used += line.length + 1;
  }
  const more = grants.length - lines.length;
  const title = `Active grants${namespace ? ` in ${namespace}` : ''}`;
  const body = lines.length ? `${lines.join('\n')}${more > 0 ? `\n… and ${more} more (\`wid grants --json\` lists all)` : ''}` : '_none_';
  return { text: `${title}: ${grants.length}`, blocks: [header(title), section(clip(body, LIMIT.sectionText)), context(TOKEN_VALIDITY_NOTE)] };
}
