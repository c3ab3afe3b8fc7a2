/**
 * Azure built-in roles wid-bot knows by name. Role definition ids of built-ins are the same GUID in
 * every tenant, so a plan can name them without asking Azure.
 */

export interface BuiltInRole {
  name: string;
  /** Role definition GUID (the last segment of the role definition id). */
  id: string;
  /** Roles that can hand out access or change anything: named explicitly in policy, two approvals. */
  privileged: boolean;
}

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  { name: 'Key Vault Secrets User', id: '4633458b-17de-408a-b874-0445c86b69e6', privileged: false },
  { name: 'Key Vault Crypto User', id: '12338af0-0e69-4776-bea7-57ae8d297424', privileged: false },
  { name: 'Storage Blob Data Reader', id: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', privileged: false },
  { name: 'Storage Blob Data Contributor', id: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe', privileged: false },
  { name: 'AcrPull', id: '7f951dda-4ed3-4680-a7ca-43fe172d538d', privileged: false },
  { name: 'Reader', id: 'acdd72a7-3385-48ef-bd42-f606fba81ae7', privileged: false },
  { name: 'Managed Identity Operator', id: 'f1a07417-d97a-45cb-824c-7a7467783830', privileged: false },
  { name: 'Managed Identity Contributor', id: 'e40ec5ca-96e0-45a2-b4ff-59039f2c2b59', privileged: false },
  { name: 'Contributor', id: 'b24988ac-6180-42a0-ab88-20f7382dd24c', privileged: true },
  { name: 'Owner', id: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', privileged: true },
  { name: 'User Access Administrator', id: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', privileged: true },
  { name: 'Role Based Access Control Administrator', id: 'f58310d9-a9f6-439a-9e8d-f62e7b41a168', privileged: true },
];

export const PRIVILEGED_ROLE_NAMES: readonly string[] = BUILT_IN_ROLES.filter((r) => r.privileged).map((r) => r.name);

/** Role names compare case-insensitively with whitespace runs collapsed, as people type them. */
export function roleKey(name: string): string {
  return name.trim().replace(/\s+/gu, ' ').toLowerCase();
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(text: string): boolean {
  return GUID.test(text);
}

/** The role definition GUID from a bare GUID or a full role definition id; undefined when neither. */
export function roleDefinitionGuid(idOrGuid: string): string | undefined {
  const last = idOrGuid.trim().replace(/\/+$/, '').split('/').pop() ?? '';
  return isGuid(last) ? last.toLowerCase() : undefined;
}

/** The built-in role with this display name or GUID, if any. */
export function findBuiltInRole(nameOrId: string): BuiltInRole | undefined {
  const guid = roleDefinitionGuid(nameOrId);
  if (guid) return BUILT_IN_ROLES.find((r) => r.id === guid);
  const key = roleKey(nameOrId);
  return BUILT_IN_ROLES.find((r) => roleKey(r.name) === key);
}

export function builtInRoleId(name: string): string | undefined {
  return findBuiltInRole(name)?.id;
}

export function isPrivilegedRole(nameOrId: string): boolean {
  return findBuiltInRole(nameOrId)?.privileged ?? false;
}

/** Full role definition id at a subscription, as ARM wants it in a role assignment. */
export function roleDefinitionResourceId(subscriptionId: string, guid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}
