/**
 * The Kubernetes API emulator against the upstream wire examples and through @kubernetes/client-node:
 * Status bodies, ServiceAccount lifecycle, patch flavours, conflicts, selectors, RBAC denials, pods,
 * aad-pod-identity CRDs, TokenRequest and the cluster's OIDC issuer.
 */
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { expectSameShape } from '../../emulators/common/shape';
import { decodeJwt, verifyRs256 } from '../../emulators/entra/jwt';
import { startKubeEmulator, type KubeEmulator } from '../../emulators/kube/index';
import { humanDuration } from '../../emulators/kube/table';
import { startWorld, WORLD } from '../../emulators/world';
import { referenceDir } from '../../support/reference';
import { parse as parseYaml } from 'yaml';

const REF = referenceDir('kubernetes');
const example = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(REF, name), 'utf8')) as Record<string, unknown>;

const RFC1123 =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const CLIENT_ID_ANNOTATION = 'azure.workload.identity/client-id';

interface Raw {
  status: number;
  body: Record<string, unknown>;
}

function clients(kube: KubeEmulator, token = 'wid-test-token') {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kube.kubeconfig({ token }));
  return { core: kc.makeApiClient(k8s.CoreV1Api), custom: kc.makeApiClient(k8s.CustomObjectsApi) };
}

async function raw(kube: KubeEmulator, method: string, p: string, body?: unknown, contentType = 'application/json', token: string | null = 'wid-test-token'): Promise<Raw> {
  const res = await fetch(`${kube.url}${p}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
}

/** The status code and parsed Status body of a rejected client-node call. */
async function apiError(p: Promise<unknown>): Promise<{ code: number; status: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof k8s.ApiException) {
      const body = typeof e.body === 'string' ? e.body : JSON.stringify(e.body);
      return { code: e.code, status: JSON.parse(body) as Record<string, unknown> };
    }
    throw e;
  }
  throw new Error('expected the call to fail');
}

const mergePatch = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const strategicPatch = () => k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

let kube: KubeEmulator;
beforeEach(async () => {
  kube = await startKubeEmulator({ namespaces: ['finance', 'payments'] });
});
afterEach(async () => {
  await kube.close();
});

describe('contract: upstream examples', () => {
  test('ServiceAccount create and get answer in the shape of serviceaccount.json', async () => {
    const sa = example('serviceaccount.json');
    // The example is a GET output: sent back as-is, the real server refuses its resourceVersion.
    const refused = await raw(kube, 'POST', '/api/v1/namespaces/default/serviceaccounts', sa);
    expect(refused.status).toBe(500);
    expect(refused.body.message).toBe('resourceVersion should not be set on objects to be created');

    const meta = sa.metadata as Record<string, unknown>;
    const request = { ...sa, metadata: { name: meta.name, namespace: meta.namespace } };
    const created = await raw(kube, 'POST', '/api/v1/namespaces/default/serviceaccounts', request);
    expect(created.status).toBe(201);
    expectSameShape(created.body, sa);
    const createdMeta = created.body.metadata as Record<string, string>;
    expect(createdMeta.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(createdMeta.resourceVersion).toMatch(/^\d+$/);
    expect(createdMeta.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(created.body).slice(0, 2)).toEqual(['kind', 'apiVersion']);

    const got = await raw(kube, 'GET', '/api/v1/namespaces/default/serviceaccounts/build-robot');
    expect(got.status).toBe(200);
    expectSameShape(got.body, sa);
    expect(got.body).toEqual(created.body);
  });

  test('ServiceAccount list answers in the shape of serviceaccountlist.json (no per-item kind)', async () => {
    kube.seedNamespace('cattle-logging');
    const exampleItem = (example('serviceaccountlist.json').items as { metadata: { labels: Record<string, string> } }[])[1];
    kube.seedServiceAccount({ namespace: 'cattle-logging', name: 'rancher-logging-fluentd', labels: exampleItem?.metadata.labels ?? {} });
    const list = await raw(kube, 'GET', '/api/v1/namespaces/cattle-logging/serviceaccounts');
    expect(list.status).toBe(200);
    const ex = example('serviceaccountlist.json');
    // selfLink was removed from the API in Kubernetes 1.20; `secrets` is no longer auto-populated since 1.24.
    const options = { allowMissing: ['metadata.selfLink', 'items[].metadata.selfLink', 'items[].secrets', 'items[].metadata.labels'] };
    expectSameShape(list.body, ex, options);
    const items = list.body.items as Record<string, unknown>[];
    expect(items.map((i) => (i.metadata as { name: string }).name)).toEqual(['default', 'rancher-logging-fluentd']);
    for (const item of items) {
      expect(item).not.toHaveProperty('kind');
      expect(item).not.toHaveProperty('apiVersion');
    }
    expectSameShape(items[1], (ex.items as unknown[])[1], { allowMissing: ['metadata.selfLink', 'secrets'] });
    expect(list.body.kind).toBe('ServiceAccountList');
    expect(list.body.apiVersion).toBe('v1');
    expect(Number((list.body.metadata as { resourceVersion: string }).resourceVersion)).toBeGreaterThanOrEqual(
      Number((items[1]?.metadata as { resourceVersion: string }).resourceVersion),
    );
  });

  test('404 NotFound Status in the shape of status-404-notfound.json', async () => {
    const res = await raw(kube, 'GET', '/api/v1/namespaces/default/pods/grafana');
    expect(res.status).toBe(404);
    expect(res.body).toEqual(example('status-404-notfound.json'));
  });

  test('422 Invalid Status for a bad name, in the shape of status-422-invalid-name.json with current wording', async () => {
    const res = await raw(kube, 'POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: '-' } });
    expect(res.status).toBe(422);
    // A core resource has no details.group.
    expectSameShape(res.body, example('status-422-invalid-name.json'), { allowMissing: ['details.group'] });
    expect(res.body.message).toBe(`ServiceAccount "-" is invalid: metadata.name: Invalid value: "-": ${RFC1123}`);
    expect(res.body.details).toEqual({
      name: '-',
      kind: 'ServiceAccount',
      causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: "-": ${RFC1123}`, field: 'metadata.name' }],
    });
  });

  test('TokenRequest with the upstream request bodies answers in the shape of tokenrequest-response.json', async () => {
    kube.seedServiceAccount({ namespace: 'default', name: 'apisix-test' });
    const ex = example('tokenrequest-response.json');
    const res = await raw(kube, 'POST', '/api/v1/namespaces/default/serviceaccounts/apisix-test/token', readFileSync(path.join(REF, 'tokenrequest-request.json'), 'utf8'));
    expect(res.status).toBe(201);
    expectSameShape(res.body, ex);
    const spec = res.body.spec as { audiences: string[]; expirationSeconds: number };
    expect(spec).toEqual({ audiences: ['https://kubernetes.default.svc.cluster.local'], expirationSeconds: 31536000, boundObjectRef: null });

    const status = res.body.status as { token: string; expirationTimestamp: string };
    const claims = decodeJwt(status.token)?.payload;
    const exampleClaims = decodeJwt((ex.status as { token: string }).token)?.payload;
    // jti is set by Kubernetes 1.29+, after the example was recorded.
    expectSameShape(claims, exampleClaims, { allowExtra: ['jti'] });
    expect(claims).toMatchObject({
      aud: ['https://kubernetes.default.svc.cluster.local'],
      iss: kube.issuerUrl,
      sub: 'system:serviceaccount:default:apisix-test',
      'kubernetes.io': { namespace: 'default', serviceaccount: { name: 'apisix-test', uid: kube.getServiceAccount('default', 'apisix-test')?.metadata.uid } },
    });
    expect((claims?.exp as number) - (claims?.iat as number)).toBe(31536000);
    expect(new Date(status.expirationTimestamp).getTime() / 1000).toBe(claims?.exp);

    // kubectl create token sends an all-null body: the server defaults audience and one hour.
    const kubectl = await raw(kube, 'POST', '/api/v1/namespaces/default/serviceaccounts/apisix-test/token', example('tokenrequest-request.kubectl.json'));
    expect(kubectl.status).toBe(201);
    expectSameShape(kubectl.body, ex);
    expect(kubectl.body.spec).toEqual({ audiences: [kube.issuerUrl], expirationSeconds: 3600, boundObjectRef: null });
  });
});

