import fc from 'fast-check';
import { formatDuration, helpText, MAX_COMMAND_LENGTH, parseArgv, parseCommand, parseDuration, usage, VERBS, type WidCommand } from '../../src/domain/grammar';

function parsed(text: string): WidCommand {
  const r = parseCommand(text);
  if (!r.ok) throw new Error(`expected a command for ${text}, got: ${r.error.message}`);
  return r.value;
}
function refusal(text: string) {
  const r = parseCommand(text);
  if (r.ok) throw new Error(`expected a refusal for ${text}, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('request', () => {
  it('takes a role name with spaces and no quotes, and every flag', () => {
    expect(parsed('request finance backend-sa Key Vault Secrets User --reason "needs secrets" --for 8h')).toEqual({
      verb: 'request', namespace: 'finance', serviceAccount: 'backend-sa', roleName: 'Key Vault Secrets User', reason: 'needs secrets', durationSeconds: 8 * 3600,
    });
    expect(parsed('request finance sa AcrPull --scope /subscriptions/s/resourceGroups/rg --cluster blue')).toEqual({
      verb: 'request', namespace: 'finance', serviceAccount: 'sa', roleName: 'AcrPull', scope: '/subscriptions/s/resourceGroups/rg', cluster: 'blue',
    });
  });

  it('accepts quoted role names, single quotes, smart quotes and --flag=value', () => {
    expect(parsed(`request finance sa "Key Vault Secrets User"`)).toMatchObject({ roleName: 'Key Vault Secrets User' });
    expect(parsed(`request finance sa 'Key  Vault Secrets User'`)).toMatchObject({ roleName: 'Key Vault Secrets User' });
    expect(parsed('request finance sa “Key Vault Secrets User” --reason ‘it’s for payments’')).toMatchObject({
      roleName: 'Key Vault Secrets User', reason: 'it’s for payments',
    });
    expect(parsed('request finance sa Reader --reason="read the thing" --for=1h30m --cluster=green')).toMatchObject({
      roleName: 'Reader', reason: 'read the thing', durationSeconds: 5400, cluster: 'green',
    });
  });

  it('treats macOS smart dashes as flag dashes and keeps apostrophes inside words', () => {
    expect(parsed('request finance sa Reader —for 30m –reason it\'s urgent')).toMatchObject({ durationSeconds: 1800, reason: "it's urgent" });
  });

  it('takes an unquoted reason up to the next flag', () => {
    expect(parsed('request finance sa Reader --reason read the vault please --for 7d')).toMatchObject({ reason: 'read the vault please', durationSeconds: 7 * 86400 });
  });

  it('says which argument is missing and shows the usage', () => {
    expect(refusal('request')).toMatchObject({ code: 'missing-argument', field: 'namespace' });
    expect(refusal('request finance')).toMatchObject({ code: 'missing-argument', field: 'serviceAccount' });
    const e = refusal('request finance sa --for 8h');
    expect(e).toMatchObject({ code: 'missing-argument', field: 'roleName' });
    expect(e.message).toContain('Usage: /wid request <namespace> <serviceaccount> <role name…>');
  });

  it('refuses unknown, single-dash, duplicate and empty flags', () => {
    expect(refusal('request finance sa Reader --scoop /x')).toMatchObject({ code: 'unknown-flag' });
    expect(refusal('request finance sa Reader --scoop /x').message).toMatch(/--scoop.*--scope/s);
    expect(refusal('request finance sa Reader -scope /x')).toMatchObject({ code: 'unknown-flag' });
    expect(refusal('request finance sa Reader --for 1h --for 2h')).toMatchObject({ code: 'duplicate-flag' });
    expect(refusal('request finance sa Reader --scope')).toMatchObject({ code: 'missing-flag-value', field: 'scope' });
    expect(refusal('request finance sa Reader --scope= --for 1h')).toMatchObject({ code: 'missing-flag-value' });
    expect(refusal('revoke finance sa --scope /x')).toMatchObject({ code: 'unknown-flag' });
  });

  it('refuses bad durations with the accepted forms', () => {
    for (const d of ['8x', '0h', 'h', '-1h', '400d', '1.5h']) {
      const e = refusal(`request finance sa Reader --for ${d}`);
      expect(e.code).toBe('bad-duration');
      expect(e.field).toBe('durationSeconds');
    }
    expect(refusal('request finance sa Reader --for 8x').message).toContain('30m, 8h, 7d or 1h30m');
  });

  it('refuses unterminated quotes', () => {
    const e = refusal('request finance sa "Key Vault');
    expect(e.code).toBe('unterminated-quote');
    expect(e.message).toContain('never closed');
    expect(refusal('request finance sa Reader --reason="oops')).toMatchObject({ code: 'unterminated-quote' });
  });
});

describe('other verbs', () => {
  it('parses each verb', () => {
    expect(parsed('revoke finance sa --reason done')).toEqual({ verb: 'revoke', namespace: 'finance', serviceAccount: 'sa', reason: 'done' });
    expect(parsed('status')).toEqual({ verb: 'status' });
    expect(parsed('status r-123')).toEqual({ verb: 'status', id: 'r-123' });
    expect(parsed('cluster --cluster blue')).toEqual({ verb: 'cluster', cluster: 'blue' });
    expect(parsed('creds')).toEqual({ verb: 'creds' });
    expect(parsed('audit')).toEqual({ verb: 'audit' });
    expect(parsed('legacy --cluster green')).toEqual({ verb: 'legacy', cluster: 'green' });
    expect(parsed('list')).toEqual({ verb: 'list' });
    expect(parsed('list finance --cluster blue')).toEqual({ verb: 'list', namespace: 'finance', cluster: 'blue' });
    expect(parsed('help')).toEqual({ verb: 'help' });
    expect(parsed('help Request')).toEqual({ verb: 'help', topic: 'request' });
    expect(parsed('--help')).toEqual({ verb: 'help' });
    expect(parsed('REQUEST ns sa Reader')).toMatchObject({ verb: 'request' });
  });

  it('refuses unknown verbs, extra arguments and unknown help topics', () => {
    const e = refusal('grant finance sa Reader');
    expect(e.code).toBe('unknown-verb');
    expect(e.message).toContain('"grant"');
    expect(e.message).toContain('request, revoke');
    expect(refusal('revoke finance sa extra')).toMatchObject({ code: 'unexpected-argument' });
    expect(refusal('status a b')).toMatchObject({ code: 'unexpected-argument' });
    expect(refusal('cluster blue')).toMatchObject({ code: 'unexpected-argument' });
    expect(refusal('help nope')).toMatchObject({ code: 'unknown-verb' });
  });

  it('refuses empty text, control characters and over-long text', () => {
    for (const t of ['', '   ', '\n\t']) expect(refusal(t).code).toBe('empty-command');
    expect(refusal('request finance sa Reader\u0000')).toMatchObject({ code: 'control-character' });
    expect(refusal('request finance sa Reader\u0007').message).toContain('\\u0007');
    const e = refusal(`request finance sa ${'x'.repeat(MAX_COMMAND_LENGTH)}`);
    expect(e.code).toBe('command-too-long');
    expect(e.message).toContain(String(MAX_COMMAND_LENGTH));
  });

  it('decodes the entities Slack puts in command text', () => {
    expect(parsed('request finance sa Reader --reason R&amp;D &lt;urgent&gt;')).toMatchObject({ reason: 'R&D <urgent>' });
  });

  it('passes shell metacharacters through as plain words for the policy to refuse', () => {
    expect(parsed('request finance sa Reader --scope "; rm -rf /"')).toMatchObject({ scope: '; rm -rf /' });
    expect(parsed('request $(whoami) sa Reader')).toMatchObject({ namespace: '$(whoami)' });
  });
});

describe('argv parsing (the CLI)', () => {
  it('takes shell words literally', () => {
    const r = parseArgv(['request', 'finance', 'sa', 'Key Vault Secrets User', '--reason', "it's needed", '--for', '2h']);
    expect(r).toEqual({ ok: true, value: { verb: 'request', namespace: 'finance', serviceAccount: 'sa', roleName: 'Key Vault Secrets User', reason: "it's needed", durationSeconds: 7200 } });
    expect(parseArgv([])).toMatchObject({ ok: false, error: { code: 'empty-command' } });
  });
});

describe('durations and help', () => {
  it('parses and formats durations', () => {
    expect(parseDuration('30m')).toEqual({ ok: true, value: 1800 });
    expect(parseDuration('7d')).toEqual({ ok: true, value: 604800 });
    expect(parseDuration('1H30M')).toEqual({ ok: true, value: 5400 });
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(86400 * 2 + 60)).toBe('2d1m');
  });

  it('documents every verb', () => {
    for (const v of VERBS) {
      expect(helpText()).toContain(usage(v));
      expect(helpText(v)).toContain(usage(v));
    }
    expect(usage()).toContain('/wid revoke <namespace> <serviceaccount>');
  });
});

describe('properties', () => {
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 100 }),
    fc.array(fc.constantFrom('request', 'revoke', 'status', 'help', 'list', '--scope', '--for', '--reason=', '"', "'", '“', '’', '—for', ' ', 'Key', 'Vault', '8h', 'x=y', '-', '--', '\u0000', '\u00a0', '$(whoami)', ';'), { maxLength: 30 }).map((a) => a.join(' ')),
    fc.string({ maxLength: 10 }).map((s) => s.repeat(500)),
  );

  it('never throws and always gives a command or a refusal with a message (10,000 runs)', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const r = parseCommand(text);
        if (r.ok) return typeof r.value.verb === 'string' && VERBS.includes(r.value.verb);
        return typeof r.error.message === 'string' && r.error.message.length > 0 && r.error.code.length > 0;
      }),
      { numRuns: 10_000 },
    );
  });

  it('round-trips any request made of valid words', () => {
    const word = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
    fc.assert(
      fc.property(word, word, fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,10}$/), { minLength: 1, maxLength: 5 }), (ns, sa, role) => {
        const r = parseCommand(`request ${ns} ${sa} ${role.join(' ')}`);
        return r.ok && r.value.verb === 'request' && r.value.namespace === ns && r.value.serviceAccount === sa && r.value.roleName === role.join(' ');
      }),
      { numRuns: 500 },
    );
  });
});
