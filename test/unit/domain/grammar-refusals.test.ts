/**
 * The `/wid` grammar, verb by verb: the exact refusal each bad input gets (what was wrong, what is
 * expected, the usage line), the commands the edges of each branch give, the help text of every verb,
 * and the inputs each of the grammar's patterns must and must not take. Found by `npm run test:mutation`.
 */
import { helpText, parseArgv, parseClusterList, parseCommand, parseDuration, usage, VERBS, type Verb } from '../../../src/domain/grammar';

const COMMANDS = 'Commands: request, revoke, status, cluster, list, creds, audit, legacy, grants, migrate, refederate, withdraw, federate, help, policy. Try /wid help.';
const USAGE: Record<Verb, string> = {
  request: '/wid request <namespace> <serviceaccount> <role name…> [--scope <ARM id>] [--cluster <name>[,<name>…]] [--reason <text>] [--for <duration, e.g. 8h>]',
  revoke: '/wid revoke <namespace> <serviceaccount> [--cluster <name>|all] [--reason <text>]',
  status: '/wid status [request id]',
  cluster: '/wid cluster [--cluster <name>] [--share]',
  list: '/wid list [namespace] [--cluster <name>] [--share]',
  creds: '/wid creds [--cluster <name>] [--share]',
  audit: '/wid audit [--cluster <name>] [--share]',
  legacy: '/wid legacy [--cluster <name>] [--share]',
  grants: '/wid grants [namespace]',
  migrate: '/wid migrate [--finish] <namespace> <azureidentitybinding> [serviceaccount] [--cluster <name>] [--reason <text>]',
  refederate: '/wid refederate <cluster> [--reason <text>]',
  withdraw: '/wid withdraw <request id>',
  federate: '/wid federate <namespace> <serviceaccount> --cluster <other cluster> [--reason <text>]',
  help: '/wid help [command]',
  policy: '/wid policy check',
};
const HINT = 'use a number followed by d, h, m or s, e.g. 30m, 8h, 7d or 1h30m';

const value = (text: string) => {
  const r = parseCommand(text);
  if (!r.ok) throw new Error(`expected a command for ${text}, got ${r.error.message}`);
  return r.value;
};
const error = (text: string) => {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`expected a refusal for ${text}, got ${JSON.stringify(r.value)}`);
  return r.error;
};
/** The refusal as a user reads it, with the usage of `verb` under it. */
const refusal = (code: string, field: string | undefined, what: string, verb: Verb) => ({ code, ...(field ? { field } : {}), message: `${what}\nUsage: ${USAGE[verb]}` });

describe('missing and extra arguments, verb by verb', () => {
  test.each<[string, string, string | undefined, string, Verb]>([
    ['withdraw', 'missing-argument', 'id', 'withdraw needs the id of your request, e.g. wid-abcdefgh23 (`/wid status` lists yours).', 'withdraw'],
    ['withdraw wid-1 wid-2 wid-3', 'unexpected-argument', undefined, 'withdraw does not take "wid-2 wid-3".', 'withdraw'],
    ['grants finance payments', 'unexpected-argument', undefined, 'grants does not take "payments".', 'grants'],
    ['refederate', 'missing-argument', 'cluster', 'refederate needs the name of the recreated cluster, as the policy names it.', 'refederate'],
    ['refederate blue green', 'unexpected-argument', undefined, 'refederate does not take "green".', 'refederate'],
    ['federate', 'missing-argument', 'namespace', 'federate needs a namespace, a ServiceAccount and --cluster with the other cluster.', 'federate'],
    ['federate finance', 'missing-argument', 'serviceAccount', 'federate needs the ServiceAccount after the namespace "finance", then --cluster with the other cluster.', 'federate'],
    ['federate finance api extra --cluster green', 'unexpected-argument', undefined, 'federate does not take "extra".', 'federate'],
    ['federate finance api', 'missing-flag', 'cluster', 'federate needs --cluster: the cluster whose ServiceAccount the identity should also trust.', 'federate'],
    ['migrate', 'missing-argument', 'namespace', 'migrate needs a namespace and the name of an AzureIdentityBinding in it.', 'migrate'],
    ['migrate payments', 'missing-argument', 'binding', 'migrate needs the AzureIdentityBinding after the namespace "payments"; /wid legacy lists them.', 'migrate'],
    ['migrate payments b sa extra', 'unexpected-argument', undefined, 'migrate does not take "extra".', 'migrate'],
    ['policy', 'missing-argument', undefined, 'policy knows one action: check.', 'policy'],
    ['policy reload', 'missing-argument', undefined, 'policy knows one action: check, not "reload".', 'policy'],
    ['policy check now', 'unexpected-argument', undefined, 'policy does not take "now".', 'policy'],
    ['status a b c', 'unexpected-argument', undefined, 'status does not take "b c".', 'status'],
    ['list ns more words', 'unexpected-argument', undefined, 'list does not take "more words".', 'list'],
    ['help status more', 'unexpected-argument', undefined, 'help does not take "more".', 'help'],
    ['cluster blue green', 'unexpected-argument', undefined, 'cluster does not take "blue green".', 'cluster'],
    ['creds blue', 'unexpected-argument', undefined, 'creds does not take "blue".', 'creds'],
    ['audit blue', 'unexpected-argument', undefined, 'audit does not take "blue".', 'audit'],
    ['legacy blue', 'unexpected-argument', undefined, 'legacy does not take "blue".', 'legacy'],
  ])('%s → %s', (text, code, field, what, verb) => {
    expect(error(text)).toEqual(refusal(code, field, what, verb));
  });
});

