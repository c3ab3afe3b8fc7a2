/**
 * Policy decisions at their edges: reserved namespaces when the policy allows them, the exact
 * maximum duration, requester and approver rules, scope resolution and the exact refusals.
 * Built on a policy object (no YAML) so only the domain decides (found by `npm run test:mutation`).
 */
import type { RequestCommand, RevokeCommand } from '../../../src/domain/grammar';
import { approvalsChannelFor, evaluateRequest, findCluster, findRole, isApprover, principalsInclude, requestOptionsFor } from '../../../src/domain/policy';
import type { Policy, PolicyNamespace, PolicyRole, Principals } from '../../../src/domain/types';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const KV = `/subscriptions/${SUB}/resourcegroups/rg-app/providers/microsoft.keyvault/vaults`;
const nobody: Principals = { users: [], groups: [], anyone: false };
const users = (...u: string[]): Principals => ({ users: u, groups: [], anyone: false });
const groups = (...g: string[]): Principals => ({ users: [], groups: g, anyone: false });

const kvUser: PolicyRole = { name: 'Key Vault Secrets User', roleDefinitionId: '4633458b-17de-408a-b874-0445c86b69e6', scopes: [`${KV}/*`], approvals: 1, privileged: false };
const blob: PolicyRole = { name: 'Storage Blob Data Contributor', scopes: [`/subscriptions/${SUB}/resourcegroups/rg-data/**`], approvals: 2, maxDurationSeconds: 3600, privileged: false };
const acr: PolicyRole = { name: 'AcrPull', scopes: [`/subscriptions/${SUB}/resourcegroups/rg-shared/providers/microsoft.containerregistry/registries/acr1`], approvals: 1, privileged: false };
const reader: PolicyRole = { name: 'Reader', scopes: [`/subscriptions/${SUB}`, `/subscriptions/${SUB}/resourcegroups/*`], approvals: 1, privileged: false };
const twoExact: PolicyRole = { name: 'Storage Blob Data Reader', scopes: [`/subscriptions/${SUB}/resourcegroups/a`, `/subscriptions/${SUB}/resourcegroups/b`], approvals: 1, privileged: false };

const ns = (name: string, over: Partial<PolicyNamespace> = {}): PolicyNamespace => ({
  name, requesters: users('U_REQ'), approvers: users('U_APP'), roles: ['Key Vault Secrets User', 'Storage Blob Data Contributor', 'AcrPull', 'Reader', 'Storage Blob Data Reader'], defaultScopes: {}, ...over,
});

const policy = (over: Partial<Policy> = {}): Policy => ({
  source: 'test',
  clusters: [
    { name: 'blue', subscriptionId: SUB, resourceGroup: 'rg-aks', aksName: 'aks-blue' },
    { name: 'green', subscriptionId: SUB, resourceGroup: 'rg-aks', aksName: 'aks-green' },
  ],
  defaultCluster: 'blue',
  identities: { subscriptionId: SUB, resourceGroup: 'rg-ids', location: 'westeurope', tags: {} },
  roles: [kvUser, blob, acr, reader, twoExact],
  namespaces: [ns('team', { defaultScopes: { 'Key Vault Secrets User': `${KV}/kv-team` }, approvalsChannel: 'C_TEAM' }), ns('kube-system'), ns('open', { requesters: { users: [], groups: [], anyone: true }, approvers: groups('S_LEADS') })],
  approvers: groups('S_PLATFORM'),
  operators: groups('S_PLATFORM'),
  approvalsChannel: 'C_GLOBAL',
  allowReservedNamespaces: false,
  requestTtlSeconds: 3600,
  reminderAfterSeconds: 0,
  ...over,
});

const request = (over: Partial<RequestCommand> = {}): RequestCommand => ({ verb: 'request', namespace: 'team', serviceAccount: 'app', roleName: 'Key Vault Secrets User', ...over });
const grant = (p: Policy, command: RequestCommand, who = 'U_REQ', g: string[] = []) => evaluateRequest(p, { requester: { id: who }, requesterGroups: g, command });
const revoke = (p: Policy, who: string, g: string[] = [], namespace = 'team') =>
  evaluateRequest(p, { requester: { id: who }, requesterGroups: g, command: { verb: 'revoke', namespace, serviceAccount: 'app' } satisfies RevokeCommand });

