/**
 * The `/wid` command grammar. Any text at all yields either a command or a refusal that says what
 * was wrong and shows the right form; nothing here throws.
 */
import { ok, refuse, type Result } from './errors';
import { show, listOf } from './text';

export interface RequestCommand {
  verb: 'request';
  namespace: string;
  serviceAccount: string;
  /** Role display name; spaces allowed, whitespace runs collapsed to one space. */
  roleName: string;
  scope?: string;
  cluster?: string;
  reason?: string;
  durationSeconds?: number;
  /** `--cluster a,b`: every cluster named, in order (the first is `cluster`); set only when more than one is named. */
  clusters?: string[];
}
export interface RevokeCommand {
  verb: 'revoke';
  namespace: string;
  serviceAccount: string;
  cluster?: string;
  reason?: string;
  /** `--cluster all`: every cluster's part in one approval (then `cluster` is unset). */
  allClusters?: true;
}
export interface StatusCommand {
  verb: 'status';
  id?: string;
}
export interface ClusterCommand {
  verb: 'cluster' | 'creds' | 'audit' | 'legacy';
  cluster?: string;
  /** `--share`: post the answer in the channel instead of to the asker alone. */
  share?: true;
}
export interface ListCommand {
  verb: 'list';
  namespace?: string;
  cluster?: string;
  /** `--share`: post the answer in the channel instead of to the asker alone. */
  share?: true;
}
export interface HelpCommand {
  verb: 'help';
  topic?: Verb;
}
/** `/wid grants [namespace]`: active grants with their ends. */
export interface GrantsCommand {
  verb: 'grants';
  namespace?: string;
}
/** `/wid migrate <namespace> <azureidentitybinding> [serviceaccount]`, or with `--finish` the clean-up after the pods moved. */
export interface MigrateCommand {
  verb: 'migrate';
  namespace: string;
  binding: string;
  serviceAccount?: string;
  cluster?: string;
  reason?: string;
  finish: boolean;
}
/** `/wid refederate <cluster>`: re-federate what trusted a recreated cluster's previous issuer. */
export interface RefederateCommand {
  verb: 'refederate';
  cluster: string;
  reason?: string;
}
/** `/wid withdraw <id>`: the requester takes back a request still waiting for approval. */
export interface WithdrawCommand {
  verb: 'withdraw';
  id: string;
}
/** `/wid policy check`: operators check the policy against Slack, Azure and the clusters. */
export interface PolicyCommand {
  verb: 'policy';
  action: 'check';
}
/** `/wid federate <namespace> <serviceaccount> --cluster <other>`: the identity serving the ServiceAccount also trusts another cluster. */
export interface FederateCommand {
  verb: 'federate';
  namespace: string;
  serviceAccount: string;
  /** The cluster to trust (required). */
  cluster: string;
  reason?: string;
}
export type WidCommand = RequestCommand | RevokeCommand | StatusCommand | ClusterCommand | ListCommand | HelpCommand | GrantsCommand | MigrateCommand | RefederateCommand | WithdrawCommand | PolicyCommand | FederateCommand;
export type Verb = WidCommand['verb'];

/** Longest command text accepted; Slack caps slash commands well below this anyway. */
export const MAX_COMMAND_LENGTH = 2000;
/** Longest duration accepted by `--for`. */
export const MAX_DURATION_SECONDS = 366 * 24 * 3600;

type FlagName = 'scope' | 'cluster' | 'reason' | 'for' | 'finish' | 'share';
/** Flags that take no value: present or not. */
const SWITCHES: readonly FlagName[] = ['finish', 'share'];

interface VerbSpec {
  usage: string;
  summary: string;
  flags: FlagName[];
}