describe('ServiceAccounts through @kubernetes/client-node', () => {
  test('create, get, list, delete; AlreadyExists; namespace must exist', async () => {
    const { core } = clients(kube);
    const sa = await core.createNamespacedServiceAccount({ namespace: 'finance', body: { metadata: { name: 'billing', labels: { team: 'money' } } } });
    expect(sa.metadata?.uid).toBeTruthy();
    const again = await apiError(core.createNamespacedServiceAccount({ namespace: 'finance', body: { metadata: { name: 'billing' } } }));
    expect(again.code).toBe(409);
    expect(again.status).toMatchObject({ reason: 'AlreadyExists', message: 'serviceaccounts "billing" already exists', details: { name: 'billing', kind: 'serviceaccounts' }, code: 409 });

    const noNs = await apiError(core.createNamespacedServiceAccount({ namespace: 'nope', body: { metadata: { name: 'x' } } }));
    expect(noNs.code).toBe(404);
    expect(noNs.status).toMatchObject({ reason: 'NotFound', message: 'namespaces "nope" not found', details: { name: 'nope', kind: 'namespaces' } });

    const got = await core.readNamespacedServiceAccount({ namespace: 'finance', name: 'billing' });
    expect(got.metadata?.labels).toEqual({ team: 'money' });
    const deleted = await core.deleteNamespacedServiceAccount({ namespace: 'finance', name: 'billing' });
    expect((deleted as { metadata?: { name?: string } }).metadata?.name).toBe('billing');
    const gone = await apiError(core.readNamespacedServiceAccount({ namespace: 'finance', name: 'billing' }));
    expect(gone.code).toBe(404);
    expect(gone.status.message).toBe('serviceaccounts "billing" not found');
  });

  test('bad names: uppercase, too long, missing', async () => {
    const { core } = clients(kube);
    const upper = await apiError(core.createNamespacedServiceAccount({ namespace: 'finance', body: { metadata: { name: 'Billing' } } }));
    expect(upper.code).toBe(422);
    expect(upper.status.message).toBe(`ServiceAccount "Billing" is invalid: metadata.name: Invalid value: "Billing": ${RFC1123}`);
    const long = 'a'.repeat(254);
    const tooLong = await apiError(core.createNamespacedServiceAccount({ namespace: 'finance', body: { metadata: { name: long } } }));
    expect(tooLong.status.message).toBe(`ServiceAccount "${long}" is invalid: metadata.name: Invalid value: "${long}": must be no more than 253 characters`);
    const missing = await apiError(core.createNamespacedServiceAccount({ namespace: 'finance', body: { metadata: {} } }));
    expect(missing.status.message).toBe('ServiceAccount "" is invalid: metadata.name: Required value: name or generateName is required');
    const badNs = await apiError(core.createNamespace({ body: { metadata: { name: 'my.ns' } } }));
    expect(badNs.code).toBe(422);
    expect(String(badNs.status.message)).toContain('a lowercase RFC 1123 label must consist of');
  });

  test('update with a stale resourceVersion is a 409 Conflict; a fresh one succeeds and bumps it', async () => {
    const { core } = clients(kube);
    const sa = await core.createNamespacedServiceAccount({ namespace: 'finance', body: { metadata: { name: 'billing' } } });
    const stale = sa.metadata?.resourceVersion as string;
    const updated = await core.replaceNamespacedServiceAccount({
      namespace: 'finance',
      name: 'billing',
      body: { metadata: { name: 'billing', resourceVersion: stale, annotations: { [CLIENT_ID_ANNOTATION]: 'one' } } },
    });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(stale));
    expect(updated.metadata?.uid).toBe(sa.metadata?.uid);
    const conflict = await apiError(
      core.replaceNamespacedServiceAccount({ namespace: 'finance', name: 'billing', body: { metadata: { name: 'billing', resourceVersion: stale, annotations: { [CLIENT_ID_ANNOTATION]: 'two' } } } }),
    );
    expect(conflict.code).toBe(409);
    expect(conflict.status).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on serviceaccounts "billing": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'billing', kind: 'serviceaccounts' },
    });
    expect(kube.getServiceAccount('finance', 'billing')?.metadata.annotations).toEqual({ [CLIENT_ID_ANNOTATION]: 'one' });
    // A no-op update keeps the resourceVersion, as the real server does.
    const same = await core.replaceNamespacedServiceAccount({ namespace: 'finance', name: 'billing', body: { metadata: { name: 'billing', annotations: { [CLIENT_ID_ANNOTATION]: 'one' } } } });
    expect(same.metadata?.resourceVersion).toBe(updated.metadata?.resourceVersion);
    const missing = await apiError(core.replaceNamespacedServiceAccount({ namespace: 'finance', name: 'ghost', body: { metadata: { name: 'ghost' } } }));
    expect(missing.code).toBe(404);
  });

  test('merge patch sets annotations, null removes one, other annotations untouched; stale resourceVersion conflicts', async () => {
    const { core } = clients(kube);
    kube.seedServiceAccount({ namespace: 'finance', name: 'billing', annotations: { keep: 'me', [CLIENT_ID_ANNOTATION]: 'old' } });
    const set = await core.patchNamespacedServiceAccount(
      { namespace: 'finance', name: 'billing', body: { metadata: { annotations: { [CLIENT_ID_ANNOTATION]: 'new-id', 'azure.workload.identity/tenant-id': 't' } } } },
      mergePatch(),
    );
    expect(set.metadata?.annotations).toEqual({ keep: 'me', [CLIENT_ID_ANNOTATION]: 'new-id', 'azure.workload.identity/tenant-id': 't' });
    const removed = await core.patchNamespacedServiceAccount(
      { namespace: 'finance', name: 'billing', body: { metadata: { annotations: { [CLIENT_ID_ANNOTATION]: null, 'azure.workload.identity/tenant-id': null } } } },
      mergePatch(),
    );
    expect(removed.metadata?.annotations).toEqual({ keep: 'me' });
    const conflict = await apiError(
      core.patchNamespacedServiceAccount({ namespace: 'finance', name: 'billing', body: { metadata: { resourceVersion: '1', annotations: { a: 'b' } } } }, mergePatch()),
    );
    expect(conflict.code).toBe(409);
    expect(conflict.status.reason).toBe('Conflict');
    const missing = await apiError(core.patchNamespacedServiceAccount({ namespace: 'finance', name: 'ghost', body: { metadata: { annotations: { a: 'b' } } } }, mergePatch()));
    expect(missing.code).toBe(404);
    const notAString = await apiError(core.patchNamespacedServiceAccount({ namespace: 'finance', name: 'billing', body: { metadata: { annotations: { a: 1 } } } }, mergePatch()));
    expect(notAString.code).toBe(400);
    expect(String(notAString.status.message)).toContain('cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations of type string');
  });

  test('strategic merge patch behaves like merge patch on metadata maps and merges secrets by name', async () => {
    const { core } = clients(kube);
    await core.createNamespacedServiceAccount({ namespace: 'finance', body: { metadata: { name: 'billing', labels: { a: '1' } }, secrets: [{ name: 's1' }] } });
    const out = await core.patchNamespacedServiceAccount(
      { namespace: 'finance', name: 'billing', body: { metadata: { labels: { b: '2', a: null }, annotations: { [CLIENT_ID_ANNOTATION]: 'x' } }, secrets: [{ name: 's2' }] } },
      strategicPatch(),
    );
    expect(out.metadata?.labels).toEqual({ b: '2' });
    expect(out.metadata?.annotations).toEqual({ [CLIENT_ID_ANNOTATION]: 'x' });
    expect(out.secrets?.map((s) => s.name)).toEqual(['s1', 's2']);
  });

  test('JSON patch (the client default): ~1 escaping, add/replace/remove/test, failed test is 422 and changes nothing', async () => {
    const { core } = clients(kube);
    kube.seedServiceAccount({ namespace: 'finance', name: 'billing', annotations: { keep: 'me' } });
    const added = await core.patchNamespacedServiceAccount({
      namespace: 'finance',
      name: 'billing',
      body: [{ op: 'add', path: '/metadata/annotations/azure.workload.identity~1client-id', value: 'c1' }],
    });
    expect(added.metadata?.annotations).toEqual({ keep: 'me', [CLIENT_ID_ANNOTATION]: 'c1' });
    const replaced = await core.patchNamespacedServiceAccount({
      namespace: 'finance',
      name: 'billing',
      body: [
        { op: 'test', path: '/metadata/annotations/azure.workload.identity~1client-id', value: 'c1' },
        { op: 'replace', path: '/metadata/annotations/azure.workload.identity~1client-id', value: 'c2' },
      ],
    });
    expect(replaced.metadata?.annotations).toEqual({ keep: 'me', [CLIENT_ID_ANNOTATION]: 'c2' });
    const before = kube.getServiceAccount('finance', 'billing');
    const failed = await apiError(
      core.patchNamespacedServiceAccount({
        namespace: 'finance',
        name: 'billing',
        body: [
          { op: 'remove', path: '/metadata/annotations/keep' },
          { op: 'test', path: '/metadata/annotations/azure.workload.identity~1client-id', value: 'c1' },
        ],
      }),
    );
    expect(failed.code).toBe(422);
    expect(failed.status.reason).toBe('Invalid');
    expect(JSON.stringify(failed.status.details)).toContain('testing value /metadata/annotations/azure.workload.identity~1client-id failed');
    expect(kube.getServiceAccount('finance', 'billing')).toEqual(before);
    // Unescaped, the slash is a path separator: the parent map "azure.workload.identity" does not exist.
    const unescaped = await apiError(
      core.patchNamespacedServiceAccount({ namespace: 'finance', name: 'billing', body: [{ op: 'add', path: '/metadata/annotations/azure.workload.identity/client-id', value: 'x' }] }),
    );
    expect(unescaped.code).toBe(422);
    const removed = await core.patchNamespacedServiceAccount({
      namespace: 'finance',
      name: 'billing',
      body: [{ op: 'remove', path: '/metadata/annotations/azure.workload.identity~1client-id' }],
    });
    expect(removed.metadata?.annotations).toEqual({ keep: 'me' });
    const absent = await apiError(
      core.patchNamespacedServiceAccount({ namespace: 'finance', name: 'billing', body: [{ op: 'remove', path: '/metadata/annotations/azure.workload.identity~1client-id' }] }),
    );
    expect(absent.code).toBe(422);
  });

  test('unsupported patch content type is 415', async () => {
    kube.seedServiceAccount({ namespace: 'finance', name: 'billing' });
    const res = await raw(kube, 'PATCH', '/api/v1/namespaces/finance/serviceaccounts/billing', { metadata: {} }, 'application/json');
    expect(res.status).toBe(415);
    expect(res.body.reason).toBe('UnsupportedMediaType');
  });

  test('label selectors: =, ==, !=, existence, !existence, in, notin; namespaced and all namespaces', async () => {
    const { core } = clients(kube);
    kube.seedServiceAccount({ namespace: 'finance', name: 'a', labels: { 'azure.workload.identity/use': 'true', tier: 'web' } });
    kube.seedServiceAccount({ namespace: 'finance', name: 'b', labels: { tier: 'db' } });
    kube.seedServiceAccount({ namespace: 'payments', name: 'c', labels: { 'azure.workload.identity/use': 'false' } });
    const names = async (labelSelector: string, namespace?: string): Promise<string[]> => {
      const list = namespace
        ? await core.listNamespacedServiceAccount({ namespace, labelSelector })
        : await core.listServiceAccountForAllNamespaces({ labelSelector });
      return list.items.map((i) => `${i.metadata?.namespace}/${i.metadata?.name}`);
    };
    expect(await names('azure.workload.identity/use=true')).toEqual(['finance/a']);
    expect(await names('tier==db')).toEqual(['finance/b']);
    expect(await names('tier!=db', 'finance')).toEqual(['finance/a', 'finance/default']);
    expect(await names('azure.workload.identity/use')).toEqual(['finance/a', 'payments/c']);
    expect(await names('!azure.workload.identity/use,tier')).toEqual(['finance/b']);
    expect(await names('tier in (web, db)')).toEqual(['finance/a', 'finance/b']);
    expect(await names('tier notin (web),azure.workload.identity/use')).toEqual(['payments/c']);
    const all = await core.listServiceAccountForAllNamespaces({});
    expect(all.items.length).toBe(kube.serviceAccounts().length);
    const bad = await apiError(core.listServiceAccountForAllNamespaces({ labelSelector: 'a=b=c' }));
    expect(bad.code).toBe(400);
  });

  test('list paging with limit and continue', async () => {
    const { core } = clients(kube);
    for (const n of ['a', 'b', 'c']) kube.seedServiceAccount({ namespace: 'finance', name: n });
    const first = await core.listNamespacedServiceAccount({ namespace: 'finance', limit: 2 });
    expect(first.items.map((i) => i.metadata?.name)).toEqual(['a', 'b']);
    expect(first.metadata?.remainingItemCount).toBe(2);
    const second = await core.listNamespacedServiceAccount({ namespace: 'finance', limit: 2, _continue: first.metadata?._continue as string });
    expect(second.items.map((i) => i.metadata?.name)).toEqual(['c', 'default']);
    expect(second.metadata?._continue).toBeUndefined();
  });
});

