/**
 * The Kubernetes adapter made on its first call: @kubernetes/client-node (about 55 MB resident once
 * loaded, most of it the generated models) is loaded only when a job or an inspection first needs it.
 * The configuration check at start already refuses a KUBECONFIG that names a missing file; a kubeconfig
 * that cannot be parsed fails the first call with the TerminalError createKubeAdapter gives.
 */
import type { KubePort } from '../domain/ports';
import { onFirstCall } from '../app/on-first-call';
import type { KubeAdapterConfig } from './index';

export function lazyKubeAdapter(config: KubeAdapterConfig = {}): KubePort {
  return onFirstCall<KubePort>('the Kubernetes adapter', () => (require('./index') as typeof import('./index')).createKubeAdapter(config));
}
