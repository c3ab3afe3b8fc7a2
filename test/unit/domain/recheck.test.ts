import fc from 'fast-check';
import { parsePolicy } from '../../../src/config/policy';
import { accessOf, accessOfGrant, recheckAccess, type AccessToRecheck } from '../../../src/domain/recheck';
import type { Policy, WidRequest } from '../../../src/domain/types';
import { keyVaultScope, storageScope, worldPolicyYaml, WORLD } from '../../emulators/world';

const fresh = (): Policy => parsePolicy(worldPolicyYaml(), 'world policy');
const ALICE = { id: WORLD.users.requester, name: 'alice' };

const kv: AccessToRecheck = {
  kind: 'grant',
  requester: ALICE,
  clusterName: WORLD.clusterName,
  namespace: 'finance',
  serviceAccount: 'api',
  roleName: 'Key Vault Secrets User',
  scope: keyVaultScope(),
  approvalsRequired: 1,
};

function refusal(policy: Policy, access: AccessToRecheck, action: 'retry' | 'extend' = 'retry', groups: string[] | undefined = []): string {
  const r = recheckAccess({ policy, access, action, ...(groups ? { requesterGroups: groups } : {}) });
  if (r.ok) throw new Error('expected a refusal');
  return r.error.message;
}

describe('recheckAccess: the current policy before a retry or an extension', () => {
  test('an unchanged policy allows the retry and the extension', () => {
    expect(recheckAccess({ policy: fresh(), access: kv, requesterGroups: [], action: 'retry' }).ok).toBe(true);
    expect(recheckAccess({ policy: fresh(), access: { ...kv, roleName: 'Storage Blob Data Reader', scope: storageScope(), durationSeconds: 3600 }, requesterGroups: [], action: 'extend' }).ok).toBe(true);
  });

  test('the role taken off the namespace: refused, naming namespaces.finance.roles and saying nothing changed', () => {
    const p = fresh();
    const ns = p.namespaces.find((n) => n.name === 'finance');
    if (!ns) throw new Error('no finance');
    ns.roles = ns.roles.filter((r) => r !== 'Key Vault Secrets User');
    const m = refusal(p, kv);
    expect(m).toContain('policy changed');
    expect(m).toContain('rule: namespaces.finance.roles');
    expect(m).toContain('"Key Vault Secrets User" may not be requested for "finance"');
    expect(m).toContain('Nothing was changed in Azure or Kubernetes');
    expect(m).toContain('/wid request');
  });

  test('the role gone from the catalogue, the scope no longer allowed, the namespace or cluster gone: each names its rule', () => {
    const noRole = fresh();
    noRole.roles = noRole.roles.filter((r) => r.name !== 'Key Vault Secrets User');
    expect(refusal(noRole, kv)).toContain('rule: roles)');

    const narrower = fresh();
    const role = narrower.roles.find((r) => r.name === 'Key Vault Secrets User');
    if (!role) throw new Error('no role');
    role.scopes = [keyVaultScope('kv-other')];
    expect(refusal(narrower, kv)).toContain('rule: roles[Key Vault Secrets User].scopes');

    const noNs = fresh();
    noNs.namespaces = noNs.namespaces.filter((n) => n.name !== 'finance');
    expect(refusal(noNs, kv)).toContain('rule: namespaces)');

    const noCluster = fresh();
    noCluster.clusters = noCluster.clusters.map((c) => ({ ...c, name: 'green' }));
    expect(refusal(noCluster, kv)).toContain('rule: clusters');
  });

  test('the requester no longer allowed: refused on retry; an extension without known groups leaves the requester alone', () => {
    const p = fresh();
    const ns = p.namespaces.find((n) => n.name === 'finance');
    if (!ns) throw new Error('no finance');
    ns.requesters = { anyone: false, users: [WORLD.users.admin], groups: [] };
    expect(refusal(p, kv)).toContain('rule: namespaces.finance.requesters');
    expect(recheckAccess({ policy: p, access: kv, action: 'extend' }).ok).toBe(true);
  });

  test('a lower cap than the grant asked for, and more approvals than it collected, are refused', () => {
    const p = fresh();
    const role = p.roles.find((r) => r.name === 'Storage Blob Data Reader');
    if (!role) throw new Error('no role');
    role.maxDurationSeconds = 3600;
    const blob = { ...kv, roleName: 'Storage Blob Data Reader', scope: storageScope(), durationSeconds: 7200 };
    expect(refusal(p, blob)).toContain('rule: roles[Storage Blob Data Reader].maxDuration');

    const twice = fresh();
    const k = twice.roles.find((r) => r.name === 'Key Vault Secrets User');
    if (!k) throw new Error('no role');
    k.approvals = 2;
    expect(refusal(twice, kv)).toContain('now needs 2 approvals and this request had 1');
  });

  test('a revoke is never refused; a migration is checked for where and who only', () => {
    const p = fresh();
    p.roles = [];
    expect(recheckAccess({ policy: p, access: { ...kv, kind: 'revoke' }, requesterGroups: [], action: 'retry' }).ok).toBe(true);
    expect(recheckAccess({ policy: p, access: { ...kv, kind: 'migrate' }, requesterGroups: [], action: 'retry' }).ok).toBe(true);
    p.namespaces = p.namespaces.filter((n) => n.name !== 'finance');
    expect(refusal(p, { ...kv, kind: 'migrate' })).toContain('rule: namespaces)');
  });

  test('property: with any set of roles left on the namespace, the retry is allowed exactly when its role is among them', () => {
    const all = fresh().namespaces.find((n) => n.name === 'finance')?.roles ?? [];
    fc.assert(
      fc.property(fc.subarray(all), fc.constantFrom(...all), (kept, wanted) => {
        const p = fresh();
        const ns = p.namespaces.find((n) => n.name === 'finance');
        if (!ns) return false;
        ns.roles = kept;
        const role = p.roles.find((r) => r.name === wanted);
        const scope = wanted === 'Key Vault Secrets User' ? keyVaultScope() : wanted === 'Storage Blob Data Reader' ? storageScope() : `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}`;
        const r = recheckAccess({ policy: p, access: { ...kv, roleName: wanted, scope, approvalsRequired: role?.approvals ?? 1 }, requesterGroups: [], action: 'retry' });
        return r.ok === kept.includes(wanted);
      }),
      { numRuns: 200 },
    );
  });
});

