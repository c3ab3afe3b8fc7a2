/**
 * Microsoft.Authorization/roleDefinitions: the built-in catalogue (real GUIDs), listed at any scope
 * with `$filter=roleName eq '…'` and read by id at a scope or by fully-qualified id.
 */
import { ArmError, type ArmResponse } from './errors';
import { normaliseScope, subscriptionOf } from './ids';

export interface BuiltInRole {
  id: string;
  roleName: string;
  description: string;
  actions: string[];
  notActions: string[];
  dataActions: string[];
  notDataActions: string[];
}

function role(id: string, roleName: string, description: string, actions: string[], dataActions: string[] = [], notActions: string[] = []): BuiltInRole {
  return { id, roleName, description, actions, notActions, dataActions, notDataActions: [] };
}

const KV_KEY_CRYPTO = ['read', 'update/action', 'backup/action', 'encrypt/action', 'decrypt/action', 'wrap/action', 'unwrap/action', 'sign/action', 'verify/action'];
const BLOB = 'Microsoft.Storage/storageAccounts/blobServices';
const UAMI = 'Microsoft.ManagedIdentity/userAssignedIdentities';
const MANAGE_COMMON = ['Microsoft.Authorization/*/read', 'Microsoft.Insights/alertRules/*', 'Microsoft.Resources/subscriptions/resourceGroups/read', 'Microsoft.Resources/deployments/*', 'Microsoft.Support/*'];

export const BUILT_IN_ROLES: readonly BuiltInRole[] = [
  role('4633458b-17de-408a-b874-0445c86b69e6', 'Key Vault Secrets User', "Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.", [], [
    'Microsoft.KeyVault/vaults/secrets/getSecret/action',
    'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
  ]),
  role('12338af0-0e69-4776-bea7-57ae8d297424', 'Key Vault Crypto User', "Perform cryptographic operations using keys. Only works for key vaults that use the 'Azure role-based access control' permission model.", [], KV_KEY_CRYPTO.map((a) => `Microsoft.KeyVault/vaults/keys/${a}`)),
  role('2a2b9908-6ea1-4ae2-8e65-a410df84e7d1', 'Storage Blob Data Reader', 'Allows for read access to Azure Storage blob containers and data', [`${BLOB}/containers/read`, `${BLOB}/generateUserDelegationKey/action`], [`${BLOB}/containers/blobs/read`]),
  role('ba92f5b4-2d11-453d-a403-e96b0029c9fe', 'Storage Blob Data Contributor', 'Allows for read, write and delete access to Azure Storage blob containers and data', [
    `${BLOB}/containers/delete`, `${BLOB}/containers/read`, `${BLOB}/containers/write`, `${BLOB}/generateUserDelegationKey/action`,
  ], [`${BLOB}/containers/blobs/delete`, `${BLOB}/containers/blobs/read`, `${BLOB}/containers/blobs/write`, `${BLOB}/containers/blobs/move/action`, `${BLOB}/containers/blobs/add/action`]),
  role('7f951dda-4ed3-4680-a7ca-43fe172d538d', 'AcrPull', 'acr pull', ['Microsoft.ContainerRegistry/registries/pull/read']),
  role('acdd72a7-3385-48ef-bd42-f606fba81ae7', 'Reader', 'View all resources, but does not allow you to make any changes.', ['*/read']),
  role('b24988ac-6180-42a0-ab88-20f7382dd24c', 'Contributor', 'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.', ['*'], [], [
    'Microsoft.Authorization/*/Delete', 'Microsoft.Authorization/*/Write', 'Microsoft.Authorization/elevateAccess/Action',
    'Microsoft.Blueprint/blueprintAssignments/write', 'Microsoft.Blueprint/blueprintAssignments/delete', 'Microsoft.Compute/galleries/share/action',
  ]),
  role('8e3af657-a8ff-443c-a75c-2fe8c4bcb635', 'Owner', 'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.', ['*']),
  role('18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', 'User Access Administrator', 'Lets you manage user access to Azure resources.', ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*']),
  role('f58310d9-a9f6-439a-9e8d-f62e7b41a168', 'Role Based Access Control Administrator', 'Manage access to Azure resources by assigning roles using Azure RBAC. This role does not allow you to manage access using other ways, such as Azure Policy.', [
    'Microsoft.Authorization/roleAssignments/write', 'Microsoft.Authorization/roleAssignments/delete', '*/read', 'Microsoft.Support/*',
  ]),
  role('f1a07417-d97a-45cb-824c-7a7467783830', 'Managed Identity Operator', 'Read and Assign User Assigned Identity', [`${UAMI}/*/read`, `${UAMI}/*/assign/action`, ...MANAGE_COMMON]),
  role('e40ec5ca-96e0-45a2-b4ff-59039f2c2b59', 'Managed Identity Contributor', 'Create, Read, Update, and Delete User Assigned Identity', [
    `${UAMI}/read`, `${UAMI}/write`, `${UAMI}/delete`,
    `${UAMI}/federatedIdentityCredentials/read`, `${UAMI}/federatedIdentityCredentials/write`, `${UAMI}/federatedIdentityCredentials/delete`,
    ...MANAGE_COMMON,
  ]),
];

export function findRoleByGuid(guid: string): BuiltInRole | undefined {
  const g = guid.toLowerCase();
  return BUILT_IN_ROLES.find((r) => r.id === g);
}

export function findRoleByName(roleName: string): BuiltInRole | undefined {
  const n = roleName.toLowerCase();
  return BUILT_IN_ROLES.find((r) => r.roleName.toLowerCase() === n);
}

/** Built-in definitions read at a subscription (or below) carry that subscription in their id, as ARM returns them. */
export function roleDefinitionIdAt(scope: string, guid: string): string {
  const sub = subscriptionOf(scope);
  return `${sub ? `/subscriptions/${sub}` : ''}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

export function roleDefinitionBody(r: BuiltInRole, scope: string): unknown {
  return {
    properties: {
      roleName: r.roleName,
      type: 'BuiltInRole',
      description: r.description,
      assignableScopes: ['/'],
      permissions: [{ actions: [...r.actions], notActions: [...r.notActions], dataActions: [...r.dataActions], notDataActions: [...r.notDataActions] }],
    },
    id: roleDefinitionIdAt(scope, r.id),
    type: 'Microsoft.Authorization/roleDefinitions',
    name: r.id,
  };
}

function roleDefinitionNotFound(id: string): ArmError {
  return new ArmError(404, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${id}' does not exist.`);
}

