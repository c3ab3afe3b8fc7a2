import fc from 'fast-check';
import { parsePolicy } from '../../../src/config/policy';
import { recheckAccess, type AccessToRecheck } from '../../../src/domain/recheck';
import type { Policy } from '../../../src/domain/types';
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
