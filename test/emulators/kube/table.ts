/**
 * Server-side printing: the `meta.k8s.io` Table the API server answers when a client (kubectl get)
 * asks `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Columns and cells follow the API
 * server's printers (pkg/printers/internalversion) for the built-in types, and apiextensions'
 * default for custom resources without printer columns (Name, Age).
 */
import { NAMESPACES, PODS, SERVICE_ACCOUNTS, type KubeObject, type ResourceType } from './resources';

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  object?: unknown;
}

const NAME_DOC =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const AGE_DOC =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

const col = (name: string, type: string, description: string, extra: { format?: string; priority?: number } = {}): TableColumn => ({
  name,
  type,
  format: extra.format ?? '',
  description,
  priority: extra.priority ?? 0,
});
const NAME = col('Name', 'string', NAME_DOC, { format: 'name' });
const AGE = col('Age', 'string', AGE_DOC);

/** The Go `duration.HumanDuration` kubectl's AGE column shows: 45s, 3m20s, 15m, 5h10m, 3d4h, 400d, 2y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(o: KubeObject, now: number): string {
  const t = Date.parse(o.metadata.creationTimestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function array(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

interface Printer {
  columns: TableColumn[];
  cells(o: KubeObject, now: number): unknown[];
}

const PRINTERS = new Map<ResourceType, Printer>([
  [
    SERVICE_ACCOUNTS,
    {
      columns: [NAME, col('Secrets', 'integer', 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.'), AGE],
      cells: (o, now) => [o.metadata.name, array(o.secrets).length, age(o, now)],
    },
  ],
  [
    NAMESPACES,
    {
      columns: [NAME, col('Status', 'string', 'The status of the namespace'), AGE],
      cells: (o, now) => [o.metadata.name, o.metadata.deletionTimestamp ? 'Terminating' : String(record(o.status).phase ?? ''), age(o, now)],
    },
  ],
  [
    PODS,
    {
      columns: [
        NAME,
        col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
        col('Status', 'string', 'The aggregate status of the containers in this pod.'),
        col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
        AGE,
        col('IP', 'string', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', { priority: 1 }),
        col('Node', 'string', 'NodeName indicates in which node this pod is scheduled.', { priority: 1 }),
        col('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', { priority: 1 }),
        col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', { priority: 1 }),
      ],
      cells: (o, now) => {
        const spec = record(o.spec);
        const status = record(o.status);
        const statuses = array(status.containerStatuses).map(record);
        const ready = statuses.filter((s) => s.ready === true).length;
        const restarts = statuses.reduce((n, s) => n + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0);
        const reason = o.metadata.deletionTimestamp ? 'Terminating' : String(status.reason ?? status.phase ?? '');
        const gates = array(spec.readinessGates);
        return [
          o.metadata.name,
          `${ready}/${array(spec.containers).length}`,
          reason,
          String(restarts),
          age(o, now),
          typeof status.podIP === 'string' && status.podIP ? status.podIP : '<none>',
          typeof spec.nodeName === 'string' && spec.nodeName ? spec.nodeName : '<none>',
          typeof status.nominatedNodeName === 'string' && status.nominatedNodeName ? status.nominatedNodeName : '<none>',
          gates.length === 0 ? '<none>' : `0/${gates.length}`,
        ];
      },
    },
  ],
]);

/** apiextensions' default for a CRD without additionalPrinterColumns: Name, then Age from creationTimestamp. */
const CUSTOM_RESOURCE: Printer = {
  columns: [NAME, col('Age', 'date', AGE_DOC)],
  cells: (o, now) => [o.metadata.name, age(o, now)],
};

/** What the client asked for with `Accept`: a Table (and which meta.k8s.io version), or the object itself. */
export function wantsTable(accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  for (const part of (accept ?? '').split(',')) {
    const [media, ...params] = part.split(';').map((s) => s.trim());
    const p = new Map(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (media === 'application/json' && p.get('as') === 'Table' && p.get('g') === 'meta.k8s.io' && (p.get('v') === 'v1' || p.get('v') === 'v1beta1')) {
      return p.get('v') as 'v1' | 'v1beta1';
    }
    // The first acceptable plain form wins over later Table offers, as in the server's negotiation.
    if ((media === 'application/json' || media === '*/*') && !p.has('as')) return undefined;
  }
  return undefined;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/**
 * A Table of `items` (full objects as the API returns them, kind/apiVersion included); `listMeta`
 * is the list's metadata (resourceVersion, continue) or the object's resourceVersion for a get.
 */
export function toTable(t: ResourceType, items: KubeObject[], listMeta: Record<string, unknown>, opts: { version: 'v1' | 'v1beta1'; include: IncludeObject; now: number }): unknown {
  const printer = PRINTERS.get(t) ?? CUSTOM_RESOURCE;
  const rows: TableRow[] = items.map((o) => {
    const row: TableRow = { cells: printer.cells(o, opts.now) };
    if (opts.include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${opts.version}`, metadata: o.metadata };
    else if (opts.include === 'Object') row.object = o;
    return row;
  });
  return { kind: 'Table', apiVersion: `meta.k8s.io/${opts.version}`, metadata: listMeta, columnDefinitions: printer.columns, rows };
}
