/**
 * One Kubernetes adapter per policy cluster. Each AKS cluster has its own API server and its own OIDC issuer,
 * so a ServiceAccount on green is created, annotated and asked for a token on green's API. A cluster named in
 * the per-cluster settings gets its own kubeconfig and/or context; every other cluster uses the base
 * configuration (KUBECONFIG / in-cluster), so a single-cluster setup needs nothing new. Adapters are made on
 * their first use and kept.
 */
import type { KubePort } from '../domain/ports';
import type { KubeAdapterConfig } from './index';

/** What one cluster overrides: its own kubeconfig file, its own context (in its file or the base one), or both. */
export interface KubeClusterOverride {
  kubeconfigPath?: string;
  context?: string;
}

/** The adapter for a policy cluster, by wid-bot's short name. */
export type KubeForCluster = (clusterName: string) => KubePort;

/** The adapter configuration a cluster resolves to: the base with the cluster's file and context over it. */
export function kubeConfigForCluster(base: KubeAdapterConfig, perCluster: Readonly<Record<string, KubeClusterOverride>>, clusterName: string): KubeAdapterConfig {
  const own = Object.prototype.hasOwnProperty.call(perCluster, clusterName) ? perCluster[clusterName] : undefined;
  if (!own) return base;
  const { kubeconfigYaml: _yaml, inCluster: _inCluster, ...rest } = base;
  const file = own.kubeconfigPath ? { kubeconfigPath: own.kubeconfigPath } : base.kubeconfigYaml !== undefined ? { kubeconfigYaml: base.kubeconfigYaml } : base.inCluster && !base.kubeconfigPath ? { inCluster: true } : {};
  return { ...rest, ...file, ...(own.context ? { context: own.context } : {}) };
}

/**
 * The adapter per cluster. `make` builds one adapter from a configuration (lazyKubeAdapter in the worker,
 * createKubeAdapter on demand in the web role); clusters that resolve to the base configuration share one.
 */
export function kubeByCluster(base: KubeAdapterConfig, perCluster: Readonly<Record<string, KubeClusterOverride>>, make: (config: KubeAdapterConfig) => KubePort): KubeForCluster {
  const made = new Map<string, KubePort>();
  return (clusterName) => {
    const key = Object.prototype.hasOwnProperty.call(perCluster, clusterName) ? `cluster:${clusterName}` : 'base';
    let port = made.get(key);
    if (!port) {
      port = make(kubeConfigForCluster(base, perCluster, clusterName));
      made.set(key, port);
    }
    return port;
  };
}

/**
 * Parses `blue=value,green=value` (commas or spaces between entries) as WID_KUBE_CONTEXTS and WID_KUBECONFIGS
 * take it. Refuses names the policy does not know and names given twice, saying which.
 */
export function parseClusterMap(variable: string, raw: string, known: readonly string[], what: string): { map: Record<string, string>; problems: string[] } {
  const map: Record<string, string> = {};
  const problems: string[] = [];
  for (const entry of raw.split(/[\s,]+/).filter((e) => e !== '')) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    const value = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (name === '' || value === '') {
      problems.push(`${variable} entry "${entry.slice(0, 80)}" is not <cluster>=<${what}> (e.g. ${variable}=blue=…,green=…)`);
      continue;
    }
    if (!known.includes(name)) {
      problems.push(`${variable} names the cluster "${name.slice(0, 40)}", which is not in the policy (clusters: ${known.join(', ') || 'none'})`);
      continue;
    }
    if (map[name] !== undefined) {
      problems.push(`${variable} gives the cluster "${name}" twice; give it once`);
      continue;
    }
    map[name] = value;
  }
  return { map, problems };
}

/** Merges the per-cluster contexts and kubeconfig files into overrides. */
export function clusterOverrides(contexts: Readonly<Record<string, string>>, files: Readonly<Record<string, string>>): Record<string, KubeClusterOverride> {
  const out: Record<string, KubeClusterOverride> = {};
  for (const [name, context] of Object.entries(contexts)) out[name] = { ...out[name], context };
  for (const [name, kubeconfigPath] of Object.entries(files)) out[name] = { ...out[name], kubeconfigPath };
  return out;
}