describe('authentication and RBAC', () => {
  test('no bearer token is 401; a denied verb is 403 with the API server message', async () => {
    const anon = await raw(kube, 'GET', '/api/v1/serviceaccounts', undefined, undefined, null);
    expect(anon.status).toBe(401);
    expect(anon.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });

    const { core } = clients(kube);
    kube.seedServiceAccount({ namespace: 'finance', name: 'x' });
    const lift = kube.deny({ verb: 'patch', resource: 'serviceaccounts', namespace: 'finance' });
    const denied = await apiError(core.patchNamespacedServiceAccount({ namespace: 'finance', name: 'x', body: { metadata: { annotations: { a: 'b' } } } }, mergePatch()));
    expect(denied.code).toBe(403);
    expect(denied.status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'serviceaccounts "x" is forbidden: User "system:serviceaccount:wid:wid-bot" cannot patch resource "serviceaccounts" in API group "" in the namespace "finance"',
      reason: 'Forbidden',
      details: { name: 'x', kind: 'serviceaccounts' },
      code: 403,
    });
    // Other namespaces and verbs are unaffected.
    await core.readNamespacedServiceAccount({ namespace: 'finance', name: 'x' });
    lift();
    await core.patchNamespacedServiceAccount({ namespace: 'finance', name: 'x', body: { metadata: { annotations: { a: 'b' } } } }, mergePatch());

    kube.deny({ verb: 'list', resource: 'pods' });
    const list = await apiError(core.listPodForAllNamespaces({}));
    expect(list.status.message).toBe('pods is forbidden: User "system:serviceaccount:wid:wid-bot" cannot list resource "pods" in API group "" at the cluster scope');
    kube.deny({ verb: 'create', resource: 'serviceaccounts/token', namespace: 'finance' });
    const token = await apiError(core.createNamespacedServiceAccountToken({ namespace: 'finance', name: 'x', body: { spec: { audiences: ['api://AzureADTokenExchange'] } } }));
    expect(token.status.message).toBe(
      'serviceaccounts "x" is forbidden: User "system:serviceaccount:wid:wid-bot" cannot create resource "serviceaccounts/token" in API group "" in the namespace "finance"',
    );
  });

  test('only listed tokens are accepted when tokens are configured; users name the caller', async () => {
    const strict = await startKubeEmulator({ tokens: ['good'], users: { good: 'alice@example.com' } });
    try {
      expect((await raw(strict, 'GET', '/api/v1/namespaces', undefined, undefined, 'bad')).status).toBe(401);
      strict.deny({ verb: 'list', resource: 'namespaces', user: 'alice@example.com' });
      const res = await raw(strict, 'GET', '/api/v1/namespaces', undefined, undefined, 'good');
      expect(res.status).toBe(403);
      expect(res.body.message).toBe('namespaces is forbidden: User "alice@example.com" cannot list resource "namespaces" in API group "" at the cluster scope');
    } finally {
      await strict.close();
    }
  });

  test('injected faults answer as Status objects and are logged', async () => {
    const { core } = clients(kube);
    kube.controls.failNext(1, { status: 429, code: 'TooManyRequests', message: 'Too many requests, please try again later.', retryAfterSeconds: 1, path: '/serviceaccounts' });
    const res = await raw(kube, 'GET', '/api/v1/serviceaccounts');
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 1 } });
    await core.listServiceAccountForAllNamespaces({});
    expect(kube.controls.requests({ path: '/api/v1/serviceaccounts' })).toHaveLength(2);
  });
});

