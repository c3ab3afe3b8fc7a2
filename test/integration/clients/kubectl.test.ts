/**
 * Contract: the real `kubectl` against the test world's Kubernetes API emulator, over HTTPS with the
 * world's CA and bearer token (a kubeconfig in a temp dir: `certificate-authority` file + token, no
 * TLS skip), through the everyday commands an operator checks wid-bot's work with; and kubectl's
 * answers agree with `wid list|cluster|legacy --json` (run in-process) on the same world.
 *
 * Held against (`kubectl version --client`):
 *  - v1.32.4-dispatcher: Google Cloud SDK's `kubectl` package, which picks its bundled kubectl by the
 *    server's minor version (v1.30.13 against this server's v1.30.5);
 *  - v1.20.2: Debian bookworm's `kubernetes-client` (what .ci/run installs). It predates
 *    `kubectl create token` (1.24), so there the TokenRequest is made with `kubectl create --raw`.
 * kubectl is found on PATH; when it is missing every test here fails and says to install it.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ClientAssertionCredential } from '@azure/identity';
import { parse as parseYaml } from 'yaml';
import { main } from '../../../src/cli';
import type { CliIo } from '../../../src/cli/verb';
import type { ClusterResult, LegacyResult, ListResult } from '../../../src/inspect';
import { createTls } from '../../emulators/common/tls';
import { decodeJwt, verifyRs256 } from '../../emulators/entra/jwt';
import { startWorld, WORLD, type World } from '../../emulators/world';

const CLIENT_ID = 'azure.workload.identity/client-id';
const USE_LABEL = 'azure.workload.identity/use';
const AUDIENCE = 'api://AzureADTokenExchange';

/** kubectl on PATH, or undefined. */
function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const KUBECTL = findOnPath('kubectl');
const MISSING =
  'kubectl is not on PATH. These contract tests drive the real kubectl: install Debian\'s kubernetes-client (apt-get install kubernetes-client), or any kubectl, and run them again.';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let world: World;
let dir: string;
let kubeconfig: string;
let token: string;
let hasCreateToken = false;

/** Run kubectl asynchronously (the emulators answer from this same process) with only the temp kubeconfig and home. */
function kubectl(args: string[], opts: { kubeconfig?: string; stdin?: string } = {}): Promise<Run> {
  if (!KUBECTL) throw new Error(MISSING);
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL,
      args,
      { env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: opts.kubeconfig ?? kubeconfig }, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
  });
}

/** kubectl that must succeed; its stdout. */
async function ok(args: string[]): Promise<string> {
  const r = await kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A printed table as rows of whitespace-separated cells, header first. */
function table(text: string): string[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/));
}

/** `wid VERB --json` in-process, with the same kubeconfig kubectl uses. */
async function wid<T>(...argv: string[]): Promise<T> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env: { ...world.env, KUBECONFIG: kubeconfig } };
  const code = await main([...argv, '--json', '--policy', world.files.policy], io);
  if (code !== 0) throw new Error(`wid ${argv.join(' ')} exited ${code}: ${err}`);
  return JSON.parse(out) as T;
}

interface SaJson {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; annotations?: Record<string, string>; labels?: Record<string, string> };
}

beforeAll(async () => {
  if (!KUBECTL) throw new Error(MISSING);
  world = await startWorld({ kube: { namespaces: ['finance', 'payments'], podIdentityCrds: true } });
  dir = mkdtempSync(path.join(tmpdir(), 'wid-kubectl-'));
  mkdirSync(path.join(dir, '.kube'), { recursive: true });
  // What an operator writes from `npm run emulators`' output: the CA file, the server and the token.
  const printed = parseYaml(readFileSync(world.files.kubeconfig, 'utf8')) as { users: { user: { token: string } }[] };
  token = printed.users[0]?.user.token as string;
  writeFileSync(path.join(dir, 'ca.pem'), readFileSync(world.files.ca));
  kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${WORLD.clusterName}`,
      '  cluster:',
      `    server: ${world.urls.kube}`,
      `    certificate-authority: ${path.join(dir, 'ca.pem')}`,
      'users:',
      '- name: operator',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      `- name: ${WORLD.clusterName}`,
      '  context:',
      `    cluster: ${WORLD.clusterName}`,
      '    user: operator',
      `current-context: ${WORLD.clusterName}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  hasCreateToken = /^\s+token\s/m.test((await kubectl(['create', '--help'])).stdout);

  // What wid-bot leaves behind for one workload, plus a legacy pod identity.
  const { arm, kube } = world;
  const orders = arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: 'id-orders' });
  kube.seedServiceAccount({ namespace: 'finance', name: 'orders', annotations: { [CLIENT_ID]: orders.clientId }, labels: { [USE_LABEL]: 'true' } });
  kube.seedPod({ namespace: 'finance', name: 'orders-1', serviceAccountName: 'orders', labels: { [USE_LABEL]: 'true' } });
  kube.seedAzureIdentity({ namespace: 'payments', name: 'legacy-id', clientID: '22222222-3333-4444-8555-666666666666', resourceID: `/subscriptions/${WORLD.subscriptionId}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/legacy` });
}, 60_000);

