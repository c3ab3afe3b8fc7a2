import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTls } from '../../emulators/common/tls';
import { startKubeEmulator, type KubeEmulator } from '../../emulators/kube';
import { createKubeAdapter } from '../../../src/kube';
import type { AdapterCall, KubePort } from '../../../src/domain/ports';
import { TerminalError } from '../../../src/domain/errors';
import { caught } from '../../support/helpers';

function claims(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}


describe('Kubernetes adapter against the API emulator', () => {
  let kube: KubeEmulator;
  let port: KubePort;
  const calls: AdapterCall[] = [];

  beforeAll(async () => {
    kube = await startKubeEmulator({ namespaces: ['team-a', 'team-b'] });
    port = createKubeAdapter({ kubeconfigYaml: kube.kubeconfig(), pageSize: 2, onCall: (c) => calls.push(c) });
  });
  afterAll(async () => {
    await kube.close();
  });
  beforeEach(() => {
    kube.clearDenials();
    kube.controls.reset({ log: true });
  });

  test('create, get and delete a ServiceAccount; get of a missing one is undefined', async () => {
    const created = await port.createServiceAccount('team-a', 'orders', { 'azure.workload.identity/client-id': 'c1' }, { 'azure.workload.identity/use': 'true' });
    expect(created).toMatchObject({ namespace: 'team-a', name: 'orders', annotations: { 'azure.workload.identity/client-id': 'c1' }, labels: { 'azure.workload.identity/use': 'true' } });
    expect(created.resourceVersion).toBeTruthy();
    expect(await port.getServiceAccount('team-a', 'orders')).toMatchObject({ name: 'orders' });
    await port.deleteServiceAccount('team-a', 'orders');
    expect(await port.getServiceAccount('team-a', 'orders')).toBeUndefined();
    // Deleting what is gone is done, not an error.
    await port.deleteServiceAccount('team-a', 'orders');
    expect(calls.some((c) => c.system === 'kubernetes' && c.operation === 'serviceAccounts.create' && c.outcome === 'ok')).toBe(true);
  });

  test('merge-patch sets and removes only the given annotations; foreign annotations, labels and fields stay', async () => {
    kube.seedServiceAccount({
      namespace: 'team-a',
      name: 'billing',
      annotations: { 'team.example.com/owner': 'alice', 'azure.workload.identity/tenant-id': 'old-tenant' },
      labels: { app: 'billing' },
    });
    const before = kube.getServiceAccount('team-a', 'billing');
    const patched = await port.patchServiceAccountAnnotations('team-a', 'billing', {
      'azure.workload.identity/client-id': 'c2',
      'azure.workload.identity/tenant-id': null,
    });
    expect(patched.annotations).toEqual({ 'team.example.com/owner': 'alice', 'azure.workload.identity/client-id': 'c2' });
    expect(patched.labels).toEqual({ app: 'billing' });
    const after = kube.getServiceAccount('team-a', 'billing');
    expect(after?.metadata.uid).toBe(before?.metadata.uid);
    expect(after?.metadata.labels).toEqual({ app: 'billing' });
    const patchCall = kube.controls.requests({ method: 'PATCH' })[0];
    expect(patchCall?.headers['content-type']).toMatch(/application\/merge-patch\+json/);
    expect(patchCall?.body).toEqual({ metadata: { annotations: { 'azure.workload.identity/client-id': 'c2', 'azure.workload.identity/tenant-id': null } } });
  });

  test('create of an existing ServiceAccount → terminal AlreadyExists', async () => {
    kube.seedServiceAccount({ namespace: 'team-b', name: 'dup' });
    const e = await caught(port.createServiceAccount('team-b', 'dup', {}));
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('AlreadyExists');
  });

  test('409 Conflict → retryable', async () => {
    kube.seedServiceAccount({ namespace: 'team-b', name: 'busy' });
    kube.controls.failNext(1, { method: 'PATCH', status: 409, code: 'Conflict' });
    const e = await caught(port.patchServiceAccountAnnotations('team-b', 'busy', { a: 'b' }));
    expect(e.kind).toBe('retryable');
  });

  test('403 → terminal naming verb, resource, namespace and the RBAC rule', async () => {
    kube.seedServiceAccount({ namespace: 'team-b', name: 'locked' });
    kube.deny({ verb: 'patch', resource: 'serviceaccounts', namespace: 'team-b' });
    const e = await caught(port.patchServiceAccountAnnotations('team-b', 'locked', { a: 'b' }));
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('Forbidden');
    expect(e.message).toContain("namespace 'team-b'");
    expect(e.message).toContain('verbs: ["patch"]');
    expect(e.message).toContain('resources: ["serviceaccounts"]');
  });

  test('422 → terminal with the API server message', async () => {
    const e = await caught(port.createServiceAccount('team-a', 'Not_A_Valid_Name', {}));
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('Invalid');
    expect(e.message).toMatch(/Not_A_Valid_Name/);
  });

  test('5xx → retryable', async () => {
    kube.controls.failNext(1, { method: 'GET', status: 503, code: 'ServiceUnavailable' });
    const e = await caught(port.getServiceAccount('team-a', 'anything'));
    expect(e.kind).toBe('retryable');
  });

  test('TokenRequest returns a JWT for the ServiceAccount with the asked audience and the issuer', async () => {
    kube.seedServiceAccount({ namespace: 'team-a', name: 'token-sa' });
    const jwt = await port.requestServiceAccountToken('team-a', 'token-sa', 'api://AzureADTokenExchange');
    const c = claims(jwt);
    expect(c.sub).toBe('system:serviceaccount:team-a:token-sa');
    expect(c.aud).toEqual(['api://AzureADTokenExchange']);
    expect(c.iss).toBe(kube.issuerUrl);
    const missing = await caught(port.requestServiceAccountToken('team-a', 'no-such-sa', 'api://AzureADTokenExchange'));
    expect(missing.kind).toBe('terminal');
  });

  test('lists ServiceAccounts and pods across pages, in one namespace or all', async () => {
    for (const n of ['p1', 'p2', 'p3']) kube.seedServiceAccount({ namespace: 'team-b', name: `list-${n}` });
    kube.seedPod({ namespace: 'team-b', name: 'web', serviceAccountName: 'list-p1', labels: { 'azure.workload.identity/use': 'true' }, env: { AZURE_CLIENT_ID: 'c9' } });
    kube.seedPod({ namespace: 'team-a', name: 'plain' });
    const inB = await port.listServiceAccounts('team-b');
    expect(inB.map((s) => s.name)).toEqual(expect.arrayContaining(['list-p1', 'list-p2', 'list-p3', 'default']));
    const all = await port.listServiceAccounts();
    expect(all.length).toBe(kube.serviceAccounts().length);
    expect(kube.controls.requests({ path: '/serviceaccounts' }).length).toBeGreaterThan(2);
    const pods = await port.listPods();
    const web = pods.find((p) => p.name === 'web');
    expect(web).toEqual({ namespace: 'team-b', name: 'web', serviceAccountName: 'list-p1', labels: { 'azure.workload.identity/use': 'true' }, azureClientIdEnv: 'c9', phase: 'Running' });
    expect(pods.find((p) => p.name === 'plain')).toMatchObject({ serviceAccountName: 'default' });
    expect(pods.find((p) => p.name === 'plain')?.azureClientIdEnv).toBeUndefined();
  });

  test('aad-pod-identity: none when the CRDs are missing, every object when present', async () => {
    kube.setPodIdentityCrds(false);
    expect(await port.listLegacyPodIdentities()).toEqual([]);
    kube.setPodIdentityCrds(true);
    kube.seedAzureIdentity({ namespace: 'team-a', name: 'legacy-id', clientID: 'legacy-client', resourceID: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/legacy' });
    kube.seedAzureIdentityBinding({ namespace: 'team-a', name: 'legacy-binding', azureIdentity: 'legacy-id', selector: 'legacy' });
    const legacy = await port.listLegacyPodIdentities();
    expect(legacy).toEqual([
      { kind: 'AzureIdentity', namespace: 'team-a', name: 'legacy-id', clientId: 'legacy-client', resourceId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/legacy', identityType: 0 },
      { kind: 'AzureIdentityBinding', namespace: 'team-a', name: 'legacy-binding', azureIdentity: 'legacy-id', selector: 'legacy' },
    ]);
  });

  test('aad-pod-identity: the AzureIdentity type is read; objects are deleted, and deleting one already gone is no error', async () => {
    kube.setPodIdentityCrds(true);
    kube.seedAzureIdentity({ namespace: 'team-a', name: 'sp-id', clientID: 'sp-client', resourceID: '', type: 1 });
    kube.seedAzureIdentityBinding({ namespace: 'team-a', name: 'sp-binding', azureIdentity: 'sp-id', selector: 'sp' });
    expect((await port.listLegacyPodIdentities()).find((o) => o.name === 'sp-id')?.identityType).toBe(1);
    await port.deleteLegacyPodIdentity('AzureIdentityBinding', 'team-a', 'sp-binding');
    await port.deleteLegacyPodIdentity('AzureIdentity', 'team-a', 'sp-id');
    expect((await port.listLegacyPodIdentities()).filter((o) => o.name.startsWith('sp-'))).toEqual([]);
    await expect(port.deleteLegacyPodIdentity('AzureIdentityBinding', 'team-a', 'sp-binding')).resolves.toBeUndefined();
    kube.setPodIdentityCrds(false);
    await expect(port.deleteLegacyPodIdentity('AzureIdentity', 'team-a', 'sp-id')).resolves.toBeUndefined();
  });

  test('an unreachable API server → retryable', async () => {
    const dead = await startKubeEmulator();
    const yaml = dead.kubeconfig();
    await dead.close();
    const p = createKubeAdapter({ kubeconfigYaml: yaml });
    const e = await caught(p.getServiceAccount('default', 'default'));
    expect(e.kind).toBe('retryable');
  });

  test('an API server whose certificate the kubeconfig does not trust → terminal, naming certificate-authority', async () => {
    const stranger = await createTls(mkdtempSync(path.join(tmpdir(), 'wid-other-ca-')));
    const yaml = kube.kubeconfig().replace(Buffer.from(kube.caPem).toString('base64'), Buffer.from(stranger.certPem).toString('base64'));
    const e = await caught(createKubeAdapter({ kubeconfigYaml: yaml }).getServiceAccount('team-a', 'default'));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.code).toBe('KubeTlsUntrusted');
    expect(e.message).toContain('certificate-authority');
  });

  test('a token the API server does not know → terminal Unauthorized', async () => {
    const e = await caught(createKubeAdapter({ kubeconfigYaml: kube.kubeconfig({ token: 'not-a-cluster-token' }) }).getServiceAccount('team-a', 'default'));
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.code).toBe('Unauthorized');
  });

  test('a kubeconfig file naming its CA file, and a named context', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wid-kube-'));
    writeFileSync(path.join(dir, 'ca.pem'), kube.caPem);
    const file = kube.writeKubeconfig(path.join(dir, 'config'), { caFile: path.join(dir, 'ca.pem') });
    expect(readFileSync(file, 'utf8')).toContain(`certificate-authority: ${path.join(dir, 'ca.pem')}`);
    const fromFile = createKubeAdapter({ kubeconfigPath: file });
    expect(await fromFile.getServiceAccount('team-a', 'default')).toMatchObject({ name: 'default' });
    const named = createKubeAdapter({ kubeconfigYaml: kube.kubeconfig({ contextName: 'aks-prod' }), context: 'aks-prod' });
    expect(await named.getServiceAccount('team-a', 'default')).toMatchObject({ name: 'default' });
    expect(() => createKubeAdapter({ kubeconfigYaml: kube.kubeconfig(), context: 'no-such-context' })).toThrow(/no context 'no-such-context'/);
    expect(() => createKubeAdapter({ kubeconfigPath: '/nonexistent/kubeconfig' })).toThrow(TerminalError);
  });
});