describe('reserved namespaces', () => {
  it('are refused by default, naming the setting that allows them', () => {
    const r = grant(policy(), request({ namespace: 'kube-system' }));
    expect(r).toMatchObject({ ok: false, error: { code: 'reserved-namespace', field: 'namespace' } });
    expect(!r.ok && r.error.message).toBe('"kube-system" is a reserved Kubernetes namespace; wid-bot does not grant Azure access there unless the policy sets allowReservedNamespaces: true.');
  });

  it('are granted like any other when the policy sets allowReservedNamespaces: true', () => {
    const r = grant(policy({ allowReservedNamespaces: true }), request({ namespace: 'kube-system', scope: `${KV}/kv1` }));
    expect(r).toMatchObject({ ok: true, value: { kind: 'grant', serviceAccount: 'app', scope: `${KV}/kv1` } });
    expect(r.ok && r.value.namespace.name).toBe('kube-system');
    // Allowed, but still only when the namespace is in the policy.
    const missing = grant(policy({ allowReservedNamespaces: true }), request({ namespace: 'kube-public' }));
    expect(missing).toMatchObject({ ok: false, error: { code: 'namespace-not-in-policy' } });
    expect(revoke(policy({ allowReservedNamespaces: true }), 'U_REQ', [], 'kube-system')).toMatchObject({ ok: true, value: { kind: 'revoke' } });
    expect(revoke(policy(), 'U_REQ', [], 'kube-system')).toMatchObject({ ok: false, error: { code: 'reserved-namespace' } });
  });
});

describe('time-bound roles', () => {
  const at = (durationSeconds?: number) => grant(policy(), request({ roleName: 'Storage Blob Data Contributor', scope: `/subscriptions/${SUB}/resourceGroups/rg-data/x`, ...(durationSeconds !== undefined ? { durationSeconds } : {}) }));

  it('accept exactly the maximum and refuse one second more', () => {
    expect(at(3600)).toMatchObject({ ok: true, value: { durationSeconds: 3600 } });
    expect(at(3599)).toMatchObject({ ok: true, value: { durationSeconds: 3599 } });
    const r = at(3601);
    expect(r).toMatchObject({ ok: false, error: { code: 'duration-too-long', field: 'durationSeconds' } });
    expect(!r.ok && r.error.message).toContain('the 1h the policy allows for "Storage Blob Data Contributor"');
  });

  it('get the maximum when no duration is asked', () => {
    expect(at()).toMatchObject({ ok: true, value: { durationSeconds: 3600 } });
  });

  it('roles without a maximum refuse --for and carry no duration', () => {
    const r = grant(policy(), request({ scope: `${KV}/kv1`, durationSeconds: 60 }));
    expect(r).toMatchObject({ ok: false, error: { code: 'duration-not-allowed', field: 'durationSeconds' } });
    expect(!r.ok && r.error.message).toBe('"Key Vault Secrets User" is granted without an end date in this policy, so --for does not apply; leave it out.');
    const ok = grant(policy(), request({ scope: `${KV}/kv1` }));
    expect(ok.ok && 'durationSeconds' in ok.value).toBe(false);
  });
});

describe('who may request and revoke', () => {
  it('requesters by user, by group or anyone; others are told who may', () => {
    expect(grant(policy(), request()).ok).toBe(true);
    const p = policy({ namespaces: [ns('team', { requesters: groups('S_DEV'), defaultScopes: { 'Key Vault Secrets User': `${KV}/kv-team` } })] });
    expect(grant(p, request(), 'U_X', ['S_OTHER', 'S_DEV']).ok).toBe(true);
    const r = grant(p, request(), 'U_X', ['S_OTHER']);
    expect(r).toMatchObject({ ok: false, error: { code: 'requester-not-allowed', field: 'namespace' } });
    expect(!r.ok && r.error.message).toBe('You may not request access for "team": the policy lets <!subteam^S_DEV> request there.');
    const none = grant(policy({ namespaces: [ns('team', { requesters: nobody })] }), request(), 'U_X');
    expect(!none.ok && none.error.message).toContain('the policy lets nobody request there');
    const both = grant(policy({ namespaces: [ns('team', { requesters: { users: ['U_A'], groups: ['S_B'], anyone: false } })] }), request(), 'U_X');
    expect(!both.ok && both.error.message).toContain('the policy lets <@U_A> and <!subteam^S_B> request there');
    expect(grant(policy(), request({ namespace: 'open', scope: `${KV}/kv1` }), 'U_ANYONE').ok).toBe(true);
  });

  it('the CLI dry run skips the requester check only', () => {
    const r = evaluateRequest(policy(), { requester: { id: 'cli:x' }, requesterGroups: [], command: request(), skipRequesterCheck: true });
    expect(r.ok).toBe(true);
    const bad = evaluateRequest(policy(), { requester: { id: 'cli:x' }, requesterGroups: [], command: request({ roleName: 'Owner' }), skipRequesterCheck: true });
    expect(bad).toMatchObject({ ok: false, error: { code: 'role-not-in-catalogue' } });
    expect(evaluateRequest(policy(), { requester: { id: 'cli:x' }, requesterGroups: [], command: { verb: 'revoke', namespace: 'team', serviceAccount: 'app' }, skipRequesterCheck: true }).ok).toBe(true);
  });

  it('revoke: requesters, namespace approvers and global approvers; nobody else', () => {
    expect(revoke(policy(), 'U_REQ')).toEqual({ ok: true, value: { kind: 'revoke', cluster: policy().clusters[0], namespace: policy().namespaces[0], serviceAccount: 'app' } });
    expect(revoke(policy(), 'U_APP').ok).toBe(true);
    expect(revoke(policy(), 'U_X', ['S_PLATFORM']).ok).toBe(true);
    const r = revoke(policy(), 'U_X', ['S_LEADS']);
    expect(r).toMatchObject({ ok: false, error: { code: 'requester-not-allowed', field: 'namespace' } });
    expect(!r.ok && r.error.message).toBe('You may not revoke access in "team": only its requesters (<@U_REQ>) and approvers may.');
    expect(revoke(policy(), 'U_X', ['S_LEADS'], 'open').ok).toBe(true);
  });
});

