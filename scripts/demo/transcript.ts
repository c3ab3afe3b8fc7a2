/**
 * Renders what the bot does in the Slack emulator as a readable chat transcript.
 */
import type { SlackEmulatorEvent } from '../../test/emulators/slack';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const textOf = (v: unknown): string => (isObj(v) && typeof v.text === 'string' ? v.text : '');

/** Block Kit → plain lines, the way a person reads the message. */
export function blocksToLines(blocks: unknown[] | undefined): string[] {
  const out: string[] = [];
  for (const b of blocks ?? []) {
    if (!isObj(b)) continue;
    switch (b.type) {
      case 'header':
        out.push(`== ${textOf(b.text)} ==`);
        break;
      case 'section': {
        const t = textOf(b.text);
        if (t) out.push(...t.split('\n'));
        if (Array.isArray(b.fields)) for (const f of b.fields) out.push(...textOf(f).split('\n'));
        if (isObj(b.accessory) && b.accessory.type === 'button') out.push(`[${textOf(b.accessory.text)}]`);
        break;
      }
      case 'context':
        if (Array.isArray(b.elements)) out.push(b.elements.map((e) => textOf(e)).filter(Boolean).join('  ·  '));
        break;
      case 'actions':
        if (Array.isArray(b.elements)) out.push(b.elements.map((e) => `[${textOf(isObj(e) ? e.text : undefined)}]`).join(' '));
        break;
      case 'rich_text':
      case 'divider':
        break;
      case 'input':
        out.push(`<input: ${textOf(b.label)}>`);
        break;
      default:
        break;
    }
  }
  return out.map((l) => l.replace(/\s+$/, '')).filter((l) => l.length > 0);
}

export interface TranscriptNames {
  users: Record<string, string>;
  channels: Record<string, string>;
}

/** What each message looked like last, so an edit prints only what changed. */
const lastSeen = new Map<string, string[]>();

export function formatEvent(e: SlackEmulatorEvent, names: TranscriptNames): string | undefined {
  const ch = e.channel ? (names.channels[e.channel] ?? e.channel) : '';
  const who = e.user ? (names.users[e.user] ?? e.user) : '';
  const body = blocksToLines(e.blocks);
  let lines = body.length ? body : (e.text ?? '').split('\n');
  const key = `${e.channel ?? ''}/${e.ts ?? ''}`;
  if (e.kind === 'post' || e.kind === 'update') {
    const before = lastSeen.get(key);
    lastSeen.set(key, lines);
    if (e.kind === 'update' && before) {
      const old = new Set(before);
      const changed = lines.filter((l) => !old.has(l));
      lines = changed.length ? changed : ['(no visible change)'];
    }
  }
  const indent = (prefix: string): string => lines.map((l, i) => (i === 0 ? prefix + l : ' '.repeat(prefix.length) + l)).join('\n');
  switch (e.kind) {
    case 'post':
      return indent(`${ch}${e.threadTs && e.threadTs !== e.ts ? ' (thread)' : ''}  wid-bot: `);
    case 'update':
      return indent(`${ch}  wid-bot edits its message: `);
    case 'ephemeral':
      return indent(`${ch}  wid-bot (only visible to ${who}): `);
    case 'view_open':
    case 'view_update': {
      const view = isObj(e.view) ? e.view : {};
      const title = textOf(view.title);
      const inputs = blocksToLines(Array.isArray(view.blocks) ? view.blocks : []);
      return `[modal "${title}" ${e.kind === 'view_open' ? 'opens' : 'updates'} for ${who}] ${inputs.join(' ')}`;
    }
    default:
      return undefined;
  }
}
