/**
 * Builds a kustomization the way `kubectl kustomize` does for the features manifests/base uses, for
 * machines without kubectl: resources, namespace, labels, configMapGenerator (without the name hash)
 * and images. Anything else in the kustomization is refused, so the fallback never passes by ignoring it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
};

export interface BuildResult {
  /** Which path produced the objects. */
  via: 'kubectl' | 'fallback';
  yaml: string;
  objects: K8sObject[];
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'ValidatingAdmissionPolicy',
  'ValidatingAdmissionPolicyBinding',
]);
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'configMapGenerator', 'images']);

/** The kubectl binary; KUBECTL names another (or a missing one, to exercise the fallback). */
const kubectl = (): string => process.env.KUBECTL || 'kubectl';

export function kubectlAvailable(): boolean {
  try {
    execFileSync(kubectl(), ['version', '--client'], { stdio: 'ignore', timeout: 15000 });
    return true;
  } catch {
    return false;
  }
}

/** Every document of a multi-document YAML text; throws on the first YAML error. */
export function parseDocuments(text: string, source: string): K8sObject[] {
  const docs = parseAllDocuments(text);
  const out: K8sObject[] = [];
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${source}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v: unknown = d.toJS();
    if (v !== null && v !== undefined) out.push(v as K8sObject);
  }
  return out;
}

export function buildWithKubectl(dir: string): BuildResult {
  const yaml = execFileSync(kubectl(), ['kustomize', dir], { encoding: 'utf8', timeout: 60000 });
  return { via: 'kubectl', yaml, objects: parseDocuments(yaml, `kubectl kustomize ${dir}`) };
}

interface Kustomization {
  namespace?: string;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  resources?: string[];
  configMapGenerator?: { name: string; namespace?: string; files?: string[]; literals?: string[] }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

export function buildWithFallback(dir: string): BuildResult {
  const objects = buildDir(dir);
  const yaml = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  return { via: 'fallback', yaml, objects };
}

function buildDir(dir: string): K8sObject[] {
  const k = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization & Record<string, unknown>;
  const unknown = Object.keys(k).filter((f) => !SUPPORTED_FIELDS.has(f));
  if (unknown.length) throw new Error(`the fallback kustomize build does not support ${unknown.join(', ')} in ${dir}/kustomization.yaml; install kubectl`);
  const objects: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (statSync(p).isDirectory()) objects.push(...buildDir(p));
    else objects.push(...parseDocuments(readFileSync(p, 'utf8'), p));
  }
  for (const g of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const f of g.files ?? []) data[path.basename(f)] = readFileSync(path.resolve(dir, f), 'utf8');
    for (const l of g.literals ?? []) {
      const i = l.indexOf('=');
      data[l.slice(0, i)] = l.slice(i + 1);
    }
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name, ...(g.namespace ? { namespace: g.namespace } : {}) }, data });
  }
  for (const o of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const l of k.labels ?? []) o.metadata.labels = { ...o.metadata.labels, ...l.pairs };
    for (const c of containersOf(o)) {
      const img = (k.images ?? []).find((i) => i.name === c.image);
      if (img) c.image = `${img.newName ?? img.name}${img.newTag ? `:${img.newTag}` : ''}`;
    }
  }
  return objects;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  securityContext?: Record<string, unknown>;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

export interface PodSpec {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}

export function podSpecOf(o: K8sObject): PodSpec | undefined {
  const spec = o.spec as { template?: { spec?: PodSpec } } | undefined;
  return spec?.template?.spec;
}

export function containersOf(o: K8sObject): Container[] {
  const p = podSpecOf(o);
  return p ? [...(p.initContainers ?? []), ...p.containers] : [];
}

/** Build with kubectl when it is installed, otherwise with the fallback; say which. */
export function buildKustomization(dir: string, log: (line: string) => void): BuildResult {
  if (kubectlAvailable()) {
    log(`manifests: building ${dir} with kubectl kustomize`);
    return buildWithKubectl(dir);
  }
  log(`manifests: kubectl is not installed; building ${dir} with the built-in fallback (resources, namespace, labels, configMapGenerator, images)`);
  return buildWithFallback(dir);
}
