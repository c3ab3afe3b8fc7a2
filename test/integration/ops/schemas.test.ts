/**
 * Every kustomization of the tree, rendered by `kubectl kustomize`, checked against the Kubernetes API schemas:
 * each object is validated by the JSON-schema validator of its kind from `kubernetes-models` (the Kubernetes
 * OpenAPI schemas) or, for the CRDs, `@kubernetes-models/keda` (ScaledObject) and
 * `@kubernetes-models/prometheus-operator` (PodMonitor, PrometheusRule). A kind without a schema fails the test.
 * The alerts, the KEDA query and the dashboard may name only metrics that wid-bot exports.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Metrics } from '../../../src/observability/metrics';
import { buildKustomization, type BuildResult, type K8sObject } from './kustomize';

const root = path.resolve(__dirname, '../../..');
const TREES = ['manifests/base', 'manifests/overlays/with-redis', 'manifests/overlays/production'];

/** The npm package whose models cover an API group. */
const PACKAGE_OF_GROUP: Record<string, string> = {
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

type Model = new (data: unknown) => { validate(): void };

function modelOf(o: K8sObject): Model {
  const [group, version] = o.apiVersion.includes('/') ? (o.apiVersion.split('/') as [string, string]) : ['', o.apiVersion];
  const pkg = PACKAGE_OF_GROUP[group] ?? 'kubernetes-models';
  const modulePath = group ? `${pkg}/${group}/${version}/${o.kind}` : `${pkg}/${version}/${o.kind}`;
  let mod: Record<string, unknown>;
  try {
    mod = require(modulePath) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`no schema for ${o.apiVersion} ${o.kind} (looked for ${modulePath}): ${(e as Error).message.split('\n')[0]}`);
  }
  const model = mod[o.kind];
  if (typeof model !== 'function') throw new Error(`${modulePath} exports no ${o.kind}`);
  return model as Model;
}

const builds = new Map<string, BuildResult>();
beforeAll(() => {
  for (const t of TREES) builds.set(t, buildKustomization(path.join(root, t), (line) => console.log(line)));
});

describe.each(TREES)('%s', (tree) => {
  it('renders, and every object is valid against its Kubernetes API schema', () => {
    const build = builds.get(tree)!;
    expect(build.via).toBe('kubectl'); // components and patches need the real kustomize
    const problems: string[] = [];
    for (const o of build.objects) {
      try {
        new (modelOf(o))(o).validate();
      } catch (e) {
        problems.push(`${o.kind}/${o.metadata.name}: ${(e as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('the validator refuses what the API server would', () => {
  it.each([
    ['a ScaledObject without a target', { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'x' }, spec: { triggers: [] } }, 'scaleTargetRef'],
    ['a PrometheusRule alert without an expression', { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'x' }, spec: { groups: [{ name: 'g', rules: [{ alert: 'A' }] }] } }, 'expr'],
    ['an HPA with a string replica count', { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' }, spec: { scaleTargetRef: { kind: 'Deployment', name: 'd' }, maxReplicas: 'six' } }, 'maxReplicas'],
    ['an admission policy validation without an expression', { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'x' }, spec: { validations: [{ message: 'm' }] } }, 'expression'],
  ])('%s', (_what, o, field) => {
    expect(() => new (modelOf(o as K8sObject))(o).validate()).toThrow(field);
  });
});

describe('monitoring', () => {
  const prod = (): K8sObject[] => builds.get('manifests/overlays/production')!.objects;
  const exported = async (): Promise<Set<string>> => {
    const m = new Metrics({ queueCounts: async () => ({}), requestsByState: async () => ({}) });
    const text = await m.metricsText();
    const names = new Set<string>();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(name!);
      if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(`${name}${s}`);
    }
    return names;
  };
  /** wid_* and Node process metric names in a PromQL text. */
  const metricNames = (promql: string): string[] => [...promql.matchAll(/\b((?:wid|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);

  it('alerts cover failing requests, grants past their end, a stuck queue, Slack and Azure errors and throttling', () => {
    const rule = prod().find((o) => o.kind === 'PrometheusRule') as K8sObject & { spec: { groups: { rules: { alert: string; expr: string; labels: { severity: string } }[] }[] } };
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining(['WidBotRequestsFailing', 'WidBotGrantsPastTheirEnd', 'WidBotQueueStuck', 'WidBotSlackErrors', 'WidBotAzureErrors', 'WidBotThrottled']),
    );
    for (const a of alerts) expect(['warning', 'critical']).toContain(a.labels.severity);
  });

  it('the alerts, the KEDA query and every dashboard panel name only metrics wid-bot exports', async () => {
    const names = await exported();
    const rule = prod().find((o) => o.kind === 'PrometheusRule') as K8sObject & { spec: { groups: { rules: { expr: string }[] }[] } };
    const scaled = prod().find((o) => o.kind === 'ScaledObject') as K8sObject & { spec: { triggers: { metadata: { query: string } }[] } };
    const dashboard = JSON.parse(readFileSync(path.join(root, 'manifests/components/monitoring/wid-bot-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exprs = [
      ...rule.spec.groups.flatMap((g) => g.rules.map((r) => r.expr)),
      ...scaled.spec.triggers.map((t) => t.metadata.query),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ];
    const used = new Set(exprs.flatMap(metricNames));
    expect(used.size).toBeGreaterThan(8);
    expect([...used].filter((n) => !names.has(n)).sort()).toEqual([]);
  });

  it('the dashboard ships as a ConfigMap the Grafana sidecar loads, with the JSON unchanged', () => {
    const cm = prod().find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'wid-bot-grafana-dashboard') as K8sObject & { data: Record<string, string> };
    expect(cm.metadata.labels?.grafana_dashboard).toBe('1');
    expect(cm.data['wid-bot-dashboard.json']).toBe(readFileSync(path.join(root, 'manifests/components/monitoring/wid-bot-dashboard.json'), 'utf8'));
  });

  it('workers scale on queue depth from 2, never to zero, and the production Deployment leaves replicas to KEDA', () => {
    const scaled = prod().find((o) => o.kind === 'ScaledObject') as K8sObject & { spec: { minReplicaCount: number; maxReplicaCount: number; scaleTargetRef: { name: string } } };
    expect(scaled.spec.scaleTargetRef.name).toBe('wid-bot-worker');
    expect(scaled.spec.minReplicaCount).toBe(2);
    const worker = prod().find((o) => o.kind === 'Deployment' && o.metadata.name === 'wid-bot-worker') as K8sObject & { spec: { replicas?: number } };
    expect(worker.spec.replicas).toBeUndefined();
    const hpa = prod().find((o) => o.kind === 'HorizontalPodAutoscaler') as K8sObject & { spec: { scaleTargetRef: { name: string }; minReplicas: number } };
    expect(hpa.spec).toMatchObject({ scaleTargetRef: { name: 'wid-bot-web' }, minReplicas: 2 });
  });
});
