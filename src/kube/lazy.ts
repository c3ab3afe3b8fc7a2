/**
 * The Kubernetes adapter made on its first call: @kubernetes/client-node (about 55 MB resident once
 * loaded, most of it the generated models) is loaded only when a job or an inspection first needs it.
 * What can be checked without it is checked at start, as before: the configuration check refuses a
 * KUBECONFIG naming a missing file, and here each named kubeconfig must be a YAML mapping. Anything
 * client-node refuses beyond that fails the first call with the TerminalError createKubeAdapter gives.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { KubePort } from '../domain/ports';
import { TerminalError } from '../domain/errors';
import { onFirstCall } from '../app/on-first-call';
import type { KubeAdapterConfig } from './index';

/** Checks one kubeconfig's text; returns the names of its contexts. */
function checkKubeconfigText(text: string, source: string): string[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new TerminalError(`Kubernetes: could not use ${source}: it is not YAML (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`, 'KubeConfigInvalid');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TerminalError(`Kubernetes: could not use ${source}: a kubeconfig is a YAML mapping with clusters, users, contexts and current-context`, 'KubeConfigInvalid');
  }
  const contexts = (doc as { contexts?: unknown }).contexts;
  return Array.isArray(contexts) ? contexts.map((c) => (typeof c === 'object' && c !== null ? (c as { name?: unknown }).name : undefined)).filter((n): n is string => typeof n === 'string') : [];
}

/** A cluster's context (WID_KUBE_CONTEXTS) must be in its kubeconfig: said at start, not at the first job. */
function checkContext(context: string | undefined, names: readonly string[], source: string): void {
  if (context !== undefined && !names.includes(context)) {
    throw new TerminalError(`Kubernetes: could not use ${source}: it has no context '${context}' (contexts: ${names.join(', ') || 'none'})`, 'KubeConfigInvalid');
  }
}

export function lazyKubeAdapter(config: KubeAdapterConfig = {}): KubePort {
  if (config.kubeconfigYaml !== undefined) checkContext(config.context, checkKubeconfigText(config.kubeconfigYaml, 'the given kubeconfig'), 'the given kubeconfig');
  else if (config.kubeconfigPath) {
    const names: string[] = [];
    for (const file of config.kubeconfigPath.split(path.delimiter).filter((p) => p !== '')) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new TerminalError(`Kubernetes: could not use the kubeconfig '${file}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : 'it cannot be read'}`, 'KubeConfigInvalid');
      }
      names.push(...checkKubeconfigText(text, `the kubeconfig '${file}'`));
    }
    checkContext(config.context, names, `the kubeconfig '${config.kubeconfigPath}'`);
  }
  return onFirstCall<KubePort>('the Kubernetes adapter', () => (require('./index') as typeof import('./index')).createKubeAdapter(config));
}
