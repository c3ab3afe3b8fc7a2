/**
 * Kubernetes API emulator: an in-memory API server for one AKS cluster, over HTTPS at 127.0.0.1 with
 * the test world's certificate, accepting only its bearer tokens.
 * Namespaces, ServiceAccounts (create/get/list/update/patch/delete, TokenRequest), Pods, and the
 * aad-pod-identity custom resources, with the API server's Status bodies, resourceVersion
 * conflicts, label selectors and RBAC denials. It also serves the cluster's OIDC issuer
 * (discovery document and JWKS) the way AKS publishes it — `https://<host>/<tenant>/<cluster guid>/`,
 * anonymous — so Entra can verify its tokens.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { stringify as toYaml } from 'yaml';
import { EmulatorControls } from '../common/controls';
import { close, listen, readBody, sendJson } from '../common/http';
import { testTls } from '../common/tls';
import { newSigningKey, signJwt, type PublicJwk, type SigningKey } from '../entra/jwt';
import { matchesSelector, parseSelector, SelectorError, type Requirement } from './labels';
import { jsonPatch, mergePatch, PatchError, strategicMergePatch, type Json } from './patch';
import {
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  invalid,
  KubeStatusError,
  methodNotAllowed,
  notFound,
  resourceNotServed,
  unauthorized,
  type ResourceRef,
  type StatusCause,
} from './status';
import { stringMapError, validateLabelsAndAnnotations, validateName } from './validate';
import { discoveryDocument } from './discovery';
import { toTable, wantsTable } from './table';
import {
  AZURE_IDENTITIES,
  AZURE_IDENTITY_BINDINGS,
  CORE_TYPES,
  NAMESPACES,
  PODS,
  POD_IDENTITY_GROUP,
  POD_IDENTITY_TYPES,
  SERVICE_ACCOUNTS,
  type KubeObject,
  type ObjectMeta,
  type ResourceType,
} from './resources';

export type { KubeObject, ObjectMeta } from './resources';

export interface EnvVar {
  name: string;
  value?: string;
}

export interface KubeDenyRule {
  /** get, list, create, update, patch, delete (watch is not served). */
  verb: string;
  /** Plural resource, with subresource when there is one: `serviceaccounts`, `serviceaccounts/token`, `pods`, `azureidentities`. */
  resource: string;
  /** Only in this namespace; cluster-wide lists match only a rule without a namespace. */
  namespace?: string;
  name?: string;
  /** Only for this user (see `users`); every user otherwise. */
  user?: string;
}

export interface KubeEmulatorOptions {
  /** Namespaces to create at start, besides default, kube-system, kube-public and kube-node-lease. */
  namespaces?: string[];
  /** Give every namespace its `default` ServiceAccount, as the cluster's ServiceAccount controller does (default true). */
  defaultServiceAccounts?: boolean;
  /** Whether the aad-pod-identity CRDs (AzureIdentity, AzureIdentityBinding) are installed (default false). */
  podIdentityCrds?: boolean;
  /**
   * The Azure Workload Identity mutating webhook: a pod created with label azure.workload.identity/use=true
   * whose ServiceAccount has a client-id annotation gets AZURE_* env vars (default true; `false` = not installed).
   */
  workloadIdentityWebhook?: boolean | { tenantId?: string; authorityHost?: string };
  /** Certificate and key to serve HTTPS with (default the test run's, see common/tls). */
  tls?: { certPem: string; keyPem: string };
  /** Tenant in the issuer path, as AKS puts it there (default a random GUID). */
  tenantId?: string;
  /** Cluster id in the issuer path (default a random GUID). */
  clusterId?: string;
  /** What `/version` reports (default 1.30.5, the ARM emulator's default kubernetesVersion). */
  kubernetesVersion?: string;
  /** Issuer path, with AKS's trailing slash (default `/<tenantId>/<clusterId>/`). */
  issuerPath?: string;
  /**
   * Origin the issuer URL names instead of the emulator's own, e.g. `https://westeurope.oic.prod-aks.azure.com`
   * (AKS's issuer host); the discovery document and keys are still served here, and whoever fetches them maps
   * that host to this emulator (the Entra emulator's `issuerHosts`).
   */
  issuerOrigin?: string;
  /** Bearer tokens accepted (default only the kubeconfig token); anything else is 401 Unauthorized. */
  tokens?: string[];
  /** Token → user name, for RBAC messages and per-user deny rules. */
  users?: Record<string, string>;
  /** User name of callers not listed in `users` (default `system:serviceaccount:wid:wid-bot`). */
  userName?: string;
  /** Token written into kubeconfig() (default `wid-test-token`). */
  kubeconfigToken?: string;
  port?: number;
  controls?: EmulatorControls;
  /** Clock in ms (tests of expiry). */
  now?: () => number;
}