/** `roleName eq 'X'` and `type eq 'BuiltInRole'` clauses joined by `and`; anything else is refused. */
function parseFilter(filter: string): (r: BuiltInRole) => boolean {
  const clauses = filter.split(/\s+and\s+/i).map((c) => c.trim()).filter(Boolean);
  const tests = clauses.map((clause) => {
    const m = /^(roleName|type)\s+eq\s+'((?:[^']|'')*)'$/i.exec(clause);
    if (!m || !m[1] || m[2] === undefined) {
      throw new ArmError(400, 'BadRequest', `The filter '${filter}' is not supported. Supported filters are roleName eq '{value}' and type eq '{value}'.`);
    }
    const value = m[2].replace(/''/g, "'").toLowerCase();
    return m[1].toLowerCase() === 'rolename'
      ? (r: BuiltInRole) => r.roleName.toLowerCase() === value
      : () => value === 'builtinrole';
  });
  return (r) => tests.every((t) => t(r));
}

export function listRoleDefinitions(scope: string, filter: string | undefined): ArmResponse {
  const s = normaliseScope(scope);
  const keep = filter ? parseFilter(filter) : () => true;
  return { status: 200, body: { value: BUILT_IN_ROLES.filter(keep).map((r) => roleDefinitionBody(r, s)) } };
}

export function getRoleDefinition(scope: string, id: string): ArmResponse {
  const r = findRoleByGuid(id);
  if (!r) throw roleDefinitionNotFound(id);
  return { status: 200, body: roleDefinitionBody(r, normaliseScope(scope)) };
}
