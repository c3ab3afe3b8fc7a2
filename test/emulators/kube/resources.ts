/**
 * The resource types the Kubernetes API emulator serves, with what discovery says of each
 * (singular name, short names, verbs) as the real API server and apiextensions say it.
 */
import type { ResourceRef } from './status';

export interface ObjectMeta {
  name: string;
  generateName?: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generation?: number;
  creationTimestamp: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ResourceType extends ResourceRef {
  kind: string;
  listKind: string;
  apiVersion: string;
  namespaced: boolean;
  nameRule: 'subdomain' | 'label';
  /** Built-in types drop kind/apiVersion from list items in JSON; custom resources keep them. */
  builtin: boolean;
  /** Fields a fieldSelector may use besides metadata.name/namespace. */
  fields: string[];
  singularName: string;
  shortNames?: string[];
  categories?: string[];
  /**
   * Verbs in discovery, in the order the real server lists them, less those this emulator does not
   * serve (watch, deletecollection): a client that reads discovery is told the truth.
   */
  verbs: string[];
}

/** Built-in types: verbs in the API server's (sorted) order. */
const CORE_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update'];
/** Custom resources: apiextensions lists its verbs in this order. */
const CR_VERBS = ['delete', 'get', 'list', 'patch', 'create', 'update'];

export const NAMESPACES: ResourceType = {
  resource: 'namespaces',
  group: '',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  apiVersion: 'v1',
  namespaced: false,
  nameRule: 'label',
  builtin: true,
  fields: ['status.phase'],
  singularName: 'namespace',
  shortNames: ['ns'],
  verbs: CORE_VERBS,
};
export const SERVICE_ACCOUNTS: ResourceType = {
  resource: 'serviceaccounts',
  group: '',
  kind: 'ServiceAccount',
  listKind: 'ServiceAccountList',
  apiVersion: 'v1',
  namespaced: true,
  nameRule: 'subdomain',
  builtin: true,
  fields: [],
  singularName: 'serviceaccount',
  shortNames: ['sa'],
  verbs: CORE_VERBS,
};
export const PODS: ResourceType = {
  resource: 'pods',
  group: '',
  kind: 'Pod',
  listKind: 'PodList',
  apiVersion: 'v1',
  namespaced: true,
  nameRule: 'subdomain',
  builtin: true,
  fields: ['spec.serviceAccountName', 'spec.nodeName', 'status.phase'],
  singularName: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  verbs: CORE_VERBS,
};
export const POD_IDENTITY_GROUP = 'aadpodidentity.k8s.io';
export const POD_IDENTITY_VERSION = 'v1';
export const AZURE_IDENTITIES: ResourceType = {
  resource: 'azureidentities',
  group: POD_IDENTITY_GROUP,
  kind: 'AzureIdentity',
  listKind: 'AzureIdentityList',
  apiVersion: `${POD_IDENTITY_GROUP}/${POD_IDENTITY_VERSION}`,
  namespaced: true,
  nameRule: 'subdomain',
  builtin: false,
  fields: [],
  singularName: 'azureidentity',
  verbs: CR_VERBS,
};
export const AZURE_IDENTITY_BINDINGS: ResourceType = {
  resource: 'azureidentitybindings',
  group: POD_IDENTITY_GROUP,
  kind: 'AzureIdentityBinding',
  listKind: 'AzureIdentityBindingList',
  apiVersion: `${POD_IDENTITY_GROUP}/${POD_IDENTITY_VERSION}`,
  namespaced: true,
  nameRule: 'subdomain',
  builtin: false,
  fields: [],
  singularName: 'azureidentitybinding',
  verbs: CR_VERBS,
};

export const CORE_TYPES = [NAMESPACES, SERVICE_ACCOUNTS, PODS];
export const POD_IDENTITY_TYPES = [AZURE_IDENTITIES, AZURE_IDENTITY_BINDINGS];