describe('what each verb gives at the edges of its arguments', () => {
  test.each<[string, object]>([
    ['withdraw wid-abcdefgh23', { verb: 'withdraw', id: 'wid-abcdefgh23' }],
    ['grants', { verb: 'grants' }],
    ['grants finance', { verb: 'grants', namespace: 'finance' }],
    ['refederate blue', { verb: 'refederate', cluster: 'blue' }],
    ['refederate blue --reason rebuilt', { verb: 'refederate', cluster: 'blue', reason: 'rebuilt' }],
    ['federate finance api --cluster green', { verb: 'federate', namespace: 'finance', serviceAccount: 'api', cluster: 'green' }],
    ['federate finance api --cluster=green --reason blue/green', { verb: 'federate', namespace: 'finance', serviceAccount: 'api', cluster: 'green', reason: 'blue/green' }],
    ['migrate payments b', { verb: 'migrate', namespace: 'payments', binding: 'b', finish: false }],
    ['migrate payments b sa --finish', { verb: 'migrate', namespace: 'payments', binding: 'b', serviceAccount: 'sa', finish: true }],
    ['policy CHECK', { verb: 'policy', action: 'check' }],
    ['help', { verb: 'help' }],
    ['help Federate', { verb: 'help', topic: 'federate' }],
    ['status wid-1', { verb: 'status', id: 'wid-1' }],
    ['list', { verb: 'list' }],
    ['list --share', { verb: 'list', share: true }],
    ['list finance', { verb: 'list', namespace: 'finance' }],
    ['cluster --share', { verb: 'cluster', share: true }],
    ['creds --cluster b --share', { verb: 'creds', cluster: 'b', share: true }],
    ['legacy --share', { verb: 'legacy', share: true }],
    ['audit --cluster b', { verb: 'audit', cluster: 'b' }],
    ['revoke ns sa', { verb: 'revoke', namespace: 'ns', serviceAccount: 'sa' }],
    ['revoke ns sa --cluster All --reason gone', { verb: 'revoke', namespace: 'ns', serviceAccount: 'sa', allClusters: true, reason: 'gone' }],
    ['revoke ns sa --cluster alll', { verb: 'revoke', namespace: 'ns', serviceAccount: 'sa', cluster: 'alll' }],
    ['revoke ns sa --cluster blue --reason done', { verb: 'revoke', namespace: 'ns', serviceAccount: 'sa', cluster: 'blue', reason: 'done' }],
    ['request ns sa R --cluster "blue , green"', { verb: 'request', namespace: 'ns', serviceAccount: 'sa', roleName: 'R', cluster: 'blue', clusters: ['blue', 'green'] }],
    ['request ns sa R --cluster a,b,c --scope /s --for 1m', { verb: 'request', namespace: 'ns', serviceAccount: 'sa', roleName: 'R', scope: '/s', cluster: 'a', clusters: ['a', 'b', 'c'], durationSeconds: 60 }],
  ])('%s', (text, command) => {
    expect(value(text)).toEqual(command);
  });
});

