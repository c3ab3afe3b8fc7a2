/**
 * Who may see a request (`/wid status <id>`) and which namespaces' items of the inspection answers: the rules
 * of src/domain/visibility.ts and their application to each verb's result (src/inspect/scope.ts).
 */
import fc from 'fast-check';
import { describeScope, mayViewRequest, seesAnything, seesNamespace, viewScope, type ViewScope } from '../../../src/domain/visibility';
import type { Policy, PolicyNamespace, Principals } from '../../../src/domain/types';
import { scopeResult } from '../../../src/inspect/scope';
import type { AuditResult, CredsResult, Finding, LegacyResult, ListResult } from '../../../src/inspect/types';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const nobody: Principals = { users: [], groups: [], anyone: false };
const users = (...u: string[]): Principals => ({ users: u, groups: [], anyone: false });
const groups = (...g: string[]): Principals => ({ users: [], groups: g, anyone: false });
const ns = (name: string, over: Partial<PolicyNamespace> = {}): PolicyNamespace => ({ name, requesters: nobody, approvers: nobody, roles: [], defaultScopes: {}, ...over });

const policy = (over: Partial<Policy> = {}): Policy => ({
  source: 'test',
  clusters: [{ name: 'blue', subscriptionId: SUB, resourceGroup: 'rg-aks', aksName: 'aks-blue' }],
  defaultCluster: 'blue',
  identities: { subscriptionId: SUB, resourceGroup: 'rg-ids', location: 'westeurope', tags: {} },
  roles: [],
  namespaces: [
    ns('team', { requesters: users('U_REQ'), approvers: users('U_TEAM_APP') }),
    ns('data', { requesters: groups('S_DATA'), approvers: groups('S_DATA_LEADS') }),
    ns('open', { requesters: { users: [], groups: [], anyone: true } }),
  ],
  approvers: users('U_GLOBAL_APP'),
  operators: groups('S_OPS'),
  approvalsChannel: 'C_GLOBAL',
  allowReservedNamespaces: false,
  requestTtlSeconds: 3600,
  reminderAfterSeconds: 0,
  ...over,
});

const request = (namespace: string, requester = 'U_REQ', approvedBy: string[] = []) => ({ requester: { id: requester }, namespace, approvals: approvedBy.map((id) => ({ actor: { id } })) });

describe('mayViewRequest', () => {
  const p = policy();
  it('the requester, the namespace approvers (users or groups), global approvers, whoever approved it and operators see it', () => {
    expect(mayViewRequest(p, request('team'), 'U_REQ', [])).toBe(true);
    expect(mayViewRequest(p, request('team'), 'U_TEAM_APP', [])).toBe(true);
    expect(mayViewRequest(p, request('data', 'U_X'), 'U_LEAD', ['S_DATA_LEADS'])).toBe(true);
    expect(mayViewRequest(p, request('team'), 'U_GLOBAL_APP', [])).toBe(true);
    expect(mayViewRequest(p, request('team', 'U_REQ', ['U_FORMER_APP']), 'U_FORMER_APP', [])).toBe(true);
    expect(mayViewRequest(p, request('team'), 'U_OP', ['S_OPS'])).toBe(true);
  });

  it('anyone else does not: another requester of the namespace, an approver of another namespace, a stranger', () => {
    const withOther = policy({ namespaces: [ns('team', { requesters: users('U_REQ', 'U_PEER'), approvers: users('U_TEAM_APP') }), ns('data', { approvers: users('U_DATA_APP') })] });
    expect(mayViewRequest(withOther, request('team'), 'U_PEER', [])).toBe(false);
    expect(mayViewRequest(withOther, request('team'), 'U_DATA_APP', [])).toBe(false);
    expect(mayViewRequest(withOther, request('team'), 'U_STRANGER', ['S_DATA'])).toBe(false);
    expect(mayViewRequest(withOther, request('team'), '', [])).toBe(false);
  });

  it('a request of a namespace the policy no longer has: only its requester, its past approvers, global approvers and operators', () => {
    expect(mayViewRequest(p, request('gone'), 'U_TEAM_APP', [])).toBe(false);
    expect(mayViewRequest(p, request('gone'), 'U_REQ', [])).toBe(true);
    expect(mayViewRequest(p, request('gone'), 'U_GLOBAL_APP', [])).toBe(true);
    expect(mayViewRequest(p, request('gone'), 'U_OP', ['S_OPS'])).toBe(true);
  });

  it('for any viewer: seeing it means being the requester, an approver of it, or an operator', () => {
    const people = fc.constantFrom('U_REQ', 'U_TEAM_APP', 'U_GLOBAL_APP', 'U_OP', 'U_PEER', 'U_X', '');
    const someGroups = fc.subarray(['S_OPS', 'S_DATA', 'S_DATA_LEADS', 'S_OTHER']);
    fc.assert(
      fc.property(people, someGroups, fc.constantFrom('team', 'data', 'open', 'gone'), people, fc.subarray(['U_TEAM_APP', 'U_PEER', 'U_X']), (viewer, g, namespace, requester, approvedBy) => {
        const r = request(namespace, requester, approvedBy);
        const nsApprovers = p.namespaces.find((n) => n.name === namespace)?.approvers ?? nobody;
        const expected =
          viewer !== '' &&
          (viewer === requester ||
            approvedBy.includes(viewer) ||
            p.approvers.users.includes(viewer) ||
            nsApprovers.users.includes(viewer) ||
            nsApprovers.groups.some((x) => g.includes(x)) ||
            g.includes('S_OPS'));
        expect(mayViewRequest(p, r, viewer, g)).toBe(expected);
      }),
    );
  });
});