describe('recheckAccess: the exact words, codes and rules', () => {
  const RETRY_FIX = 'Nothing was changed in Azure or Kubernetes. Ask for the access again with /wid request, within what the policy allows now, or ask the platform team to change the policy back if the change was a mistake.';
  const EXTEND_FIX = 'The grant keeps its current end. Ask for the access again with /wid request, within what the policy allows now, or ask the platform team to change the policy back if the change was a mistake.';
  const withoutKv = (): Policy => {
    const p = fresh();
    const ns = p.namespaces.find((n) => n.name === 'finance');
    if (!ns) throw new Error('no finance');
    ns.roles = ns.roles.filter((r) => r !== 'Key Vault Secrets User');
    return p;
  };
  const inner = '"Key Vault Secrets User" may not be requested for "finance". Roles "finance" may request: Storage Blob Data Reader, Contributor.';

  test('a retry and an extension are refused in their own words, with a policy-changed code', () => {
    expect(recheckAccess({ policy: withoutKv(), access: kv, requesterGroups: [], action: 'retry' })).toEqual({
      ok: false,
      error: { code: 'policy-changed-role-not-allowed', message: `The policy changed since this was approved, so wid-bot refuses the retry of finance/api: ${inner} (rule: namespaces.finance.roles) ${RETRY_FIX}` },
    });
    expect(recheckAccess({ policy: withoutKv(), access: kv, requesterGroups: [], action: 'extend' })).toEqual({
      ok: false,
      error: { code: 'policy-changed-role-not-allowed', message: `The policy changed since this was approved, so wid-bot refuses the extension of finance/api: ${inner} (rule: namespaces.finance.roles) ${EXTEND_FIX}` },
    });
  });

  test('more approvals: its own code, the approvals rule under the policy’s spelling of the role', () => {
    const p = fresh();
    const k = p.roles.find((r) => r.name === 'Key Vault Secrets User');
    if (!k) throw new Error('no role');
    k.approvals = 2;
    expect(recheckAccess({ policy: p, access: kv, requesterGroups: [], action: 'extend' })).toEqual({
      ok: false,
      error: {
        code: 'policy-changed-more-approvals',
        message: `The policy changed since this was approved, so wid-bot refuses the extension of finance/api: "Key Vault Secrets User" now needs 2 approvals and this request had 1. (rule: roles[Key Vault Secrets User].approvals) ${EXTEND_FIX}`,
      },
    });
    // a migration or a federation adds no role: the approval count is not theirs to meet
    expect(recheckAccess({ policy: p, access: { ...kv, kind: 'migrate' }, requesterGroups: [], action: 'retry' }).ok).toBe(true);
    expect(recheckAccess({ policy: p, access: { ...kv, kind: 'federate' }, requesterGroups: [], action: 'retry' }).ok).toBe(true);
  });

  test('the rule names the role as the policy spells it, whatever case the request used', () => {
    const p = fresh();
    const role = p.roles.find((r) => r.name === 'Key Vault Secrets User');
    if (!role) throw new Error('no role');
    role.scopes = [keyVaultScope('kv-other')];
    const m = refusal(p, { ...kv, roleName: 'key vault secrets user' });
    expect(m).toContain('(rule: roles[Key Vault Secrets User].scopes)');
  });

  test('a refusal code the rules do not know points at the policy as a whole', () => {
    const r = recheckAccess({ policy: fresh(), access: { ...kv, namespace: 'kube-system' }, requesterGroups: [], action: 'retry' });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('policy-changed-reserved-namespace');
    expect(!r.ok && r.error.message).toContain('(rule: the policy)');
  });

  test('a length is checked only under a role that has a cap now; a role gone with a length is refused, not a crash', () => {
    // Key Vault Secrets User has no maxDuration: the grant's old length is not held against it
    expect(recheckAccess({ policy: fresh(), access: { ...kv, durationSeconds: 3600 }, requesterGroups: [], action: 'retry' }).ok).toBe(true);
    const noRole = fresh();
    noRole.roles = noRole.roles.filter((r) => r.name !== 'Key Vault Secrets User');
    expect(refusal(noRole, { ...kv, durationSeconds: 3600 })).toContain('(rule: roles)');
  });

  test('the requester’s current groups count: a requester allowed through a user group is not refused', () => {
    const p = fresh();
    const ns = p.namespaces.find((n) => n.name === 'finance');
    if (!ns) throw new Error('no finance');
    ns.requesters = { anyone: false, users: [], groups: ['S0TEAM001'] };
    expect(recheckAccess({ policy: p, access: kv, requesterGroups: ['S0TEAM001'], action: 'retry' }).ok).toBe(true);
    expect(refusal(p, kv, 'retry', ['S0OTHER01'])).toContain('rule: namespaces.finance.requesters');
  });

  test('a migration and a federation are still refused for a cluster gone or a requester no longer allowed', () => {
    for (const kind of ['migrate', 'federate'] as const) {
      const noCluster = fresh();
      noCluster.clusters = noCluster.clusters.map((c) => ({ ...c, name: 'green' }));
      expect(refusal(noCluster, { ...kv, kind })).toContain('rule: clusters');
      const p = fresh();
      const ns = p.namespaces.find((n) => n.name === 'finance');
      if (!ns) throw new Error('no finance');
      ns.requesters = { anyone: false, users: [WORLD.users.admin], groups: [] };
      expect(refusal(p, { ...kv, kind })).toContain('rule: namespaces.finance.requesters');
      const noRoles = fresh();
      noRoles.roles = [];
      expect(recheckAccess({ policy: noRoles, access: { ...kv, kind }, requesterGroups: [], action: 'retry' }).ok).toBe(true);
    }
  });
});

