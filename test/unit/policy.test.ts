import fs from 'node:fs';
import path from 'node:path';
import { loadPolicyFile, parsePolicy, PolicyError } from '../../src/config/policy';
import { parseCommand, type RequestCommand, type RevokeCommand } from '../../src/domain/grammar';
import { approvalsChannelFor, evaluateRequest, isApprover, isOperator, requestOptionsFor } from '../../src/domain/policy';
import { scopeMatches, validateScope } from '../../src/domain/scopes';
import type { Policy } from '../../src/domain/types';

const EXAMPLE = path.join(__dirname, '..', '..', 'policy.example.yaml');
const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const KV = `/subscriptions/${SUB}/resourceGroups/rg-payments/providers/Microsoft.KeyVault/vaults`;

function problemsOf(yaml: string): { message: string; problems: Array<{ path: string; message: string }> } {
  try {
    parsePolicy(yaml, 'test-policy.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyError);
    return { message: (e as PolicyError).message, problems: (e as PolicyError).problems };
  }
  throw new Error('expected the policy to be refused');
}

const base = (over: { roles?: string; namespaces?: string; extra?: string } = {}) => `
clusters:
  - name: blue
    subscription: ${SUB}
    resourceGroup: rg-aks
    aksName: aks-blue
identities:
  subscription: ${SUB}
  resourceGroup: rg-ids
  location: westeurope
roles:
${over.roles ?? `  - name: Reader
    scopes: [/subscriptions/${SUB}]`}
namespaces:
${over.namespaces ?? `  - name: team
    requesters: anyone
    approvers: { users: [U1] }
    roles: [Reader]`}
${over.extra ?? ''}
`;

describe('the policy file', () => {
  it('loads the example with built-in role ids, defaults and normalised scopes', () => {
    const p = loadPolicyFile(EXAMPLE);
    expect(p.source).toBe(EXAMPLE);
    expect(p.clusters.map((c) => c.name)).toEqual(['blue', 'green']);
    expect(p.defaultCluster).toBe('blue');
    const kv = p.roles.find((r) => r.name === 'Key Vault Secrets User');
    expect(kv).toMatchObject({ roleDefinitionId: '4633458b-17de-408a-b874-0445c86b69e6', approvals: 1, privileged: false });
    expect(kv?.scopes[0]).toBe(`${KV}/*`.toLowerCase());
    expect(p.roles.find((r) => r.name === 'Contributor')).toMatchObject({ privileged: true, approvals: 2, maxDurationSeconds: 8 * 3600 });
    expect(p.roles.find((r) => r.name === 'Storage Blob Data Contributor')).toMatchObject({ approvals: 2, maxDurationSeconds: 7 * 86400 });
    expect(p.namespaces.find((n) => n.name === 'analytics')?.requesters).toEqual({ users: [], groups: [], anyone: true });
    expect(p.requestTtlSeconds).toBe(86400);
    expect(p.reminderAfterSeconds).toBe(4 * 3600);
    expect(p.identities.tags).toEqual({ 'cost-center': '4711', owner: 'platform-team' });
  });

  it('applies defaults for settings, approvals and the default cluster', () => {
    const p = parsePolicy(base(), 'x.yaml');
    expect(p).toMatchObject({ defaultCluster: 'blue', requestTtlSeconds: 86400, allowReservedNamespaces: false, approvers: { users: [], groups: [], anyone: false } });
    expect(p.roles[0]).toMatchObject({ approvals: 1, privileged: false, roleDefinitionId: 'acdd72a7-3385-48ef-bd42-f606fba81ae7' });
    const never = parsePolicy(base({ extra: 'settings: { requestTtl: 2h, remindAfter: never }' }), 'x.yaml');
    expect(never).toMatchObject({ requestTtlSeconds: 7200, reminderAfterSeconds: 0 });
  });

  it('names the file, the field path and what is expected, for every problem at once', () => {
    const { message, problems } = problemsOf(base({
      roles: `  - name: Reader
    scopes: [/subscriptions/${SUB}]
    approvals: 3
  - name: Custom Thing
    scopes: [not-an-id]
    maxDuration: forever
  - name: AcrPull
    scopes: [/x]
    aproval: 1`,
      extra: 'settings: { requestTtl: 8 }',
    }));
    expect(message).toMatch(/^test-policy\.yaml is not a valid wid-bot policy \(\d+ problems\)/);
    const at = (p: string) => problems.find((x) => x.path === p)?.message;
    expect(at('roles[0].approvals')).toBe('expected 1 or 2');
    expect(at('roles[2]')).toContain('unknown field "aproval"');
    expect(at('settings.requestTtl')).toContain('expected a text');
  });

  it('reports semantic problems with paths', () => {
    const { problems } = problemsOf(base({
      roles: `  - name: Reader
    scopes: [/subscriptions/${SUB}/**]
  - name: Custom Thing
    scopes: [not-an-id, /a/**/b]
    maxDuration: forever
    roleDefinitionId: nope
  - name: reader
    scopes: [/x]`,
      namespaces: `  - name: Team
    requesters: anyone
    roles: [Reader, Missing]
    defaultScopes:
      Reader: /subscriptions/other
  - name: kube-system
    requesters: anyone
    approvers: anyone
    roles: [Reader]`,
    }));
    const at = (p: string) => problems.find((x) => x.path === p)?.message ?? `no problem at ${p}: ${JSON.stringify(problems)}`;
    expect(at('roles[1].scopes[0]')).toContain('starting with "/"');
    expect(at('roles[1].scopes[1]')).toContain('"**" may only be the last segment');
    expect(at('roles[1].maxDuration')).toContain('not a duration');
    expect(at('roles[1].roleDefinitionId')).toContain('GUID');
    expect(at('roles')).toContain('listed twice');
    expect(at('namespaces[0].name')).toContain('uppercase letter "T"');
    expect(at('namespaces[0].roles[1]')).toContain('"Missing" is not in the roles catalogue');
    expect(at('namespaces[0].defaultScopes.Reader')).toContain('outside the scopes of "Reader"');
    expect(at('namespaces[0].approvers')).toContain('nobody can approve');
    expect(at('namespaces[1].name')).toContain('allowReservedNamespaces: true');
  });

  it('refuses privileged roles unless named with privileged: true, and then needs 2 approvals', () => {
    for (const role of ['Owner', 'Contributor', 'User Access Administrator', 'Role Based Access Control Administrator']) {
      const { problems } = problemsOf(base({ roles: `  - name: ${role}\n    scopes: [/subscriptions/${SUB}]`, namespaces: `  - name: team\n    requesters: anyone\n    approvers: anyone\n    roles: [Reader]` }));
      expect(problems.find((p) => p.path === 'roles[0]')?.message).toContain('set privileged: true');
    }
    const byId = problemsOf(base({ roles: `  - name: Boss\n    roleDefinitionId: 8e3af657-a8ff-443c-a75c-2fe8c4bcb635\n    scopes: [/subscriptions/${SUB}]` }));
    expect(byId.problems.some((p) => p.path === 'roles[0]' && p.message.includes('privileged'))).toBe(true);
    const one = problemsOf(base({ roles: `  - name: Owner\n    privileged: true\n    approvals: 1\n    scopes: [/subscriptions/${SUB}]` }));
    expect(one.problems.find((p) => p.path === 'roles[0].approvals')?.message).toContain('always needs 2 approvals');
    const good = parsePolicy(base({ roles: `  - name: Owner\n    privileged: true\n    scopes: [/subscriptions/${SUB}]`, namespaces: `  - name: team\n    requesters: anyone\n    approvers: anyone\n    roles: [owner]` }), 'x');
    expect(good.roles[0]).toMatchObject({ name: 'Owner', approvals: 2, privileged: true, roleDefinitionId: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635' });
    expect(good.namespaces[0]?.roles).toEqual(['Owner']);
  });

  it('reports YAML syntax errors with line numbers, empty files and missing files', () => {
    expect(problemsOf('a: [1\n').message).toMatch(/line \d+, column \d+/);
    expect(problemsOf('').message).toContain('empty');
    expect(() => loadPolicyFile('/nonexistent/policy.yaml')).toThrow(/\/nonexistent\/policy\.yaml.*does not exist/s);
  });

  it('keeps the issuer URL exactly as written', () => {
    const p = parsePolicy(base().replace('aksName: aks-blue', 'aksName: aks-blue\n    issuerUrl: https://westeurope.oic.prod-aks.azure.com/T/C/'), 'x');
    expect(p.clusters[0]?.issuerUrl).toBe('https://westeurope.oic.prod-aks.azure.com/T/C/');
    expect(problemsOf(base().replace('aksName: aks-blue', 'aksName: aks-blue\n    issuerUrl: http://plain/')).problems[0]?.path).toBe('clusters[0].issuerUrl');
  });
});

describe('scopes', () => {
  it('matches exact ids, * for one segment and ** for anything below', () => {
    expect(scopeMatches(`${KV}/*`, `${KV}/kv-one`)).toBe(true);
    expect(scopeMatches(`${KV}/*`, `${KV.toUpperCase()}/KV-ONE/`)).toBe(true);
    expect(scopeMatches(`${KV}/*`, `${KV}/kv-one/secrets/x`)).toBe(false);
    expect(scopeMatches(`${KV}/*`, KV)).toBe(false);
    expect(scopeMatches(`${KV}/kv-*`, `${KV}/kv-one`)).toBe(true);
    expect(scopeMatches(`${KV}/kv-*`, `${KV}/other`)).toBe(false);
    expect(scopeMatches(`/subscriptions/${SUB}/resourceGroups/rg/**`, `/subscriptions/${SUB}/resourceGroups/rg/providers/a/b/c`)).toBe(true);
    expect(scopeMatches(`/subscriptions/${SUB}/resourceGroups/rg/**`, `/subscriptions/${SUB}/resourceGroups/rg`)).toBe(false);
    expect(scopeMatches(`/subscriptions/${SUB}/resourceGroups/rg/**`, `/subscriptions/${SUB}/resourceGroups/rg2/x`)).toBe(false);
    expect(scopeMatches(`/subscriptions/${SUB}`, `/subscriptions/${SUB}/resourceGroups/rg`)).toBe(false);
  });

  it('a "**" that is not the last segment (which the policy refuses) never stands for everything below', () => {
    expect(scopeMatches(`/subscriptions/${SUB}/**/rg`, `/subscriptions/${SUB}/resourceGroups`)).toBe(false);
    expect(scopeMatches(`/subscriptions/${SUB}/**/rg`, `/subscriptions/${SUB}/resourceGroups/other/deeper`)).toBe(false);
  });

  it('refuses scopes that are not ARM ids', () => {
    for (const s of ['; rm -rf /', '$(whoami)', '/subscriptions/x y', '/subscriptions/*', '/', 'subscriptions/x', '/subscriptions/../x', '/a/`id`']) {
      expect(validateScope(s)).toMatchObject({ ok: false, error: { code: 'invalid-scope', field: 'scope' } });
    }
  });
});

describe('policy decisions', () => {
  const policy: Policy = loadPolicyFile(EXAMPLE);

  it('operators are the principals the policy names under operators, and nobody when it names none', () => {
    expect(isOperator(policy, 'U0SOMEONE', ['S0PLATFORM'])).toBe(true);
    expect(isOperator(policy, 'U0ALICE01', ['S0PAYMENTSDEV'])).toBe(false);
    const none = parsePolicy(fs.readFileSync(EXAMPLE, 'utf8').replace(/^operators:\n  groups: \[S0PLATFORM\]\n/m, ''), 'no-operators');
    expect(none.operators).toEqual({ users: [], groups: [], anyone: false });
    expect(isOperator(none, 'U0SOMEONE', ['S0PLATFORM'])).toBe(false);
    expect(() => parsePolicy(fs.readFileSync(EXAMPLE, 'utf8').replace('operators:\n  groups: [S0PLATFORM]', 'operators:\n  teams: [x]'), 'bad')).toThrow(PolicyError);
  });
  const alice = { id: 'U0ALICE01' };
  const req = (text: string): RequestCommand => {
    const r = parseCommand(text);
    if (!r.ok || r.value.verb !== 'request') throw new Error(`bad test command ${text}`);
    return r.value;
  };
  const decide = (text: string, who = alice, groups: string[] = []) => evaluateRequest(policy, { requester: who, requesterGroups: groups, command: req(text) });
  const refusedWith = (text: string, code: string, who = alice) => {
    const r = decide(text, who);
    expect(r).toMatchObject({ ok: false, error: { code } });
    return r.ok ? '' : r.error.message;
  };

  it('resolves a request with the default scope', () => {
    const r = decide('request payments checkout-api key vault secrets user');
    expect(r).toEqual({
      ok: true,
      value: expect.objectContaining({ kind: 'grant', serviceAccount: 'checkout-api', scope: `${KV}/kv-payments-prod`.toLowerCase() }),
    });
    expect(r.ok && r.value.cluster.name).toBe('blue');
    expect(r.ok && r.value.role.name).toBe('Key Vault Secrets User');
    expect(r.ok && r.value.durationSeconds).toBeUndefined();
  });

  it('takes an allowed explicit scope, cluster and the single exact scope of a role', () => {
    const r = decide(`request payments checkout-api Key Vault Secrets User --scope ${KV}/kv-other/ --cluster green`);
    expect(r.ok && r.value.scope).toBe(`${KV}/kv-other`.toLowerCase());
    expect(r.ok && r.value.cluster.name).toBe('green');
    const acr = decide('request payments checkout-api AcrPull');
    expect(acr.ok && acr.value.scope).toContain('/registries/acrprodshared');
  });

  it('refuses bad names, reserved namespaces and unknown clusters', () => {
    expect(refusedWith('request Payments sa Reader', 'invalid-namespace')).toContain('uppercase');
    expect(refusedWith(`request ${'a'.repeat(64)} sa Reader`, 'invalid-namespace')).toContain('64 characters');
    expect(refusedWith('request kube-system sa Reader', 'reserved-namespace')).toContain('kube-system');
    expect(refusedWith('request payments Bad_SA Reader', 'invalid-serviceaccount')).toContain('"Bad_SA"');
    expect(refusedWith('request payments sa AcrPull --cluster purple', 'unknown-cluster')).toContain('blue and green');
  });

  it('refuses namespaces outside the policy and people who may not request', () => {
    expect(refusedWith('request billing sa AcrPull', 'namespace-not-in-policy')).toContain('payments, analytics and sandbox');
    expect(refusedWith('request payments sa AcrPull', 'requester-not-allowed', { id: 'U0MALLORY' })).toContain('<@U0ALICE01>');
    expect(decide('request payments sa AcrPull', { id: 'U0DEV' }, ['S0PAYMENTSDEV']).ok).toBe(true);
    expect(decide('request analytics sa AcrPull', { id: 'U0ANYONE' }).ok).toBe(true);
    expect(evaluateRequest(policy, { requester: { id: 'cli:ops' }, requesterGroups: [], command: req('request payments sa AcrPull'), skipRequesterCheck: true }).ok).toBe(true);
  });

  it('refuses roles outside the catalogue or the namespace, naming the allowed ones', () => {
    expect(refusedWith('request payments sa Owner', 'role-not-in-catalogue')).toMatch(/privileged.*Key Vault Secrets User, AcrPull, Storage Blob Data Contributor/s);
    expect(refusedWith('request payments sa Made Up Role', 'role-not-in-catalogue')).toContain('"Made Up Role"');
    expect(refusedWith('request payments sa Contributor', 'role-not-allowed')).toContain('Key Vault Secrets User, AcrPull, Storage Blob Data Contributor');
  });

  it('refuses scopes outside the role, malformed scopes and a missing scope without default', () => {
    expect(refusedWith(`request payments sa Key Vault Secrets User --scope /subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv`, 'scope-not-allowed')).toContain('Allowed scopes');
    expect(refusedWith('request payments sa Key Vault Secrets User --scope "; rm -rf /"', 'invalid-scope')).toContain('; rm -rf /');
    expect(refusedWith('request analytics sa Storage Blob Data Reader', 'scope-required')).toContain('--scope');
  });

  it('checks durations against the role maximum and defaults time-bound roles to it', () => {
    const scope = `--scope /subscriptions/${SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/sa1`;
    expect(decide(`request payments sa Storage Blob Data Contributor ${scope} --for 2d`)).toMatchObject({ ok: true, value: { durationSeconds: 2 * 86400 } });
    expect(decide(`request payments sa Storage Blob Data Contributor ${scope}`)).toMatchObject({ ok: true, value: { durationSeconds: 7 * 86400 } });
    expect(refusedWith(`request payments sa Storage Blob Data Contributor ${scope} --for 8d`, 'duration-too-long')).toContain('7d');
    expect(refusedWith('request payments sa AcrPull --for 1h', 'duration-not-allowed')).toContain('--for');
  });

  it('lets requesters and approvers revoke', () => {
    const revoke = (who: string): RevokeCommand => ({ verb: 'revoke', namespace: 'payments', serviceAccount: 'sa' });
    expect(evaluateRequest(policy, { requester: alice, requesterGroups: [], command: revoke('a') })).toMatchObject({ ok: true, value: { kind: 'revoke', serviceAccount: 'sa' } });
    expect(evaluateRequest(policy, { requester: { id: 'U0BOB0001' }, requesterGroups: [], command: revoke('b') }).ok).toBe(true);
    expect(evaluateRequest(policy, { requester: { id: 'U0X' }, requesterGroups: [], command: revoke('x') })).toMatchObject({ ok: false, error: { code: 'requester-not-allowed' } });
  });

  it('knows approvers, approval channels and what each person may request', () => {
    expect(isApprover(policy, 'payments', 'U0BOB0001', [])).toBe(true);
    expect(isApprover(policy, 'payments', 'U0X', ['S0PLATFORM'])).toBe(true);
    expect(isApprover(policy, 'payments', 'U0ALICE01', [])).toBe(false);
    expect(isApprover(policy, 'analytics', 'U0BOB0001', [])).toBe(false);
    expect(isApprover(policy, 'analytics', 'U0X', ['S0DATALEADS'])).toBe(true);
    expect(approvalsChannelFor(policy, 'payments')).toBe('C0PAYAPPROV');
    expect(approvalsChannelFor(policy, 'analytics')).toBe('C0WIDAPPROV');
    const opts = requestOptionsFor(policy, 'U0ALICE01', []);
    expect(opts.clusters).toEqual(['blue', 'green']);
    expect(opts.namespaces.map((n) => n.name)).toEqual(['payments', 'analytics', 'sandbox']);
    const stranger = requestOptionsFor(policy, 'U0X', []);
    expect(stranger.namespaces.map((n) => n.name)).toEqual(['analytics', 'sandbox']);
    const kv = opts.namespaces[0]?.roles.find((r) => r.name === 'Key Vault Secrets User');
    expect(kv).toMatchObject({ approvals: 1, defaultScope: `${KV}/kv-payments-prod`.toLowerCase() });
    expect(opts.namespaces[2]?.roles.find((r) => r.name === 'Contributor')).toMatchObject({ privileged: true, approvals: 2, maxDurationSeconds: 28800 });
  });
});