describe('viewScope', () => {
  const p = policy();
  it('operators see all; others the namespaces they may request for or approve in', () => {
    expect(viewScope(p, 'U_OP', ['S_OPS'])).toEqual({ all: true });
    expect(viewScope(p, 'U_REQ', [])).toEqual({ all: false, namespaces: ['team', 'open'] });
    expect(viewScope(p, 'U_DATA', ['S_DATA'])).toEqual({ all: false, namespaces: ['data', 'open'] });
    expect(viewScope(p, 'U_LEAD', ['S_DATA_LEADS'])).toEqual({ all: false, namespaces: ['data', 'open'] });
    // global approvers approve in every namespace of the policy, so they see each of them (not what is outside it)
    expect(viewScope(p, 'U_GLOBAL_APP', [])).toEqual({ all: false, namespaces: ['team', 'data', 'open'] });
    expect(viewScope(policy({ namespaces: [ns('team', { requesters: users('U_REQ') })] }), 'U_STRANGER', [])).toEqual({ all: false, namespaces: [] });
    expect(viewScope(p, '', ['S_OPS'])).toEqual({ all: false, namespaces: [] });
  });

  it('items in no namespace show to operators only; nothing at all to a non-member, and the answer says so', () => {
    const none: ViewScope = { all: false, namespaces: [] };
    expect(seesNamespace({ all: true }, undefined)).toBe(true);
    expect(seesNamespace({ all: false, namespaces: ['team'] }, undefined)).toBe(false);
    expect(seesNamespace({ all: false, namespaces: ['team'] }, 'Team')).toBe(false);
    expect(seesAnything(none)).toBe(false);
    expect(describeScope(p, none)).toMatch(/^nothing: the policy names you as requester or approver of no namespace/);
    expect(describeScope(p, { all: false, namespaces: ['team', 'open'] })).toBe('only the namespaces you may request for or approve in: team, open');
    expect(describeScope(p, { all: true })).toMatch(/^everything/);
  });

  it('the words name only namespaces the policy still has', () => {
    expect(describeScope(p, { all: false, namespaces: ['team', 'gone', 'open'] })).toBe('only the namespaces you may request for or approve in: team, open');
  });
});