describe('the access a stored request and a grant give', () => {
  const stored = {
    kind: 'grant', requester: ALICE, clusterName: 'blue', namespace: 'finance', serviceAccount: 'api', roleName: 'Reader', scope: '/subscriptions/s',
    plan: { approvalsRequired: 2 },
  };
  test('accessOf: the request’s fields, its length when it has one, and the approvals its plan needed', () => {
    const base = { kind: 'grant', requester: ALICE, clusterName: 'blue', namespace: 'finance', serviceAccount: 'api', roleName: 'Reader', scope: '/subscriptions/s', approvalsRequired: 2 };
    expect(accessOf(stored as unknown as WidRequest)).toEqual(base);
    expect('durationSeconds' in accessOf(stored as unknown as WidRequest)).toBe(false);
    expect(accessOf({ ...stored, durationSeconds: 3600 } as unknown as WidRequest)).toEqual({ ...base, durationSeconds: 3600 });
  });
  test('accessOfGrant: a grant, without a length or an approval count', () => {
    expect(accessOfGrant({ requester: ALICE, clusterName: 'blue', namespace: 'finance', serviceAccount: 'api', roleName: 'Reader', scope: '/subscriptions/s' })).toEqual({
      kind: 'grant', requester: ALICE, clusterName: 'blue', namespace: 'finance', serviceAccount: 'api', roleName: 'Reader', scope: '/subscriptions/s',
    });
  });
});

test('a role moved to Azure’s own schedule since a grant shorter than 5 min: refused, pointing at the role’s duration rule', () => {
  const p = parsePolicy(worldPolicyYaml({ azureExpiry: true }), 'world policy');
  const r = recheckAccess({ policy: p, access: { ...kv, roleName: 'Storage Blob Data Reader', scope: storageScope(), durationSeconds: 60 }, requesterGroups: [], action: 'retry' });
  expect(r.ok).toBe(false);
  expect(!r.ok && r.error.code).toBe('policy-changed-duration-too-short');
  expect(!r.ok && r.error.message).toContain('shorter than the 5m Azure\'s own schedule allows for "Storage Blob Data Reader" (the policy sets expiry: azure); ask for --for 5m or more. (rule: roles[Storage Blob Data Reader].maxDuration)');
});