describe('cluster lists', () => {
  test.each<[string, string, string, Verb]>([
    ['request ns sa R --cluster blue,', 'bad-cluster-list', '--cluster "blue," has an empty name: give cluster names separated by commas, e.g. --cluster blue,green.', 'request'],
    ['request ns sa R --cluster "blue, ,green"', 'bad-cluster-list', '--cluster "blue, ,green" has an empty name: give cluster names separated by commas, e.g. --cluster blue,green.', 'request'],
    ['request ns sa R --cluster a,b,a', 'duplicate-cluster', '--cluster names the cluster "a" twice; name each cluster once, e.g. --cluster blue,green.', 'request'],
    ['federate ns sa --cluster green,', 'bad-cluster-list', '--cluster "green," has an empty name: give cluster names separated by commas, e.g. --cluster blue,green.', 'federate'],
    ['federate ns sa --cluster green,green', 'duplicate-cluster', '--cluster names the cluster "green" twice; name each cluster once, e.g. --cluster blue,green.', 'federate'],
    ['federate ns sa --cluster green,blue', 'one-cluster', 'federate trusts one more cluster at a time; run it once per cluster (--cluster green, --cluster blue), or ask for several with /wid request … --cluster a,b.', 'federate'],
    ['revoke ns sa --cluster all,green', 'cluster-all-alone', '--cluster "all,green" mixes all with cluster names: --cluster all already means every cluster. Give --cluster all alone, or one cluster name.', 'revoke'],
    ['revoke ns sa --cluster green,ALL', 'cluster-all-alone', '--cluster "green,ALL" mixes all with cluster names: --cluster all already means every cluster. Give --cluster all alone, or one cluster name.', 'revoke'],
    ['revoke ns sa --cluster green,blue,red', 'one-cluster', 'revoke takes one cluster or all: run one revoke per cluster (--cluster green, --cluster blue, --cluster red), or --cluster all for every cluster in one approval.', 'revoke'],
    ['revoke ns sa --cluster all,all', 'duplicate-cluster', '--cluster names the cluster "all" twice; name each cluster once, e.g. --cluster blue,green.', 'revoke'],
    ['revoke ns sa --cluster ,', 'bad-cluster-list', '--cluster "," has an empty name: give cluster names separated by commas, e.g. --cluster blue,green.', 'revoke'],
  ])('%s → %s', (text, code, what, verb) => {
    expect(error(text)).toEqual(refusal(code, 'cluster', what, verb));
  });

  test('without a verb the refusal lists the commands; names are trimmed and kept in order', () => {
    expect(parseClusterList('a,,b')).toEqual({ ok: false, error: { code: 'bad-cluster-list', field: 'cluster', message: `--cluster "a,,b" has an empty name: give cluster names separated by commas, e.g. --cluster blue,green.\n${COMMANDS}` } });
    expect(parseClusterList(' b , a ')).toEqual({ ok: true, value: ['b', 'a'] });
    expect(parseClusterList('blue')).toEqual({ ok: true, value: ['blue'] });
  });
});

