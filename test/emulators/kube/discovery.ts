/**
 * Discovery as kubectl reads it: `/api` (APIVersions), `/api/v1` and `/apis/<group>/<version>`
 * (APIResourceList), `/apis` (APIGroupList), `/apis/<group>` (APIGroup) and `/version`.
 * Only the legacy (unaggregated) documents are served: kubectl asks for the aggregated
 * `apidiscovery.k8s.io/v2` form first and, given plain `application/json`, falls back to these.
 */
import { CORE_TYPES, type ResourceType } from './resources';

export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

/** `/version` for a Kubernetes version such as `1.30.5` (AKS reports the upstream gitVersion). */
export function serverVersion(kubernetesVersion: string): ServerVersion {
  const [major = '1', minor = '0'] = kubernetesVersion.split('.');
  return {
    major,
    minor,
    gitVersion: `v${kubernetesVersion}`,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.22.8',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

interface APIResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

function apiResource(t: ResourceType): APIResource {
  return {
    name: t.resource,
    singularName: t.singularName,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: [...t.verbs],
    ...(t.shortNames ? { shortNames: [...t.shortNames] } : {}),
    ...(t.categories ? { categories: [...t.categories] } : {}),
  };
}

/** The group and version of a type's apiVersion: `v1` → ['', 'v1']. */
function groupVersion(t: ResourceType): { group: string; version: string } {
  const [a, b] = t.apiVersion.split('/');
  return b === undefined ? { group: '', version: a ?? '' } : { group: a ?? '', version: b };
}

/**
 * The discovery document for `pathname`, or undefined when the path is not a discovery path or
 * names a group/version not served (the caller answers 404 then).
 */
export function discoveryDocument(pathname: string, served: ResourceType[], serverAddress: string, kubernetesVersion: string): unknown {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/version') return serverVersion(kubernetesVersion);
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  if (path === '/api/v1') {
    const core = served.filter((t) => CORE_TYPES.includes(t)).map(apiResource);
    // TokenRequest is a subresource of serviceaccounts in the core path, of the authentication.k8s.io group.
    core.push({ name: 'serviceaccounts/token', singularName: '', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] });
    core.sort((a, b) => a.name.localeCompare(b.name));
    return { kind: 'APIResourceList', groupVersion: 'v1', resources: core };
  }
  const groups = new Map<string, Map<string, ResourceType[]>>();
  for (const t of served) {
    const gv = groupVersion(t);
    if (gv.group === '') continue;
    const versions = groups.get(gv.group) ?? new Map<string, ResourceType[]>();
    versions.set(gv.version, [...(versions.get(gv.version) ?? []), t]);
    groups.set(gv.group, versions);
  }
  const apiGroup = (name: string, versions: Map<string, ResourceType[]>) => {
    const vs = [...versions.keys()].map((version) => ({ groupVersion: `${name}/${version}`, version }));
    return { name, versions: vs, preferredVersion: vs[0] };
  };
  if (path === '/apis') {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, v]) => apiGroup(name, v)) };
  }
  const m = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (!m || !m[1]) return undefined;
  const versions = groups.get(m[1]);
  if (!versions) return undefined;
  if (m[2] === undefined) return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(m[1], versions) };
  const types = versions.get(m[2]);
  if (!types) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${m[1]}/${m[2]}`, resources: types.map(apiResource) };
}