const SPECS: Record<Verb, VerbSpec> = {
  request: {
    usage: '/wid request <namespace> <serviceaccount> <role name…> [--scope <ARM id>] [--cluster <name>[,<name>…]] [--reason <text>] [--for <duration, e.g. 8h>]',
    summary: 'ask for an Azure role for a Kubernetes ServiceAccount (role names need no quotes)',
    flags: ['scope', 'cluster', 'reason', 'for'],
  },
  revoke: {
    usage: '/wid revoke <namespace> <serviceaccount> [--cluster <name>|all] [--reason <text>]',
    summary: 'remove what wid-bot granted to a ServiceAccount',
    flags: ['cluster', 'reason'],
  },
  status: { usage: '/wid status [request id]', summary: 'show one request, or your open requests', flags: [] },
  cluster: { usage: '/wid cluster [--cluster <name>] [--share]', summary: 'check that a cluster is ready for workload identity', flags: ['cluster', 'share'] },
  list: { usage: '/wid list [namespace] [--cluster <name>] [--share]', summary: 'list the identities wid-bot manages', flags: ['cluster', 'share'] },
  creds: { usage: '/wid creds [--cluster <name>] [--share]', summary: 'show federated credentials and how close each identity is to the limit', flags: ['cluster', 'share'] },
  audit: { usage: '/wid audit [--cluster <name>] [--share]', summary: 'find drift between the policy, Azure and the cluster', flags: ['cluster', 'share'] },
  legacy: { usage: '/wid legacy [--cluster <name>] [--share]', summary: 'find aad-pod-identity leftovers to migrate', flags: ['cluster', 'share'] },
  grants: { usage: '/wid grants [namespace]', summary: 'list active grants and when each ends', flags: [] },
  migrate: {
    usage: '/wid migrate [--finish] <namespace> <azureidentitybinding> [serviceaccount] [--cluster <name>] [--reason <text>]',
    summary: "move an aad-pod-identity binding to workload identity with the identity it already uses (--finish removes the binding once its pods moved)",
    flags: ['cluster', 'reason', 'finish'],
  },
  refederate: {
    usage: '/wid refederate <cluster> [--reason <text>]',
    summary: "after a cluster was recreated: give every identity that trusted its old OIDC issuer a credential for the new one (one approval; old credentials removed in a second step)",
    flags: ['reason'],
  },
  withdraw: { usage: '/wid withdraw <request id>', summary: 'take back your request while it waits for approval', flags: [] },
  federate: {
    usage: '/wid federate <namespace> <serviceaccount> --cluster <other cluster> [--reason <text>]',
    summary: 'let the identity that serves a ServiceAccount on one cluster also trust the same ServiceAccount on another cluster (blue/green, multi-cluster)',
    flags: ['cluster', 'reason'],
  },
  help: { usage: '/wid help [command]', summary: 'show this help', flags: [] },
  policy: { usage: '/wid policy check', summary: 'operators: check that every person, usergroup, scope, role and cluster the policy names exists and works', flags: [] },
};

export const VERBS = Object.keys(SPECS) as Verb[];

function isVerb(text: string): text is Verb {
  return Object.prototype.hasOwnProperty.call(SPECS, text);
}

/** The usage line of one verb, or every usage line. */
export function usage(verb?: Verb): string {
  if (verb) return SPECS[verb].usage;
  return VERBS.map((v) => SPECS[v].usage).join('\n');
}

/** The text `/wid help` shows. */
export function helpText(topic?: Verb): string {
  if (topic) {
    const spec = SPECS[topic];
    const extra =
      topic === 'request'
        ? '\nExample: /wid request finance backend-sa Key Vault Secrets User --reason "read payment secrets" --for 8h' +
          '\nDurations: 30m, 8h, 7d, 1h30m. Values with spaces may be quoted; --reason takes the words up to the next flag.'
        : '';
    return `${spec.usage}\n${capitalise(spec.summary)}.${extra}`;
  }
  const lines = VERBS.map((v) => `• ${SPECS[v].usage}\n   ${SPECS[v].summary}`);
  return `wid-bot gives Kubernetes ServiceAccounts Azure access through Entra Workload ID.\n${lines.join('\n')}`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ───────────────────────────── tokens ─────────────────────────────

interface Token {
  text: string;
  /** True when the whole token was quoted: it is never a flag. */
  quoted: boolean;
}

/** Straight and typographic quotes (Slack and macOS turn " into “ ”); each family closes its own. */
const DOUBLE_QUOTES = new Set(['"', '“', '”', '„', '«', '»']);
const SINGLE_QUOTES = new Set(["'", '‘', '’', '‚']);
/** Em and en dashes count as `--` because macOS "smart dashes" rewrite `--scope` to `—scope`. */
const FLAG_PREFIX = /^(?:--|—|–)(?=[A-Za-z])/;

function quoteFamily(ch: string): Set<string> | undefined {
  if (DOUBLE_QUOTES.has(ch)) return DOUBLE_QUOTES;
  if (SINGLE_QUOTES.has(ch)) return SINGLE_QUOTES;
  return undefined;
}

function isSpace(ch: string): boolean {
  return /\s/u.test(ch);
}

function isControl(ch: string): boolean {
  const code = ch.codePointAt(0) ?? 0;
  return code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0);
}

