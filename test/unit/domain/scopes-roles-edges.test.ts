/**
 * ARM scopes, scope patterns, built-in roles, message helpers and errors at their edges: the exact
 * refusals and the exact matching rules. Found by `npm run test:mutation`.
 */
import { isRetryable, ok, refuse, RetryableError, TerminalError, WidError } from '../../../src/domain/errors';
import { BUILT_IN_ROLES, builtInRoleId, findBuiltInRole, isGuid, isPrivilegedRole, PRIVILEGED_ROLE_NAMES, roleDefinitionGuid, roleKey } from '../../../src/domain/roles';
import { isScopePattern, scopeAllowed, scopeMatches, scopePatternProblem, scopeSubscription, validateScope } from '../../../src/domain/scopes';
import { listOf, show } from '../../../src/domain/text';

const HINT = 'expected an ARM resource id such as /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>.';

describe('validateScope', () => {
  it('returns the normalised id', () => {
    expect(validateScope('  /Subscriptions/S1//resourceGroups/RG/ ')).toEqual({ ok: true, value: '/subscriptions/s1/resourcegroups/rg' });
    expect(validateScope('/a.b_c(d)~e:f-g')).toEqual({ ok: true, value: '/a.b_c(d)~e:f-g' });
  });

  it('refuses what does not start with a slash, naming the value and the expected form', () => {
    expect(validateScope('subscriptions/x')).toEqual({ ok: false, error: { code: 'invalid-scope', field: 'scope', message: `"subscriptions/x" is not an ARM scope: ${HINT}` } });
    expect(validateScope('  x/')).toMatchObject({ ok: false, error: { code: 'invalid-scope' } });
  });

  it('names the part that is not allowed', () => {
    expect(validateScope('/subscriptions/x y')).toEqual({ ok: false, error: { code: 'invalid-scope', field: 'scope', message: `"/subscriptions/x y" is not an ARM scope (the part "x y" is not allowed): ${HINT}` } });
    expect(validateScope('/subscriptions/./x')).toMatchObject({ ok: false, error: { message: expect.stringContaining('(the part "." is not allowed)') } });
    expect(validateScope('/subscriptions/../x')).toMatchObject({ ok: false, error: { message: expect.stringContaining('(the part ".." is not allowed)') } });
    expect(validateScope('/subscriptions/*')).toMatchObject({ ok: false, error: { message: expect.stringContaining('(the part "*" is not allowed)') } });
    expect(validateScope('/...')).toEqual({ ok: true, value: '/...' });
  });

  it('refuses the root alone without naming a part', () => {
    expect(validateScope('/')).toEqual({ ok: false, error: { code: 'invalid-scope', field: 'scope', message: `"/" is not an ARM scope: ${HINT}` } });
    expect(validateScope('///')).toMatchObject({ ok: false, error: { code: 'invalid-scope' } });
  });

  it('accepts ids up to 1024 characters and refuses longer ones with the length', () => {
    const at = (n: number) => `/${'a'.repeat(n - 1)}`;
    expect(validateScope(at(1024))).toEqual({ ok: true, value: at(1024) });
    expect(validateScope(at(1025))).toEqual({ ok: false, error: { code: 'invalid-scope', field: 'scope', message: 'The scope is 1025 characters long; ARM ids are at most 1024.' } });
  });

  it('cuts a long bad value in the message', () => {
    const bad = `x${'y'.repeat(200)}`;
    expect(validateScope(bad)).toMatchObject({ ok: false, error: { message: `"x${'y'.repeat(119)}…" is not an ARM scope: ${HINT}` } });
  });
});

