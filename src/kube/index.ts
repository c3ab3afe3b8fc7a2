/**
 * The Kubernetes adapter: ServiceAccounts, pods, TokenRequest and the aad-pod-identity leftovers,
 * through @kubernetes/client-node. Every failure leaves here as a RetryableError or TerminalError.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import type { AdapterCallHook, KubePort, LegacyPodIdentity, PodInfo, ServiceAccountInfo } from '../domain/ports';
import { TerminalError } from '../domain/errors';
import { kubeHttpStatus, translateKubeError, type KubeCallContext } from './errors';

export { translateKubeError, kubeStatus, rbacHint } from './errors';

export interface KubeAdapterConfig {
  /** A kubeconfig file; default KUBECONFIG, then ~/.kube/config, then in-cluster. */
  kubeconfigPath?: string;
  /** A kubeconfig as YAML text (wins over the path). */
  kubeconfigYaml?: string;
  /** Use the pod's ServiceAccount (KUBERNETES_SERVICE_HOST and the mounted token). */
  inCluster?: boolean;
  /** Context to use instead of the kubeconfig's current one. */
  context?: string;
  /** Page size for list calls (default 500). */
  pageSize?: number;
  onCall?: AdapterCallHook;
}

const AAD_POD_IDENTITY_GROUP = 'aadpodidentity.k8s.io';
const AAD_POD_IDENTITY_VERSION = 'v1';