/** Split text into tokens. Quotes open only at the start of a token (or right after `--flag=`), so apostrophes inside words stay words. */
function tokenize(text: string): Result<Token[]> {
  const chars = Array.from(text);
  const tokens: Token[] = [];
  let i = 0;
  while (i < chars.length) {
    const ch = chars[i] as string;
    if (isSpace(ch)) {
      i++;
      continue;
    }
    const family = quoteFamily(ch);
    if (family) {
      const closed = readQuoted(chars, i + 1, family);
      if (!closed) return unterminated(ch, chars.slice(i).join(''));
      tokens.push({ text: closed.value, quoted: true });
      i = closed.next;
      continue;
    }
    let word = '';
    while (i < chars.length && !isSpace(chars[i] as string)) {
      const c = chars[i] as string;
      const fam = quoteFamily(c);
      // `--reason="needs secrets"`: a quote right after `--flag=` opens a quoted value.
      if (fam && /^(?:--|—|–)[A-Za-z][A-Za-z-]*=$/.test(word)) {
        const closed = readQuoted(chars, i + 1, fam);
        if (!closed) return unterminated(c, chars.slice(i).join(''));
        word += closed.value;
        i = closed.next;
        break;
      }
      word += c;
      i++;
    }
    tokens.push({ text: word, quoted: false });
  }
  return ok(tokens);
}

/** A quote closes at the first quote of its family that is followed by whitespace or the end. */
function readQuoted(chars: string[], start: number, family: Set<string>): { value: string; next: number } | undefined {
  for (let j = start; j < chars.length; j++) {
    const c = chars[j] as string;
    if (family.has(c)) {
      const after = chars[j + 1];
      if (after === undefined || isSpace(after)) return { value: chars.slice(start, j).join(''), next: j + 1 };
    }
  }
  return undefined;
}

function unterminated(quote: string, rest: string): Result<never> {
  return refuse(
    'unterminated-quote',
    `The quote ${quote} that starts ${show(rest, 40)} is never closed. Close it with a matching quote followed by a space or the end of the command, or leave the quotes out (role names need none).`,
  );
}

// ───────────────────────────── durations ─────────────────────────────

/** Parse `30m`, `8h`, `7d`, `1h30m`, `90s` into seconds. */
export function parseDuration(text: string): Result<number> {
  const t = text.trim().toLowerCase();
  const m = /^(?:(\d{1,6})d)?(?:(\d{1,6})h)?(?:(\d{1,6})m)?(?:(\d{1,6})s)?$/.exec(t);
  const hint = 'use a number followed by d, h, m or s, e.g. 30m, 8h, 7d or 1h30m';
  if (/^0+$/.test(t)) return refuse('bad-duration', `${show(text, 40)} is zero: a grant must last longer than that (${hint}).`, 'durationSeconds');
  if (/^\d+\s*(y|yr|yrs|years?|w|wk|weeks?|mo|months?)$/.test(t)) {
    return refuse('bad-duration', `${show(text, 40)} is not a duration wid-bot takes: weeks, months and years are not units (the longest grant is 366d); ${hint}.`, 'durationSeconds');
  }
  if (!m || t === '') return refuse('bad-duration', `${show(text, 40)} is not a duration: ${hint}.`, 'durationSeconds');
  const [, d, h, mi, s] = m;
  const seconds = Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0);
  if (seconds <= 0) return refuse('bad-duration', `${show(text, 40)} is zero: a duration must be longer than that (${hint}).`, 'durationSeconds');
  if (seconds > MAX_DURATION_SECONDS) {
    return refuse('bad-duration', `${show(text, 40)} is longer than the 366 days wid-bot accepts.`, 'durationSeconds');
  }
  return ok(seconds);
}

/** Seconds as the shortest readable duration, e.g. 5400 → `1h30m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds <= 0) return '0s';
  let rest = Math.floor(seconds);
  let out = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

// ───────────────────────────── parsing ─────────────────────────────

function refuseWithUsage(code: string, what: string, verb?: Verb, field?: string): Result<never> {
  const how = verb ? `Usage: ${SPECS[verb].usage}` : `Commands: ${VERBS.join(', ')}. Try /wid help.`;
  return refuse(code, `${what}\n${how}`, field);
}

/** Slack sends `&`, `<` and `>` in slash-command text as HTML entities; this turns them back. */
export function unescapeSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Parse the text after `/wid` (as Slack sends it: `&amp;`, `&lt;` and `&gt;` are decoded first). */
export function parseCommand(rawText: string): Result<WidCommand> {
  if (typeof rawText !== 'string') return refuseWithUsage('empty-command', 'No command given.');
  const text = unescapeSlackText(rawText);
  if (text.length > MAX_COMMAND_LENGTH) {
    return refuseWithUsage('command-too-long', `The command is ${text.length} characters long; wid-bot reads at most ${MAX_COMMAND_LENGTH}.`);
  }
  for (const ch of text) {
    if (isControl(ch) && !isSpace(ch)) {
      return refuseWithUsage('control-character', `The command contains the control character ${show(ch)}; type it again without it.`);
    }
  }
  const tokens = tokenize(text);
  if (!tokens.ok) return tokens;
  return parseTokens(tokens.value);
}