describe('scope patterns', () => {
  it('a pattern is anything with a star', () => {
    expect(isScopePattern('/a/*')).toBe(true);
    expect(isScopePattern('/a/b*c')).toBe(true);
    expect(isScopePattern('/a/b')).toBe(false);
  });

  it('checks policy patterns and says what is wrong', () => {
    expect(scopePatternProblem('/subscriptions/s/resourceGroups/*')).toBeUndefined();
    expect(scopePatternProblem('/subscriptions/s/**')).toBeUndefined();
    expect(scopePatternProblem('/subscriptions/s/rg-*-app')).toBeUndefined();
    expect(scopePatternProblem('/*')).toBeUndefined();
    expect(scopePatternProblem('subscriptions/s')).toBe('expected an ARM id or pattern starting with "/"');
    expect(scopePatternProblem('  /x')).toBeUndefined();
    expect(scopePatternProblem('/')).toBe('expected an ARM id or pattern below "/"');
    expect(scopePatternProblem('//')).toBe('expected an ARM id or pattern below "/"');
    expect(scopePatternProblem('/a/**/b')).toBe('"**" may only be the last segment (it stands for everything below)');
    expect(scopePatternProblem('/a/b**')).toBe('"**" must be a whole segment, e.g. /subscriptions/<id>/resourceGroups/rg-app/**');
    expect(scopePatternProblem('/a/b c*')).toBe('the part "b c*" has characters ARM ids do not use');
    expect(scopePatternProblem('/a/$x')).toBe('the part "$x" has characters ARM ids do not use');
  });

  it('* matches one segment or part of one, never across a slash', () => {
    expect(scopeMatches('/a/*', '/a/b')).toBe(true);
    expect(scopeMatches('/a/*', '/a')).toBe(false);
    expect(scopeMatches('/a/*', '/a/b/c')).toBe(false);
    expect(scopeMatches('/a/x*z', '/a/xyz')).toBe(true);
    expect(scopeMatches('/a/x*z', '/a/xz')).toBe(true);
    expect(scopeMatches('/a/x*z', '/a/xyzq')).toBe(false);
    expect(scopeMatches('/a/x*z', '/a/qxyz')).toBe(false);
    expect(scopeMatches('/a/*-prod', '/a/kv-prod')).toBe(true);
    expect(scopeMatches('/a/*/c', '/a/b/c')).toBe(true);
    expect(scopeMatches('/a/*/c', '/a/b/d')).toBe(false);
  });

  it('the other characters of a pattern are literal, not regular-expression syntax', () => {
    expect(scopeMatches('/a/b.c*', '/a/bxc1')).toBe(false);
    expect(scopeMatches('/a/b.c*', '/a/b.c1')).toBe(true);
    expect(scopeMatches('/a/(x)*', '/a/(x)y')).toBe(true);
    expect(scopeMatches('/a/(x)*', '/a/xy')).toBe(false);
  });

  it('** as the last segment matches one or more segments below, not the parent', () => {
    expect(scopeMatches('/a/**', '/a/b')).toBe(true);
    expect(scopeMatches('/a/**', '/a/b/c/d')).toBe(true);
    expect(scopeMatches('/a/**', '/a')).toBe(false);
    expect(scopeMatches('/a/**', '/b/c')).toBe(false);
  });

  it('exact ids match case-insensitively and only the same id', () => {
    expect(scopeMatches('/A/B', '/a/b/')).toBe(true);
    expect(scopeMatches('/a/b', '/a/b/c')).toBe(false);
    expect(scopeMatches('/a/b/c', '/a/b')).toBe(false);
    expect(scopeMatches('/a/b', '/a/c')).toBe(false);
  });

  it('a scope is allowed when any pattern matches', () => {
    expect(scopeAllowed(['/x', '/a/*'], '/a/b')).toBe(true);
    expect(scopeAllowed(['/x', '/y'], '/a/b')).toBe(false);
    expect(scopeAllowed([], '/a')).toBe(false);
  });

  it('finds the subscription of a scope', () => {
    expect(scopeSubscription('/SUBSCRIPTIONS/abc')).toBe('abc');
    expect(scopeSubscription('/subscriptions/abc/resourceGroups/x')).toBe('abc');
    expect(scopeSubscription('/x/subscriptions/abc')).toBeUndefined();
    expect(scopeSubscription('/subscriptions/')).toBeUndefined();
  });
});

