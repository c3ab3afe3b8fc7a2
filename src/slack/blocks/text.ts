/**
 * Text helpers for Block Kit: every user-supplied value is cut to the field's limit with a visible
 * "…", and mrkdwn control characters are escaped so names cannot inject mentions or links.
 */
import type { KnownBlock } from '@slack/types';
import { formatDuration } from '../../domain/grammar';

/** A message as wid-bot posts it: fallback text (notifications, screen readers) plus blocks. */
export interface SlackMessage {
  text: string;
  blocks?: KnownBlock[];
}

export const LIMIT = {
  sectionText: 3000,
  fieldText: 2000,
  headerText: 150,
  contextText: 3000,
  buttonText: 75,
  optionText: 75,
  optionValue: 150,
  messageBlocks: 50,
  modalTitle: 24,
  privateMetadata: 3000,
  /** Fallback `text` kept well under Slack's 40,000 so it never triggers msg_too_long. */
  fallbackText: 3000,
} as const;

/** Cut `text` to at most `max` characters (code points), ending with "…" when cut. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** True when clip would cut. */
export function isClipped(text: string, max: number): boolean {
  return Array.from(text).length > max;
}

/** Escape `&`, `<` and `>` so Slack shows user text as typed (no mentions, links or channel pings). */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code: backticks inside would end it, so they become a look-alike. */
export function code(text: string): string {
  return `\`${esc(text).replace(/`/g, 'ˋ')}\``;
}

/** A mention of a Slack user id (only ids Slack gave us). */
export function mention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : esc(userId);
}

/**
 * Escape, then clip so the escaped text fits `max`; a cut says so. Escaping happens first because
 * `&lt;` is longer than `<` and the limit applies to what Slack receives.
 */
export function fit(text: string, max: number, note = ' _(shortened)_'): string {
  const escaped = esc(text);
  if (Array.from(escaped).length <= max) return escaped;
  let cut = clip(escaped, max - note.length);
  // never leave half an entity such as `&am`
  cut = cut.replace(/&[a-z]{0,3}…$/, '…');
  return `${cut}${note}`;
}

export function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, LIMIT.sectionText) } };
}

export function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(text, LIMIT.contextText) }] };
}

export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: clip(text, LIMIT.headerText), emoji: true } };
}

/** Seconds as a short duration, e.g. 5400 → 1h30m (the grammar's own format, so what is shown can be typed back). */
export const duration = formatDuration;

/** A Slack date token: shows in the reader's time zone, with the ISO time as fallback. */
export function when(iso: string): string {
  const s = Math.floor(Date.parse(iso) / 1000);
  return Number.isFinite(s) ? `<!date^${s}^{date_short_pretty} {time}|${iso}>` : esc(iso);
}
