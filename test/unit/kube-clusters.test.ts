/**
 * Per-cluster Kubernetes configuration: WID_KUBE_CONTEXTS / WID_KUBECONFIGS parsing and which adapter each
 * policy cluster gets.
 */
import { clusterOverrides, kubeByCluster, kubeConfigForCluster, parseClusterMap } from '../../src/kube/clusters';
import type { KubeAdapterConfig } from '../../src/kube';
import { lazyKubeAdapter } from '../../src/kube/lazy';
import type { KubePort } from '../../src/domain/ports';

describe('parseClusterMap', () => {
  const known = ['blue', 'green'];
  it('reads blue=x,green=y with commas or spaces', () => {
    expect(parseClusterMap('WID_KUBE_CONTEXTS', 'blue=aks-blue, green=aks-green', known, 'context')).toEqual({ map: { blue: 'aks-blue', green: 'aks-green' }, problems: [] });
    expect(parseClusterMap('WID_KUBECONFIGS', 'green=/etc/wid/k=green', known, 'file').map).toEqual({ green: '/etc/wid/k=green' });
  });
  it('refuses unknown clusters, repeats and entries without a value, saying which', () => {
    const r = parseClusterMap('WID_KUBE_CONTEXTS', 'purple=x,blue=a,blue=b,green=,=z', known, 'context');
    expect(r.map).toEqual({ blue: 'a' });
    expect(r.problems).toEqual([
      'WID_KUBE_CONTEXTS names the cluster "purple", which is not in the policy (clusters: blue, green)',
      'WID_KUBE_CONTEXTS gives the cluster "blue" twice; give it once',
      'WID_KUBE_CONTEXTS entry "green=" is not <cluster>=<context> (e.g. WID_KUBE_CONTEXTS=blue=…,green=…)',
      'WID_KUBE_CONTEXTS entry "=z" is not <cluster>=<context> (e.g. WID_KUBE_CONTEXTS=blue=…,green=…)',
    ]);
  });
});

describe('kube per cluster', () => {
  const base: KubeAdapterConfig = { kubeconfigPath: '/etc/wid/kubeconfig', pageSize: 100 };
  const overrides = clusterOverrides({ blue: 'aks-blue', green: 'aks-green' }, { green: '/etc/wid/kubeconfig-green' });

  it('a named cluster gets its context (and its own file); others keep the base', () => {
    expect(kubeConfigForCluster(base, overrides, 'blue')).toEqual({ kubeconfigPath: '/etc/wid/kubeconfig', pageSize: 100, context: 'aks-blue' });
    expect(kubeConfigForCluster(base, overrides, 'green')).toEqual({ kubeconfigPath: '/etc/wid/kubeconfig-green', pageSize: 100, context: 'aks-green' });
    expect(kubeConfigForCluster(base, overrides, 'red')).toBe(base);
    expect(kubeConfigForCluster({ inCluster: true }, { green: { context: 'g' } }, 'green')).toEqual({ inCluster: true, context: 'g' });
    expect(kubeConfigForCluster(base, { toString: { context: 'x' } } as never, 'constructor')).toBe(base);
  });

  it('each cluster’s adapter is made once; clusters without settings share the base one', () => {
    const made: KubeAdapterConfig[] = [];
    const forCluster = kubeByCluster(base, { green: { kubeconfigPath: '/g' } }, (c) => {
      made.push(c);
      return { made: made.length } as unknown as KubePort;
    });
    const g1 = forCluster('green');
    const b1 = forCluster('blue');
    expect(forCluster('green')).toBe(g1);
    expect(forCluster('red')).toBe(b1);
    expect(made).toEqual([{ kubeconfigPath: '/g', pageSize: 100 }, base]);
  });
});

describe('a cluster context checked at start', () => {
  const yaml = 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: aks-blue, context: {cluster: c, user: u}}]\ncurrent-context: aks-blue\n';
  it('a context the kubeconfig has is taken; one it lacks is refused, naming those it has', () => {
    expect(() => lazyKubeAdapter({ kubeconfigYaml: yaml, context: 'aks-blue' })).not.toThrow();
    expect(() => lazyKubeAdapter({ kubeconfigYaml: yaml, context: 'aks-green' })).toThrow(expect.objectContaining({ code: 'KubeConfigInvalid', message: "Kubernetes: could not use the given kubeconfig: it has no context 'aks-green' (contexts: aks-blue)" }));
  });
});
