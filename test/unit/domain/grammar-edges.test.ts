/**
 * The `/wid` grammar at its edges: length and duration limits to the character and second, the exact
 * refusals people read, quoting rules and help text. Found by `npm run test:mutation`.
 */
import {
  formatDuration, helpText, MAX_COMMAND_LENGTH, MAX_DURATION_SECONDS, parseArgv, parseCommand, parseDuration, unescapeSlackText, usage, VERBS,
} from '../../../src/domain/grammar';

const COMMANDS = 'Commands: request, revoke, status, cluster, list, creds, audit, legacy, grants, migrate, refederate, withdraw, federate, help, policy. Try /wid help.';
const USAGE = {
  request: '/wid request <namespace> <serviceaccount> <role name…> [--scope <ARM id>] [--cluster <name>[,<name>…]] [--reason <text>] [--for <duration, e.g. 8h>]',
  revoke: '/wid revoke <namespace> <serviceaccount> [--cluster <name>|all] [--reason <text>]',
  status: '/wid status [request id]',
  list: '/wid list [namespace] [--cluster <name>] [--share]',
  help: '/wid help [command]',
  cluster: '/wid cluster [--cluster <name>] [--share]',
};

const error = (text: string) => {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`expected a refusal for ${text}, got ${JSON.stringify(r.value)}`);
  return r.error;
};
const value = (text: string) => {
  const r = parseCommand(text);
  if (!r.ok) throw new Error(`expected a command for ${text}, got ${r.error.message}`);
  return r.value;
};

describe('limits', () => {
  it('a command of exactly the maximum length is read; one character more is refused with both numbers', () => {
    const head = 'request ns sa ';
    const exact = head + 'R'.repeat(MAX_COMMAND_LENGTH - head.length);
    expect(MAX_COMMAND_LENGTH).toBe(2000);
    expect(value(exact)).toMatchObject({ verb: 'request', roleName: 'R'.repeat(MAX_COMMAND_LENGTH - head.length) });
    const e = error(`${exact}R`);
    expect(e).toEqual({ code: 'command-too-long', message: `The command is 2001 characters long; wid-bot reads at most 2000.\n${COMMANDS}` });
  });

  it('the length counts decoded text: Slack entities count as one character', () => {
    const head = 'request ns sa R --reason ';
    const amp = '&amp;'.repeat(MAX_COMMAND_LENGTH - head.length);
    expect(value(head + amp)).toMatchObject({ reason: '&'.repeat(MAX_COMMAND_LENGTH - head.length) });
  });

  it('argv: words plus one separator each, at most the maximum', () => {
    const words = ['request', 'ns', 'sa'];
    const used = words.reduce((n, w) => n + w.length + 1, 0);
    expect(parseArgv([...words, 'R'.repeat(MAX_COMMAND_LENGTH - used - 1)]).ok).toBe(true);
    const r = parseArgv([...words, 'R'.repeat(MAX_COMMAND_LENGTH - used)]);
    expect(r).toEqual({ ok: false, error: { code: 'command-too-long', message: `The command is 2001 characters long; wid-bot reads at most 2000.\n${COMMANDS}` } });
  });

  it('durations up to 366 days are read; one second more is refused', () => {
    expect(MAX_DURATION_SECONDS).toBe(366 * 86400);
    expect(parseDuration('366d')).toEqual({ ok: true, value: 366 * 86400 });
    expect(parseDuration('365d23h59m60s')).toEqual({ ok: true, value: 366 * 86400 });
    expect(parseDuration('366d1s')).toEqual({ ok: false, error: { code: 'bad-duration', field: 'durationSeconds', message: '"366d1s" is longer than the 366 days wid-bot accepts.' } });
  });
});