describe('scopeResult', () => {
  const cluster = { name: 'blue', subscriptionId: SUB, resourceGroup: 'rg-aks', aksName: 'aks-blue' };
  const team: ViewScope = { all: false, namespaces: ['team'] };
  const finding = (over: Partial<Finding> & Pick<Finding, 'subject'>): Finding => ({ severity: 'error', code: 'sa-unknown-client-id', message: 'm', fix: 'f', ...over });

  it('list and creds keep the rows of the namespaces the viewer sees (creds by their subject)', () => {
    const sa = (namespace: string, name: string) => ({ namespace, name, useLabel: true });
    const list: ListResult = { verb: 'list', cluster, serviceAccounts: [sa('team', 'a'), sa('data', 'b'), sa('team', 'c')], identitiesSearched: 3 };
    expect(scopeResult(list, team).serviceAccounts.map((s) => s.name)).toEqual(['a', 'c']);
    expect(scopeResult(list, { all: true })).toBe(list);
    const cred = (subject: string) => ({ identity: 'id', identityResourceGroup: 'rg', identityClientId: 'c', credential: subject, subject, issuer: 'https://i' });
    const creds: CredsResult = { verb: 'creds', cluster, issuerUrl: 'https://i', oidcIssuerEnabled: true, credentials: [cred('system:serviceaccount:team:a'), cred('system:serviceaccount:data:b'), cred('repo:contoso/app:ref:main')], identitiesSearched: 2, credentialsSearched: 3 };
    expect(scopeResult(creds, team).credentials.map((c) => c.subject)).toEqual(['system:serviceaccount:team:a']);
    expect(scopeResult(creds, { all: true }).credentials).toHaveLength(3);
  });

  it('legacy keeps the viewer’s namespaces; the cluster-wide add-on only for operators', () => {
    const legacy: LegacyResult = {
      verb: 'legacy',
      cluster,
      podIdentityProfileEnabled: true,
      items: [
        { kind: 'AzureIdentityBinding', namespace: 'team', name: 'b1', request: 'r' },
        { kind: 'AzureIdentity', namespace: 'data', name: 'i2', request: 'r' },
        { kind: 'PodIdentityProfile', name: 'addon', request: 'r' },
      ],
    };
    expect(scopeResult(legacy, team).items.map((i) => i.name)).toEqual(['b1']);
    expect(scopeResult(legacy, { all: true }).items).toHaveLength(3);
  });

  it('audit keeps the viewer’s findings and the cluster’s own, and counts only what it keeps', () => {
    const findings: Finding[] = [
      finding({ subject: 'serviceaccount/team/a' }),
      finding({ subject: 'pod/data/p', severity: 'warning', code: 'pod-client-id-drift' }),
      finding({ subject: 'credential/rg/id-x/team-a', namespace: 'team', severity: 'warning', code: 'credential-orphaned' }),
      finding({ subject: 'credential/rg/id-y/data-b', namespace: 'data', code: 'credential-issuer-mismatch' }),
      finding({ subject: 'identity/rg/id-full', severity: 'warning', code: 'identity-credentials-near-limit' }),
      finding({ subject: 'cluster/blue', code: 'cluster-oidc-disabled' }),
      finding({ subject: 'grant/wid-aaaaaaaaaa', namespace: 'team', severity: 'info', code: 'grant-ending-soon' }),
    ];
    const audit: AuditResult = { verb: 'audit', cluster, issuerUrl: 'https://i', findings, counts: { error: 4, warning: 3, info: 1 }, scanned: { identities: 3, credentials: 3, serviceAccounts: 2, pods: 1 } };
    const seen = scopeResult(audit, team);
    expect(seen.findings.map((f) => f.subject)).toEqual(['serviceaccount/team/a', 'credential/rg/id-x/team-a', 'cluster/blue', 'grant/wid-aaaaaaaaaa']);
    expect(seen.counts).toEqual({ error: 2, warning: 1, info: 1 });
    expect(scopeResult(audit, { all: false, namespaces: [] }).findings).toEqual([]);
    expect(scopeResult(audit, { all: true })).toBe(audit);
  });

  it('for any scope: what is kept is in the viewer’s namespaces, and nothing of theirs is dropped', () => {
    const names = ['team', 'data', 'open', 'x'];
    fc.assert(
      fc.property(fc.array(fc.record({ namespace: fc.constantFrom(...names), name: fc.string({ minLength: 1, maxLength: 5 }) }), { maxLength: 20 }), fc.subarray(names), (rows, visible) => {
        const list: ListResult = { verb: 'list', cluster, serviceAccounts: rows.map((r) => ({ ...r, useLabel: true })), identitiesSearched: 0 };
        const kept = scopeResult(list, { all: false, namespaces: visible }).serviceAccounts;
        expect(kept.every((s) => visible.includes(s.namespace))).toBe(true);
        expect(kept.length).toBe(rows.filter((r) => visible.includes(r.namespace)).length);
      }),
    );
  });
});
