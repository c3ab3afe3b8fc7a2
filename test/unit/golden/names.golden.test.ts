/**
 * GOLDEN VECTORS — every name wid-bot derives deterministically, pinned to the exact string.
 *
 * wid-bot finds what it created before by recomputing its name: the managed identity, the federated
 * credential, the role assignment (a UUIDv5), the ServiceAccount subject, the tags and annotations.
 * Changing any of these functions or constants renames existing Azure resources: wid-bot would no
 * longer find the identity or the assignment it made last week and would create a duplicate beside it
 * (a second identity, a second role assignment, a credential that trusts nothing).
 *
 * If this test fails, the change is wrong, not the vectors. NEVER regenerate names.golden.json or edit
 * an expected value to make it pass. New cases may be added (computed once, checked by hand against the
 * algorithm documented in src/domain/names.ts); existing ones never change.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  FEDERATED_CREDENTIAL_NAME_PATTERN, federatedCredentialName, IDENTITY_NAME_PATTERN, identityName, identityResourceId, normaliseScope,
  ROLE_ASSIGNMENT_NAMESPACE, roleAssignmentName, serviceAccountSubject, uuidv5, validateNamespace, validateServiceAccountName, validateClusterName,
} from '../../../src/domain/names';
import { TAG_CLUSTER, TAG_NAMESPACE, TAG_REQUEST_ID, TAG_REQUESTER, TAG_SERVICE_ACCOUNT } from '../../../src/domain/plan';
import { BUILT_IN_ROLES, roleDefinitionResourceId } from '../../../src/domain/roles';
import {
  ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, LABEL_USE, TAG_MANAGED_BY, TAG_MANAGED_BY_VALUE, WORKLOAD_IDENTITY_AUDIENCE,
} from '../../../src/domain/types';

interface Golden {
  identities: Array<{ why: string; cluster: string; namespace: string; serviceAccount: string; identityName: string; federatedCredentialName: string; subject: string }>;
  roleAssignments: Array<{ why: string; scope: string; principalId: string; roleDefinitionId: string; name: string }>;
  uuidv5: Array<{ why: string; name: string; namespace: string; uuid: string }>;
  normaliseScope: Array<{ scope: string; normalised: string }>;
  identityResourceIds: Array<{ subscriptionId: string; resourceGroup: string; name: string; resourceId: string }>;
  roleDefinitionIds: Array<{ subscriptionId: string; guid: string; id: string }>;
  constants: Record<string, string | Record<string, string>>;
}

const golden = JSON.parse(readFileSync(path.join(__dirname, 'names.golden.json'), 'utf8')) as Golden;

describe('golden names: identity and federated credential', () => {
  it.each(golden.identities.map((g) => [g.why, g] as const))('%s', (_why, g) => {
    expect(identityName(g.cluster, g.namespace, g.serviceAccount)).toBe(g.identityName);
    expect(federatedCredentialName(g.cluster, g.namespace, g.serviceAccount)).toBe(g.federatedCredentialName);
    expect(serviceAccountSubject(g.namespace, g.serviceAccount)).toBe(g.subject);
  });

  it('every vector is a valid Kubernetes triple and a valid Azure name', () => {
    for (const g of golden.identities) {
      expect(validateClusterName(g.cluster).ok).toBe(true);
      expect(validateNamespace(g.namespace, { allowReserved: true }).ok).toBe(true);
      expect(validateServiceAccountName(g.serviceAccount).ok).toBe(true);
      expect(g.identityName).toMatch(IDENTITY_NAME_PATTERN);
      expect(g.identityName.length).toBeLessThanOrEqual(128);
      expect(g.federatedCredentialName).toMatch(FEDERATED_CREDENTIAL_NAME_PATTERN);
      expect(g.federatedCredentialName.length).toBeLessThanOrEqual(120);
    }
  });

  it('the vectors cover the longest and the shortest inputs Kubernetes allows', () => {
    const lengths = (f: (g: Golden['identities'][number]) => string) => golden.identities.map((g) => f(g).length);
    expect(Math.max(...lengths((g) => g.cluster))).toBe(63);
    expect(Math.max(...lengths((g) => g.namespace))).toBe(63);
    expect(Math.max(...lengths((g) => g.serviceAccount))).toBe(253);
    expect(Math.min(...lengths((g) => g.serviceAccount))).toBe(1);
    expect(golden.identities.filter((g) => g.identityName.length === 128).length).toBeGreaterThanOrEqual(5);
    expect(golden.identities.some((g) => g.serviceAccount.includes('.'))).toBe(true);
    expect(new Set(golden.identities.map((g) => g.identityName)).size).toBe(golden.identities.length);
  });
});

describe('golden names: role assignments (UUIDv5)', () => {
  it.each(golden.roleAssignments.map((g) => [g.why, g] as const))('%s', (_why, g) => {
    expect(roleAssignmentName(g.scope, g.principalId, g.roleDefinitionId)).toBe(g.name);
  });

  it('the same scope, principal and role spelled differently is one name, so a retry finds the first assignment', () => {
    const byWhy = new Map(golden.roleAssignments.map((g) => [g.why, g.name]));
    const ordinary = byWhy.get('ordinary: Key Vault scope, principal, bare role GUID');
    expect(ordinary).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const why of [
      'role as a full role definition id',
      'role definition id in capitals with a trailing slash',
      'principal in capitals',
      'principal with surrounding whitespace',
      'principal mixed case with newline and spaces',
      'scope in capitals with a trailing slash',
      'scope without leading slash, doubled slashes, whitespace',
    ]) {
      expect([why, byWhy.get(why)]).toEqual([why, ordinary]);
    }
    for (const why of ['another principal', 'another role (Reader)', 'subscription scope', 'resource group scope', 'management group scope']) {
      expect(byWhy.get(why)).not.toBe(ordinary);
    }
  });

  it.each(golden.uuidv5.map((g) => [g.why, g] as const))('uuidv5: %s', (_why, g) => {
    expect(uuidv5(g.name, g.namespace)).toBe(g.uuid);
  });
});

describe('golden names: scopes, resource ids and fixed strings', () => {
  it('normalises scopes to the same spelling', () => {
    for (const g of golden.normaliseScope) expect(normaliseScope(g.scope)).toBe(g.normalised);
  });

  it('builds identity and role definition resource ids', () => {
    for (const g of golden.identityResourceIds) expect(identityResourceId(g.subscriptionId, g.resourceGroup, g.name)).toBe(g.resourceId);
    for (const g of golden.roleDefinitionIds) expect(roleDefinitionResourceId(g.subscriptionId, g.guid)).toBe(g.id);
  });

  it('keeps the namespace, tag, annotation and label names and the built-in role ids', () => {
    expect({
      ROLE_ASSIGNMENT_NAMESPACE,
      WORKLOAD_IDENTITY_AUDIENCE,
      ANNOTATION_CLIENT_ID,
      ANNOTATION_TENANT_ID,
      LABEL_USE,
      TAG_MANAGED_BY,
      TAG_MANAGED_BY_VALUE,
      TAG_REQUEST_ID,
      TAG_REQUESTER,
      TAG_CLUSTER,
      TAG_NAMESPACE,
      TAG_SERVICE_ACCOUNT,
      BUILT_IN_ROLES: Object.fromEntries(BUILT_IN_ROLES.map((r) => [r.name, r.id])),
    }).toEqual(golden.constants);
  });
});