export interface SeedServiceAccount {
  namespace: string;
  name: string;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface SeedPod {
  namespace: string;
  name: string;
  serviceAccountName?: string;
  labels?: Record<string, string>;
  /** Env of the first container. */
  env?: EnvVar[] | Record<string, string>;
  /** Full container list instead of one container named after the pod. */
  containers?: { name: string; image?: string; env?: EnvVar[] }[];
}

export interface TokenRequestInput {
  namespace: string;
  name: string;
  audiences?: string[];
  expirationSeconds?: number;
}

export interface KubeconfigOptions {
  token?: string;
  namespace?: string;
  contextName?: string;
  /** A file holding the CA PEM, named by `certificate-authority`. */
  caFile?: string;
}

export interface KubeEmulator {
  /** Base URL, e.g. https://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  readonly controls: EmulatorControls;
  /** The cluster's OIDC issuer URL, `${url}/<tenantId>/<clusterId>/` (AKS's shape, trailing slash included). */
  readonly issuerUrl: string;
  readonly clusterId: string;
  readonly tenantId: string;
  /** The PEM certificate the server presents (its own CA). */
  readonly caPem: string;
  /**
   * YAML kubeconfig pointing at this emulator with a bearer token and the CA to verify it:
   * `certificate-authority: <caFile>` when a file is given, the PEM inline (`certificate-authority-data`) otherwise.
   */
  kubeconfig(opts?: KubeconfigOptions): string;
  /** Write kubeconfig() to `path` and return the path. */
  writeKubeconfig(path: string, opts?: KubeconfigOptions): string;
  seedNamespace(name: string, labels?: Record<string, string>): KubeObject;
  seedServiceAccount(sa: SeedServiceAccount): KubeObject;
  seedPod(pod: SeedPod): KubeObject;
  seedAzureIdentity(i: { namespace: string; name: string; clientID: string; resourceID: string; type?: number }): KubeObject;
  seedAzureIdentityBinding(b: { namespace: string; name: string; azureIdentity: string; selector: string }): KubeObject;
  /** Install or uninstall the aad-pod-identity CRDs (uninstalling drops their objects). */
  setPodIdentityCrds(installed: boolean): void;
  namespaces(): string[];
  serviceAccounts(namespace?: string): KubeObject[];
  getServiceAccount(namespace: string, name: string): KubeObject | undefined;
  pods(namespace?: string): KubeObject[];
  /** Deny a verb on a resource (403 Forbidden); returns a function that lifts this denial. */
  deny(rule: KubeDenyRule): () => void;
  clearDenials(): void;
  /** Sign a ServiceAccount token directly (what TokenRequest returns), for tests that need one without HTTP. */
  issueToken(req: TokenRequestInput): string;
  /** The issuer's current JWKS. */
  jwks(): { keys: PublicJwk[] };
  /** A recreated cluster: new cluster id, issuer URL and signing key; the old issuer stops being served. Returns the new issuer URL. */
  rotateIssuer(opts?: { clusterId?: string; issuerPath?: string }): string;
  close(): Promise<void>;
}

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const TOKEN_SUBRESOURCE: ResourceRef = { resource: 'serviceaccounts', group: '' };
const MIN_TOKEN_SECONDS = 600;
const DEFAULT_TOKEN_SECONDS = 3600;

/** RFC 3339 to the second, as the API server writes timestamps. */
function timestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export async function startKubeEmulator(options: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  const controls = options.controls ?? new EmulatorControls();
  const now = options.now ?? Date.now;
  const defaultUser = options.userName ?? 'system:serviceaccount:wid:wid-bot';
  const withDefaultSa = options.defaultServiceAccounts ?? true;
  const tls = options.tls ?? (await testTls());
  const tenantId = options.tenantId ?? randomUUID();
  const kubernetesVersion = options.kubernetesVersion ?? '1.30.5';
  const kubeconfigToken = options.kubeconfigToken ?? options.tokens?.[0] ?? 'wid-test-token';
  const acceptedTokens = new Set(options.tokens ?? [kubeconfigToken]);
  let clusterId = options.clusterId ?? randomUUID();
  let issuerPath = normaliseIssuerPath(options.issuerPath ?? `/${tenantId}/${clusterId}/`);
  const retiredIssuers = new Set<string>();
  // Made on first use: RSA key generation costs ~0.2 s and most tests never sign a token.
  let signingKeyCache: SigningKey | undefined;
  const signingKey = (): SigningKey => (signingKeyCache ??= newSigningKey());
  let podIdentityInstalled = options.podIdentityCrds ?? false;
  let revision = 1000;
  let denials: KubeDenyRule[] = [];
  /** resource → "namespace/name" → object */
  const stores = new Map<string, Map<string, KubeObject>>();
  for (const t of [...CORE_TYPES, ...POD_IDENTITY_TYPES]) stores.set(t.resource, new Map());

  let baseUrl = '';
  const issuerUrl = (): string => `${options.issuerOrigin?.replace(/\/+$/, '') ?? baseUrl}${issuerPath}`;
  const nextVersion = (): string => String(++revision);
  const store = (t: ResourceType): Map<string, KubeObject> => stores.get(t.resource) as Map<string, KubeObject>;
  const key = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

  function typesServed(): ResourceType[] {
    return podIdentityInstalled ? [...CORE_TYPES, ...POD_IDENTITY_TYPES] : CORE_TYPES;
  }

  /** Store a new object with the fields the API server sets on create. */
  function insert(t: ResourceType, obj: KubeObject): KubeObject {
    obj.metadata.uid = randomUUID();
    obj.metadata.resourceVersion = nextVersion();
    obj.metadata.creationTimestamp = timestamp(now());
    if (!t.builtin) obj.metadata.generation = 1;
    obj.metadata = orderMeta(obj.metadata);
    store(t).set(key(obj.metadata.namespace, obj.metadata.name), obj);
    if (t === NAMESPACES && withDefaultSa) {
      insert(SERVICE_ACCOUNTS, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: blankMeta('default', obj.metadata.name) });
    }
    return obj;
  }