describe('HTTPS and bearer tokens', () => {
  const UNAUTHORIZED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };

  test('no token, a wrong token or another scheme → 401 with the API server\'s Status body, discovery included', async () => {
    for (const p of ['/api', '/api/v1/namespaces', '/version']) {
      const none = await raw(kube, 'GET', p, undefined, undefined, null);
      expect(none).toEqual({ status: 401, body: UNAUTHORIZED });
      expect(await raw(kube, 'GET', p, undefined, undefined, 'wid-test-token-but-wrong')).toEqual({ status: 401, body: UNAUTHORIZED });
    }
    const basic = await fetch(`${kube.url}/api/v1/namespaces`, { headers: { authorization: `Basic ${Buffer.from('admin:wid-test-token').toString('base64')}` } });
    expect(basic.status).toBe(401);
    expect((await raw(kube, 'GET', '/api/v1/namespaces')).status).toBe(200);
  });

  test('served over TLS only: plain HTTP on the port is not an API server', async () => {
    const plain = await fetch(kube.url.replace('https:', 'http:') + '/api').then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
  });

  test('the world writes a kubeconfig naming its CA file and a token, never skipping verification; ARM reports the HTTPS issuer', async () => {
    const world = await startWorld();
    try {
      const text = readFileSync(world.files.kubeconfig, 'utf8');
      const cfg = parseYaml(text) as { clusters: { cluster: Record<string, unknown> }[]; users: { user: { token?: string } }[] };
      expect(cfg.clusters[0]?.cluster).toEqual({ server: world.urls.kube, 'certificate-authority': world.files.ca });
      expect(text).not.toContain('insecure-skip-tls-verify');
      expect(readFileSync(world.files.ca, 'utf8')).toBe(world.kube.caPem);
      const token = cfg.users[0]?.user.token;
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect((await raw(world.kube, 'GET', '/api/v1/namespaces', undefined, undefined, token ?? null)).status).toBe(200);
      expect((await raw(world.kube, 'GET', '/api/v1/namespaces')).status).toBe(401);
      expect(world.kube.issuerUrl).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:${world.kube.port}/${WORLD.tenantId}/[0-9a-f-]{36}/$`));
      expect(world.clusterConfig().issuerUrl).toBe(world.kube.issuerUrl);
    } finally {
      await world.close();
    }
  });
});

describe('pods and aad-pod-identity', () => {
  test('pods list with labels, serviceAccountName and env, namespaced and across namespaces', async () => {
    const { core } = clients(kube);
    kube.seedPod({ namespace: 'finance', name: 'api-1', serviceAccountName: 'billing', labels: { app: 'api' }, env: { AZURE_CLIENT_ID: 'cid' } });
    kube.seedPod({ namespace: 'payments', name: 'worker', labels: { app: 'worker' } });
    await core.createNamespacedPod({
      namespace: 'finance',
      body: { metadata: { name: 'api-2', labels: { app: 'api' } }, spec: { serviceAccountName: 'billing', containers: [{ name: 'c', image: 'busybox', env: [{ name: 'X', value: 'y' }] }] } },
    });
    const finance = await core.listNamespacedPod({ namespace: 'finance', labelSelector: 'app=api' });
    expect(finance.items.map((p) => p.metadata?.name)).toEqual(['api-1', 'api-2']);
    expect(finance.items[0]?.spec?.serviceAccountName).toBe('billing');
    expect(finance.items[0]?.spec?.containers[0]?.env).toEqual([{ name: 'AZURE_CLIENT_ID', value: 'cid' }]);
    const all = await core.listPodForAllNamespaces({});
    expect(all.items.map((p) => `${p.metadata?.namespace}/${p.spec?.serviceAccountName}`)).toEqual(['finance/billing', 'finance/billing', 'payments/default']);
    const bySa = await core.listPodForAllNamespaces({ fieldSelector: 'spec.serviceAccountName=billing' });
    expect(bySa.items).toHaveLength(2);
    const noContainers = await apiError(core.createNamespacedPod({ namespace: 'finance', body: { metadata: { name: 'bad' }, spec: { containers: [] } } }));
    expect(noContainers.code).toBe(422);
  });

  test('the workload identity webhook injects AZURE_* env into labelled pods of an annotated ServiceAccount, keeping set values', async () => {
    const { core } = clients(kube);
    kube.seedServiceAccount({ namespace: 'finance', name: 'billing', annotations: { [CLIENT_ID_ANNOTATION]: 'cid-1', 'azure.workload.identity/tenant-id': 'tid-1' } });
    const created = await core.createNamespacedPod({
      namespace: 'finance',
      body: { metadata: { name: 'api', labels: { 'azure.workload.identity/use': 'true' } }, spec: { serviceAccountName: 'billing', containers: [{ name: 'c', image: 'busybox' }] } },
    });
    expect(created.spec?.containers[0]?.env).toEqual([
      { name: 'AZURE_CLIENT_ID', value: 'cid-1' },
      { name: 'AZURE_TENANT_ID', value: 'tid-1' },
      { name: 'AZURE_FEDERATED_TOKEN_FILE', value: '/var/run/secrets/azure/tokens/azure-identity-token' },
      { name: 'AZURE_AUTHORITY_HOST', value: 'https://login.microsoftonline.com/' },
    ]);
    const stale = kube.seedPod({ namespace: 'finance', name: 'old', serviceAccountName: 'billing', labels: { 'azure.workload.identity/use': 'true' }, env: { AZURE_CLIENT_ID: 'stale' } });
    expect((stale.spec as { containers: { env: { name: string; value: string }[] }[] }).containers[0]?.env[0]).toEqual({ name: 'AZURE_CLIENT_ID', value: 'stale' });
    const unlabelled = kube.seedPod({ namespace: 'finance', name: 'plain', serviceAccountName: 'billing' });
    expect((unlabelled.spec as { containers: { env?: unknown[] }[] }).containers[0]?.env).toBeUndefined();
  });

  test('AzureIdentity and AzureIdentityBinding: 404 without the CRDs, listed across namespaces with them', async () => {
    const { custom } = clients(kube);
    const missing = await apiError(custom.listClusterCustomObject({ group: 'aadpodidentity.k8s.io', version: 'v1', plural: 'azureidentities' }));
    expect(missing.code).toBe(404);
    expect(missing.status).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', details: {}, code: 404 });

    kube.setPodIdentityCrds(true);
    kube.seedAzureIdentity({ namespace: 'finance', name: 'demo-aad1', clientID: 'CLIENT_ID', resourceID: 'RESOURCE_ID' });
    kube.seedAzureIdentityBinding({ namespace: 'payments', name: 'demo-azure-id-binding', azureIdentity: 'demo-aad1', selector: 'demo' });
    const ids = (await custom.listClusterCustomObject({ group: 'aadpodidentity.k8s.io', version: 'v1', plural: 'azureidentities' })) as { kind: string; items: unknown[] };
    expect(ids.kind).toBe('AzureIdentityList');
    expect(ids.items).toHaveLength(1);
    expectSameShape(ids.items[0], example('aadpodidentity-AzureIdentity.json'), {
      allowExtra: ['metadata.namespace', 'metadata.uid', 'metadata.resourceVersion', 'metadata.generation', 'metadata.creationTimestamp'],
    });
    const bindings = (await custom.listNamespacedCustomObject({ group: 'aadpodidentity.k8s.io', version: 'v1', namespace: 'payments', plural: 'azureidentitybindings' })) as { items: unknown[] };
    expectSameShape(bindings.items[0], example('aadpodidentity-AzureIdentityBinding.json'), {
      allowExtra: ['metadata.namespace', 'metadata.uid', 'metadata.resourceVersion', 'metadata.generation', 'metadata.creationTimestamp'],
    });
    expect(bindings.items[0]).toMatchObject({ spec: { azureIdentity: 'demo-aad1', selector: 'demo' } });
    const none = (await custom.listNamespacedCustomObject({ group: 'aadpodidentity.k8s.io', version: 'v1', namespace: 'finance', plural: 'azureidentitybindings' })) as { items: unknown[] };
    expect(none.items).toEqual([]);
  });
});

describe('TokenRequest and the OIDC issuer', () => {
  test('tokens verify against the issuer JWKS; discovery document as AKS serves it; 404 for a missing ServiceAccount', async () => {
    const { core } = clients(kube);
    kube.seedServiceAccount({ namespace: 'finance', name: 'billing' });
    expect(kube.issuerUrl).toMatch(new RegExp(`^${kube.url}/${kube.tenantId}/[0-9a-f-]{36}/$`));
    expect(kube.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const tr = await core.createNamespacedServiceAccountToken({ namespace: 'finance', name: 'billing', body: { spec: { audiences: ['api://AzureADTokenExchange'], expirationSeconds: 3600 } } });
    const token = tr.status?.token as string;
    const discovery = (await (await fetch(`${kube.issuerUrl}.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toEqual({
      issuer: kube.issuerUrl,
      jwks_uri: `${kube.issuerUrl}openid/v1/jwks`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
    const jwks = (await (await fetch(discovery.jwks_uri as string)).json()) as { keys: Record<string, unknown>[] };
    const decoded = decodeJwt(token);
    expect(decoded?.header).toEqual({ alg: 'RS256', kid: jwks.keys[0]?.kid });
    expect(verifyRs256(decoded!, jwks.keys[0]!)).toBe(true);
    expect(decoded?.payload).toMatchObject({ iss: kube.issuerUrl, sub: 'system:serviceaccount:finance:billing', aud: ['api://AzureADTokenExchange'] });

    const missing = await apiError(core.createNamespacedServiceAccountToken({ namespace: 'finance', name: 'ghost', body: { spec: { audiences: [] } } }));
    expect(missing.code).toBe(404);
    expect(missing.status.message).toBe('serviceaccounts "ghost" not found');
    const short = await apiError(core.createNamespacedServiceAccountToken({ namespace: 'finance', name: 'billing', body: { spec: { audiences: [], expirationSeconds: 60 } } }));
    expect(short.code).toBe(422);

    const oldIssuer = kube.issuerUrl;
    const newIssuer = kube.rotateIssuer();
    expect(newIssuer).not.toBe(oldIssuer);
    expect((await fetch(`${oldIssuer}.well-known/openid-configuration`)).status).toBe(404);
    const fresh = decodeJwt(kube.issueToken({ namespace: 'finance', name: 'billing', audiences: ['x'] }));
    expect(fresh?.payload.iss).toBe(newIssuer);
    expect(verifyRs256(fresh!, jwks.keys[0]!)).toBe(false);
  });

  test('kubeconfig can be written and loaded', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kubecfg-'));
    const file = kube.writeKubeconfig(path.join(dir, 'config'));
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(file);
    expect(kc.getCurrentCluster()?.server).toBe(kube.url);
    const ns = await kc.makeApiClient(k8s.CoreV1Api).listNamespace({});
    expect(ns.items.map((n) => n.metadata?.name)).toEqual(['default', 'finance', 'kube-node-lease', 'kube-public', 'kube-system', 'payments']);
  });
});

describe('discovery and server-side printing, as kubectl reads them', () => {
  const get = async (p: string, accept = 'application/json'): Promise<{ status: number; body: Record<string, unknown>; type: string }> => {
    const res = await fetch(`${kube.url}${p}`, { headers: { authorization: 'Bearer wid-test-token', accept } });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } };
  };
  const KUBECTL_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
  const AGGREGATED_ACCEPT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

  test('/api, /api/v1 with kinds, verbs, short names and the token subresource; plain JSON when the aggregated form is asked first', async () => {
    const api = await get('/api', AGGREGATED_ACCEPT);
    expect(api.type).toMatch(/^application\/json/);
    expect(api.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const v1 = await get('/api/v1');
    expect(v1.body.kind).toBe('APIResourceList');
    expect(v1.body.groupVersion).toBe('v1');
    const byName = new Map((v1.body.resources as { name: string }[]).map((r) => [r.name, r]));
    expect([...byName.keys()]).toEqual(['namespaces', 'pods', 'serviceaccounts', 'serviceaccounts/token']);
    expect(byName.get('serviceaccounts')).toEqual({ name: 'serviceaccounts', singularName: 'serviceaccount', namespaced: true, kind: 'ServiceAccount', verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'], shortNames: ['sa'] });
    expect(byName.get('namespaces')).toMatchObject({ namespaced: false, kind: 'Namespace', shortNames: ['ns'] });
    expect(byName.get('pods')).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'], categories: ['all'] });
    expect(byName.get('serviceaccounts/token')).toEqual({ name: 'serviceaccounts/token', singularName: '', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] });
    expect((await get('/version')).body).toMatchObject({ major: '1', minor: '30', gitVersion: 'v1.30.5', platform: 'linux/amd64' });
  });

  test('/apis lists aadpodidentity.k8s.io only while its CRDs are installed, with its group and resource list', async () => {
    expect((await get('/apis')).body).toEqual({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    const missing = await get('/apis/aadpodidentity.k8s.io/v1');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    kube.setPodIdentityCrds(true);
    const gv = { groupVersion: 'aadpodidentity.k8s.io/v1', version: 'v1' };
    expect((await get('/apis')).body).toEqual({ kind: 'APIGroupList', apiVersion: 'v1', groups: [{ name: 'aadpodidentity.k8s.io', versions: [gv], preferredVersion: gv }] });
    expect((await get('/apis/aadpodidentity.k8s.io')).body).toEqual({ kind: 'APIGroup', apiVersion: 'v1', name: 'aadpodidentity.k8s.io', versions: [gv], preferredVersion: gv });
    const list = await get('/apis/aadpodidentity.k8s.io/v1');
    expect(list.body).toMatchObject({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'aadpodidentity.k8s.io/v1' });
    expect((list.body.resources as { name: string; kind: string; singularName: string }[]).map((r) => [r.name, r.singularName, r.kind])).toEqual([
      ['azureidentities', 'azureidentity', 'AzureIdentity'],
      ['azureidentitybindings', 'azureidentitybinding', 'AzureIdentityBinding'],
    ]);
  });

  test('OpenAPI is not served: 404 as the API server answers an unknown path', async () => {
    for (const p of ['/openapi/v2', '/openapi/v3']) {
      const res = await get(p);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ text: '404 page not found\n' });
    }
  });

  test('the API server names the cluster issuer at /.well-known/openid-configuration', async () => {
    const doc = await get('/.well-known/openid-configuration');
    expect(doc.body).toMatchObject({ issuer: kube.issuerUrl, jwks_uri: `${kube.url}/openid/v1/jwks` });
    expect((await get('/openid/v1/jwks')).body).toEqual(kube.jwks());
  });

  test('kubectl\'s Accept gets a meta.k8s.io/v1 Table: ServiceAccounts (Name, Secrets, Age), namespaces, pods, custom resources', async () => {
    kube.seedServiceAccount({ namespace: 'finance', name: 'billing', labels: { team: 'fin' } });
    const sa = await get('/api/v1/namespaces/finance/serviceaccounts?limit=500', KUBECTL_ACCEPT);
    expect(sa.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    expect((sa.body.columnDefinitions as { name: string; type: string; format: string; priority: number }[]).map((c) => [c.name, c.type, c.format, c.priority])).toEqual([
      ['Name', 'string', 'name', 0],
      ['Secrets', 'integer', '', 0],
      ['Age', 'string', '', 0],
    ]);
    const rows = sa.body.rows as { cells: unknown[]; object: { kind: string; metadata: { name: string; labels?: Record<string, string> } } }[];
    expect(rows.map((r) => r.cells.slice(0, 2))).toEqual([
      ['billing', 0],
      ['default', 0],
    ]);
    expect(rows[0]?.cells[2]).toMatch(/^\d+s$/);
    expect(rows[0]?.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'billing', labels: { team: 'fin' } } });
    expect((sa.body.metadata as { resourceVersion: string }).resourceVersion).toMatch(/^\d+$/);

    const one = await get('/api/v1/namespaces/finance/serviceaccounts/billing', KUBECTL_ACCEPT);
    expect((one.body.rows as unknown[]).length).toBe(1);
    expect(((await get('/api/v1/namespaces/finance/serviceaccounts/billing?includeObject=None', KUBECTL_ACCEPT)).body.rows as object[])[0]).toEqual({ cells: ['billing', 0, expect.stringMatching(/s$/)] });
    expect((await get('/api/v1/namespaces/finance/serviceaccounts/billing?includeObject=Bogus', KUBECTL_ACCEPT)).status).toBe(400);
    // Asking for plain JSON first gets the object, not a Table.
    expect((await get('/api/v1/namespaces/finance/serviceaccounts/billing', 'application/json, */*')).body.kind).toBe('ServiceAccount');

    const ns = await get('/api/v1/namespaces', KUBECTL_ACCEPT);
    expect((ns.body.rows as { cells: unknown[] }[]).map((r) => r.cells.slice(0, 2))).toContainEqual(['finance', 'Active']);

    kube.seedPod({ namespace: 'finance', name: 'api-1', serviceAccountName: 'billing' });
    const pods = await get('/api/v1/namespaces/finance/pods', KUBECTL_ACCEPT);
    expect((pods.body.columnDefinitions as { name: string }[]).map((c) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates']);
    expect((pods.body.rows as { cells: unknown[] }[])[0]?.cells).toEqual(['api-1', '1/1', 'Running', '0', expect.any(String), '<none>', '<none>', '<none>', '<none>']);
    await fetch(`${kube.url}/api/v1/namespaces/finance/pods`, {
      method: 'POST',
      headers: { authorization: 'Bearer wid-test-token', 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'api-2' }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }] } }),
    });
    const created = (await get('/api/v1/namespaces/finance/pods/api-2', KUBECTL_ACCEPT)).body.rows as { cells: unknown[] }[];
    expect(created[0]?.cells.slice(0, 4)).toEqual(['api-2', '0/2', 'Pending', '0']);

    kube.setPodIdentityCrds(true);
    kube.seedAzureIdentity({ namespace: 'finance', name: 'legacy', clientID: 'c', resourceID: 'r' });
    const crs = await get('/apis/aadpodidentity.k8s.io/v1/azureidentities', KUBECTL_ACCEPT);
    expect((crs.body.columnDefinitions as { name: string; type: string }[]).map((c) => [c.name, c.type])).toEqual([
      ['Name', 'string'],
      ['Age', 'date'],
    ]);
    expect((crs.body.rows as { cells: unknown[]; object: { metadata: { namespace: string } } }[]).map((r) => [r.cells[0], r.object.metadata.namespace])).toEqual([['legacy', 'finance']]);
  });
});

test('AGE reads as Go duration.HumanDuration prints it', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-1 * s, '0s'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [200 * s, '3m20s'],
    [300 * s, '5m'],
    [15 * 60 * s, '15m'],
    [179 * 60 * s, '179m'],
    [(5 * 60 + 10) * 60 * s, '5h10m'],
    [6 * 3600 * s, '6h'],
    [30 * 3600 * s, '30h'],
    [(3 * 24 + 4) * 3600 * s, '3d4h'],
    [400 * 24 * 3600 * s, '400d'],
    [(2 * 365 + 30) * 24 * 3600 * s, '2y30d'],
    [9 * 365 * 24 * 3600 * s, '9y'],
  ];
  for (const [ms, text] of cases) expect([ms, humanDuration(ms)]).toEqual([ms, text]);
});