/** Load the kubeconfig; a missing or broken one is a TerminalError that says where it looked. */
export function loadKubeConfig(config: Omit<KubeAdapterConfig, 'onCall' | 'pageSize'> = {}): KubeConfig {
  const source = config.kubeconfigYaml
    ? 'the given kubeconfig'
    : config.kubeconfigPath
      ? `the kubeconfig '${config.kubeconfigPath}'`
      : config.inCluster
        ? "the pod's in-cluster ServiceAccount"
        : 'KUBECONFIG, ~/.kube/config or the in-cluster ServiceAccount';
  try {
    const kc = new KubeConfig();
    if (config.kubeconfigYaml) kc.loadFromString(config.kubeconfigYaml);
    else if (config.kubeconfigPath) kc.loadFromFile(config.kubeconfigPath);
    else if (config.inCluster) kc.loadFromCluster();
    else kc.loadFromDefault();
    if (config.context) {
      if (!kc.getContextObject(config.context)) throw new Error(`it has no context '${config.context}' (contexts: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      kc.setCurrentContext(config.context);
    }
    if (!kc.getCurrentCluster()) throw new Error('its current context names no cluster');
    return kc;
  } catch (e) {
    throw new TerminalError(`Kubernetes: could not use ${source}: ${e instanceof Error ? e.message : String(e)}`, 'KubeConfigInvalid');
  }
}

function toServiceAccount(sa: V1ServiceAccount, namespace: string, name: string): ServiceAccountInfo {
  return {
    namespace: sa.metadata?.namespace ?? namespace,
    name: sa.metadata?.name ?? name,
    annotations: { ...(sa.metadata?.annotations ?? {}) },
    labels: { ...(sa.metadata?.labels ?? {}) },
    ...(sa.metadata?.resourceVersion ? { resourceVersion: sa.metadata.resourceVersion } : {}),
  };
}

function toPod(p: V1Pod): PodInfo {
  let azureClientIdEnv: string | undefined;
  for (const c of [...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])]) {
    const v = c.env?.find((e) => e.name === 'AZURE_CLIENT_ID' && typeof e.value === 'string');
    if (v?.value !== undefined) {
      azureClientIdEnv = v.value;
      break;
    }
  }
  return {
    namespace: p.metadata?.namespace ?? '',
    name: p.metadata?.name ?? '',
    serviceAccountName: p.spec?.serviceAccountName ?? 'default',
    labels: { ...(p.metadata?.labels ?? {}) },
    ...(azureClientIdEnv !== undefined ? { azureClientIdEnv } : {}),
    ...(p.status?.phase ? { phase: p.status.phase } : {}),
  };
}

/** A custom object as the API returns it (untyped JSON). */
interface CustomObject {
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
}

/** The generated client types custom object lists as untyped JSON; this is the shape the API returns. */
interface CustomObjectList {
  items?: CustomObject[];
  metadata?: { continue?: string };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function selectorText(v: unknown): string | undefined {
  if (typeof v === 'string') return v || undefined;
  // Newer aad-pod-identity versions accept a label selector object; show it compactly.
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return undefined;
}

function toLegacy(kind: LegacyPodIdentity['kind'], o: CustomObject): LegacyPodIdentity {
  const spec = o.spec ?? {};
  const base = { kind, namespace: o.metadata?.namespace ?? 'default', name: o.metadata?.name ?? '' };
  if (kind === 'AzureIdentity') {
    const clientId = str(spec.clientID) ?? str(spec.clientId);
    const resourceId = str(spec.resourceID) ?? str(spec.resourceId);
    // aad-pod-identity reads a missing type as 0 (user-assigned identity).
    const identityType = typeof spec.type === 'number' ? spec.type : typeof spec.type === 'string' && /^\d+$/.test(spec.type) ? Number(spec.type) : 0;
    return { ...base, ...(clientId ? { clientId } : {}), ...(resourceId ? { resourceId } : {}), identityType };
  }
  const azureIdentity = str(spec.azureIdentity);
  const selector = selectorText(spec.selector);
  return { ...base, ...(azureIdentity ? { azureIdentity } : {}), ...(selector ? { selector } : {}) };
}

export function createKubeAdapter(config: KubeAdapterConfig = {}): KubePort {
  const kc = loadKubeConfig(config);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const pageSize = config.pageSize ?? 500;

  async function call<T>(operation: string, ctx: KubeCallContext, fn: () => Promise<T>, notFound?: () => T): Promise<T> {
    const started = Date.now();
    try {
      const result = await fn();
      config.onCall?.({ system: 'kubernetes', operation, outcome: 'ok', ms: Date.now() - started });
      return result;
    } catch (e) {
      if (notFound && kubeHttpStatus(e) === 404) {
        config.onCall?.({ system: 'kubernetes', operation, outcome: 'ok', ms: Date.now() - started, code: 'NotFound' });
        return notFound();
      }
      const err = translateKubeError(e, ctx);
      config.onCall?.({ system: 'kubernetes', operation, outcome: err.kind, ms: Date.now() - started, code: err.code });
      throw err;
    }
  }

  /** Follow `continue` tokens until the list is complete. */
  async function listAll<T>(operation: string, ctx: KubeCallContext, page: (cont: string | undefined) => Promise<{ items: T[]; metadata?: { _continue?: string } }>): Promise<T[]> {
    const out: T[] = [];
    let cont: string | undefined;
    do {
      const res = await call(operation, ctx, () => page(cont));
      out.push(...res.items);
      cont = res.metadata?._continue || undefined;
    } while (cont);
    return out;
  }

  const saCtx = (verb: string, namespace?: string, name?: string): KubeCallContext => ({
    verb,
    resource: 'serviceaccounts',
    group: '',
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  });

  return {
    getServiceAccount: (namespace, name) =>
      call<ServiceAccountInfo | undefined>(
        'serviceAccounts.get',
        saCtx('get', namespace, name),
        async () => toServiceAccount(await core.readNamespacedServiceAccount({ namespace, name }), namespace, name),
        () => undefined,
      ),

    createServiceAccount: (namespace, name, annotations, labels) =>
      call('serviceAccounts.create', saCtx('create', namespace, name), async () =>
        toServiceAccount(
          await core.createNamespacedServiceAccount({
            namespace,
            body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, annotations, ...(labels && Object.keys(labels).length ? { labels } : {}) } },
          }),
          namespace,
          name,
        ),
      ),

    patchServiceAccountAnnotations: (namespace, name, annotations) =>
      call('serviceAccounts.patch', saCtx('patch', namespace, name), async () =>
        toServiceAccount(
          // Merge-patch with only the annotations: every other annotation, label and field stays as it is.
          await core.patchNamespacedServiceAccount({ namespace, name, body: { metadata: { annotations } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
          namespace,
          name,
        ),
      ),

    deleteServiceAccount: (namespace, name) =>
      call<void>(
        'serviceAccounts.delete',
        saCtx('delete', namespace, name),
        async () => {
          await core.deleteNamespacedServiceAccount({ namespace, name });
        },
        () => undefined,
      ),

    listServiceAccounts: async (namespace) => {
      const items = await listAll<V1ServiceAccount>('serviceAccounts.list', saCtx('list', namespace), (cont) =>
        namespace
          ? core.listNamespacedServiceAccount({ namespace, limit: pageSize, ...(cont ? { _continue: cont } : {}) })
          : core.listServiceAccountForAllNamespaces({ limit: pageSize, ...(cont ? { _continue: cont } : {}) }),
      );
      return items.map((sa) => toServiceAccount(sa, namespace ?? '', ''));
    },

    listPods: async (namespace) => {
      const ctx: KubeCallContext = { verb: 'list', resource: 'pods', group: '', ...(namespace ? { namespace } : {}) };
      const items = await listAll<V1Pod>('pods.list', ctx, (cont) =>
        namespace
          ? core.listNamespacedPod({ namespace, limit: pageSize, ...(cont ? { _continue: cont } : {}) })
          : core.listPodForAllNamespaces({ limit: pageSize, ...(cont ? { _continue: cont } : {}) }),
      );
      return items.map(toPod);
    },

    requestServiceAccountToken: (namespace, name, audience, expirationSeconds = 600) =>
      call('serviceAccounts.token', { verb: 'create', resource: 'serviceaccounts/token', group: '', namespace, name }, async () => {
        const res = await core.createNamespacedServiceAccountToken({
          namespace,
          name,
          body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [audience], expirationSeconds } },
        });
        const token = res.status?.token;
        if (!token) throw Object.assign(new Error('the TokenRequest answer carried no token'), { code: 'NoToken' });
        return token;
      }),

    listLegacyPodIdentities: async () => {
      const out: LegacyPodIdentity[] = [];
      for (const [kind, plural] of [
        ['AzureIdentity', 'azureidentities'],
        ['AzureIdentityBinding', 'azureidentitybindings'],
      ] as const) {
        const ctx: KubeCallContext = { verb: 'list', resource: plural, group: AAD_POD_IDENTITY_GROUP };
        let cont: string | undefined;
        do {
          // A missing CRD answers 404: no aad-pod-identity, so none of these objects.
          const page = await call<CustomObjectList | undefined>(
            `legacy.${plural}.list`,
            ctx,
            async () => (await custom.listClusterCustomObject({ group: AAD_POD_IDENTITY_GROUP, version: AAD_POD_IDENTITY_VERSION, plural, limit: pageSize, ...(cont ? { _continue: cont } : {}) })) as CustomObjectList,
            () => undefined,
          );
          for (const o of page?.items ?? []) out.push(toLegacy(kind, o));
          cont = page?.metadata?.continue || undefined;
        } while (cont);
      }
      return out;
    },

    deleteLegacyPodIdentity: async (kind, namespace, name) => {
      const plural = kind === 'AzureIdentity' ? 'azureidentities' : 'azureidentitybindings';
      // 404: already deleted (or the CRDs are gone with everything in them).
      await call(
        `legacy.${plural}.delete`,
        { verb: 'delete', resource: plural, group: AAD_POD_IDENTITY_GROUP, namespace, name },
        async () => {
          await custom.deleteNamespacedCustomObject({ group: AAD_POD_IDENTITY_GROUP, version: AAD_POD_IDENTITY_VERSION, namespace, plural, name });
        },
        () => undefined,
      );
    },
  };
}
