/**
 * The api-versions Azure publishes for each resource type the emulator serves, taken from the Azure
 * REST API specifications (github.com/Azure/azure-rest-api-specs, `specification/<service>/resource-manager/…/readme.md`
 * tags and their `stable/` and `preview/` folders). A call with a version outside its type's list fails
 * as ARM fails it: Microsoft.Resources' own types with 400 InvalidApiVersionParameter, resource
 * provider types with 400 NoRegisteredProviderFound; both name the supported versions.
 *
 * Who sends what (so the lists must hold these): @azure/arm-msi 2.2 → 2024-11-30, @azure/arm-authorization 9
 * → 2022-04-01, @azure/arm-containerservice 25.3 → 2026-04-01; Azure CLI 2.45 → managed identity
 * 2022-01-31-preview, role assignments 2020-04-01-preview, role definitions 2018-01-01-preview, AKS 2022-11-01,
 * resource groups 2021-04-01, subscriptions 2019-11-01.
 */
import { ArmError } from './errors';

/** specification/msi/resource-manager/Microsoft.ManagedIdentity/ManagedIdentity/readme.md (and its examples/2026-04-30 folder) */
const MANAGED_IDENTITY = [
  '2015-08-31-preview', '2018-11-30', '2021-09-30-preview', '2022-01-31-preview', '2023-01-31', '2023-07-31-preview',
  '2024-11-30', '2025-01-31-preview', '2025-05-31-preview', '2026-04-30', '2026-05-31',
];

/** Federated identity credentials first appear in 2022-01-31-preview. */
const FEDERATED_CREDENTIALS = MANAGED_IDENTITY.slice(MANAGED_IDENTITY.indexOf('2022-01-31-preview'));

/** specification/authorization/resource-manager/Microsoft.Authorization/Authorization/readme.md (authorization-RoleAssignmentsCalls.json) */
const ROLE_ASSIGNMENTS = [
  '2015-07-01', '2017-10-01-preview', '2018-01-01-preview', '2018-09-01-preview', '2020-03-01-preview', '2020-04-01-preview',
  '2020-08-01-preview', '2020-10-01-preview', '2022-04-01',
];

/** The same readme (PIM: authorization-RoleAssignmentScheduleRequestsCalls.json and its siblings, stable 2020-10-01 on). */
const ROLE_ASSIGNMENT_SCHEDULES = ['2020-10-01-preview', '2020-10-01', '2022-04-01-preview', '2024-02-01-preview', '2024-09-01-preview'];

/** The same readme (authorization-RoleDefinitionsCalls.json). */
const ROLE_DEFINITIONS = ['2015-07-01', '2018-01-01-preview', '2022-04-01', '2022-05-01-preview'];

/**
 * specification/containerservice/resource-manager/Microsoft.ContainerService/aks/readme.md (managedClusters.json,
 * 2017-08-31 … 2024-07-01), then the stable `aks/stable/<version>/managedClusters.json` folders after it
 * (previews after 2024-07 are left out: not checked against the specs).
 */
const MANAGED_CLUSTERS = [
  '2017-08-31', '2018-03-31', '2018-08-01-preview', '2019-02-01', '2019-04-01', '2019-06-01', '2019-08-01', '2019-10-01',
  '2019-11-01', '2020-01-01', '2020-02-01', '2020-03-01', '2020-04-01', '2020-06-01', '2020-07-01', '2020-09-01', '2020-11-01',
  '2020-12-01', '2021-02-01', '2021-03-01', '2021-05-01', '2021-07-01', '2021-08-01', '2021-09-01', '2021-10-01',
  '2021-11-01-preview', '2022-01-01', '2022-01-02-preview', '2022-02-01', '2022-02-02-preview', '2022-03-01',
  '2022-03-02-preview', '2022-04-01', '2022-04-02-preview', '2022-05-02-preview', '2022-06-01', '2022-06-02-preview',
  '2022-07-01', '2022-07-02-preview', '2022-08-02-preview', '2022-08-03-preview', '2022-09-01', '2022-09-02-preview',
  '2022-10-02-preview', '2022-11-01', '2022-11-02-preview', '2023-01-01', '2023-01-02-preview', '2023-02-01',
  '2023-02-02-preview', '2023-03-01', '2023-03-02-preview', '2023-04-01', '2023-04-02-preview', '2023-05-01',
  '2023-05-02-preview', '2023-06-01', '2023-06-02-preview', '2023-07-01', '2023-07-02-preview', '2023-08-01',
  '2023-08-02-preview', '2023-09-01', '2023-09-02-preview', '2023-10-01', '2023-10-02-preview', '2023-11-01',
  '2023-11-02-preview', '2024-01-01', '2024-01-02-preview', '2024-02-01', '2024-02-02-preview', '2024-03-02-preview',
  '2024-04-02-preview', '2024-05-01', '2024-05-02-preview', '2024-06-02-preview', '2024-07-01',
  '2024-08-01', '2024-09-01', '2024-10-01', '2025-01-01', '2025-02-01', '2025-03-01', '2025-04-01', '2025-05-01',
  '2025-06-01', '2025-07-01', '2025-08-01', '2025-09-01', '2025-10-01', '2025-10-02-preview', '2026-01-01', '2026-02-01',
  '2026-03-01', '2026-04-01', '2026-05-01', '2026-06-01', '2026-07-01', '2026-08-01', '2026-10-01',
];