describe('roles and scopes', () => {
  it('finds roles by name whatever the case and spacing', () => {
    expect(findRole(policy(), '  key   VAULT secrets user ')?.name).toBe('Key Vault Secrets User');
    expect(findRole(policy(), 'Key Vault')).toBeUndefined();
  });

  it('refuses privileged and unknown roles and roles the namespace may not request, listing what it may', () => {
    const p = policy({ namespaces: [ns('team', { roles: ['AcrPull', 'Reader'] })] });
    const owner = grant(p, request({ roleName: 'Owner' }));
    expect(!owner.ok && owner.error.message).toBe('"Owner" is a privileged role and this policy does not allow it anywhere. Roles "team" may request: AcrPull, Reader.');
    const unknown = grant(p, request({ roleName: 'Made Up' }));
    expect(unknown).toMatchObject({ ok: false, error: { code: 'role-not-in-catalogue', field: 'roleName' } });
    expect(!unknown.ok && unknown.error.message).toBe('The role "Made Up" is not in the policy\'s roles catalogue. Roles "team" may request: AcrPull, Reader.');
    const notHere = grant(p, request());
    expect(notHere).toMatchObject({ ok: false, error: { code: 'role-not-allowed', field: 'roleName' } });
    expect(!notHere.ok && notHere.error.message).toBe('"Key Vault Secrets User" may not be requested for "team". Roles "team" may request: AcrPull, Reader.');
    const empty = grant(policy({ namespaces: [ns('team', { roles: [] })] }), request());
    expect(!empty.ok && empty.error.message).toContain('Roles "team" may request: none.');
  });

  it('uses the namespace default scope, else the single exact scope, else asks for --scope', () => {
    expect(grant(policy(), request())).toMatchObject({ ok: true, value: { scope: `${KV}/kv-team` } });
    expect(grant(policy(), request({ roleName: 'AcrPull' }))).toMatchObject({ ok: true, value: { scope: acr.scopes[0] } });
    const two = grant(policy(), request({ roleName: 'Storage Blob Data Reader' }));
    expect(two).toMatchObject({ ok: false, error: { code: 'scope-required', field: 'scope' } });
    expect(!two.ok && two.error.message).toBe(`"Storage Blob Data Reader" has no default scope in "team": give --scope <ARM id>. Allowed scopes for "Storage Blob Data Reader": ${twoExact.scopes[0]} and ${twoExact.scopes[1]}.`);
    // One scope, but a pattern: no default.
    expect(grant(policy(), request({ roleName: 'Storage Blob Data Contributor' }))).toMatchObject({ ok: false, error: { code: 'scope-required' } });
    // Two scopes of which one is exact: still no default.
    expect(grant(policy(), request({ roleName: 'Reader' }))).toMatchObject({ ok: false, error: { code: 'scope-required' } });
  });

  it('normalises an allowed explicit scope and refuses one outside the role', () => {
    expect(grant(policy(), request({ scope: `/SUBSCRIPTIONS/${SUB}/resourceGroups/RG-APP/providers/Microsoft.KeyVault/vaults/KV2/` }))).toMatchObject({ ok: true, value: { scope: `${KV}/kv2` } });
    const out = grant(policy(), request({ scope: `/subscriptions/${SUB}/resourceGroups/rg-other` }));
    expect(out).toMatchObject({ ok: false, error: { code: 'scope-not-allowed', field: 'scope' } });
    expect(!out.ok && out.error.message).toBe(`The scope "/subscriptions/${SUB}/resourceGroups/rg-other" is outside what the policy allows for "Key Vault Secrets User". Allowed scopes for "Key Vault Secrets User": ${KV}/*.`);
    expect(grant(policy(), request({ scope: 'not-a-scope' }))).toMatchObject({ ok: false, error: { code: 'invalid-scope' } });
  });

  it('checks names before the cluster and the cluster before the namespace', () => {
    expect(grant(policy(), request({ namespace: 'Team', cluster: 'nope' }))).toMatchObject({ ok: false, error: { code: 'invalid-namespace' } });
    expect(grant(policy(), request({ serviceAccount: 'App', cluster: 'nope' }))).toMatchObject({ ok: false, error: { code: 'invalid-serviceaccount' } });
    const c = grant(policy(), request({ cluster: 'nope', namespace: 'missing' }));
    expect(c).toMatchObject({ ok: false, error: { code: 'unknown-cluster', field: 'cluster' } });
    expect(!c.ok && c.error.message).toBe('There is no cluster "nope" in the policy. Known clusters: blue and green.');
    const n = grant(policy(), request({ namespace: 'missing' }));
    expect(n).toMatchObject({ ok: false, error: { code: 'namespace-not-in-policy', field: 'namespace' } });
    expect(!n.ok && n.error.message).toBe('The namespace "missing" is not in the policy, so nobody can request Azure access for it. Namespaces in the policy: team, kube-system and open. Ask the platform team to add it.');
    expect(grant(policy(), request({ cluster: 'green' }))).toMatchObject({ ok: true, value: { cluster: { name: 'green' } } });
    expect(findCluster(policy({ defaultCluster: 'green' }), undefined)).toMatchObject({ ok: true, value: { name: 'green' } });
  });
});

