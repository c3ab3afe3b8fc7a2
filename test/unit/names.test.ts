import fc from 'fast-check';
import {
  FEDERATED_CREDENTIAL_NAME_PATTERN, federatedCredentialName, IDENTITY_NAME_PATTERN, identityName, identityResourceId, normaliseScope,
  roleAssignmentName, serviceAccountSubject, uuidv5, validateClusterName, validateNamespace, validateServiceAccountName,
} from '../../src/domain/names';
import { BUILT_IN_ROLES, builtInRoleId, findBuiltInRole, isPrivilegedRole, roleDefinitionGuid } from '../../src/domain/roles';
import { scopeSubscription } from '../../src/domain/scopes';

describe('Kubernetes name rules', () => {
  it('accepts DNS-1123 labels as namespaces', () => {
    for (const ns of ['a', 'finance', 'team-1', 'x'.repeat(63), '0abc']) expect(validateNamespace(ns)).toEqual({ ok: true, value: ns });
  });

  it('refuses bad namespaces naming the rule and the value', () => {
    const cases: Array<[string, RegExp]> = [
      ['Finance', /uppercase letter "F"/],
      ['x'.repeat(64), /64 characters long/],
      ['-abc', /does not start/],
      ['abc-', /does not end/],
      ['a.b', /contains "\."/],
      ['', /empty/],
      ['$(whoami)', /contains "\$"/],
      ['; rm -rf /', /contains ";"/],
    ];
    for (const [ns, why] of cases) {
      const r = validateNamespace(ns);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.code).toBe('invalid-namespace');
      expect(r.error.field).toBe('namespace');
      expect(r.error.message).toContain('DNS-1123 label');
      expect(r.error.message).toMatch(why);
    }
  });

  it('truncates huge offending values in messages', () => {
    const r = validateNamespace('A'.repeat(5000));
    expect(!r.ok && r.error.message.length).toBeLessThan(400);
  });

  it('refuses reserved namespaces unless allowed', () => {
    for (const ns of ['kube-system', 'kube-public', 'kube-node-lease']) {
      expect(validateNamespace(ns)).toMatchObject({ ok: false, error: { code: 'reserved-namespace' } });
      expect(validateNamespace(ns, { allowReserved: true })).toEqual({ ok: true, value: ns });
    }
    const r = validateNamespace('kube-system');
    expect(!r.ok && r.error.message).toContain('allowReservedNamespaces');
  });

  it('accepts DNS-1123 subdomains as ServiceAccount names and refuses others', () => {
    for (const sa of ['backend', 'backend.v2', 'a-b.c-d', 'a'.repeat(253)]) expect(validateServiceAccountName(sa).ok).toBe(true);
    for (const sa of ['Backend', 'a..b', '.a', 'a.', 'a_b', 'a'.repeat(254), '']) {
      const r = validateServiceAccountName(sa);
      expect(r).toMatchObject({ ok: false, error: { code: 'invalid-serviceaccount', field: 'serviceAccount' } });
      expect(!r.ok && r.error.message).toContain('DNS-1123 subdomain');
    }
  });

  it('checks cluster names as labels', () => {
    expect(validateClusterName('blue').ok).toBe(true);
    expect(validateClusterName('Blue_1')).toMatchObject({ ok: false, error: { code: 'invalid-cluster' } });
  });

  it('builds the ServiceAccount subject', () => {
    expect(serviceAccountSubject('finance', 'backend-sa')).toBe('system:serviceaccount:finance:backend-sa');
  });
});

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
const longLabel = fc.integer({ min: 50, max: 63 }).map((n) => 'a'.repeat(n - 1) + 'z');
const subdomainPart = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/);
const subdomain = fc.oneof(
  fc.array(subdomainPart, { minLength: 1, maxLength: 6 }).map((p) => p.join('.')),
  fc.integer({ min: 200, max: 253 }).map((n) => 'b.'.repeat(Math.floor((n - 1) / 2)) + 'c'),
);
const anyLabel = fc.oneof(label, longLabel);

describe('deterministic Azure names', () => {
  it('are readable and carry cluster, namespace and ServiceAccount', () => {
    const name = identityName('blue', 'finance', 'backend-sa');
    expect(name).toMatch(/^wid-blue-finance-backend-sa-[0-9a-f]{12}$/);
    expect(identityName('blue', 'finance', 'backend-sa')).toBe(name);
    expect(identityName('green', 'finance', 'backend-sa')).not.toBe(name);
    expect(federatedCredentialName('blue', 'finance', 'backend.v2')).toMatch(/^wid-blue-finance-backend_v2-[0-9a-f]{12}$/);
  });

  it('do not collide when dashes move between parts', () => {
    expect(identityName('a-b', 'c', 'd')).not.toBe(identityName('a', 'b-c', 'd'));
    expect(federatedCredentialName('x', 'a', 'b.c')).not.toBe(federatedCredentialName('x', 'a', 'b-c'));
    expect(federatedCredentialName('x', 'a', 'b.c')).not.toBe(federatedCredentialName('x', 'a', 'b_c'));
  });

  it('match the Azure patterns for every valid triple, including the longest', () => {
    fc.assert(
      fc.property(anyLabel, anyLabel, subdomain, (c, ns, sa) => {
        const id = identityName(c, ns, sa);
        const fic = federatedCredentialName(c, ns, sa);
        return IDENTITY_NAME_PATTERN.test(id) && id.length <= 128 && FEDERATED_CREDENTIAL_NAME_PATTERN.test(fic) && fic.length <= 120;
      }),
      { numRuns: 3000 },
    );
    const max = ['c'.repeat(63), 'n'.repeat(63), 's'.repeat(253)] as const;
    expect(identityName(...max)).toHaveLength(128);
    expect(federatedCredentialName(...max)).toHaveLength(120);
  });

  it('never map distinct triples to the same name', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(anyLabel, anyLabel, subdomain), { minLength: 2, maxLength: 40, selector: (t) => t.join('\n') }),
        (triples) => {
          const ids = new Set(triples.map((t) => identityName(...t)));
          const fics = new Set(triples.map((t) => federatedCredentialName(...t)));
          return ids.size === triples.length && fics.size === triples.length;
        },
      ),
      { numRuns: 500 },
    );
    // Long names that share a cut-off prefix still differ.
    const long = 's'.repeat(240);
    expect(identityName('blue', 'finance', `${long}a`)).not.toBe(identityName('blue', 'finance', `${long}b`));
  });

  it('builds the identity resource id', () => {
    expect(identityResourceId('sub', 'rg', 'wid-x')).toBe('/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/wid-x');
  });
});

