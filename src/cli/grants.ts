/**
 * `wid grants [--ns N] [--json]`: the active grants and when each ends, from wid-bot's Redis (REDIS_URL,
 * WID_REDIS_PREFIX). `/wid grants` answers the same in Slack.
 */
import { countdown, type Grant } from '../domain/grants';
import { CliError, takeOptions, type CliIo } from './verb';

export const usage = [
  'wid grants [--ns NAMESPACE] [--json]',
  '  Active grants (not yet ended) with their ends, soonest first. Reads wid-bot\'s Redis: REDIS_URL (and WID_REDIS_PREFIX).',
  '  --ns     only this namespace',
  '  --json   print JSON',
].join('\n');

export function renderGrants(grants: readonly Grant[], now: Date): string {
  if (grants.length === 0) return 'No active grants.';
  const rows = grants.map((g) => [g.id, `${g.namespace}/${g.serviceAccount}`, g.roleName, g.scope, g.state, g.endsAt ?? 'no end', g.endsAt ? countdown(g.endsAt, now) : '']);
  const head = ['ID', 'SERVICEACCOUNT', 'ROLE', 'SCOPE', 'STATE', 'ENDS', 'LEFT'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export async function run(args: string[], io: CliIo, deps: { open?: () => Promise<Grant[]>; now?: () => Date } = {}): Promise<number> {
  const { options, rest } = takeOptions(args, ['ns'], ['json', 'help']);
  if (options.help) {
    io.out(usage);
    return 0;
  }
  if (rest.length) throw new CliError(`wid grants takes no words besides its options, got ${rest.map((r) => JSON.stringify(r)).join(' ')}.\nUsage: ${usage.split('\n')[0]}`);
  const ns = typeof options.ns === 'string' ? options.ns : undefined;
  let open = deps.open;
  let close: (() => Promise<void>) | undefined;
  if (!open) {
    const url = io.env.REDIS_URL;
    if (!url) throw new CliError(`wid grants reads wid-bot's Redis: set REDIS_URL (and WID_REDIS_PREFIX if the bot uses one).\nUsage: ${usage.split('\n')[0]}`);
    const { RedisRequestStore } = require('../store') as typeof import('../store');
    const { RedisGrantStore } = require('../grants/store') as typeof import('../grants/store');
    let store;
    try {
      store = await RedisRequestStore.connect(url, io.env.WID_REDIS_PREFIX ? { prefix: io.env.WID_REDIS_PREFIX } : {});
    } catch (e) {
      io.err(`wid grants: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
    const grants = new RedisGrantStore(store.redis, store.keys);
    open = () => grants.open();
    close = () => store.close();
  }
  try {
    const all = (await open()).filter((g) => ns === undefined || g.namespace === ns);
    io.out(options.json ? JSON.stringify(all, null, 2) : renderGrants(all, deps.now?.() ?? new Date()));
    return 0;
  } catch (e) {
    io.err(`wid grants: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await close?.();
  }
}