/**
 * Parse a command already split into words by a shell (the CLI). Each word is taken literally:
 * no quote processing, but words starting with `--` are still flags.
 */
export function parseArgv(args: readonly string[]): Result<WidCommand> {
  const total = args.reduce((n, a) => n + a.length + 1, 0);
  if (total > MAX_COMMAND_LENGTH) {
    return refuseWithUsage('command-too-long', `The command is ${total} characters long; wid-bot reads at most ${MAX_COMMAND_LENGTH}.`);
  }
  for (const a of args) {
    for (const ch of a) {
      if (isControl(ch) && !isSpace(ch)) {
        return refuseWithUsage('control-character', `The command contains the control character ${show(ch)}; type it again without it.`);
      }
    }
  }
  return parseTokens(args.filter((a) => a.trim() !== '').map((a) => ({ text: a, quoted: false })));
}

function isFlagToken(t: Token): boolean {
  return !t.quoted && FLAG_PREFIX.test(t.text);
}

function parseTokens(tokens: Token[]): Result<WidCommand> {
  const first = tokens[0];
  if (!first) return refuseWithUsage('empty-command', 'No command given.');
  const verbText = first.text.toLowerCase();
  if (!first.quoted && (verbText === '--help' || verbText === '-h')) return ok({ verb: 'help' });
  if (!isVerb(verbText)) {
    return refuseWithUsage('unknown-verb', `${show(first.text, 40)} is not a wid-bot command.`);
  }
  const verb: Verb = verbText;
  const spec = SPECS[verb];

  const flags: Partial<Record<FlagName, string>> = {};
  const positionals: string[] = [];
  let i = 1;
  while (i < tokens.length) {
    const tok = tokens[i] as Token;
    if (!isFlagToken(tok)) {
      if (!tok.quoted && /^-[A-Za-z]/.test(tok.text)) {
        return refuseWithUsage('unknown-flag', `${show(tok.text, 40)} is not a flag: flags start with two dashes, e.g. --scope.`, verb);
      }
      positionals.push(tok.text);
      i++;
      continue;
    }
    const body = tok.text.replace(FLAG_PREFIX, '');
    const eq = body.indexOf('=');
    const name = (eq >= 0 ? body.slice(0, eq) : body).toLowerCase();
    const inline = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (name === 'help') return ok({ verb: 'help', topic: verb });
    if (!(spec.flags as string[]).includes(name)) {
      const allowed = spec.flags.length ? `it takes ${listOf(spec.flags.map((f) => `--${f}`))}` : 'it takes no flags';
      return refuseWithUsage('unknown-flag', `${show(`--${name}`, 40)} is not a flag of ${verb}: ${allowed}.`, verb);
    }
    const flag = name as FlagName;
    if (flags[flag] !== undefined) return refuseWithUsage('duplicate-flag', `--${flag} is given twice; give it once.`, verb, flag);
    i++;
    if (SWITCHES.includes(flag)) {
      if (inline !== undefined) return refuseWithUsage('unexpected-flag-value', `--${flag} takes no value; leave out ${show(`=${inline}`, 40)}.`, verb, flag);
      flags[flag] = 'true';
      continue;
    }
    const words: string[] = inline !== undefined && inline !== '' ? [inline] : [];
    if (flag === 'reason') {
      // A reason runs to the next flag, so `--reason needs the vault` works without quotes.
      while (i < tokens.length && !isFlagToken(tokens[i] as Token)) words.push((tokens[i++] as Token).text);
    } else if (words.length === 0 && inline === undefined && i < tokens.length && !isFlagToken(tokens[i] as Token)) {
      words.push((tokens[i++] as Token).text);
    }
    const value = words.join(' ').trim();
    if (value === '') return refuseWithUsage('missing-flag-value', `--${flag} needs a value.`, verb, flag);
    flags[flag] = value;
  }

  return assemble(verb, positionals, flags);
}

