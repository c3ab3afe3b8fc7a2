import fc from 'fast-check';
import { parsePolicy } from '../../../src/config/policy';
import { concreteScope, policyReferences } from '../../../src/domain/policy-refs';
import { worldPolicyYaml, WORLD } from '../../emulators/world';

const SUB = `/subscriptions/${WORLD.subscriptionId}`;

describe('concreteScope: the part of a scope that names one existing thing', () => {
  test('exact ids stay; patterns stop before their first wildcard, at a subscription, resource group or resource', () => {
    expect(concreteScope(`${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv`)).toBe(`${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv`);
    expect(concreteScope(`${SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/*`)).toBe(`${SUB}/resourceGroups/rg`);
    expect(concreteScope(`${SUB}/resourceGroups/rg-*/providers/Microsoft.KeyVault/vaults/kv`)).toBe(SUB);
    expect(concreteScope(`${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/*`)).toBe(`${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st/blobServices/default`);
    expect(concreteScope('/subscriptions/*')).toBe('/');
  });

  test('the boundaries: exactly a resource group (4 parts) and exactly a subscription (2 parts) are kept whole', () => {
    expect(concreteScope(`${SUB}/resourceGroups/rg`)).toBe(`${SUB}/resourceGroups/rg`);
    expect(concreteScope(`${SUB}/resourceGroups/rg/*`)).toBe(`${SUB}/resourceGroups/rg`);
    expect(concreteScope(`${SUB}/resourceGroups/rg/providers/*`)).toBe(`${SUB}/resourceGroups/rg`);
    expect(concreteScope(SUB)).toBe(SUB);
    expect(concreteScope(`${SUB}/*`)).toBe(SUB);
    expect(concreteScope(`${SUB}/resourceGroups/*`)).toBe(SUB);
  });

  test('property: a prefix of the scope, without wildcards, of a whole number of ARM id parts', () => {
    const seg = fc.constantFrom('subscriptions', 's1', 'resourceGroups', 'rg', 'providers', 'Microsoft.KeyVault', 'vaults', 'kv', '*', '**', 'x*');
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 12 }), (segs) => {
        const scope = `/${segs.join('/')}`;
        const c = concreteScope(scope);
        const parts = c.split('/').filter(Boolean);
        return !c.includes('*') && scope.startsWith(c === '/' ? '/' : c) && [0, 2, 4].concat(Array.from({ length: 4 }, (_, i) => 8 + 2 * i)).includes(parts.length);
      }),
      { numRuns: 500 },
    );
  });
});

test('policyReferences: every person, usergroup, scope, role and cluster of the world policy, each with its field', () => {
  const refs = policyReferences(parsePolicy(worldPolicyYaml({ operators: [WORLD.users.admin] }), 'p'));
  const paths = refs.map((r) => `${r.kind} ${r.path}`);
  expect(paths).toEqual(
    expect.arrayContaining([
      'user approvers.users[0]',
      'user operators.users[0]',
      'user namespaces.finance.approvers.users[0]',
      'user namespaces.payments.requesters.users[0]',
      'usergroup namespaces.payments.approvers.groups[0]',
      'scope namespaces.finance.defaultScopes["Key Vault Secrets User"]',
      'scope roles[0].scopes[0]',
      'role roles[0].name',
      'cluster clusters[0]',
    ]),
  );
  expect(refs.find((r) => r.path === 'roles[0].scopes[0]')).toMatchObject({ kind: 'scope', pattern: true });
  // an exact scope, in a role or as a namespace's default, is not a pattern: `wid policy check` looks it up as it is
  const contributor = `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}`.toLowerCase();
  expect(refs.find((r) => r.path === 'roles[2].scopes[0]')).toMatchObject({ kind: 'scope', pattern: false });
  expect(refs.find((r) => r.path === 'namespaces.finance.defaultScopes["Key Vault Secrets User"]')).toMatchObject({ kind: 'scope', pattern: false });
  // the role is looked up at the first scope's concrete part: the vault pattern's resource group, the exact group itself
  expect(refs.find((r) => r.path === 'roles[0].name')).toMatchObject({ kind: 'role', roleName: 'Key Vault Secrets User', scope: contributor });
  expect(refs.find((r) => r.path === 'roles[2].name')).toMatchObject({ kind: 'role', roleName: 'Contributor', scope: contributor });
});