/** specification/resources/resource-manager/Microsoft.Resources/resources/readme.md (resources.json) */
const RESOURCE_GROUPS = [
  '2015-11-01', '2016-02-01', '2016-07-01', '2016-09-01', '2017-05-10', '2018-02-01', '2018-05-01', '2019-03-01',
  '2019-05-01', '2019-05-10', '2019-07-01', '2019-08-01', '2019-10-01', '2020-06-01', '2020-08-01', '2020-10-01',
  '2021-01-01', '2021-04-01', '2022-09-01', '2023-07-01', '2024-03-01', '2024-07-01', '2024-11-01', '2025-03-01', '2025-04-01',
];

/** specification/resources/resource-manager/Microsoft.Resources/subscriptions/readme.md (subscriptions.json) */
const SUBSCRIPTIONS = ['2015-11-01', '2016-06-01', '2018-06-01', '2019-06-01', '2019-11-01', '2020-01-01', '2021-01-01', '2022-12-01'];

/** specification/keyvault/resource-manager/Microsoft.KeyVault (stable vaults.json versions): the scopes roles are granted on. */
const KEY_VAULTS = ['2015-06-01', '2016-10-01', '2018-02-14', '2019-09-01', '2021-10-01', '2022-07-01', '2023-02-01', '2023-07-01'];

/** specification/storage/resource-manager/Microsoft.Storage (stable storage.json versions). */
const STORAGE_ACCOUNTS = ['2016-01-01', '2017-10-01', '2018-02-01', '2019-06-01', '2021-04-01', '2021-09-01', '2022-09-01', '2023-01-01', '2023-05-01'];

export type ResourceType =
  | 'Microsoft.Resources/subscriptions'
  | 'Microsoft.Resources/resourceGroups'
  | 'Microsoft.ManagedIdentity/userAssignedIdentities'
  | 'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials'
  | 'Microsoft.Authorization/roleAssignments'
  | 'Microsoft.Authorization/roleDefinitions'
  | 'Microsoft.Authorization/roleAssignmentScheduleRequests'
  | 'Microsoft.Authorization/roleAssignmentScheduleInstances'
  | 'Microsoft.ContainerService/managedClusters'
  | 'Microsoft.KeyVault/vaults'
  | 'Microsoft.Storage/storageAccounts';

export const API_VERSIONS: Readonly<Record<ResourceType, readonly string[]>> = {
  'Microsoft.Resources/subscriptions': SUBSCRIPTIONS,
  'Microsoft.Resources/resourceGroups': RESOURCE_GROUPS,
  'Microsoft.ManagedIdentity/userAssignedIdentities': MANAGED_IDENTITY,
  'Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials': FEDERATED_CREDENTIALS,
  'Microsoft.Authorization/roleAssignments': ROLE_ASSIGNMENTS,
  'Microsoft.Authorization/roleDefinitions': ROLE_DEFINITIONS,
  'Microsoft.Authorization/roleAssignmentScheduleRequests': ROLE_ASSIGNMENT_SCHEDULES,
  'Microsoft.Authorization/roleAssignmentScheduleInstances': ROLE_ASSIGNMENT_SCHEDULES,
  'Microsoft.ContainerService/managedClusters': MANAGED_CLUSTERS,
  'Microsoft.KeyVault/vaults': KEY_VAULTS,
  'Microsoft.Storage/storageAccounts': STORAGE_ACCOUNTS,
};

/** Newest first, as ARM lists them. */
function newestFirst(versions: readonly string[]): string[] {
  return [...versions].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** 400 unless `apiVersion` is published for `type` (compared case-insensitively, as ARM does). */
export function checkApiVersion(type: ResourceType, apiVersion: string, location: string, supportedLocations: readonly string[]): void {
  const published = API_VERSIONS[type];
  if (published.some((v) => v.toLowerCase() === apiVersion.toLowerCase())) return;
  const [namespace, ...rest] = type.split('/');
  if (namespace === 'Microsoft.Resources') {
    throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid. The supported versions are '${newestFirst(published).join(',')}'.`);
  }
  // ARM names the type without its namespace and the versions with upper-case PREVIEW suffixes.
  const supported = published.map((v) => v.replace(/-preview$/, '-PREVIEW')).join(', ');
  throw new ArmError(
    400,
    'NoRegisteredProviderFound',
    `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${rest.join('/')}'. The supported api-versions are '${supported}'. The supported locations are '${supportedLocations.join(', ')}'.`,
  );
}