describe('approvers, channels and the request form', () => {
  it('principals: anyone, a listed user, a shared group; nothing else', () => {
    expect(principalsInclude({ users: [], groups: [], anyone: true }, 'U', [])).toBe(true);
    expect(principalsInclude(users('U1'), 'U1', [])).toBe(true);
    expect(principalsInclude(users('U1'), 'U2', ['U1'])).toBe(false);
    expect(principalsInclude(groups('S1', 'S2'), 'U2', ['S9', 'S2'])).toBe(true);
    expect(principalsInclude(groups('S1'), 'S1', [])).toBe(false);
    expect(principalsInclude(nobody, 'U', ['S'])).toBe(false);
  });

  it('approvers are the global ones plus the namespace\'s own; unknown namespaces have only the global ones', () => {
    expect(isApprover(policy(), 'team', 'U_APP', [])).toBe(true);
    expect(isApprover(policy(), 'team', 'U_X', ['S_PLATFORM'])).toBe(true);
    expect(isApprover(policy(), 'open', 'U_APP', [])).toBe(false);
    expect(isApprover(policy(), 'missing', 'U_X', ['S_PLATFORM'])).toBe(true);
    expect(isApprover(policy(), 'missing', 'U_APP', [])).toBe(false);
  });

  it('approval channel: the namespace\'s, else the global one, else none', () => {
    expect(approvalsChannelFor(policy(), 'team')).toBe('C_TEAM');
    expect(approvalsChannelFor(policy(), 'open')).toBe('C_GLOBAL');
    expect(approvalsChannelFor(policy(), 'missing')).toBe('C_GLOBAL');
    const { approvalsChannel: _unused, ...noGlobal } = policy();
    expect(approvalsChannelFor(noGlobal, 'open')).toBeUndefined();
  });

  it('the request form lists the namespaces this person may request in, with each role\'s facts', () => {
    const p = policy({ namespaces: [ns('team', { roles: ['Key Vault Secrets User', 'Storage Blob Data Contributor', 'Gone'], defaultScopes: { 'Key Vault Secrets User': `${KV}/kv-team` } }), ns('open', { requesters: { users: [], groups: [], anyone: true }, roles: ['AcrPull'] })] });
    expect(requestOptionsFor(p, 'U_REQ', [])).toEqual({
      clusters: ['blue', 'green'],
      defaultCluster: 'blue',
      namespaces: [
        {
          name: 'team',
          roles: [
            { name: 'Key Vault Secrets User', scopes: [`${KV}/*`], defaultScope: `${KV}/kv-team`, approvals: 1, privileged: false },
            { name: 'Storage Blob Data Contributor', scopes: blob.scopes, maxDurationSeconds: 3600, approvals: 2, privileged: false },
          ],
        },
        { name: 'open', roles: [{ name: 'AcrPull', scopes: acr.scopes, approvals: 1, privileged: false }] },
      ],
    });
    expect(requestOptionsFor(p, 'U_X', []).namespaces.map((n) => n.name)).toEqual(['open']);
    const opts = requestOptionsFor(p, 'U_REQ', []);
    expect('defaultScope' in (opts.namespaces[0]?.roles[1] ?? {})).toBe(false);
    expect('maxDurationSeconds' in (opts.namespaces[0]?.roles[0] ?? {})).toBe(false);
    // The form's scopes are a copy: editing them does not change the policy.
    opts.namespaces[0]?.roles[0]?.scopes.push('/x');
    expect(p.roles[0]?.scopes).toEqual([`${KV}/*`]);
  });
});