afterAll(async () => {
  await world?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

jest.setTimeout(60_000);

describe('kubectl against the world, over HTTPS with its CA and token', () => {
  test('the kubeconfig verifies TLS: no skip flag; a wrong token is Unauthorized; a CA that did not sign the server is refused', async () => {
    expect(readFileSync(kubeconfig, 'utf8')).not.toContain('insecure-skip-tls-verify');
    // The kubeconfig the world writes (and `npm run emulators` prints) works as it is.
    const printed = await kubectl(['get', 'ns', '-o', 'name'], { kubeconfig: world.files.kubeconfig });
    expect([printed.code, printed.stdout.trim().split('\n')]).toEqual([0, world.kube.namespaces().map((n) => `namespace/${n}`)]);
    const version = JSON.parse(await ok(['version', '-o', 'json'])) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toBe('v1.30.5');

    const wrong = path.join(dir, 'wrong-token');
    writeFileSync(wrong, readFileSync(kubeconfig, 'utf8').replace(token, 'not-the-cluster-token'));
    const denied = await kubectl(['get', 'sa', '-n', 'finance'], { kubeconfig: wrong });
    expect(denied.code).toBe(1);
    // kubectl's wording of a 401 changed in 1.26; both are what it prints for a real API server's Unauthorized Status.
    expect(denied.stderr).toMatch(/error: You must be logged in to the server \((Unauthorized|the server has asked for the client to provide credentials)\)/);

    const strangerCa = path.join(dir, 'stranger.pem');
    writeFileSync(strangerCa, (await createTls(path.join(dir, 'stranger'))).certPem);
    const untrusted = path.join(dir, 'untrusted');
    writeFileSync(untrusted, readFileSync(kubeconfig, 'utf8').replace(path.join(dir, 'ca.pem'), strangerCa));
    const refused = await kubectl(['get', 'ns'], { kubeconfig: untrusted });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/x509: certificate signed by unknown authority|certificate is not trusted/);
  });

  test('discovery: api-resources with short names, api-versions with aadpodidentity.k8s.io/v1', async () => {
    const rows = table(await ok(['api-resources', '--no-headers']));
    const byName = new Map(rows.map((r) => [r[0], r]));
    expect(byName.get('serviceaccounts')).toEqual(['serviceaccounts', 'sa', 'v1', 'true', 'ServiceAccount']);
    expect(byName.get('namespaces')).toEqual(['namespaces', 'ns', 'v1', 'false', 'Namespace']);
    expect(byName.get('pods')).toEqual(['pods', 'po', 'v1', 'true', 'Pod']);
    expect(byName.get('azureidentities')).toEqual(['azureidentities', 'aadpodidentity.k8s.io/v1', 'true', 'AzureIdentity']);
    expect(byName.get('azureidentitybindings')).toEqual(['azureidentitybindings', 'aadpodidentity.k8s.io/v1', 'true', 'AzureIdentityBinding']);
    expect((await ok(['api-versions'])).trim().split('\n')).toEqual(['aadpodidentity.k8s.io/v1', 'v1']);
  });

  test('kubectl get ns / get sa -n / get serviceaccounts -A / get pods print the columns a real cluster prints', async () => {
    const ns = table(await ok(['get', 'ns']));
    expect(ns[0]).toEqual(['NAME', 'STATUS', 'AGE']);
    expect(ns.slice(1).map((r) => r[0])).toEqual(world.kube.namespaces());
    expect(ns.slice(1).every((r) => r[1] === 'Active' && /^\d+[smhdy]/.test(r[2] ?? ''))).toBe(true);

    const sa = table(await ok(['get', 'sa', '-n', 'finance']));
    expect(sa[0]).toEqual(['NAME', 'SECRETS', 'AGE']);
    expect(sa.slice(1).map((r) => [r[0], r[1]])).toEqual([
      ['default', '0'],
      ['orders', '0'],
    ]);

    const all = table(await ok(['get', 'serviceaccounts', '--all-namespaces']));
    expect(all[0]).toEqual(['NAMESPACE', 'NAME', 'SECRETS', 'AGE']);
    expect(all.slice(1).map((r) => `${r[0]}/${r[1]}`)).toEqual(
      world.kube
        .serviceAccounts()
        .map((s) => `${s.metadata.namespace}/${s.metadata.name}`)
        .sort(),
    );
    expect(table(await ok(['get', 'sa', '-A', '--no-headers'])).length).toBe(all.length - 1);

    const pods = table(await ok(['get', 'pods', '-n', 'finance']));
    expect(pods[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(pods[1]?.slice(0, 4)).toEqual(['orders-1', '1/1', 'Running', '0']);
    const wide = table(await ok(['get', 'pods', '-n', 'finance', '-o', 'wide']));
    expect(wide[0]).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED', 'NODE', 'READINESS', 'GATES']);
    const labels = table(await ok(['get', 'sa', 'orders', '-n', 'finance', '--show-labels']));
    expect(labels[0]).toEqual(['NAME', 'SECRETS', 'AGE', 'LABELS']);
    expect(labels[1]?.[3]).toBe(`${USE_LABEL}=true`);
    expect((await kubectl(['get', 'pods', '-n', 'payments'])).stderr.trim()).toBe('No resources found in payments namespace.');
  });

  test('-o json and -o jsonpath answer with the stored object; agree with wid list --json', async () => {
    const stored = world.kube.getServiceAccount('finance', 'orders');
    const sa = JSON.parse(await ok(['get', 'sa', 'orders', '-n', 'finance', '-o', 'json'])) as SaJson & { kind: string; apiVersion: string };
    expect(sa.kind).toBe('ServiceAccount');
    expect(sa.apiVersion).toBe('v1');
    expect(sa.metadata).toMatchObject({ name: 'orders', namespace: 'finance', uid: stored?.metadata.uid, resourceVersion: stored?.metadata.resourceVersion });
    const clientId = await ok(['get', 'sa', 'orders', '-n', 'finance', '-o', 'jsonpath={.metadata.annotations.azure\\.workload\\.identity/client-id}']);
    expect(clientId).toBe(stored?.metadata.annotations?.[CLIENT_ID]);

    const list = await wid<ListResult>('list');
    const fromKubectl = (JSON.parse(await ok(['get', 'serviceaccounts', '-A', '-o', 'json'])) as { kind: string; items: SaJson[] }).items
      .filter((s) => s.metadata.annotations?.[CLIENT_ID] !== undefined || s.metadata.labels?.[USE_LABEL] === 'true')
      .map((s) => ({ namespace: s.metadata.namespace, name: s.metadata.name, clientId: s.metadata.annotations?.[CLIENT_ID] }));
    expect(list.serviceAccounts.map((s) => ({ namespace: s.namespace, name: s.name, clientId: s.clientId }))).toEqual(fromKubectl);
    expect(list.serviceAccounts.find((s) => s.name === 'orders')?.identity?.name).toBe('id-orders');
    const names = await ok(['get', 'sa', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}']);
    expect(names.trim().split('\n')).toEqual(
      world.kube
        .serviceAccounts()
        .map((s) => `${s.metadata.namespace}/${s.metadata.name}`)
        .sort(),
    );
  });

  test('create ns, create sa, annotate, label, patch (strategic merge), delete — and wid list follows each step', async () => {
    expect((await ok(['create', 'namespace', 'team-x'])).trim()).toBe('namespace/team-x created');
    expect(table(await ok(['get', 'sa', '-n', 'team-x', '--no-headers'])).map((r) => r[0])).toEqual(['default']);
    expect((await ok(['create', 'serviceaccount', 'app', '-n', 'team-x'])).trim()).toBe('serviceaccount/app created');
    expect(world.kube.getServiceAccount('team-x', 'app')).toBeDefined();
    expect((await wid<ListResult>('list', 'team-x')).serviceAccounts).toEqual([]);

    const identity = world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: 'id-team-x-app' });
    expect((await ok(['annotate', 'sa', 'app', '-n', 'team-x', `${CLIENT_ID}=${identity.clientId}`])).trim()).toBe('serviceaccount/app annotated');
    expect((await ok(['label', 'sa', 'app', '-n', 'team-x', `${USE_LABEL}=true`])).trim()).toBe('serviceaccount/app labeled');
    expect((await ok(['patch', 'sa', 'app', '-n', 'team-x', '-p', '{"metadata":{"annotations":{"azure.workload.identity/service-account-token-expiration":"3600"}}}'])).trim()).toBe(
      'serviceaccount/app patched',
    );
    const listed = await wid<ListResult>('list', 'team-x');
    expect(listed.serviceAccounts).toEqual([expect.objectContaining({ namespace: 'team-x', name: 'app', clientId: identity.clientId, useLabel: true, identity: expect.objectContaining({ name: 'id-team-x-app' }) })]);
    expect(world.kube.getServiceAccount('team-x', 'app')?.metadata.annotations).toEqual({
      [CLIENT_ID]: identity.clientId,
      'azure.workload.identity/service-account-token-expiration': '3600',
    });
    // Overwriting an annotation needs --overwrite, as on a real cluster; removing one uses the trailing dash.
    const again = await kubectl(['annotate', 'sa', 'app', '-n', 'team-x', `${CLIENT_ID}=other`]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`'${CLIENT_ID}' already has a value (${identity.clientId})`);
    expect(again.stderr).toContain('--overwrite is false');
    await ok(['annotate', 'sa', 'app', '-n', 'team-x', 'azure.workload.identity/service-account-token-expiration-']);
    expect(Object.keys(world.kube.getServiceAccount('team-x', 'app')?.metadata.annotations ?? {})).toEqual([CLIENT_ID]);

    expect((await ok(['delete', 'sa', 'app', '-n', 'team-x'])).trim()).toBe('serviceaccount "app" deleted');
    expect(world.kube.getServiceAccount('team-x', 'app')).toBeUndefined();
    expect((await wid<ListResult>('list', 'team-x')).serviceAccounts).toEqual([]);
    expect((await ok(['delete', 'namespace', 'team-x'])).trim()).toBe('namespace "team-x" deleted');
    expect(world.kube.namespaces()).not.toContain('team-x');
  });

  test('errors print the API server\'s Status: NotFound, AlreadyExists, a missing namespace, Forbidden', async () => {
    const missing = await kubectl(['get', 'sa', 'ghost', '-n', 'finance']);
    expect([missing.code, missing.stderr.trim()]).toEqual([1, 'Error from server (NotFound): serviceaccounts "ghost" not found']);
    const gone = await kubectl(['delete', 'sa', 'ghost', '-n', 'finance']);
    expect([gone.code, gone.stderr.trim()]).toEqual([1, 'Error from server (NotFound): serviceaccounts "ghost" not found']);
    const dup = await kubectl(['create', 'sa', 'orders', '-n', 'finance']);
    // kubectl ≥ 1.2x wraps a create generator's failure in "failed to create serviceaccount"; 1.20 prints the Status as is.
    const createFailed = (status: string) => new RegExp(`^(error: failed to create serviceaccount: |Error from server \\(${status}\\): )`);
    expect(dup.code).toBe(1);
    expect(dup.stderr.trim()).toMatch(createFailed('AlreadyExists'));
    expect(dup.stderr.trim()).toMatch(/serviceaccounts "orders" already exists$/);
    const dupNs = await kubectl(['create', 'ns', 'finance']);
    expect([dupNs.code, dupNs.stderr.trim()]).toEqual([1, 'Error from server (AlreadyExists): namespaces "finance" already exists']);
    const nowhere = await kubectl(['create', 'sa', 'app', '-n', 'nowhere']);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr.trim()).toMatch(createFailed('NotFound'));
    expect(nowhere.stderr.trim()).toMatch(/namespaces "nowhere" not found$/);
    const bad = await kubectl(['create', 'sa', 'Bad_Name', '-n', 'finance']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ServiceAccount "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain');

    const lift = world.kube.deny({ verb: 'list', resource: 'serviceaccounts', namespace: 'payments' });
    try {
      const forbidden = await kubectl(['get', 'sa', '-n', 'payments']);
      expect([forbidden.code, forbidden.stderr.trim()]).toEqual([
        1,
        'Error from server (Forbidden): serviceaccounts is forbidden: User "system:serviceaccount:wid:wid-bot" cannot list resource "serviceaccounts" in API group "" in the namespace "payments"',
      ]);
    } finally {
      lift();
    }
  });

  test('a TokenRequest for the workload audience: issued by the cluster issuer wid cluster reports, verifiable with its HTTPS JWKS, exchanged at Entra', async () => {
    const cluster = await wid<ClusterResult>('cluster');
    expect(cluster.issuerUrl).toBe(world.kube.issuerUrl);
    expect(cluster.issuerUrl).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:\\d+/${WORLD.tenantId}/[0-9a-f-]{36}/$`));
    const discovery = JSON.parse(await ok(['get', '--raw', '/.well-known/openid-configuration'])) as { issuer: string };
    expect(discovery.issuer).toBe(cluster.issuerUrl);

    let jwt: string;
    if (hasCreateToken) {
      jwt = (await ok(['create', 'token', 'orders', '-n', 'finance', '--audience', AUDIENCE, '--duration', '1h'])).trim();
    } else {
      const body = path.join(dir, 'tokenrequest.json');
      writeFileSync(body, JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [AUDIENCE], expirationSeconds: 3600 } }));
      jwt = (JSON.parse(await ok(['create', '--raw', '/api/v1/namespaces/finance/serviceaccounts/orders/token', '-f', body])) as { status: { token: string } }).status.token;
    }
    const decoded = decodeJwt(jwt);
    expect(decoded?.payload).toMatchObject({ iss: cluster.issuerUrl, sub: 'system:serviceaccount:finance:orders', aud: [AUDIENCE] });
    expect((decoded?.payload.exp as number) - (decoded?.payload.iat as number)).toBe(3600);

    // Anyone (Entra) reads the issuer's discovery document and keys over HTTPS, without a token.
    const doc = (await (await fetch(`${cluster.issuerUrl}.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    expect(doc.issuer).toBe(cluster.issuerUrl);
    expect(doc.jwks_uri.startsWith('https://')).toBe(true);
    const jwks = (await (await fetch(doc.jwks_uri)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.some((k) => verifyRs256(decoded!, k))).toBe(true);

    const orders = world.arm.state.findIdentityByClientId(world.kube.getServiceAccount('finance', 'orders')?.metadata.annotations?.[CLIENT_ID] ?? '');
    expect(orders).toBeDefined();
    world.arm.state.seedFederatedCredential(orders!.id, { name: 'finance-orders', issuer: cluster.issuerUrl, subject: 'system:serviceaccount:finance:orders' });
    const exchanged = await new ClientAssertionCredential(WORLD.tenantId, orders!.clientId, async () => jwt, { authorityHost: world.urls.entra, disableInstanceDiscovery: true }).getToken(
      'https://vault.azure.net/.default',
    );
    expect(exchanged.token.split('.')).toHaveLength(3);

    if (hasCreateToken) {
      const short = await kubectl(['create', 'token', 'orders', '-n', 'finance', '--duration', '1m']);
      expect(short.code).toBe(1);
      expect(short.stderr).toContain('may not specify a duration less than 10 minutes');
    }
  });

  test('kubectl get azureidentities -A lists the legacy pod identities wid legacy reports', async () => {
    const printed = table(await ok(['get', 'azureidentities', '-A']));
    expect(printed[0]).toEqual(['NAMESPACE', 'NAME', 'AGE']);
    expect(printed.slice(1).map((r) => `${r[0]}/${r[1]}`)).toEqual(['payments/legacy-id']);
    const json = JSON.parse(await ok(['get', 'azureidentities.aadpodidentity.k8s.io', '-A', '-o', 'json'])) as { items: { metadata: { namespace: string; name: string }; spec: { clientID: string } }[] };
    const legacy = await wid<LegacyResult>('legacy');
    expect(legacy.items.filter((i) => i.kind === 'AzureIdentity').map((i) => ({ namespace: i.namespace, name: i.name, clientId: i.clientId }))).toEqual(
      json.items.map((i) => ({ namespace: i.metadata.namespace, name: i.metadata.name, clientId: i.spec.clientID })),
    );
    expect(table(await ok(['get', 'azureidentitybindings', '-A'])).length).toBeLessThanOrEqual(1);
  });

  test('OpenAPI is not served (404): kubectl says so for create -f, and creates with --validate=false', async () => {
    const manifest = path.join(dir, 'sa.yaml');
    writeFileSync(manifest, 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: from-file\n  namespace: payments\n');
    const validated = await kubectl(['create', '-f', manifest]);
    expect(validated.code).toBe(1);
    // 1.2x: "error validating …: failed to download openapi: …"; 1.20 prints the 404 Status of /openapi/v2 as is.
    expect(validated.stderr).toMatch(/error validating .*sa\.yaml.*turn validation off with --validate=false|^Error from server \(NotFound\): the server could not find the requested resource$/ms);
    expect((await ok(['create', '-f', manifest, '--validate=false'])).trim()).toBe('serviceaccount/from-file created');
    expect(world.kube.getServiceAccount('payments', 'from-file')).toBeDefined();
  });
});

describe('npm run emulators, through the kubeconfig it prints', () => {
  test('kubectl works with the printed kubeconfig; the standalone Entra trusts the HTTPS issuer without NODE_EXTRA_CA_CERTS set', async () => {
    const worldDir = mkdtempSync(path.join(tmpdir(), 'wid-emulators-'));
    // A fresh shell: nothing trusts the world's certificate yet (the test run's certificate directory is reused).
    const env: NodeJS.ProcessEnv = { ...process.env, WID_WORLD_DIR: worldDir };
    delete env.NODE_EXTRA_CA_CERTS;
    const child = spawn(process.execPath, ['-r', 'tsx/cjs', path.join('test', 'emulators', 'cli.ts')], { cwd: path.resolve(__dirname, '../../..'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const printed = await new Promise<{ arm: string; entra: string; kube: string; kubeconfig: string; issuer: string; ca: string }>((resolve, reject) => {
        let out = '';
        let err = '';
        child.stdout?.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.startsWith('{'));
          if (line && out.includes('\n')) resolve(JSON.parse(line) as never);
        });
        child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) => reject(new Error(`npm run emulators exited ${code}: ${err}`)));
      });
      expect(printed.issuer).toMatch(new RegExp(`^https://127\\.0\\.0\\.1:\\d+/${WORLD.tenantId}/[0-9a-f-]{36}/$`));
      const cfg = readFileSync(printed.kubeconfig, 'utf8');
      expect(cfg).toContain(`certificate-authority: ${printed.ca}`);
      expect(cfg).not.toContain('insecure-skip-tls-verify');
      const run = (args: string[]) => kubectl(args, { kubeconfig: printed.kubeconfig });
      expect((await run(['create', 'sa', 'api', '-n', 'finance'])).code).toBe(0);

      // An identity federated with that ServiceAccount, made through ARM as any client would.
      const idPath = `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.identityResourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-api`;
      const arm = (p: string, body: unknown) =>
        fetch(`${printed.arm}${p}?api-version=2023-01-31`, { method: 'PUT', headers: { authorization: 'Bearer operator', 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => {
          if (r.status >= 300) throw new Error(`ARM ${r.status}: ${await r.text()}`);
          return (await r.json()) as { properties: { clientId: string } };
        });
      const identity = await arm(idPath, { location: WORLD.location });
      await arm(`${idPath}/federatedIdentityCredentials/finance-api`, { properties: { issuer: printed.issuer, subject: 'system:serviceaccount:finance:api', audiences: [AUDIENCE] } });

      let jwt: string;
      if (hasCreateToken) {
        const t = await run(['create', 'token', 'api', '-n', 'finance', '--audience', AUDIENCE]);
        expect(t.code).toBe(0);
        jwt = t.stdout.trim();
      } else {
        const body = path.join(worldDir, 'tokenrequest.json');
        writeFileSync(body, JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [AUDIENCE] } }));
        jwt = (JSON.parse((await run(['create', '--raw', '/api/v1/namespaces/finance/serviceaccounts/api/token', '-f', body])).stdout) as { status: { token: string } }).status.token;
      }
      const form = new URLSearchParams({
        client_id: identity.properties.clientId,
        scope: 'https://vault.azure.net/.default',
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: jwt,
      });
      const res = await fetch(`${printed.entra}/${WORLD.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
      const answer = (await res.json()) as { access_token?: string; error_description?: string };
      expect([res.status, answer.error_description]).toEqual([200, undefined]);
      expect(answer.access_token?.split('.')).toHaveLength(3);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
      rmSync(worldDir, { recursive: true, force: true });
    }
  });
});