/** Splits `--cluster a,b` into names; refuses empty names and a name given twice. */
export function parseClusterList(text: string, verb?: Verb): Result<string[]> {
  const names = text.split(',').map((n) => n.trim());
  if (names.some((n) => n === '')) {
    return refuseWithUsage('bad-cluster-list', `--cluster ${show(text, 60)} has an empty name: give cluster names separated by commas, e.g. --cluster blue,green.`, verb, 'cluster');
  }
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) return refuseWithUsage('duplicate-cluster', `--cluster names the cluster ${show(n, 40)} twice; name each cluster once, e.g. --cluster blue,green.`, verb, 'cluster');
    seen.add(n);
  }
  return ok(names);
}

/** `revoke --cluster`: one cluster, or `all` alone (a list is refused: one revoke per cluster, or all). */
function revokeClusters(text: string): Result<'all' | 'one'> {
  const list = parseClusterList(text, 'revoke');
  if (!list.ok) return list;
  const names = list.value;
  const all = names.some((n) => n.toLowerCase() === 'all');
  if (all && names.length > 1) {
    return refuseWithUsage('cluster-all-alone', `--cluster ${show(text, 60)} mixes all with cluster names: --cluster all already means every cluster. Give --cluster all alone, or one cluster name.`, 'revoke', 'cluster');
  }
  if (all) return ok('all');
  if (names.length > 1) {
    return refuseWithUsage('one-cluster', `revoke takes one cluster or all: run one revoke per cluster (${names.map((c) => `--cluster ${c}`).join(', ')}), or --cluster all for every cluster in one approval.`, 'revoke', 'cluster');
  }
  return ok('one');
}

function tooMany(verb: Verb, extra: string[]): Result<never> {
  return refuseWithUsage('unexpected-argument', `${verb} does not take ${show(extra.join(' '), 60)}.`, verb);
}