describe('durations', () => {
  it('reads each unit, any combination in d-h-m-s order, any case and surrounding space', () => {
    expect(parseDuration('1d')).toEqual({ ok: true, value: 86400 });
    expect(parseDuration('1h')).toEqual({ ok: true, value: 3600 });
    expect(parseDuration('1m')).toEqual({ ok: true, value: 60 });
    expect(parseDuration('1s')).toEqual({ ok: true, value: 1 });
    expect(parseDuration('1d2h3m4s')).toEqual({ ok: true, value: 86400 + 7200 + 180 + 4 });
    expect(parseDuration(' 2H ')).toEqual({ ok: true, value: 7200 });
    expect(parseDuration('999999s')).toEqual({ ok: true, value: 999999 });
  });

  it('refuses what is not a duration, saying the accepted forms', () => {
    const hint = 'use a number followed by d, h, m or s, e.g. 30m, 8h, 7d or 1h30m';
    for (const t of ['', '  ', '8', 'h8', '1m1h', '1000000s', '1 h', '1.5h', '+1h']) {
      expect(parseDuration(t)).toEqual({ ok: false, error: { code: 'bad-duration', field: 'durationSeconds', message: `"${t}" is not a duration: ${hint}.` } });
    }
    expect(parseDuration('0m')).toEqual({ ok: false, error: { code: 'bad-duration', field: 'durationSeconds', message: `"0m" is zero: a duration must be longer than that (${hint}).` } });
    expect(parseDuration('0d0h0m0s').ok).toBe(false);
  });

  it('formats the shortest readable form, whole seconds only, and 0s for nothing', () => {
    expect(formatDuration(1)).toBe('1s');
    expect(formatDuration(59)).toBe('59s');
    expect(formatDuration(60)).toBe('1m');
    expect(formatDuration(3600)).toBe('1h');
    expect(formatDuration(86400)).toBe('1d');
    expect(formatDuration(90061)).toBe('1d1h1m1s');
    expect(formatDuration(7260.9)).toBe('2h1m');
    for (const n of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(formatDuration(n)).toBe('0s');
    expect(formatDuration(0.5)).toBe('');
  });

  it('a bad --for names the flag and shows the request usage', () => {
    expect(error('request ns sa R --for 8x')).toEqual({
      code: 'bad-duration', field: 'durationSeconds',
      message: `--for "8x" is not a duration: use a number followed by d, h, m or s, e.g. 30m, 8h, 7d or 1h30m.\nUsage: ${USAGE.request}`,
    });
  });
});

describe('quotes and words', () => {
  it('a quote closes only before a space or the end, so a quote inside a quoted value stays', () => {
    expect(value('request ns sa "Key"Vault" --reason x')).toMatchObject({ roleName: 'Key"Vault', reason: 'x' });
    expect(value('request ns sa "Key Vault"')).toMatchObject({ roleName: 'Key Vault' });
  });

  it('each quote family closes its own: typographic doubles with any double, singles with any single', () => {
    expect(value('request ns sa „Key Vault“')).toMatchObject({ roleName: 'Key Vault' });
    expect(value('request ns sa «Reader»')).toMatchObject({ roleName: 'Reader' });
    expect(value('request ns sa ‚Reader‘')).toMatchObject({ roleName: 'Reader' });
    expect(value('request ns sa \'A "B\' C')).toMatchObject({ roleName: 'A "B C' });
    expect(error('request ns sa "Reader\'').code).toBe('unterminated-quote');
  });

  it('a quote inside a word is part of the word', () => {
    expect(value('request ns sa O\'Brien\'s Role')).toMatchObject({ roleName: 'O\'Brien\'s Role' });
    expect(value('request ns sa Rea"der')).toMatchObject({ roleName: 'Rea"der' });
  });

  it('an unterminated quote is named with where it starts', () => {
    expect(error('request ns sa "Key Vault')).toEqual({
      code: 'unterminated-quote',
      message: 'The quote " that starts ""Key Vault" is never closed. Close it with a matching quote followed by a space or the end of the command, or leave the quotes out (role names need none).',
    });
    expect(error('request ns sa R --reason=“oops').message).toMatch(/^The quote “ that starts "“oops" is never closed\./);
  });

  it('a quoted word is never a flag, a quoted value after --flag= may hold spaces and ends the word', () => {
    expect(value('request ns sa R --reason "--for 8h"')).toMatchObject({ reason: '--for 8h' });
    expect(value('request ns sa "--scope" R')).toMatchObject({ roleName: '--scope R' });
    expect(value('request ns sa R --reason="a b" c --for 1h')).toMatchObject({ reason: 'a b c', durationSeconds: 3600 });
    expect(value('request ns sa R —reason=“a b” –for=1m')).toMatchObject({ reason: 'a b', durationSeconds: 60 });
    expect(value('request ns sa R x="a b"')).toMatchObject({ roleName: 'R x="a b"' });
    expect(error('request ns sa R --reason="a b"c').code).toBe('unterminated-quote');
  });

  it('whitespace of any kind separates words; runs inside a role name become one space', () => {
    expect(value('request\tns\nsa  Key \u00a0Vault  Secrets\u2003User')).toMatchObject({ namespace: 'ns', serviceAccount: 'sa', roleName: 'Key Vault Secrets User' });
    expect(value('request ns sa "Key \t Vault"')).toMatchObject({ roleName: 'Key Vault' });
  });

  it('Slack entities are decoded once, &amp; last', () => {
    expect(unescapeSlackText('&lt;a&gt; &amp; &amp;lt;')).toBe('<a> & &lt;');
    expect(unescapeSlackText('&lt;&lt;')).toBe('<<');
  });
});

describe('flags', () => {
  it('names are case-insensitive and may use smart dashes; -h and --help ask for help', () => {
    expect(value('request ns sa R --SCOPE /x --Cluster b')).toMatchObject({ scope: '/x', cluster: 'b' });
    expect(value('request ns sa R —scope /x')).toMatchObject({ scope: '/x' });
    expect(value('request ns sa R –scope /x')).toMatchObject({ scope: '/x' });
    expect(value('-h')).toEqual({ verb: 'help' });
    expect(value('--HELP')).toEqual({ verb: 'help' });
    expect(value('request ns --help')).toEqual({ verb: 'help', topic: 'request' });
    expect(value('revoke --help=yes')).toEqual({ verb: 'help', topic: 'revoke' });
    expect(error('"--help"').code).toBe('unknown-verb');
  });

  it('a lone "--", "-" or a dash and digit is a word, not a flag', () => {
    expect(value('request ns sa R -- - -1')).toMatchObject({ roleName: 'R -- - -1' });
    expect(value('request ns sa R —')).toMatchObject({ roleName: 'R —' });
  });

  it('a single-dash flag is refused with the two-dash form', () => {
    expect(error('request ns sa R -scope /x')).toEqual({ code: 'unknown-flag', message: `"-scope" is not a flag: flags start with two dashes, e.g. --scope.\nUsage: ${USAGE.request}` });
    expect(value('request ns sa R "-scope"')).toMatchObject({ roleName: 'R -scope' });
  });

  it('a flag the verb does not take lists the ones it does, or says it takes none', () => {
    expect(error('revoke ns sa --scope /x')).toEqual({ code: 'unknown-flag', message: `"--scope" is not a flag of revoke: it takes --cluster and --reason.\nUsage: ${USAGE.revoke}` });
    expect(error('status --cluster b')).toEqual({ code: 'unknown-flag', message: `"--cluster" is not a flag of status: it takes no flags.\nUsage: ${USAGE.status}` });
    expect(error('request ns sa R --Scoop=1').message).toBe(`"--scoop" is not a flag of request: it takes --scope, --cluster, --reason and --for.\nUsage: ${USAGE.request}`);
  });

  it('a flag given twice or without a value is refused, naming the field', () => {
    expect(error('request ns sa R --cluster a --CLUSTER b')).toEqual({ code: 'duplicate-flag', field: 'cluster', message: `--cluster is given twice; give it once.\nUsage: ${USAGE.request}` });
    expect(error('request ns sa R --reason')).toEqual({ code: 'missing-flag-value', field: 'reason', message: `--reason needs a value.\nUsage: ${USAGE.request}` });
    expect(error('request ns sa R --reason --for 1h')).toMatchObject({ code: 'missing-flag-value', field: 'reason' });
    expect(error('request ns sa R --scope --for 1h')).toMatchObject({ code: 'missing-flag-value', field: 'scope' });
    expect(error('request ns sa R --scope= /x')).toMatchObject({ code: 'missing-flag-value', field: 'scope' });
    expect(error('request ns sa R --reason "  "')).toMatchObject({ code: 'missing-flag-value', field: 'reason' });
  });

  it('a value flag takes one word; --reason takes every word up to the next flag; an inline value starts the reason', () => {
    expect(value('request ns sa R --scope /x Extra')).toMatchObject({ scope: '/x', roleName: 'R Extra' });
    expect(value('request ns sa R --cluster=b c')).toMatchObject({ cluster: 'b', roleName: 'R c' });
    expect(value('request ns sa R --reason=read the vault --for 1h')).toMatchObject({ reason: 'read the vault', durationSeconds: 3600 });
    expect(value('revoke ns sa --reason all done now')).toEqual({ verb: 'revoke', namespace: 'ns', serviceAccount: 'sa', reason: 'all done now' });
  });
});

describe('verbs and arguments', () => {
  it('missing arguments are named with what came before', () => {
    expect(error('request')).toEqual({ code: 'missing-argument', field: 'namespace', message: `request needs a namespace, a ServiceAccount and a role name.\nUsage: ${USAGE.request}` });
    expect(error('request finance')).toEqual({ code: 'missing-argument', field: 'serviceAccount', message: `request needs the ServiceAccount after the namespace "finance", then a role name.\nUsage: ${USAGE.request}` });
    expect(error('request finance sa')).toEqual({ code: 'missing-argument', field: 'roleName', message: `request needs a role name after the ServiceAccount "sa", e.g. Key Vault Secrets User.\nUsage: ${USAGE.request}` });
    expect(error('request finance sa "  "')).toMatchObject({ code: 'missing-argument', field: 'roleName' });
    expect(error('revoke')).toEqual({ code: 'missing-argument', field: 'namespace', message: `revoke needs a namespace and a ServiceAccount.\nUsage: ${USAGE.revoke}` });
    expect(error('revoke finance')).toEqual({ code: 'missing-argument', field: 'serviceAccount', message: `revoke needs the ServiceAccount after the namespace "finance".\nUsage: ${USAGE.revoke}` });
  });

  it('extra arguments are refused with what was extra', () => {
    expect(error('revoke ns sa x y')).toEqual({ code: 'unexpected-argument', message: `revoke does not take "x y".\nUsage: ${USAGE.revoke}` });
    expect(error('list ns more')).toEqual({ code: 'unexpected-argument', message: `list does not take "more".\nUsage: ${USAGE.list}` });
    expect(error('help request more')).toEqual({ code: 'unexpected-argument', message: `help does not take "more".\nUsage: ${USAGE.help}` });
    expect(error('status a b c')).toMatchObject({ code: 'unexpected-argument', message: expect.stringMatching(/^status does not take "b c"\./) });
    for (const v of ['cluster', 'creds', 'audit', 'legacy']) {
      expect(error(`${v} blue`)).toMatchObject({ code: 'unexpected-argument', message: expect.stringMatching(new RegExp(`^${v} does not take "blue"\\.`)) });
      expect(value(`${v}`)).toEqual({ verb: v });
    }
  });

  it('unknown verbs and help topics are named; an empty or non-text command lists the commands', () => {
    expect(error('grant x')).toEqual({ code: 'unknown-verb', message: `"grant" is not a wid-bot command.\n${COMMANDS}` });
    expect(error('toString')).toMatchObject({ code: 'unknown-verb' });
    expect(error('help toString')).toMatchObject({ code: 'unknown-verb' });
    expect(error('help nope')).toEqual({ code: 'unknown-verb', message: `There is no command "nope" to explain. Commands: request, revoke, status, cluster, list, creds, audit, legacy, grants, migrate, refederate, withdraw, federate, help, policy.\nUsage: ${USAGE.help}` });
    expect(error('')).toEqual({ code: 'empty-command', message: `No command given.\n${COMMANDS}` });
    expect(parseCommand(undefined as unknown as string)).toEqual({ ok: false, error: { code: 'empty-command', message: `No command given.\n${COMMANDS}` } });
  });

  it('cluster flags pass through to every verb that takes them; list takes an optional namespace', () => {
    expect(value('revoke ns sa --cluster b')).toEqual({ verb: 'revoke', namespace: 'ns', serviceAccount: 'sa', cluster: 'b' });
    expect(value('list --cluster b')).toEqual({ verb: 'list', cluster: 'b' });
    expect(value('creds --cluster b')).toEqual({ verb: 'creds', cluster: 'b' });
    expect(value('audit --cluster b')).toEqual({ verb: 'audit', cluster: 'b' });
    expect(value('help LIST')).toEqual({ verb: 'help', topic: 'list' });
    expect(value('request ns sa R')).toEqual({ verb: 'request', namespace: 'ns', serviceAccount: 'sa', roleName: 'R' });
  });
});

describe('control characters', () => {
  it('C0, DEL and C1 controls are refused, shown escaped; whitespace controls separate words', () => {
    for (const ch of ['\u0000', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f']) {
      const hex = ch.charCodeAt(0).toString(16).padStart(4, '0');
      expect(error(`status r${ch}`)).toEqual({ code: 'control-character', message: `The command contains the control character "\\u${hex}"; type it again without it.\n${COMMANDS}` });
      expect(parseArgv(['status', `r${ch}`])).toMatchObject({ ok: false, error: { code: 'control-character' } });
    }
    expect(value('status\tr1\r\n')).toEqual({ verb: 'status', id: 'r1' });
    expect(value('status r\u00a0')).toEqual({ verb: 'status', id: 'r' });
    expect(value('status r\u00a1')).toEqual({ verb: 'status', id: 'r\u00a1' });
    expect(parseArgv(['status', 'r\t'])).toEqual({ ok: true, value: { verb: 'status', id: 'r\t' } });
  });
});

describe('argv', () => {
  it('takes words literally: quotes stay, blank words are dropped, flags still count', () => {
    expect(parseArgv(['request', 'ns', 'sa', '"Reader"', '  ', '--for', '1h'])).toEqual({ ok: true, value: { verb: 'request', namespace: 'ns', serviceAccount: 'sa', roleName: '"Reader"', durationSeconds: 3600 } });
    expect(parseArgv(['request', 'ns', 'sa', 'Key  Vault'])).toMatchObject({ ok: true, value: { roleName: 'Key Vault' } });
    expect(parseArgv(['  '])).toMatchObject({ ok: false, error: { code: 'empty-command' } });
  });
});

describe('help', () => {
  it('each verb: its usage, its summary as a sentence; request adds an example and the duration forms', () => {
    expect(helpText('status')).toBe(`${USAGE.status}\nShow one request, or your open requests.`);
    expect(helpText('cluster')).toBe(`${USAGE.cluster}\nCheck that a cluster is ready for workload identity.`);
    expect(helpText('request')).toBe(
      `${USAGE.request}\nAsk for an Azure role for a Kubernetes ServiceAccount (role names need no quotes).` +
        '\nExample: /wid request finance backend-sa Key Vault Secrets User --reason "read payment secrets" --for 8h' +
        '\nDurations: 30m, 8h, 7d, 1h30m. Values with spaces may be quoted; --reason takes the words up to the next flag.',
    );
  });

  it('the overview lists every verb with its summary, in order', () => {
    const text = helpText();
    expect(text.split('\n')[0]).toBe('wid-bot gives Kubernetes ServiceAccounts Azure access through Entra Workload ID.');
    expect(text).toContain(`• ${USAGE.revoke}\n   remove what wid-bot granted to a ServiceAccount\n• ${USAGE.status}\n   show one request, or your open requests`);
    expect(text.split('\n')).toHaveLength(1 + 2 * VERBS.length);
    expect(VERBS).toEqual(['request', 'revoke', 'status', 'cluster', 'list', 'creds', 'audit', 'legacy', 'grants', 'migrate', 'refederate', 'withdraw', 'federate', 'help', 'policy']);
    expect(usage()).toBe(VERBS.map((v) => usage(v)).join('\n'));
    expect(usage('list')).toBe(USAGE.list);
    expect(usage('creds')).toBe('/wid creds [--cluster <name>] [--share]');
    expect(usage('audit')).toBe('/wid audit [--cluster <name>] [--share]');
    expect(usage('legacy')).toBe('/wid legacy [--cluster <name>] [--share]');
    expect(helpText('creds')).toBe('/wid creds [--cluster <name>] [--share]\nShow federated credentials and how close each identity is to the limit.');
    expect(helpText('audit')).toBe('/wid audit [--cluster <name>] [--share]\nFind drift between the policy, Azure and the cluster.');
    expect(helpText('legacy')).toBe('/wid legacy [--cluster <name>] [--share]\nFind aad-pod-identity leftovers to migrate.');
    expect(helpText('list')).toBe(`${USAGE.list}\nList the identities wid-bot manages.`);
    expect(helpText('help')).toBe(`${USAGE.help}\nShow this help.`);
    expect(helpText('revoke')).toBe(`${USAGE.revoke}\nRemove what wid-bot granted to a ServiceAccount.`);
  });
});

describe('policy check', () => {
  it('reads `policy check` in any case; any other action or extra word is refused with the usage', () => {
    expect(value('policy check')).toEqual({ verb: 'policy', action: 'check' });
    expect(value('POLICY Check')).toEqual({ verb: 'policy', action: 'check' });
    expect(error('policy')).toMatchObject({ code: 'missing-argument', message: expect.stringContaining('policy knows one action: check.') });
    expect(error('policy reload')).toMatchObject({ code: 'missing-argument', message: expect.stringContaining('not "reload"') });
    expect(error('policy check now')).toMatchObject({ code: 'unexpected-argument' });
  });
});

describe('federate and cluster lists', () => {
  it('federate needs a namespace, a ServiceAccount and exactly one --cluster', () => {
    expect(value('federate finance api --cluster green --reason blue/green')).toEqual({ verb: 'federate', namespace: 'finance', serviceAccount: 'api', cluster: 'green', reason: 'blue/green' });
    expect(error('federate finance api').code).toBe('missing-flag');
    expect(error('federate finance --cluster green').code).toBe('missing-argument');
    expect(error('federate finance api extra --cluster green').code).toBe('unexpected-argument');
    expect(error('federate finance api --cluster green,blue')).toMatchObject({ code: 'one-cluster', field: 'cluster' });
    expect(error('federate finance api --cluster green,green')).toMatchObject({ code: 'duplicate-cluster', field: 'cluster' });
    expect(error('federate finance api --scope /x --cluster green').code).toBe('unknown-flag');
  });

  it('request --cluster a,b names every cluster in order; a repeated or empty name is refused', () => {
    expect(value('request finance api Key Vault Secrets User --cluster blue,green')).toMatchObject({ cluster: 'blue', clusters: ['blue', 'green'] });
    expect(value('request finance api Key Vault Secrets User --cluster green')).toEqual({ verb: 'request', namespace: 'finance', serviceAccount: 'api', roleName: 'Key Vault Secrets User', cluster: 'green' });
    const twice = error('request finance api R --cluster blue,blue');
    expect(twice).toMatchObject({ code: 'duplicate-cluster', field: 'cluster' });
    expect(twice.message).toContain('names the cluster "blue" twice');
    expect(error('request finance api R --cluster blue,').code).toBe('bad-cluster-list');
    expect(error('request finance api R --cluster ,green').code).toBe('bad-cluster-list');
  });
});

describe('--share on the inspection verbs', () => {
  it('is a switch of cluster, list, creds, audit and legacy only', () => {
    expect(value('audit --share')).toEqual({ verb: 'audit', share: true });
    expect(value('list finance --cluster blue --share')).toEqual({ verb: 'list', namespace: 'finance', cluster: 'blue', share: true });
    expect(value('creds')).toEqual({ verb: 'creds' });
    expect(error('audit --share=yes')).toMatchObject({ code: 'unexpected-flag-value' });
    expect(error('audit --share --share')).toMatchObject({ code: 'duplicate-flag' });
    expect(error('status --share')).toMatchObject({ code: 'unknown-flag' });
  });
});