describe('flags', () => {
  test.each<[string, string, string | undefined, string, Verb]>([
    ['grants --cluster b', 'unknown-flag', undefined, '"--cluster" is not a flag of grants: it takes no flags.', 'grants'],
    ['withdraw wid-1 --reason oops', 'unknown-flag', undefined, '"--reason" is not a flag of withdraw: it takes no flags.', 'withdraw'],
    ['policy check --share', 'unknown-flag', undefined, '"--share" is not a flag of policy: it takes no flags.', 'policy'],
    ['help --for 1h', 'unknown-flag', undefined, '"--for" is not a flag of help: it takes no flags.', 'help'],
    ['refederate blue --cluster green', 'unknown-flag', undefined, '"--cluster" is not a flag of refederate: it takes --reason.', 'refederate'],
    ['federate ns sa --scope /x --cluster green', 'unknown-flag', undefined, '"--scope" is not a flag of federate: it takes --cluster and --reason.', 'federate'],
    ['migrate ns b --share', 'unknown-flag', undefined, '"--share" is not a flag of migrate: it takes --cluster, --reason and --finish.', 'migrate'],
    ['list --reason x', 'unknown-flag', undefined, '"--reason" is not a flag of list: it takes --cluster and --share.', 'list'],
    ['request ns sa R --finish', 'unknown-flag', undefined, '"--finish" is not a flag of request: it takes --scope, --cluster, --reason and --for.', 'request'],
    ['list -share', 'unknown-flag', undefined, '"-share" is not a flag: flags start with two dashes, e.g. --scope.', 'list'],
    ['migrate --finish=yes ns b', 'unexpected-flag-value', 'finish', '--finish takes no value; leave out "=yes".', 'migrate'],
    ['audit --share=', 'unexpected-flag-value', 'share', '--share takes no value; leave out "=".', 'audit'],
    ['list --share --share', 'duplicate-flag', 'share', '--share is given twice; give it once.', 'list'],
    ['migrate --finish ns b --finish', 'duplicate-flag', 'finish', '--finish is given twice; give it once.', 'migrate'],
    ['revoke ns sa --reason a --reason b', 'duplicate-flag', 'reason', '--reason is given twice; give it once.', 'revoke'],
    ['federate ns sa --cluster', 'missing-flag-value', 'cluster', '--cluster needs a value.', 'federate'],
    ['revoke ns sa --cluster= --reason x', 'missing-flag-value', 'cluster', '--cluster needs a value.', 'revoke'],
    ['request ns sa R --for', 'missing-flag-value', 'for', '--for needs a value.', 'request'],
  ])('%s → %s', (text, code, field, what, verb) => {
    expect(error(text)).toEqual(refusal(code, field, what, verb));
  });

  test.each<[string, object]>([
    // A dash pair (or a smart dash) is a flag only when a letter follows it.
    ['request ns sa R --1', { roleName: 'R --1' }],
    ['request ns sa R —2 –3', { roleName: 'R —2 –3' }],
    ['request ns sa R –cluster b', { roleName: 'R', cluster: 'b' }],
    // Dashes inside a word are no flag, and a single dash is refused only at the start of a word.
    ['request ns sa R a--scope /x', { roleName: 'R a--scope /x' }],
    ['request ns sa Storage Blob-Reader', { roleName: 'Storage Blob-Reader' }],
    // A quote opens a value only right after `--flag=`, with nothing between the `=` and the quote.
    ['request ns sa R --reason=a"b c"', { roleName: 'R', reason: 'a"b c"' }],
    ['request ns sa R x--reason="a b"', { roleName: 'R x--reason="a b"' }],
    ['request ns sa R –reason="a b" —for=\'1h\'', { roleName: 'R', reason: 'a b', durationSeconds: 3600 }],
    ['request ns sa R --reason=\'it is\' done', { roleName: 'R', reason: 'it is done' }],
  ])('%s', (text, command) => {
    expect(value(text)).toMatchObject(command);
  });
});