  function blankMeta(name: string, namespace?: string): ObjectMeta {
    return { name, ...(namespace !== undefined ? { namespace } : {}), uid: '', resourceVersion: '', creationTimestamp: '' };
  }

  function namespaceObject(name: string, labels: Record<string, string> = {}): KubeObject {
    return {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { ...blankMeta(name), labels: { 'kubernetes.io/metadata.name': name, ...labels } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
  }

  function seedNamespace(name: string, labels?: Record<string, string>): KubeObject {
    const existing = store(NAMESPACES).get(key(undefined, name));
    if (existing) return clone(existing);
    return clone(insert(NAMESPACES, namespaceObject(name, labels)));
  }

  for (const ns of [...BUILTIN_NAMESPACES, ...(options.namespaces ?? [])]) seedNamespace(ns);

  function requireNamespace(namespace: string): void {
    if (!store(NAMESPACES).has(key(undefined, namespace))) throw notFound(NAMESPACES, namespace);
  }

  function podObject(p: SeedPod): KubeObject {
    const env: EnvVar[] = Array.isArray(p.env) ? p.env : Object.entries(p.env ?? {}).map(([name, value]) => ({ name, value }));
    const containers = p.containers ?? [{ name: p.name, image: 'mcr.microsoft.com/azure-cli', env }];
    const sa = p.serviceAccountName ?? 'default';
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...blankMeta(p.name, p.namespace), ...(p.labels ? { labels: { ...p.labels } } : {}) },
      spec: {
        containers: containers.map((c) => ({ name: c.name, image: c.image ?? 'mcr.microsoft.com/azure-cli', ...(c.env && c.env.length ? { env: c.env } : {}) })),
        restartPolicy: 'Always',
        serviceAccountName: sa,
        serviceAccount: sa,
      },
      // A seeded pod has been scheduled and started: every container ready, as the kubelet reports it.
      status: {
        phase: 'Running',
        containerStatuses: containers.map((c) => ({ name: c.name, ready: true, restartCount: 0, started: true, image: c.image ?? 'mcr.microsoft.com/azure-cli', state: { running: {} } })),
      },
    };
  }

  const webhook = options.workloadIdentityWebhook ?? true;

  /** What the workload identity webhook does at pod admission: add the AZURE_* env vars a container lacks. */
  function mutateWorkloadIdentity(pod: KubeObject): void {
    if (webhook === false || pod.metadata.labels?.['azure.workload.identity/use'] !== 'true') return;
    const spec = pod.spec as { serviceAccountName?: string; containers?: { env?: EnvVar[] }[] };
    const sa = store(SERVICE_ACCOUNTS).get(key(pod.metadata.namespace, spec.serviceAccountName ?? 'default'));
    const clientId = sa?.metadata.annotations?.['azure.workload.identity/client-id'];
    if (!clientId) return;
    const cfg = typeof webhook === 'object' ? webhook : {};
    const inject: EnvVar[] = [
      { name: 'AZURE_CLIENT_ID', value: clientId },
      { name: 'AZURE_TENANT_ID', value: sa?.metadata.annotations?.['azure.workload.identity/tenant-id'] ?? cfg.tenantId ?? '' },
      { name: 'AZURE_FEDERATED_TOKEN_FILE', value: '/var/run/secrets/azure/tokens/azure-identity-token' },
      { name: 'AZURE_AUTHORITY_HOST', value: cfg.authorityHost ?? 'https://login.microsoftonline.com/' },
    ];
    for (const c of spec.containers ?? []) {
      const env = c.env ?? [];
      for (const e of inject) if (!env.some((x) => x.name === e.name)) env.push(e);
      c.env = env;
    }
  }

  function seed(t: ResourceType, obj: KubeObject): KubeObject {
    const ns = obj.metadata.namespace as string;
    if (!store(NAMESPACES).has(key(undefined, ns))) seedNamespace(ns);
    if (t === PODS) mutateWorkloadIdentity(obj);
    const k = key(ns, obj.metadata.name);
    if (store(t).has(k)) throw new Error(`${t.resource} "${ns}/${obj.metadata.name}" already exists`);
    return clone(insert(t, obj));
  }

  // ───────────────────────── request handling ─────────────────────────

  function userOf(req: IncomingMessage): string {
    const token = bearer(req);
    return (token && options.users?.[token]) || defaultUser;
  }

