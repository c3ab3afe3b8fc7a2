/**
 * The shipped deployment files: the kustomize base builds and every object is what a restricted
 * cluster accepts; RBAC grants exactly the listed permissions; the Slack app manifest, the compose
 * file and the Dockerfile say what the docs promise.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parsePolicy } from '../../../src/config/policy';
import { buildKustomization, buildWithFallback, containersOf, kubectlAvailable, podSpecOf, type BuildResult, type K8sObject } from './kustomize';

const root = path.resolve(__dirname, '../../..');
const base = path.join(root, 'manifests', 'base');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

let build: BuildResult;
beforeAll(() => {
  // Logged on purpose: CI shows which path checked the manifests.
  build = buildKustomization(base, (line) => console.log(line));
});

const ofKind = (kind: string) => build.objects.filter((o) => o.kind === kind);
const named = (kind: string, name: string) => {
  const o = build.objects.find((x) => x.kind === kind && (x.metadata.name === name || x.metadata.name.startsWith(`${name}-`)));
  if (!o) throw new Error(`no ${kind} ${name} in the build`);
  return o;
};

describe('kustomize base', () => {
  it('builds, and every document parses with the yaml package', () => {
    expect(build.objects.length).toBeGreaterThan(5);
    if (build.via === 'kubectl') {
      for (const doc of parseAllDocuments(build.yaml)) expect(doc.errors).toEqual([]);
    }
    for (const o of build.objects) {
      expect(typeof o.apiVersion).toBe('string');
      expect(typeof o.kind).toBe('string');
      expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
  });

  it('has the Namespace, both Deployments, the Service, ConfigMaps, PDBs, NetworkPolicies, ServiceAccount and RBAC', () => {
    const kinds = build.objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`).sort();
    expect(kinds).toEqual(
      [
        'ClusterRole/wid-bot-read',
        'ClusterRoleBinding/wid-bot-read',
        ...['analytics', 'payments', 'sandbox'].flatMap(() => ['Role/wid-bot-provision', 'RoleBinding/wid-bot-provision']),
        'ValidatingAdmissionPolicy/wid-bot-token-requests',
        'ValidatingAdmissionPolicy/wid-bot-serviceaccount-changes',
        'ValidatingAdmissionPolicyBinding/wid-bot-token-requests',
        'ValidatingAdmissionPolicyBinding/wid-bot-serviceaccount-changes',
        'ConfigMap/wid-bot-env',
        'ConfigMap/wid-bot-policy',
        'Deployment/wid-bot-web',
        'Deployment/wid-bot-worker',
        'HorizontalPodAutoscaler/wid-bot-web',
        'Namespace/wid',
        'NetworkPolicy/wid-bot-web',
        'NetworkPolicy/wid-bot-worker',
        'PodDisruptionBudget/wid-bot-web',
        'PodDisruptionBudget/wid-bot-worker',
        'Service/wid-bot-web',
        'ServiceAccount/wid-bot',
      ].sort(),
    );
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];
    // wid-bot's own objects live in wid; only the generated provisioning Roles live in the policy's namespaces
    for (const o of build.objects) {
      if (clusterScoped.includes(o.kind)) expect(o.metadata.namespace).toBeUndefined();
      else if (o.metadata.name === 'wid-bot-provision') expect(['analytics', 'payments', 'sandbox']).toContain(o.metadata.namespace);
      else expect(o.metadata.namespace).toBe('wid');
    }
  });

  it('the fallback build agrees with kubectl on what is built', () => {
    const fallback = buildWithFallback(base);
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`;
    expect(fallback.objects.map(key).sort()).toEqual(build.objects.map(key).sort());
    if (!kubectlAvailable()) console.log('manifests: kubectl is not installed; compared the fallback with itself only');
  });

  it('contains no Secret with data; Slack and Redis secrets are references to Secrets the operator creates', () => {
    for (const s of ofKind('Secret')) {
      expect((s as { data?: unknown }).data ?? {}).toEqual({});
      expect((s as { stringData?: unknown }).stringData ?? {}).toEqual({});
    }
    expect(ofKind('Secret')).toEqual([]);
    const kustomization = parse(read('manifests/base/kustomization.yaml')) as { secretGenerator?: unknown; resources: string[] };
    expect(kustomization.secretGenerator).toBeUndefined();
    expect(kustomization.resources.filter((r) => /secret/i.test(r))).toEqual([]);

    const refs = new Set<string>();
    for (const d of ofKind('Deployment')) {
      for (const c of containersOf(d)) {
        for (const e of c.env ?? []) {
          if (e.valueFrom?.secretKeyRef) refs.add(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
          // A secret-looking variable must never carry a literal value.
          if (/TOKEN|SECRET|REDIS_URL/.test(e.name)) expect(e.value).toBeUndefined();
        }
      }
    }
    expect([...refs].sort()).toEqual(['wid-bot-redis/REDIS_URL', 'wid-bot-slack/SLACK_BOT_TOKEN', 'wid-bot-slack/SLACK_SIGNING_SECRET']);
    // The example Secret (outside the kustomization) has exactly those keys.
    const example = parseAllDocuments(read('manifests/secret.example.yaml')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; stringData: Record<string, string> });
    const exampleKeys = example.flatMap((s) => Object.keys(s.stringData).map((k) => `${s.metadata.name}/${k}`));
    for (const r of refs) expect(exampleKeys).toContain(r);
  });

  it('Deployments run non-root, read-only, without capabilities, with seccomp, resources and probes', () => {
    const deployments = ofKind('Deployment');
    expect(deployments).toHaveLength(2);
    for (const d of deployments) {
      const spec = d.spec as { replicas?: number };
      // the web role's replicas are the HPA's (2 to 6); workers have 2 unless KEDA scales them (overlays/production)
      expect(spec.replicas).toBe(d.metadata.name === 'wid-bot-web' ? undefined : 2);
      const pod = podSpecOf(d)!;
      expect(pod.serviceAccountName).toBe('wid-bot');
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      const labels = (d.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      expect(labels['azure.workload.identity/use']).toBe('true');
      for (const c of containersOf(d)) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect((c.securityContext?.capabilities as { add?: unknown }).add).toBeUndefined();
        expect(c.securityContext?.privileged).toBeUndefined();
        expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
        expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
        expect(c.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
        expect(c.resources?.limits?.memory).toEqual(expect.any(String));
        expect(c.image).toBe('ghcr.io/your-org/wid-bot:0.1.0');
      }
    }
    expect(containersOf(named('Deployment', 'wid-bot-web'))[0]!.args).toEqual(['serve', '--role', 'web']);
    expect(containersOf(named('Deployment', 'wid-bot-worker'))[0]!.args).toEqual(['serve', '--role', 'worker']);
  });

  it('the ServiceAccount is set up for workload identity', () => {
    const sa = named('ServiceAccount', 'wid-bot');
    expect(sa.metadata.annotations?.['azure.workload.identity/client-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('the policy ConfigMap is policy.example.yaml and a valid policy', () => {
    expect(read('manifests/base/policy.yaml')).toBe(read('policy.example.yaml'));
    const cm = named('ConfigMap', 'wid-bot-policy') as K8sObject & { data: Record<string, string> };
    expect(parsePolicy(cm.data['policy.yaml']!, 'ConfigMap wid-bot-policy').clusters.length).toBeGreaterThan(0);
    const env = named('ConfigMap', 'wid-bot-env') as K8sObject & { data: Record<string, string> };
    expect(env.data.WID_POLICY_FILE).toBe('/etc/wid/policy.yaml');
    for (const d of ofKind('Deployment')) {
      expect(podSpecOf(d)!.volumes?.find((v) => v.name === 'policy')?.configMap?.name).toBe(cm.metadata.name);
    }
  });

  it('NetworkPolicies: ingress only to the web port; egress only DNS, HTTPS and Redis', () => {
    type Rule = { ports?: { port: number; protocol: string }[]; from?: unknown; to?: unknown };
    const web = named('NetworkPolicy', 'wid-bot-web').spec as { policyTypes: string[]; ingress: Rule[]; egress: Rule[] };
    const worker = named('NetworkPolicy', 'wid-bot-worker').spec as { policyTypes: string[]; ingress?: Rule[]; egress: Rule[] };
    expect(web.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(worker.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(web.ingress.flatMap((r) => r.ports ?? [])).toEqual([{ port: 3000, protocol: 'TCP' }]);
    expect(web.ingress.every((r) => r.ports && r.ports.length > 0)).toBe(true);
    expect(worker.ingress ?? []).toEqual([]);
    for (const np of [web, worker]) {
      const ports = np.egress.flatMap((r) => (r.ports ?? []).map((p) => `${p.port}/${p.protocol}`)).sort();
      // Redis: 6379 plain, 6380 Azure Cache for Redis (TLS), 10000 Azure Managed Redis (TLS)
      expect(ports).toEqual(['10000/TCP', '443/TCP', '53/TCP', '53/UDP', '6379/TCP', '6380/TCP']);
      expect(np.egress.every((r) => r.ports && r.ports.length > 0)).toBe(true);
    }
  });

  it('PodDisruptionBudgets keep one pod of each role', () => {
    for (const pdb of ofKind('PodDisruptionBudget')) expect((pdb.spec as { minAvailable: number }).minAvailable).toBe(1);
  });
});

describe('RBAC', () => {
  type RbacRule = { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[]; nonResourceURLs?: string[] };
  type Binding = K8sObject & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace?: string }[] };
  const grants = (role: K8sObject): Set<string> => {
    const granted = new Set<string>();
    for (const rule of (role as unknown as { rules: RbacRule[] }).rules) {
      expect(rule.nonResourceURLs).toBeUndefined();
      for (const g of rule.apiGroups ?? []) for (const r of rule.resources ?? []) for (const v of rule.verbs) granted.add(`${g}|${r}|${v}`);
    }
    return granted;
  };

  it('cluster-wide, wid-bot only reads: ServiceAccounts get/list, pods list, the aad-pod-identity CRDs', () => {
    const roles = ofKind('ClusterRole');
    expect(roles.map((r) => r.metadata.name)).toEqual(['wid-bot-read']);
    expect([...grants(roles[0]!)].sort()).toEqual(
      [
        '|serviceaccounts|get',
        '|serviceaccounts|list',
        '|pods|list',
        'aadpodidentity.k8s.io|azureidentities|get',
        'aadpodidentity.k8s.io|azureidentities|list',
        'aadpodidentity.k8s.io|azureidentitybindings|get',
        'aadpodidentity.k8s.io|azureidentitybindings|list',
      ].sort(),
    );
    expect((roles[0] as { aggregationRule?: unknown }).aggregationRule).toBeUndefined();
  });

  it('changes and tokens only in the policy\'s namespaces: serviceaccounts create/patch, serviceaccounts/token create, migrated aad-pod-identity objects delete', () => {
    const roles = ofKind('Role');
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(parsePolicy(read('manifests/base/policy.yaml'), 'policy.yaml').namespaces.map((n) => n.name).sort());
    for (const role of roles) {
      expect(role.metadata.name).toBe('wid-bot-provision');
      expect([...grants(role)].sort()).toEqual([
        'aadpodidentity.k8s.io|azureidentities|delete',
        'aadpodidentity.k8s.io|azureidentitybindings|delete',
        '|serviceaccounts/token|create',
        '|serviceaccounts|create',
        '|serviceaccounts|patch',
      ]);
    }
    const all = [...ofKind('ClusterRole'), ...roles].flatMap((r) => [...grants(r)]);
    expect(all.filter((g) => g.includes('*'))).toEqual([]);
    for (const r of roles) expect(['kube-system', 'kube-public', 'kube-node-lease', 'default']).not.toContain(r.metadata.namespace);
  });

  it('binds each role only to the wid-bot ServiceAccount, and nothing else is bound', () => {
    const bindings = [...ofKind('ClusterRoleBinding'), ...ofKind('RoleBinding')] as Binding[];
    expect(bindings).toHaveLength(1 + ofKind('Role').length);
    for (const b of bindings) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'wid-bot', namespace: 'wid' }]);
      if (b.kind === 'ClusterRoleBinding') expect(b.roleRef).toMatchObject({ kind: 'ClusterRole', name: 'wid-bot-read' });
      else expect(b.roleRef).toMatchObject({ kind: 'Role', name: 'wid-bot-provision' });
    }
  });
});

describe('Slack app manifest', () => {
  const manifest = parse(read('manifests/slack-app.yaml')) as {
    display_information: { name: string; description: string; long_description: string };
    features: { bot_user: { display_name: string }; slash_commands: { command: string; url: string; usage_hint: string; description: string }[] };
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean; org_deploy_enabled: boolean };
  };

  it('declares the bot user, /wid with a usage hint, interactivity and exactly the bot scopes', () => {
    expect(manifest.display_information.name).toBe('wid-bot');
    expect(manifest.display_information.description.length).toBeLessThanOrEqual(140);
    expect(manifest.display_information.long_description.length).toBeGreaterThanOrEqual(174);
    expect(manifest.features.bot_user.display_name).toBe('wid-bot');
    const wid = manifest.features.slash_commands.find((c) => c.command === '/wid');
    expect(wid?.usage_hint).toContain('request <namespace> <serviceaccount>');
    expect(wid?.url).toMatch(/^https:\/\/.+\/slack\/events$/);
    expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: wid?.url });
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual(['chat:write', 'commands', 'im:write', 'usergroups:read', 'users:read']);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    expect(manifest.settings.org_deploy_enabled).toBe(false);
  });

  it('enables the Home tab and subscribes to app_home_opened at the same URL', () => {
    const m = manifest as unknown as { features: { app_home: { home_tab_enabled: boolean } }; settings: { event_subscriptions: { request_url: string; bot_events: string[] }; interactivity: { request_url: string } } };
    expect(m.features.app_home.home_tab_enabled).toBe(true);
    expect(m.settings.event_subscriptions).toEqual({ request_url: m.settings.interactivity.request_url, bot_events: ['app_home_opened'] });
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml'), { merge: true }) as {
    services: Record<string, { image?: string; command: string[]; env_file?: string; volumes?: string[]; depends_on?: Record<string, { condition: string }>; healthcheck?: unknown; read_only?: boolean }>;
    volumes: Record<string, unknown>;
  };

  it('runs Redis 7 with AOF and noeviction on a volume', () => {
    const redis = compose.services.redis!;
    expect(redis.image).toMatch(/^redis:7/);
    const cmd = redis.command.join(' ');
    expect(cmd).toContain('--appendonly yes');
    expect(cmd).toContain('--maxmemory-policy noeviction');
    expect(redis.volumes?.some((v) => v.endsWith(':/data'))).toBe(true);
    expect(Object.keys(compose.volumes)).toContain('redis-data');
    expect(redis.healthcheck).toBeDefined();
  });

  it('runs web and worker from one image, configured from .env, with the policy read-only, after Redis is healthy', () => {
    const { web, worker } = compose.services;
    expect(web?.command).toEqual(['serve', '--role', 'web']);
    expect(worker?.command).toEqual(['serve', '--role', 'worker']);
    for (const s of [web!, worker!]) {
      expect(s.image).toBe('wid-bot:local');
      expect(s.env_file).toBe('.env');
      expect(s.volumes).toContain('./policy.yaml:/etc/wid/policy.yaml:ro');
      expect(s.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
      expect(s.read_only).toBe(true);
    }
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const froms = [...text.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => m[1]);

  it('is multi-stage on Node 20 slim, installs only production dependencies, runs as node', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[froms.length - 1]).toMatch(/^node:20(\.\d+)*-(bookworm-)?slim$/);
    expect(text).toMatch(/RUN npm ci[^\n]*\n[\s\S]*RUN npm run build/);
    expect(text).toMatch(/npm ci --omit=dev/);
    const lastStage = text.slice(text.lastIndexOf('\nFROM '));
    expect(lastStage).toMatch(/^USER node$/m);
    expect(lastStage).toMatch(/COPY --from=build \/app\/dist/);
    expect(lastStage).toContain('ENTRYPOINT ["node", "dist/cli.js"]');
    expect(lastStage).toContain('CMD ["serve"]');
    expect(lastStage).toMatch(/HEALTHCHECK[\s\S]*\/healthz/);
  });

  it('.dockerignore keeps secrets and local state out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['.env', 'node_modules', '.git', 'kubeconfig']) expect(ignored).toContain(entry);
  });
});

describe('overlay with-redis', () => {
  let overlay: BuildResult;
  beforeAll(() => {
    overlay = buildKustomization(path.join(root, 'manifests', 'overlays', 'with-redis'), (line) => console.log(line));
  });

  it('adds a Redis with AOF and noeviction, and nothing that grants or holds secrets', () => {
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`;
    const added = overlay.objects.map(key).filter((k) => !build.objects.map(key).includes(k)).sort();
    expect(added).toEqual(['NetworkPolicy/wid-redis', 'Service/wid-redis', 'StatefulSet/wid-redis']);
    const redis = overlay.objects.find((o) => o.kind === 'StatefulSet')!;
    const args = containersOf(redis)[0]!.args!.join(' ');
    expect(args).toContain('--appendonly yes');
    expect(args).toContain('--maxmemory-policy noeviction');
    expect(redis.metadata.namespace).toBe('wid');
    expect(overlay.objects.filter((o) => ['Secret', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(o.kind)).map(key).sort()).toEqual([
      'ClusterRole/wid-bot-read',
      'ClusterRoleBinding/wid-bot-read',
      ...build.objects.filter((o) => o.kind === 'Role' || o.kind === 'RoleBinding').map(key),
    ].sort());
  });

  it('every workload meets the restricted Pod Security Standard the namespace enforces', () => {
    const workloads = overlay.objects.filter((o) => podSpecOf(o));
    expect(workloads.length).toBe(3);
    for (const w of workloads) {
      expect(podSpecOf(w)!.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of containersOf(w)) {
        expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      }
    }
  });
});