describe('durations', () => {
  test.each(['0', '00', ' 0 '])('%j is zero', (text) => {
    expect(parseDuration(text)).toEqual({ ok: false, error: { code: 'bad-duration', field: 'durationSeconds', message: `"${text}" is zero: a grant must last longer than that (${HINT}).` } });
  });

  test.each(['0h', '0d0h0m0s', '00m'])('%j adds up to zero', (text) => {
    expect(parseDuration(text)).toEqual({ ok: false, error: { code: 'bad-duration', field: 'durationSeconds', message: `"${text}" is zero: a duration must be longer than that (${HINT}).` } });
  });

  test.each(['2w', '12w', '2  w', '1 week', '3weeks', '1wk', '6mo', '1month', '2months', '1y', '1yr', '2yrs', '1year', '10 years', '2W'])('%j: weeks, months and years are no units', (text) => {
    expect(parseDuration(text)).toEqual({
      ok: false,
      error: { code: 'bad-duration', field: 'durationSeconds', message: `"${text}" is not a duration wid-bot takes: weeks, months and years are not units (the longest grant is 366d); ${HINT}.` },
    });
  });

  test.each(['10', '01', 'w', 'x2w', '2wx', '2ww', '2 w s', '1000000d', '1000000h', '1000000m', '1d 2h', 'd', '1s1s'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toEqual({ ok: false, error: { code: 'bad-duration', field: 'durationSeconds', message: `"${text}" is not a duration: ${HINT}.` } });
  });

  test.each<[string, number]>([
    ['12d', 12 * 86400],
    ['48h', 48 * 3600],
    ['90m', 5400],
    ['90s', 90],
    ['366d', 366 * 86400],
    ['8783h', 8783 * 3600],
    ['527040m', 527040 * 60],
    ['0d1s', 1],
    ['007m', 420],
  ])('%j is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: seconds });
  });

  test('a bad --for is refused with the request usage, whatever the reason', () => {
    expect(error('request ns sa R --for 2w')).toEqual(
      refusal('bad-duration', 'durationSeconds', `--for "2w" is not a duration wid-bot takes: weeks, months and years are not units (the longest grant is 366d); ${HINT}.`, 'request'),
    );
    expect(error('request ns sa R --for 0')).toEqual(refusal('bad-duration', 'durationSeconds', `--for "0" is zero: a grant must last longer than that (${HINT}).`, 'request'));
    expect(error('request ns sa R --for 367d')).toEqual(refusal('bad-duration', 'durationSeconds', '--for "367d" is longer than the 366 days wid-bot accepts.', 'request'));
  });
});

describe('control characters', () => {
  test('the CLI refuses them with the same words as Slack', () => {
    expect(parseArgv(['status', 'a\u0001'])).toEqual({ ok: false, error: { code: 'control-character', message: `The command contains the control character "\\u0001"; type it again without it.\n${COMMANDS}` } });
  });

  test.each(['~', '\u00a1', 'é', '\u2028x'])('%j next to them is text', (ch) => {
    expect(parseArgv(['status', `r${ch}`])).toEqual({ ok: true, value: { verb: 'status', id: `r${ch}` } });
  });

  test('the printable character just below DEL is text in a Slack command too', () => {
    expect(value('status r~')).toEqual({ verb: 'status', id: 'r~' });
  });
});

describe('help text of every verb', () => {
  const SUMMARY: Record<Verb, string> = {
    request: 'Ask for an Azure role for a Kubernetes ServiceAccount (role names need no quotes).',
    revoke: 'Remove what wid-bot granted to a ServiceAccount.',
    status: 'Show one request, or your open requests.',
    cluster: 'Check that a cluster is ready for workload identity.',
    list: 'List the identities wid-bot manages.',
    creds: 'Show federated credentials and how close each identity is to the limit.',
    audit: 'Find drift between the policy, Azure and the cluster.',
    legacy: 'Find aad-pod-identity leftovers to migrate.',
    grants: 'List active grants and when each ends.',
    migrate: 'Move an aad-pod-identity binding to workload identity with the identity it already uses (--finish removes the binding once its pods moved).',
    refederate: 'After a cluster was recreated: give every identity that trusted its old OIDC issuer a credential for the new one (one approval; old credentials removed in a second step).',
    withdraw: 'Take back your request while it waits for approval.',
    federate: 'Let the identity that serves a ServiceAccount on one cluster also trust the same ServiceAccount on another cluster (blue/green, multi-cluster).',
    help: 'Show this help.',
    policy: 'Operators: check that every person, usergroup, scope, role and cluster the policy names exists and works.',
  };

  test.each(VERBS.filter((v) => v !== 'request'))('%s: its usage and its summary', (verb) => {
    expect(usage(verb)).toBe(USAGE[verb]);
    expect(helpText(verb)).toBe(`${USAGE[verb]}\n${SUMMARY[verb]}`);
    const summary = SUMMARY[verb];
    expect(helpText()).toContain(`• ${USAGE[verb]}\n   ${summary.charAt(0).toLowerCase()}${summary.slice(1, -1)}`);
  });
});