describe('built-in roles', () => {
  it('role names compare ignoring case, outer space and space runs', () => {
    expect(roleKey('  Key \t Vault\nSecrets  User ')).toBe('key vault secrets user');
  });

  it('GUIDs: exactly 8-4-4-4-12 hex, any case', () => {
    expect(isGuid('4633458B-17DE-408A-B874-0445C86B69E6')).toBe(true);
    expect(isGuid('4633458b-17de-408a-b874-0445c86b69e')).toBe(false);
    expect(isGuid('x4633458b-17de-408a-b874-0445c86b69e6')).toBe(false);
    expect(isGuid('4633458b-17de-408a-b874-0445c86b69e6x')).toBe(false);
    expect(isGuid('4633458g-17de-408a-b874-0445c86b69e6')).toBe(false);
  });

  it('the role GUID of a full id, with trailing slashes and space; nothing for other text', () => {
    expect(roleDefinitionGuid(' /subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/4633458B-17DE-408A-B874-0445C86B69E6// ')).toBe('4633458b-17de-408a-b874-0445c86b69e6');
    expect(roleDefinitionGuid('4633458b-17de-408a-b874-0445c86b69e6')).toBe('4633458b-17de-408a-b874-0445c86b69e6');
    expect(roleDefinitionGuid('/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6/extra')).toBeUndefined();
    expect(roleDefinitionGuid('')).toBeUndefined();
  });

  it('found by name or by GUID; a GUID that is not built in finds nothing, even if it reads like a name', () => {
    expect(findBuiltInRole('  storage BLOB data reader ')?.id).toBe('2a2b9908-6ea1-4ae2-8e65-a410df84e7d1');
    expect(findBuiltInRole('/x/roleDefinitions/B24988AC-6180-42A0-AB88-20F7382DD24C')?.name).toBe('Contributor');
    expect(findBuiltInRole('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    expect(builtInRoleId('Nope')).toBeUndefined();
    expect(isPrivilegedRole('Nope')).toBe(false);
    expect(isPrivilegedRole('8e3af657-a8ff-443c-a75c-2fe8c4bcb635')).toBe(true);
    expect(isPrivilegedRole('acrpull')).toBe(false);
  });

  it('exactly four built-ins are privileged', () => {
    expect(PRIVILEGED_ROLE_NAMES).toEqual(['Contributor', 'Owner', 'User Access Administrator', 'Role Based Access Control Administrator']);
    expect(BUILT_IN_ROLES.filter((r) => !r.privileged).map((r) => r.name)).toEqual([
      'Key Vault Secrets User', 'Key Vault Crypto User', 'Storage Blob Data Reader', 'Storage Blob Data Contributor', 'AcrPull', 'Reader',
      'Managed Identity Operator', 'Managed Identity Contributor',
    ]);
  });
});

describe('message helpers', () => {
  it('show quotes, makes control characters visible and cuts long values by characters', () => {
    expect(show('abc')).toBe('"abc"');
    expect(show('a\u0000b\u001fc\u007fd\u0080e\u009ff\u2028g\u2029h')).toBe('"a\\u0000b\\u001fc\\u007fd\\u0080e\\u009ff\\u2028g\\u2029h"');
    expect(show(' \u00a0é\u0020')).toBe('" \u00a0é "');
    expect(show('x'.repeat(80))).toBe(`"${'x'.repeat(80)}"`);
    expect(show('x'.repeat(81))).toBe(`"${'x'.repeat(80)}…"`);
    expect(show('abcdef', 3)).toBe('"abc…"');
    expect(show('😀😀😀', 2)).toBe('"😀😀…"');
    expect(show('\u0001', 3)).toBe('"\\u0…"');
  });

  it('listOf joins with commas and "and", or says none', () => {
    expect(listOf([])).toBe('none');
    expect(listOf([], 'nobody')).toBe('nobody');
    expect(listOf(['a'])).toBe('a');
    expect(listOf(['a', 'b'])).toBe('a and b');
    expect(listOf(['a', 'b', 'c'])).toBe('a, b and c');
  });
});

describe('errors', () => {
  it('retryable and terminal errors carry kind, code, name and Retry-After', () => {
    const r = new RetryableError('slow down', 'TooManyRequests', 7);
    expect(r).toBeInstanceOf(WidError);
    expect(r).toBeInstanceOf(Error);
    expect([r.message, r.kind, r.code, r.retryAfterSeconds, r.name]).toEqual(['slow down', 'retryable', 'TooManyRequests', 7, 'RetryableError']);
    expect(new RetryableError('x').code).toBe('Retryable');
    const t = new TerminalError('no');
    expect([t.kind, t.code, t.name, t.retryAfterSeconds]).toEqual(['terminal', 'Terminal', 'TerminalError', undefined]);
    expect(new TerminalError('no', 'Forbidden').code).toBe('Forbidden');
    expect(isRetryable(r)).toBe(true);
    expect(isRetryable(t)).toBe(false);
    expect(isRetryable(new Error('x'))).toBe(false);
    expect(isRetryable({ kind: 'retryable' })).toBe(false);
  });

  it('ok and refuse build results; a refusal has a field only when given', () => {
    expect(ok(1)).toEqual({ ok: true, value: 1 });
    expect(refuse('c', 'm', 'f')).toEqual({ ok: false, error: { code: 'c', message: 'm', field: 'f' } });
    const r = refuse('c', 'm');
    expect(r).toEqual({ ok: false, error: { code: 'c', message: 'm' } });
    expect('field' in (r.ok ? {} : r.error)).toBe(false);
    expect('field' in (refuse('c', 'm', '') as { error: object }).error).toBe(false);
  });
});