function assemble(verb: Verb, pos: string[], flags: Partial<Record<FlagName, string>>): Result<WidCommand> {
  const cluster = flags.cluster !== undefined ? { cluster: flags.cluster } : {};
  const reason = flags.reason !== undefined ? { reason: flags.reason } : {};
  switch (verb) {
    case 'request': {
      const [namespace, serviceAccount, ...roleWords] = pos;
      if (namespace === undefined) return refuseWithUsage('missing-argument', 'request needs a namespace, a ServiceAccount and a role name.', verb, 'namespace');
      if (serviceAccount === undefined) return refuseWithUsage('missing-argument', `request needs the ServiceAccount after the namespace ${show(namespace, 40)}, then a role name.`, verb, 'serviceAccount');
      const roleName = roleWords.join(' ').replace(/\s+/gu, ' ').trim();
      if (roleName === '') return refuseWithUsage('missing-argument', `request needs a role name after the ServiceAccount ${show(serviceAccount, 40)}, e.g. Key Vault Secrets User.`, verb, 'roleName');
      let clusters: string[] | undefined;
      if (flags.cluster !== undefined && flags.cluster.includes(',')) {
        const list = parseClusterList(flags.cluster, verb);
        if (!list.ok) return list;
        if (list.value.length > 1) clusters = list.value;
      }
      let durationSeconds: number | undefined;
      if (flags.for !== undefined) {
        const d = parseDuration(flags.for);
        if (!d.ok) return refuseWithUsage(d.error.code, `--for ${d.error.message}`, verb, 'durationSeconds');
        durationSeconds = d.value;
      }
      return ok({
        verb,
        namespace,
        serviceAccount,
        roleName,
        ...(flags.scope !== undefined ? { scope: flags.scope } : {}),
        ...(clusters ? { cluster: clusters[0] as string, clusters } : cluster),
        ...reason,
        ...(durationSeconds !== undefined ? { durationSeconds } : {}),
      });
    }
    case 'revoke': {
      const [namespace, serviceAccount, ...extra] = pos;
      if (namespace === undefined) return refuseWithUsage('missing-argument', 'revoke needs a namespace and a ServiceAccount.', verb, 'namespace');
      if (serviceAccount === undefined) return refuseWithUsage('missing-argument', `revoke needs the ServiceAccount after the namespace ${show(namespace, 40)}.`, verb, 'serviceAccount');
      if (extra.length) return tooMany(verb, extra);
      if (flags.cluster !== undefined) {
        const scope = revokeClusters(flags.cluster);
        if (!scope.ok) return scope;
        if (scope.value === 'all') return ok({ verb, namespace, serviceAccount, allClusters: true, ...reason });
      }
      return ok({ verb, namespace, serviceAccount, ...cluster, ...reason });
    }
    case 'status': {
      const [id, ...extra] = pos;
      if (extra.length) return tooMany(verb, extra);
      return ok(id !== undefined ? { verb, id } : { verb });
    }
    case 'list': {
      const [namespace, ...extra] = pos;
      if (extra.length) return tooMany(verb, extra);
      return ok({ verb, ...(namespace !== undefined ? { namespace } : {}), ...cluster, ...(flags.share !== undefined ? { share: true as const } : {}) });
    }
    case 'withdraw': {
      const [id, ...extra] = pos;
      if (id === undefined) return refuseWithUsage('missing-argument', 'withdraw needs the id of your request, e.g. wid-abcdefgh23 (`/wid status` lists yours).', verb, 'id');
      if (extra.length) return tooMany(verb, extra);
      return ok({ verb, id });
    }
    case 'grants': {
      const [namespace, ...extra] = pos;
      if (extra.length) return tooMany(verb, extra);
      return ok({ verb, ...(namespace !== undefined ? { namespace } : {}) });
    }
    case 'refederate': {
      const [name, ...extra] = pos;
      if (name === undefined) return refuseWithUsage('missing-argument', 'refederate needs the name of the recreated cluster, as the policy names it.', verb, 'cluster');
      if (extra.length) return tooMany(verb, extra);
      return ok({ verb, cluster: name, ...reason });
    }
    case 'federate': {
      const [namespace, serviceAccount, ...extra] = pos;
      if (namespace === undefined) return refuseWithUsage('missing-argument', 'federate needs a namespace, a ServiceAccount and --cluster with the other cluster.', verb, 'namespace');
      if (serviceAccount === undefined) return refuseWithUsage('missing-argument', `federate needs the ServiceAccount after the namespace ${show(namespace, 40)}, then --cluster with the other cluster.`, verb, 'serviceAccount');
      if (extra.length) return tooMany(verb, extra);
      if (flags.cluster === undefined) return refuseWithUsage('missing-flag', 'federate needs --cluster: the cluster whose ServiceAccount the identity should also trust.', verb, 'cluster');
      const list = parseClusterList(flags.cluster, verb);
      if (!list.ok) return list;
      if (list.value.length > 1) return refuseWithUsage('one-cluster', `federate trusts one more cluster at a time; run it once per cluster (${list.value.map((c) => `--cluster ${c}`).join(', ')}), or ask for several with /wid request … --cluster a,b.`, verb, 'cluster');
      return ok({ verb, namespace, serviceAccount, cluster: list.value[0] as string, ...reason });
    }
    case 'help': {
      const [topic, ...extra] = pos;
      if (extra.length) return tooMany(verb, extra);
      if (topic === undefined) return ok({ verb });
      const t = topic.toLowerCase();
      if (!isVerb(t)) return refuseWithUsage('unknown-verb', `There is no command ${show(topic, 40)} to explain. Commands: ${VERBS.join(', ')}.`, verb);
      return ok({ verb, topic: t });
    }
    case 'migrate': {
      const [namespace, binding, serviceAccount, ...extra] = pos;
      if (namespace === undefined) return refuseWithUsage('missing-argument', 'migrate needs a namespace and the name of an AzureIdentityBinding in it.', verb, 'namespace');
      if (binding === undefined) return refuseWithUsage('missing-argument', `migrate needs the AzureIdentityBinding after the namespace ${show(namespace, 40)}; /wid legacy lists them.`, verb, 'binding');
      if (extra.length) return tooMany(verb, extra);
      return ok({ verb, namespace, binding, ...(serviceAccount !== undefined ? { serviceAccount } : {}), ...cluster, ...reason, finish: flags.finish !== undefined });
    }
    case 'cluster':
    case 'creds':
    case 'audit':
    case 'legacy': {
      if (pos.length) return tooMany(verb, pos);
      return ok({ verb, ...cluster, ...(flags.share !== undefined ? { share: true as const } : {}) });
    }
    case 'policy': {
      const [action, ...extra] = pos;
      if (action?.toLowerCase() !== 'check') return refuseWithUsage('missing-argument', `policy knows one action: check${action !== undefined ? `, not ${show(action, 40)}` : ''}.`, verb);
      if (extra.length) return tooMany(verb, extra);
      return ok({ verb, action: 'check' });
    }
  }
}