  function bearer(req: IncomingMessage): string | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    return m?.[1];
  }

  function authorize(req: IncomingMessage, verb: string, route: Route): void {
    const resourceWithSub = route.subresource ? `${route.type.resource}/${route.subresource}` : route.type.resource;
    const user = userOf(req);
    const nsForRule = route.type === NAMESPACES ? route.name : route.namespace;
    const denied = denials.some(
      (d) =>
        d.verb === verb &&
        d.resource === resourceWithSub &&
        (d.namespace === undefined || d.namespace === nsForRule) &&
        (d.name === undefined || d.name === route.name) &&
        (d.user === undefined || d.user === user),
    );
    if (denied) {
      const scopeNs = route.type.namespaced ? route.namespace : undefined;
      throw forbidden(route.type, user, verb, resourceWithSub, scopeNs, route.name);
    }
  }

  function route(group: string, version: string, rest: string[]): Route {
    const served = typesServed();
    const find = (resource: string | undefined): ResourceType => {
      const t = served.find((x) => x.resource === resource && x.group === group);
      if (!t || version !== 'v1') throw resourceNotServed();
      return t;
    };
    const [a, b, c, d, e, ...more] = rest;
    if (more.length > 0 || a === undefined) throw resourceNotServed();
    if (a === 'namespaces' && group === '' && c !== undefined && b !== undefined) {
      // /namespaces/{ns}/{resource}[/{name}[/{sub}]]
      const t = find(c);
      if (!t.namespaced) throw resourceNotServed();
      if (e !== undefined && !(t === SERVICE_ACCOUNTS && e === 'token')) throw resourceNotServed();
      return { type: t, namespace: b, ...(d !== undefined ? { name: d } : {}), ...(e !== undefined ? { subresource: e } : {}) };
    }
    if (a === 'namespaces' && group !== '' && b !== undefined && c !== undefined) {
      const t = find(c);
      if (e !== undefined) throw resourceNotServed();
      return { type: t, namespace: b, ...(d !== undefined ? { name: d } : {}) };
    }
    const t = find(a);
    if (c !== undefined) throw resourceNotServed();
    if (t.namespaced && b !== undefined) throw resourceNotServed();
    return { type: t, ...(b !== undefined ? { name: b } : {}) };
  }

  function verbOf(method: string, route: Route): string {
    switch (method) {
      case 'GET':
        return route.name === undefined ? 'list' : 'get';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return route.name === undefined ? 'deletecollection' : 'delete';
      default:
        throw methodNotAllowed();
    }
  }

  function present(t: ResourceType, obj: KubeObject): KubeObject {
    const { apiVersion: _a, kind: _k, ...rest } = clone(obj);
    void _a;
    void _k;
    return { kind: t.kind, apiVersion: t.apiVersion, ...rest } as KubeObject;
  }

  function list(t: ResourceType, namespace: string | undefined, query: URLSearchParams): unknown {
    let labelReqs: Requirement[];
    try {
      labelReqs = parseSelector(query.get('labelSelector') ?? undefined);
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(e.message);
      throw e;
    }
    const fieldReqs = parseFieldSelector(t, query.get('fieldSelector') ?? undefined);
    const items = [...store(t).values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .filter((o) => matchesSelector(o.metadata.labels, labelReqs))
      .filter((o) => fieldReqs.every((r) => (fieldValue(o, r.field) === r.value) === (r.op === 'eq')))
      .sort((x, y) => key(x.metadata.namespace, x.metadata.name).localeCompare(key(y.metadata.namespace, y.metadata.name)));
    const limit = Number(query.get('limit') ?? '0');
    const cont = query.get('continue');
    let start = 0;
    if (cont) {
      const after = Buffer.from(cont, 'base64url').toString('utf8');
      start = items.findIndex((o) => key(o.metadata.namespace, o.metadata.name) > after);
      if (start < 0) start = items.length;
    }
    const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
    const remaining = items.length - start - page.length;
    const last = page[page.length - 1];
    const metadata: Record<string, unknown> = { resourceVersion: String(revision) };
    if (remaining > 0 && last) {
      metadata.continue = Buffer.from(key(last.metadata.namespace, last.metadata.name)).toString('base64url');
      metadata.remainingItemCount = remaining;
    } else if (!t.builtin) metadata.continue = '';
    return {
      kind: t.listKind,
      apiVersion: t.apiVersion,
      metadata,
      items: page.map((o) => {
        if (!t.builtin) return present(t, o);
        const { apiVersion: _a, kind: _k, ...rest } = clone(o);
        void _a;
        void _k;
        return rest;
      }),
    };
  }

  function parseFieldSelector(t: ResourceType, selector: string | undefined): { field: string; op: 'eq' | 'neq'; value: string }[] {
    if (!selector) return [];
    return selector.split(',').map((term) => {
      const m = /^([^!=]+)(==|!=|=)(.*)$/.exec(term.trim());
      if (!m || !m[1] || m[2] === undefined) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
      const field = m[1];
      const allowed = ['metadata.name', 'metadata.namespace', ...t.fields];
      if (!allowed.includes(field)) throw badRequest(`field label not supported: ${field}`);
      return { field, op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] ?? '' };
    });
  }

  function fieldValue(o: KubeObject, path: string): string {
    let cur: unknown = o;
    for (const p of path.split('.')) cur = isRecord(cur) ? cur[p] : undefined;
    return typeof cur === 'string' ? cur : '';
  }

  /** Check an object body as the API server decodes and validates it; returns it typed. */
  function admit(t: ResourceType, body: unknown, namespace: string | undefined, existing?: KubeObject): KubeObject {
    if (!isRecord(body)) throw badRequest(`${t.kind} in version "v1" cannot be handled as a ${t.kind}: the body is not a JSON object`);
    if (body.kind !== undefined && body.kind !== t.kind) {
      throw badRequest(`${t.kind} in version "v1" cannot be handled as a ${t.kind}: the object kind "${String(body.kind)}" does not match "${t.kind}"`);
    }
    const meta = isRecord(body.metadata) ? body.metadata : {};
    for (const field of ['labels', 'annotations'] as const) {
      const err = stringMapError(t.kind, field, meta[field]);
      if (err) throw badRequest(err);
    }
    if (meta.namespace !== undefined && meta.namespace !== '' && namespace !== undefined && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    let name = typeof meta.name === 'string' ? meta.name : '';
    if (!name && !existing && typeof meta.generateName === 'string' && meta.generateName) name = `${meta.generateName}${randomSuffix()}`;
    const labels = meta.labels === null ? undefined : (meta.labels as Record<string, string> | undefined);
    const annotations = meta.annotations === null ? undefined : (meta.annotations as Record<string, string> | undefined);
    const causes: StatusCause[] = [...validateName(name, t.nameRule), ...validateLabelsAndAnnotations(labels, annotations)];
    if (t === PODS) causes.push(...validatePodSpec(body.spec));
    if (causes.length > 0) throw invalid(t.kind, t.group, name, causes);
    const { apiVersion: _a, kind: _k, metadata: _m, ...fields } = body;
    void _a;
    void _k;
    void _m;
    const metadata: ObjectMeta = {
      ...meta,
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      uid: existing?.metadata.uid ?? '',
      resourceVersion: existing?.metadata.resourceVersion ?? '',
      creationTimestamp: existing?.metadata.creationTimestamp ?? '',
    };
    if (!labels || Object.keys(labels).length === 0) delete metadata.labels;
    if (!annotations || Object.keys(annotations).length === 0) delete metadata.annotations;
    const obj: KubeObject = { apiVersion: t.apiVersion, kind: t.kind, metadata: orderMeta(metadata), ...(fields as Record<string, unknown>) };
    if (t === PODS) defaultPod(obj);
    if (t === NAMESPACES) {
      obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': name };
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
    }
    return obj;
  }

  function validatePodSpec(spec: unknown): StatusCause[] {
    const containers = isRecord(spec) ? spec.containers : undefined;
    if (!Array.isArray(containers) || containers.length === 0) {
      return [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }];
    }
    return [];
  }

  function defaultPod(obj: KubeObject): void {
    const spec = obj.spec as Record<string, unknown>;
    const sa = typeof spec.serviceAccountName === 'string' && spec.serviceAccountName ? spec.serviceAccountName : 'default';
    spec.serviceAccountName = sa;
    spec.serviceAccount = sa;
    spec.restartPolicy ??= 'Always';
    obj.status ??= { phase: 'Pending' };
  }

  /** Replace a stored object unless nothing changed (then the resourceVersion stays, as on the real server). */
  function commit(t: ResourceType, existing: KubeObject, next: KubeObject, dryRun: boolean): KubeObject {
    next.metadata.uid = existing.metadata.uid;
    next.metadata.creationTimestamp = existing.metadata.creationTimestamp;
    next.metadata.resourceVersion = existing.metadata.resourceVersion;
    if (existing.metadata.generation !== undefined) next.metadata.generation = existing.metadata.generation;
    next.metadata = orderMeta(next.metadata);
    if (JSON.stringify(canonical(next)) === JSON.stringify(canonical(existing))) return clone(existing);
    if (dryRun) return next;
    next.metadata.resourceVersion = nextVersion();
    if (!t.builtin && JSON.stringify(next.spec) !== JSON.stringify(existing.spec)) next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
    store(t).set(key(next.metadata.namespace, next.metadata.name), next);
    return clone(next);
  }

  function getExisting(r: Route): KubeObject {
    const found = store(r.type).get(key(r.namespace, r.name as string));
    if (!found) throw notFound(r.type, r.name as string);
    return found;
  }

  function issueToken(req: TokenRequestInput & { pod?: KubeObject }): { token: string; audiences: string[]; expirationSeconds: number; expiresAt: number; issuedAt: number } {
    const sa = store(SERVICE_ACCOUNTS).get(key(req.namespace, req.name));
    if (!sa) throw notFound(SERVICE_ACCOUNTS, req.name);
    const audiences = req.audiences && req.audiences.length > 0 ? req.audiences : [issuerUrl()];
    const expirationSeconds = req.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
    const issuedAt = Math.floor(now() / 1000);
    const expiresAt = issuedAt + expirationSeconds;
    const kubernetesIo: Record<string, unknown> = {
      namespace: req.namespace,
      ...(req.pod ? { pod: { name: req.pod.metadata.name, uid: req.pod.metadata.uid } } : {}),
      serviceaccount: { name: req.name, uid: sa.metadata.uid },
    };
    const token = signJwt(
      {
        aud: audiences,
        exp: expiresAt,
        iat: issuedAt,
        iss: issuerUrl(),
        jti: randomUUID(),
        'kubernetes.io': kubernetesIo,
        nbf: issuedAt,
        sub: `system:serviceaccount:${req.namespace}:${req.name}`,
      },
      signingKey(),
    );
    return { token, audiences, expirationSeconds, expiresAt, issuedAt };
  }

  function tokenRequest(r: Route, body: unknown, userAgent: string | undefined): { status: number; body: unknown } {
    const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
    const name = r.name as string;
    const namespace = r.namespace as string;
    const audiences = Array.isArray(spec.audiences) ? spec.audiences.filter((a): a is string => typeof a === 'string') : [];
    const requested = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : undefined;
    const tokenKind = { kind: 'TokenRequest', group: 'authentication.k8s.io' };
    if (requested !== undefined && requested < MIN_TOKEN_SECONDS) {
      throw invalid(tokenKind.kind, tokenKind.group, name, [
        { reason: 'FieldValueInvalid', message: `Invalid value: ${requested}: may not specify a duration less than 10 minutes`, field: 'spec.expirationSeconds' },
      ]);
    }
    if (requested !== undefined && requested > 2 ** 32) {
      throw invalid(tokenKind.kind, tokenKind.group, name, [
        { reason: 'FieldValueTooLong', message: `Invalid value: ${requested}: may not specify a duration larger than 2^32 seconds`, field: 'spec.expirationSeconds' },
      ]);
    }
    let pod: KubeObject | undefined;
    const bound = spec.boundObjectRef;
    if (isRecord(bound) && bound.kind === 'Pod' && typeof bound.name === 'string') {
      pod = store(PODS).get(key(namespace, bound.name));
      if (!pod) throw notFound(PODS, bound.name);
    }
    const issued = issueToken({ namespace, name, audiences, ...(requested !== undefined ? { expirationSeconds: requested } : {}), ...(pod ? { pod } : {}) });
    const created = timestamp(issued.issuedAt * 1000);
    return {
      status: 201,
      body: {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: {
          name,
          namespace,
          creationTimestamp: created,
          managedFields: [
            {
              manager: (userAgent ?? 'unknown').split('/')[0] || 'unknown',
              operation: 'Update',
              apiVersion: 'authentication.k8s.io/v1',
              time: created,
              fieldsType: 'FieldsV1',
              fieldsV1: { 'f:spec': { 'f:expirationSeconds': {} } },
              subresource: 'token',
            },
          ],
        },
        spec: { audiences: issued.audiences, expirationSeconds: issued.expirationSeconds, boundObjectRef: isRecord(bound) ? bound : null },
        status: { token: issued.token, expirationTimestamp: timestamp(issued.expiresAt * 1000) },
      },
    };
  }

  function handleResource(method: string, r: Route, query: URLSearchParams, body: unknown, contentType: string, userAgent: string | undefined): { status: number; body: unknown } {
    const t = r.type;
    const dryRun = query.getAll('dryRun').includes('All');
    if (r.subresource === 'token') {
      if (method !== 'POST') throw methodNotAllowed();
      return tokenRequest(r, body, userAgent);
    }
    if (r.name === undefined) {
      if (method === 'GET') return { status: 200, body: list(t, r.namespace, query) };
      if (method !== 'POST') throw methodNotAllowed();
      if (t.namespaced) requireNamespace(r.namespace as string);
      if (isRecord(body) && isRecord(body.metadata) && body.metadata.resourceVersion) {
        throw new KubeStatusError(500, undefined, 'resourceVersion should not be set on objects to be created');
      }
      const obj = admit(t, body, r.namespace);
      if (store(t).has(key(r.namespace, obj.metadata.name))) throw alreadyExists(t, obj.metadata.name);
      if (t === PODS) mutateWorkloadIdentity(obj);
      if (dryRun) return { status: 201, body: present(t, obj) };
      return { status: 201, body: present(t, insert(t, obj)) };
    }
    switch (method) {
      case 'GET':
        return { status: 200, body: present(t, getExisting(r)) };
      case 'PUT': {
        const existing = getExisting(r);
        if (isRecord(body) && isRecord(body.metadata) && body.metadata.name !== undefined && body.metadata.name !== r.name) {
          throw badRequest(`the name of the object (${String(body.metadata.name)}) does not match the name on the URL (${r.name})`);
        }
        const rv = isRecord(body) && isRecord(body.metadata) ? body.metadata.resourceVersion : undefined;
        if (typeof rv === 'string' && rv !== '' && rv !== existing.metadata.resourceVersion) throw conflict(t, r.name);
        const withName = isRecord(body) ? { ...body, metadata: { ...(isRecord(body.metadata) ? body.metadata : {}), name: r.name } } : body;
        const next = admit(t, withName, r.namespace, existing);
        return { status: 200, body: present(t, commit(t, existing, next, dryRun)) };
      }
      case 'PATCH': {
        const existing = getExisting(r);
        const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
        const current = present(t, existing) as unknown as Json;
        let patched: Json;
        try {
          if (media === 'application/merge-patch+json') patched = mergePatch(current, body as Json);
          else if (media === 'application/strategic-merge-patch+json') {
            if (!t.builtin) {
              throw new KubeStatusError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
            }
            patched = strategicMergePatch(current, body as Json);
          } else if (media === 'application/json-patch+json') patched = jsonPatch(current, body);
          else {
            throw new KubeStatusError(
              415,
              'UnsupportedMediaType',
              `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${t.builtin ? ', application/strategic-merge-patch+json' : ''}`,
            );
          }
        } catch (e) {
          if (e instanceof PatchError) {
            if (e.status === 400) throw badRequest(e.message);
            throw new KubeStatusError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
              causes: [{ reason: 'UnexpectedServerResponse', message: e.message }],
            });
          }
          throw e;
        }
        if (!isRecord(patched)) throw badRequest(`${t.kind} in version "v1" cannot be handled as a ${t.kind}: the patched object is not a JSON object`);
        const meta = isRecord(patched.metadata) ? patched.metadata : {};
        if (meta.name !== r.name) throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${r.name})`);
        if (typeof meta.resourceVersion === 'string' && meta.resourceVersion !== existing.metadata.resourceVersion) throw conflict(t, r.name);
        const next = admit(t, patched, r.namespace, existing);
        return { status: 200, body: present(t, commit(t, existing, next, dryRun)) };
      }
      case 'DELETE': {
        const existing = getExisting(r);
        const pre = isRecord(body) && isRecord(body.preconditions) ? body.preconditions : {};
        if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== existing.metadata.resourceVersion) {
          throw conflict(t, r.name, `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${existing.metadata.resourceVersion}). The object might have been modified`);
        }
        if (typeof pre.uid === 'string' && pre.uid !== existing.metadata.uid) {
          throw conflict(t, r.name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`);
        }
        const out = present(t, existing);
        if (dryRun) return { status: 200, body: out };
        store(t).delete(key(r.namespace, r.name));
        if (t === NAMESPACES) {
          for (const s of stores.values()) for (const [k, o] of s) if (o.metadata.namespace === r.name) s.delete(k);
          out.metadata.deletionTimestamp = timestamp(now());
          out.status = { phase: 'Terminating' };
        }
        return { status: 200, body: out };
      }
      default:
        throw methodNotAllowed();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);
    let body: unknown;
    let malformed = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        body = raw.toString('utf8');
        malformed = true;
      }
    }
    const fault = await controls.intercept({ method, path: url.pathname, query: Object.fromEntries(url.searchParams), body, headers: req.headers });
    if (fault) {
      const headers: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {};
      const err = new KubeStatusError(fault.status, fault.code, fault.message ?? fault.code, fault.retryAfterSeconds !== undefined ? { retryAfterSeconds: fault.retryAfterSeconds } : undefined, headers);
      sendJson(res, err.code, err.body, err.headers);
      return;
    }

    // The issuer is public (AKS serves it from a separate anonymous endpoint).
    const issuerDir = issuerPath.endsWith('/') ? issuerPath : `${issuerPath}/`;
    const openidConfiguration = (jwksUri: string) => ({
      issuer: issuerUrl(),
      jwks_uri: jwksUri,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    if (method === 'GET' && url.pathname === `${issuerDir}.well-known/openid-configuration`) {
      sendJson(res, 200, openidConfiguration(`${options.issuerOrigin?.replace(/\/+$/, '') ?? baseUrl}${issuerDir}openid/v1/jwks`));
      return;
    }
    if (method === 'GET' && url.pathname === `${issuerDir}openid/v1/jwks`) {
      sendJson(res, 200, jwks(), { 'content-type': 'application/jwk-set+json' });
      return;
    }

    // An issuer no longer served (a recreated cluster) is gone for anonymous callers too.
    if (method === 'GET' && [...retiredIssuers].some((dir) => url.pathname.startsWith(dir))) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }

    try {
      const token = bearer(req);
      if (!token || !acceptedTokens.has(token)) throw unauthorized();
      const disc = method === 'GET' ? discoveryDocument(url.pathname, typesServed(), baseUrl.replace(/^https?:\/\//, ''), kubernetesVersion) : undefined;
      if (disc !== undefined) {
        sendJson(res, 200, disc);
        return;
      }
      // Service account issuer discovery on the API server itself (authenticated callers), naming the cluster's issuer.
      if (method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
        sendJson(res, 200, openidConfiguration(`${baseUrl}/openid/v1/jwks`));
        return;
      }
      if (method === 'GET' && url.pathname === '/openid/v1/jwks') {
        sendJson(res, 200, jwks(), { 'content-type': 'application/jwk-set+json' });
        return;
      }
      const segments = url.pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
      let r: Route;
      if (segments[0] === 'api' && segments[1] === 'v1') r = route('', 'v1', segments.slice(2));
      else if (segments[0] === 'apis' && segments[1] !== undefined && segments[2] !== undefined) r = route(segments[1], segments[2], segments.slice(3));
      else if (segments[0] === 'api' || segments[0] === 'apis') throw resourceNotServed();
      else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('404 page not found\n');
        return;
      }
      if (query(url, 'watch') === 'true' || query(url, 'watch') === '1') throw badRequest('watch is not supported by this API server emulator');
      const verb = verbOf(method, r);
      authorize(req, verb, r);
      if (malformed) {
        throw badRequest(`couldn't get version/kind; json parse error: invalid character in the request body`);
      }
      const out = handleResource(method, r, url.searchParams, body, String(req.headers['content-type'] ?? ''), req.headers['user-agent']);
      const table = method === 'GET' && !r.subresource ? wantsTable(req.headers.accept) : undefined;
      sendJson(res, out.status, table ? asTable(r, out.body as KubeObject & { items?: KubeObject[] }, table, url.searchParams) : out.body);
    } catch (e) {
      if (e instanceof KubeStatusError) {
        sendJson(res, e.code, e.body, e.headers);
        return;
      }
      const err = new KubeStatusError(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
      sendJson(res, 500, err.body);
    }
  }

  /** A get or list answer as the meta.k8s.io Table kubectl asked for. */
  function asTable(r: Route, answer: KubeObject & { items?: KubeObject[] }, version: 'v1' | 'v1beta1', q: URLSearchParams): unknown {
    const include = q.get('includeObject') ?? 'Metadata';
    if (include !== 'None' && include !== 'Metadata' && include !== 'Object') {
      throw badRequest(`Invalid value: "${include}": must be 'Metadata', 'Object', or 'None'`);
    }
    const items = r.name === undefined ? (answer.items ?? []).map((o) => present(r.type, o)) : [answer];
    const listMeta = r.name === undefined ? (answer.metadata as Record<string, unknown>) : { resourceVersion: answer.metadata.resourceVersion };
    return toTable(r.type, items, listMeta, { version, include, now: now() });
  }

  function query(url: URL, name: string): string | null {
    return url.searchParams.get(name);
  }

  function jwks(): { keys: PublicJwk[] } {
    return { keys: [signingKey().publicJwk] };
  }

  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, new KubeStatusError(500, 'InternalError', String(e)).body);
      else res.destroy();
    });
  });
  const port = await listen(server, options.port ?? 0);
  baseUrl = `https://127.0.0.1:${port}`;

  function kubeconfig(opts: KubeconfigOptions = {}): string {
    const name = opts.contextName ?? 'wid-test';
    const ca = opts.caFile ? { 'certificate-authority': opts.caFile } : { 'certificate-authority-data': Buffer.from(tls.certPem).toString('base64') };
    return toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { server: baseUrl, ...ca } }],
      users: [{ name: 'wid-bot', user: { token: opts.token ?? kubeconfigToken } }],
      contexts: [{ name, context: { cluster: name, user: 'wid-bot', namespace: opts.namespace ?? 'default' } }],
      'current-context': name,
      preferences: {},
    });
  }

  const emulator: KubeEmulator = {
    url: baseUrl,
    port,
    controls,
    get issuerUrl() {
      return issuerUrl();
    },
    get clusterId() {
      return clusterId;
    },
    tenantId,
    caPem: tls.certPem,
    kubeconfig,
    writeKubeconfig(path, opts) {
      writeFileSync(path, kubeconfig(opts), { mode: 0o600 });
      return path;
    },
    seedNamespace,
    seedServiceAccount(sa) {
      return seed(SERVICE_ACCOUNTS, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: {
          ...blankMeta(sa.name, sa.namespace),
          ...(sa.labels && Object.keys(sa.labels).length ? { labels: { ...sa.labels } } : {}),
          ...(sa.annotations && Object.keys(sa.annotations).length ? { annotations: { ...sa.annotations } } : {}),
        },
      });
    },
    seedPod(p) {
      return seed(PODS, podObject(p));
    },
    seedAzureIdentity(i) {
      if (!podIdentityInstalled) throw new Error('the aad-pod-identity CRDs are not installed (podIdentityCrds: false)');
      return seed(AZURE_IDENTITIES, {
        apiVersion: AZURE_IDENTITIES.apiVersion,
        kind: AZURE_IDENTITIES.kind,
        metadata: blankMeta(i.name, i.namespace),
        spec: { type: i.type ?? 0, resourceID: i.resourceID, clientID: i.clientID },
      });
    },
    seedAzureIdentityBinding(b) {
      if (!podIdentityInstalled) throw new Error('the aad-pod-identity CRDs are not installed (podIdentityCrds: false)');
      return seed(AZURE_IDENTITY_BINDINGS, {
        apiVersion: AZURE_IDENTITY_BINDINGS.apiVersion,
        kind: AZURE_IDENTITY_BINDINGS.kind,
        metadata: blankMeta(b.name, b.namespace),
        spec: { azureIdentity: b.azureIdentity, selector: b.selector },
      });
    },
    setPodIdentityCrds(installed) {
      podIdentityInstalled = installed;
      if (!installed) for (const t of POD_IDENTITY_TYPES) store(t).clear();
    },
    namespaces() {
      return [...store(NAMESPACES).values()].map((n) => n.metadata.name).sort();
    },
    serviceAccounts(namespace) {
      return [...store(SERVICE_ACCOUNTS).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).map(clone);
    },
    getServiceAccount(namespace, name) {
      const sa = store(SERVICE_ACCOUNTS).get(key(namespace, name));
      return sa ? clone(sa) : undefined;
    },
    pods(namespace) {
      return [...store(PODS).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).map(clone);
    },
    deny(rule) {
      const r = { ...rule };
      denials.push(r);
      return () => {
        denials = denials.filter((d) => d !== r);
      };
    },
    clearDenials() {
      denials = [];
    },
    issueToken(req) {
      return issueToken(req).token;
    },
    jwks,
    rotateIssuer(opts = {}) {
      retiredIssuers.add(issuerPath.endsWith('/') ? issuerPath : `${issuerPath}/`);
      clusterId = opts.clusterId ?? randomUUID();
      issuerPath = normaliseIssuerPath(opts.issuerPath ?? `/${tenantId}/${clusterId}/`);
      signingKeyCache = undefined;
      return issuerUrl();
    },
    close: () => close(server),
  };
  return emulator;
}

/** Keep a leading slash; the trailing slash is kept exactly as given (AKS issuers end with one). */
function normaliseIssuerPath(p: string): string {
  return p.startsWith('/') ? p : `/${p}`;
}

/** ObjectMeta in the API server's field order. */
function orderMeta(m: ObjectMeta): ObjectMeta {
  const order = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'labels', 'annotations'];
  const out: Record<string, unknown> = {};
  for (const k of order) if (m[k] !== undefined) out[k] = m[k];
  for (const [k, v] of Object.entries(m)) if (!(k in out) && v !== undefined) out[k] = v;
  return out as ObjectMeta;
}

/** Key-sorted copy, to compare objects regardless of field order. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]);
    return out;
  }
  return v;
}