describe('scopes and role-assignment names', () => {
  it('normalises scopes', () => {
    expect(normaliseScope('/Subscriptions/ABC/resourceGroups/RG/')).toBe('/subscriptions/abc/resourcegroups/rg');
    expect(normaliseScope('subscriptions//abc///')).toBe('/subscriptions/abc');
    expect(normaliseScope(' / ')).toBe('/');
  });

  it('implements RFC 4122 UUIDv5', () => {
    // The RFC's DNS namespace example, as computed by every uuid library.
    expect(uuidv5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  const scope = '/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/rg-finance/providers/Microsoft.KeyVault/vaults/kv-finance';
  const principal = '9f3a2b1c-0000-4000-8000-000000000001';
  const role = '4633458b-17de-408a-b874-0445c86b69e6';

  it('is a v5 GUID, stable under scope case, slashes, principal case and role id form', () => {
    const name = roleAssignmentName(scope, principal, role);
    expect(name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(roleAssignmentName(`${scope.toUpperCase()}/`, principal.toUpperCase(), role)).toBe(name);
    expect(roleAssignmentName(scope, principal, `/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/${role.toUpperCase()}`)).toBe(name);
  });

  it('is stable and distinct as a property', () => {
    const seg = fc.stringMatching(/^[A-Za-z0-9-]{1,12}$/);
    const scopes = fc.array(seg, { minLength: 1, maxLength: 6 }).map((s) => `/${s.join('/')}`);
    const guid = fc.uuid();
    fc.assert(
      fc.property(scopes, guid, guid, fc.boolean(), (s, p, r, upper) => {
        const spelled = `${upper ? s.toUpperCase() : s.toLowerCase()}/`;
        return roleAssignmentName(s, p, r) === roleAssignmentName(spelled, p.toUpperCase(), r.toUpperCase());
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(scopes, scopes, guid, guid, guid, guid, (s1, s2, p1, p2, r1, r2) => {
        const same = normaliseScope(s1) === normaliseScope(s2) && p1.toLowerCase() === p2.toLowerCase() && r1.toLowerCase() === r2.toLowerCase();
        return same === (roleAssignmentName(s1, p1, r1) === roleAssignmentName(s2, p2, r2));
      }),
      { numRuns: 1000 },
    );
    expect(roleAssignmentName(scope, principal, role)).not.toBe(roleAssignmentName(`${scope}2`, principal, role));
    expect(roleAssignmentName(scope, principal, role)).not.toBe(roleAssignmentName(scope, principal.replace('1', '2'), role));
    expect(roleAssignmentName(scope, principal, role)).not.toBe(roleAssignmentName(scope, principal, builtInRoleId('Reader') as string));
  });
});

describe('built-in roles', () => {
  it('knows the well-known GUIDs and which roles are privileged', () => {
    expect(builtInRoleId('key vault  secrets user')).toBe('4633458b-17de-408a-b874-0445c86b69e6');
    expect(builtInRoleId('AcrPull')).toBe('7f951dda-4ed3-4680-a7ca-43fe172d538d');
    expect(findBuiltInRole('8e3af657-a8ff-443c-a75c-2fe8c4bcb635')?.name).toBe('Owner');
    for (const r of ['Owner', 'Contributor', 'User Access Administrator', 'Role Based Access Control Administrator']) expect(isPrivilegedRole(r)).toBe(true);
    expect(isPrivilegedRole('Reader')).toBe(false);
    expect(BUILT_IN_ROLES).toHaveLength(12);
    expect(roleDefinitionGuid('/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/ACDD72A7-3385-48EF-BD42-F606FBA81AE7/')).toBe('acdd72a7-3385-48ef-bd42-f606fba81ae7');
    expect(roleDefinitionGuid('not-a-guid')).toBeUndefined();
  });
});

describe('scopeSubscription', () => {
  it('finds the subscription of an ARM scope, with or without the leading slash, and nothing otherwise', () => {
    expect(scopeSubscription('/subscriptions/abc/resourceGroups/rg')).toBe('abc');
    expect(scopeSubscription('subscriptions/ABC')).toBe('ABC');
    expect(scopeSubscription('/providers/Microsoft.Management/managementGroups/mg')).toBeUndefined();
  });
});
