/**
 * Kubernetes name checks with their exact messages, and the derived names' construction rules
 * (the exact names themselves are pinned in test/unit/golden). Found by `npm run test:mutation`.
 */
import { MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, RESERVED_NAMESPACES } from '../../../src/domain/types';
import {
  FEDERATED_CREDENTIAL_NAME_PATTERN, federatedCredentialName, IDENTITY_NAME_PATTERN, identityName, normaliseScope, roleAssignmentName, uuidv5, validateClusterName, validateNamespace, validateServiceAccountName,
} from '../../../src/domain/names';

const rule = {
  label: 'it must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters)',
  subdomain: 'it must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", each dot-separated part starting and ending with a letter or digit, at most 253 characters)',
};

const message = (r: { ok: boolean; error?: { message: string } } | { ok: true; value: string }) => ('error' in r && r.error ? r.error.message : '');

describe('namespace, cluster and ServiceAccount checks say exactly what is wrong', () => {
  it('namespaces', () => {
    const ns = (v: string) => message(validateNamespace(v));
    expect(ns('')).toBe(`"" is not a valid Kubernetes namespace name: ${rule.label}, but it is empty.`);
    expect(ns('a'.repeat(64))).toBe(`"${'a'.repeat(64)}" is not a valid Kubernetes namespace name: ${rule.label}, but it is 64 characters long.`);
    expect(ns('teAm')).toBe(`"teAm" is not a valid Kubernetes namespace name: ${rule.label}, but it contains the uppercase letter "A".`);
    expect(ns('a_b')).toBe(`"a_b" is not a valid Kubernetes namespace name: ${rule.label}, but it contains "_".`);
    expect(ns('a.b')).toContain('but it contains "."');
    expect(ns('-ab')).toContain('but it does not start with a letter or digit.');
    expect(ns('ab-')).toContain('but it does not end with a letter or digit.');
    expect(ns('a\nb')).toContain('"a\\u000ab" is not a valid');
  });

  it('long values are cut in the message after 70 characters', () => {
    const long = `${'a'.repeat(80)}_`;
    expect(message(validateNamespace(long))).toBe(`"${'a'.repeat(70)}…" is not a valid Kubernetes namespace name: ${rule.label}, but it is 81 characters long.`);
    expect(message(validateServiceAccountName(`${'b'.repeat(300)}`))).toMatch(/^"b{70}…" is not a valid Kubernetes ServiceAccount name: .*, but it is 300 characters long\.$/);
  });

  it('the first rule broken is the one named: length, then case, then characters, then the ends', () => {
    expect(message(validateNamespace(`A${'a'.repeat(62)}`))).toContain('but it contains the uppercase letter "A".');
    expect(message(validateServiceAccountName(`A${'a'.repeat(252)}`))).toContain('but it contains the uppercase letter "A".');
    expect(message(validateServiceAccountName(`A${'a'.repeat(253)}`))).toContain('but it is 254 characters long.');
    expect(message(validateNamespace(`A${'a'.repeat(63)}`))).toContain('it is 64 characters long');
    expect(message(validateNamespace('A_'))).toContain('uppercase letter "A"');
    expect(message(validateNamespace('-_'))).toContain('contains "_"');
    expect(message(validateNamespace('-a-'))).toContain('does not start');
  });

  it('values that are not strings are refused with their text, not a crash', () => {
    const r = validateNamespace(42 as unknown as string);
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-namespace', field: 'namespace' } });
    expect(message(r)).toMatch(/^"42" is not a valid Kubernetes namespace name/);
    expect(message(validateNamespace(null as unknown as string))).toMatch(/^"null" is not a valid Kubernetes namespace name/);
    expect(message(validateClusterName(undefined as unknown as string))).toMatch(/^"undefined" is not a valid cluster name/);
    const s = validateServiceAccountName(undefined as unknown as string);
    expect(s).toMatchObject({ ok: false, error: { code: 'invalid-serviceaccount', field: 'serviceAccount' } });
    expect(message(s)).toMatch(/^"undefined" is not a valid Kubernetes ServiceAccount name/);
    expect(message(validateClusterName(7 as unknown as string))).toMatch(/^"7" is not a valid cluster name/);
  });

  it('ServiceAccounts', () => {
    const sa = (v: string) => message(validateServiceAccountName(v));
    expect(sa('a..b')).toBe(`"a..b" is not a valid Kubernetes ServiceAccount name: ${rule.subdomain}, but one of its dot-separated parts does not start and end with a letter or digit.`);
    expect(sa('a.-b')).toContain('one of its dot-separated parts');
    expect(sa('a-.b')).toContain('one of its dot-separated parts');
    expect(sa('.a')).toContain('but it does not start with a letter or digit.');
    expect(sa('a.')).toContain('but it does not end with a letter or digit.');
    expect(sa('a_b')).toContain('but it contains "_".');
    expect(sa('Ab')).toContain('but it contains the uppercase letter "A".');
    expect(sa('')).toContain('but it is empty.');
    expect(validateServiceAccountName('a.b-c.9')).toEqual({ ok: true, value: 'a.b-c.9' });
    expect(validateServiceAccountName(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`).ok).toBe(true);
  });

  it('clusters are labels, with their own code and field', () => {
    const r = validateClusterName('blue.green');
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-cluster', field: 'cluster' } });
    expect(message(r)).toBe(`"blue.green" is not a valid cluster name: ${rule.label}, but it contains ".".`);
    expect(validateClusterName('x'.repeat(63)).ok).toBe(true);
    expect(validateClusterName('x'.repeat(64)).ok).toBe(false);
  });

  it('reserved namespaces: exactly the three system ones, and the message says how to allow them', () => {
    for (const n of ['kube-system', 'kube-public', 'kube-node-lease']) {
      const r = validateNamespace(n);
      expect(r).toMatchObject({ ok: false, error: { code: 'reserved-namespace', field: 'namespace' } });
      expect(message(r)).toBe(`"${n}" is a reserved Kubernetes namespace; wid-bot does not grant Azure access there unless the policy sets allowReservedNamespaces: true.`);
    }
    for (const n of ['default', 'kube', 'kube-systems', 'kube-system-2']) expect(validateNamespace(n)).toEqual({ ok: true, value: n });
    expect(validateNamespace('kube-system', { allowReserved: false }).ok).toBe(false);
    expect(validateNamespace('Kube-System', { allowReserved: true })).toMatchObject({ ok: false, error: { code: 'invalid-namespace' } });
  });
});

describe('derived Azure names', () => {
  it('the Azure name rules: identities 3–128 and credentials 3–120 characters, starting with a letter or digit', () => {
    for (const [pattern, max] of [[IDENTITY_NAME_PATTERN, 128], [FEDERATED_CREDENTIAL_NAME_PATTERN, 120]] as const) {
      for (const good of ['abc', 'A-_', '0ab', `a${'b'.repeat(max - 1)}`, 'wid-blue-x_y-0123']) expect([good, pattern.test(good)]).toEqual([good, true]);
      for (const bad of ['ab', '', `a${'b'.repeat(max)}`, '-abc', '_abc', 'ab.c', 'ab c', 'abc/', 'äbc', ' abc', 'abc\n']) expect([bad, pattern.test(bad)]).toEqual([bad, false]);
    }
    expect(MAX_FEDERATED_CREDENTIALS_PER_IDENTITY).toBe(20);
    expect(RESERVED_NAMESPACES).toEqual(['kube-system', 'kube-public', 'kube-node-lease']);
  });

  it('identity and credential names differ only in their length budget', () => {
    expect(identityName('blue', 'finance', 'backend-sa')).toBe(federatedCredentialName('blue', 'finance', 'backend-sa'));
    const sa = 's'.repeat(120);
    expect(identityName('blue', 'finance', sa)).toHaveLength(128);
    expect(federatedCredentialName('blue', 'finance', sa)).toHaveLength(120);
    expect(identityName('blue', 'finance', sa).slice(-13)).toBe(federatedCredentialName('blue', 'finance', sa).slice(-13));
  });

  it('short parts stay whole when a long one is cut; the hash always ends the name', () => {
    const name = identityName('blue', 'finance', 'x'.repeat(253));
    expect(name).toMatch(/^wid-blue-finance-x{98}-[0-9a-f]{12}$/);
    const both = identityName('blue', 'n'.repeat(63), 's'.repeat(253));
    // 109 characters for the parts: "blue" keeps 4, the other two share 105 as 52 and 53.
    expect(both).toMatch(/^wid-blue-n{52}-s{53}-[0-9a-f]{12}$/);
  });

  it('a name at the budget is not cut, one character more is', () => {
    expect(identityName('ab', 'cd', 'e'.repeat(105))).toMatch(/^wid-ab-cd-e{105}-[0-9a-f]{12}$/);
    expect(identityName('ab', 'cd', 'e'.repeat(106))).toMatch(/^wid-ab-cd-e{105}-[0-9a-f]{12}$/);
    expect(identityName('ab', 'cd', 'e'.repeat(106))).not.toBe(identityName('ab', 'cd', 'e'.repeat(105)));
  });

  it('characters Azure does not allow become "-", dots "_", and an empty part "x"', () => {
    expect(identityName('a', 'b', 'c.d')).toMatch(/^wid-a-b-c_d-[0-9a-f]{12}$/);
    expect(identityName('a', 'b', 'c:d/e f')).toMatch(/^wid-a-b-c-d-e-f-[0-9a-f]{12}$/);
    expect(identityName('A_1', 'b', 'c')).toMatch(/^wid-A_1-b-c-[0-9a-f]{12}$/);
    expect(identityName('', 'b', '')).toMatch(/^wid-x-b-x-[0-9a-f]{12}$/);
  });

  it('the hash is over the exact triple, not the cleaned parts', () => {
    expect(identityName('a', 'b', 'c.d')).not.toBe(identityName('a', 'b', 'c_d'));
    expect(identityName('', 'b', '')).not.toBe(identityName('x', 'b', 'x'));
  });
});

describe('scopes and role-assignment names', () => {
  it('one spelling of a scope', () => {
    expect(normaliseScope('  /A//B/ ')).toBe('/a/b');
    expect(normaliseScope('')).toBe('/');
  });

  it('the principal id is trimmed and lower-cased, so a retry with another spelling finds the first assignment', () => {
    const scope = '/subscriptions/s/resourceGroups/rg';
    const role = '4633458b-17de-408a-b874-0445c86b69e6';
    const name = roleAssignmentName(scope, 'abcdef00-0000-4000-8000-000000000001', role);
    expect(roleAssignmentName(scope, ' ABCDEF00-0000-4000-8000-000000000001\n', role)).toBe(name);
    expect(roleAssignmentName(scope, '\tAbCdEf00-0000-4000-8000-000000000001', role)).toBe(name);
    // It is the v5 UUID of "<normalised scope>|<principal>|<role guid>" in wid-bot's namespace.
    expect(name).toBe(uuidv5('/subscriptions/s/resourcegroups/rg|abcdef00-0000-4000-8000-000000000001|4633458b-17de-408a-b874-0445c86b69e6', '5f2b8c1e-7d4a-4b9e-a3c6-0e8f1d2a7b64'));
  });

  it('a role that is not a GUID is trimmed and lower-cased too', () => {
    const scope = '/subscriptions/s';
    expect(roleAssignmentName(scope, 'p', ' My Role ')).toBe(uuidv5('/subscriptions/s|p|my role', '5f2b8c1e-7d4a-4b9e-a3c6-0e8f1d2a7b64'));
    expect(roleAssignmentName(scope, 'p', '/x/roleDefinitions/4633458B-17DE-408A-B874-0445C86B69E6')).toBe(uuidv5('/subscriptions/s|p|4633458b-17de-408a-b874-0445c86b69e6', '5f2b8c1e-7d4a-4b9e-a3c6-0e8f1d2a7b64'));
  });

  it('uuidv5 sets the version and variant bits', () => {
    for (const n of ['', 'a', 'b', 'c', 'd', 'e', 'f', 'g']) {
      const u = uuidv5(n, '00000000-0000-0000-0000-000000000000');
      expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    // Python's uuid.uuid5(uuid.NAMESPACE_OID, "wid") — an independent implementation.
    expect(uuidv5('wid', '6ba7b812-9dad-11d1-80b4-00c04fd430c8')).toBe(UUID_OID_WID);
  });
});

const UUID_OID_WID = '153d564e-bd91-573f-b7af-a88ff3e1e2eb';
