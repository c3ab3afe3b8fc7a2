/** Identifiers in Slack's own formats, so code that parses or pattern-matches them sees real-looking values. */
import { randomBytes } from 'node:crypto';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const BLOCK_ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

function pick(chars: string, n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += chars[b % chars.length];
  return out;
}

/** `V0AB2P1M2HX`-style id with the given prefix. */
export function slackId(prefix: string, length = 10): string {
  return prefix + pick(ALNUM, length);
}

/** Slack fills in a short random block_id (e.g. `P0z+f`) for blocks sent without one. */
export function blockId(): string {
  return pick(BLOCK_ID_CHARS, 5);
}

/** `10367455086084.10229338706656.e675a0c0dacc24a1f7b84a7a426d1197` */
export function triggerId(): string {
  const digits = (n: number) => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
  return `${digits(14)}.${digits(14)}.${randomBytes(16).toString('hex')}`;
}

/** A view `hash`: `1769220166.YVocmHYs`. */
export function viewHash(nowMs: number): string {
  return `${Math.floor(nowMs / 1000)}.${pick(ALNUM + 'abcdefghijklmnopqrstuvwxyz', 8)}`;
}

/**
 * Message timestamps: `1700000000.000100` (seconds and microseconds), unique and strictly increasing
 * within one emulator even when many messages land in the same microsecond.
 */
export class TsClock {
  private lastMicros = 0;
  constructor(private readonly now: () => number) {}

  next(): string {
    const micros = Math.max(Math.floor(this.now() * 1000), this.lastMicros + 1);
    this.lastMicros = micros;
    return formatTs(micros);
  }
}

export function formatTs(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  return `${seconds}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

/** Compare two Slack timestamps numerically (string comparison fails across digit-count changes). */
export function compareTs(a: string, b: string): number {
  const [as = '0', af = '0'] = a.split('.');
  const [bs = '0', bf = '0'] = b.split('.');
  return Number(as) - Number(bs) || Number(af.padEnd(6, '0')) - Number(bf.padEnd(6, '0'));
}
