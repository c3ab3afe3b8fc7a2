import { spawn } from 'node:child_process';
import path from 'node:path';
import { createAzureAdapters } from '../../../src/azure';
import { validateBlocks } from '../../emulators/slack/blocks';
import type { World } from '../../emulators/world';
import { createInspector, inspectForSlack, renderSlack, renderTable, type AuditResult, type CredsResult, type InspectProgress, type LegacyResult, type ListResult } from '../../../src/inspect';
import { run as runAudit } from '../../../src/cli/audit';
import { run as runList } from '../../../src/cli/list';
import type { CliIo } from '../../../src/cli/verb';
import { GHOST_CLIENT_ID, inspectorDeps, RG, startCleanWorld, startFindingsWorld, type SeededFindings } from './world-seed';

const ROOT = path.resolve(__dirname, '../../..');

function captureIo(env: NodeJS.ProcessEnv = {}): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), env };
}

const codesOf = (r: AuditResult): string[] => r.findings.map((f) => `${f.code} ${f.subject}`).sort();

/** `[code]` `subject` pairs read back from the rendered Slack text, the way a person reads it. */
function findingsFromSlack(messages: { blocks: unknown[] }[]): string[] {
  const text = JSON.stringify(messages.map((m) => m.blocks));
  return [...text.matchAll(/\*\[([a-z-]+)\]\* `([^`]+)`/g)].map((m) => `${m[1]} ${m[2]}`).sort();
}

function expectValidSlack(messages: { text: string; blocks: unknown[] }[]): void {
  expect(messages.length).toBeGreaterThan(0);
  for (const m of messages) {
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    expect(m.text.length).toBeGreaterThan(0);
  }
}

describe('inspection verbs against a world with one case of every finding', () => {
  let seeded: SeededFindings;
  let world: World;

  beforeAll(async () => {
    seeded = await startFindingsWorld();
    world = seeded.world;
  });
  afterAll(async () => {
    await world?.close();
  });

  it('audit of cluster blue reports exactly the seeded findings, each with severity and fix', async () => {
    const progress: InspectProgress[] = [];
    const result = await createInspector(inspectorDeps(world)).audit({ cluster: 'blue' }, (p) => progress.push(p));
    expect(codesOf(result)).toEqual([...seeded.blue].sort());
    const bySubject = new Map(result.findings.map((f) => [f.subject, f]));
    expect(bySubject.get('serviceaccount/finance/ghost')?.severity).toBe('error');
    expect(bySubject.get('serviceaccount/finance/ghost')?.message).toContain(GHOST_CLIENT_ID);
    const missing = bySubject.get('serviceaccount/finance/billing');
    expect(missing?.message).toContain('AADSTS70021');
    expect(missing?.fix).toContain(`--issuer ${seeded.issuer} --subject system:serviceaccount:finance:billing`);
    expect(bySubject.get(`credential/${RG}/id-slash/payments-reports`)?.fix).toContain(`--issuer ${seeded.issuer} `);
    expect(bySubject.get(`credential/${RG}/id-old/finance-legacy-app`)?.message).toContain(seeded.oldIssuer);
    expect(bySubject.get('pod/payments/pay-1')?.fix).toContain('kubectl delete pod pay-1 -n payments');
    expect(bySubject.get(`identity/${RG}/id-full`)?.message).toContain('18 of its 20');
    expect(result.counts).toEqual({ error: 4, warning: 4, info: 0 });
    expect(result.scanned.identities).toBe(7);
    // Progress ran from nothing to all identities (the total grows while identities are listed).
    expect(progress[0]).toMatchObject({ done: 0, phase: 'credentials' });
    expect(progress.every((p, i) => i === 0 || (p.done >= (progress[i - 1]?.done ?? 0) && p.done <= p.total))).toBe(true);
    expect(progress[progress.length - 1]).toMatchObject({ done: 7, total: 7, phase: 'credentials', remainingSeconds: 0 });
    // The results so far hold only findings the final answer has too; over every identity they are all but the unknown client ids.
    const key = (f: { code: string; subject: string }): string => `${f.code} ${f.subject}`;
    const final = new Set(result.findings.map(key));
    for (const p of progress) {
      const soFar = p.partial?.();
      if (soFar?.verb !== 'audit') continue;
      expect(soFar.findings.every((f) => final.has(key(f)))).toBe(true);
    }
    const last = progress[progress.length - 1]?.partial?.();
    expect(last?.verb).toBe('audit');
    if (last?.verb === 'audit') expect(last.findings.map(key)).toEqual(result.findings.filter((f) => f.code !== 'sa-unknown-client-id').map(key));
  });

  it('audit of cluster green (OIDC and workload identity off) gives the exact az aks update fix', async () => {
    const result = await createInspector(inspectorDeps(world)).audit({ cluster: 'green' });
    const fix = 'az aks update -g rg-aks -n aks-green --enable-oidc-issuer --enable-workload-identity';
    const oidc = result.findings.find((f) => f.code === 'cluster-oidc-disabled');
    const wi = result.findings.find((f) => f.code === 'cluster-workload-identity-disabled');
    expect(oidc).toMatchObject({ severity: 'error', subject: 'cluster/green', fix });
    expect(wi).toMatchObject({ severity: 'error', subject: 'cluster/green', fix });
    // No issuer: the credential checks for this cluster are skipped, not reported as missing.
    expect(result.findings.some((f) => f.code === 'sa-missing-credential')).toBe(false);
  });

  it('cluster shows the facts and the fix command only when something is off', async () => {
    const inspector = createInspector(inspectorDeps(world));
    const blue = await inspector.cluster({ cluster: 'blue' });
    expect(blue).toMatchObject({ oidcIssuerEnabled: true, issuerUrl: seeded.issuer, workloadIdentityEnabled: true, identityType: 'SystemAssigned', podIdentityEnabled: true, problems: [] });
    expect(blue.fixCommand).toBeUndefined();
    expect(blue.notes.join(' ')).toContain('--disable-pod-identity');
    const green = await inspector.cluster({ cluster: 'green' });
    expect(green.problems).toHaveLength(2);
    expect(green.fixCommand).toBe('az aks update -g rg-aks -n aks-green --enable-oidc-issuer --enable-workload-identity');
    expect(renderTable(green)).toContain('DISABLED');
    await expect(inspector.cluster({ cluster: 'purple' })).rejects.toThrow('There is no cluster "purple" in the policy. Clusters: blue, green.');
  });

  it('list shows annotated ServiceAccounts and whether their client id is a visible identity', async () => {
    const result: ListResult = await createInspector(inspectorDeps(world)).list({ cluster: 'blue', namespace: 'finance' });
    expect(result.serviceAccounts.map((s) => `${s.namespace}/${s.name}:${s.identity?.name ?? 'none'}`)).toEqual(['finance/billing:id-billing', 'finance/ghost:none', 'finance/orders:id-orders']);
    const all = await createInspector(inspectorDeps(world)).list({ cluster: 'blue' });
    expect(all.serviceAccounts.map((s) => s.name)).toEqual(['billing', 'ghost', 'orders', 'pay']);
  });

  it("creds lists only the credentials whose issuer is exactly this cluster's", async () => {
    const result: CredsResult = await createInspector(inspectorDeps(world, { concurrency: 2 })).creds({ cluster: 'blue' });
    expect(result.credentials.map((c) => `${c.identity}/${c.credential} ${c.subject}`)).toEqual([
      'id-orders/finance-orders system:serviceaccount:finance:orders',
      'id-orphan/finance-gone system:serviceaccount:finance:gone',
      'id-pay/payments-pay system:serviceaccount:payments:pay',
    ]);
    expect(result.credentialsSearched).toBe(23);
  });

  it('legacy lists AzureIdentity, AzureIdentityBinding and the pod-identity profile with the /wid request line for each', async () => {
    const result: LegacyResult = await createInspector(inspectorDeps(world)).legacy({ cluster: 'blue' });
    expect(result.items.map((i) => `${i.kind} ${i.name}: ${i.request}`)).toEqual([
      'AzureIdentity reports-identity: /wid request finance reports-identity <role> --cluster blue',
      'AzureIdentityBinding reports-binding: /wid request finance reports <role> --cluster blue',
      'PodIdentityProfile aks-blue: /wid request <namespace> <serviceaccount> <role> --cluster blue',
    ]);
    expect(result.items[1]?.clientId).toBeDefined();
    expect(result.items[1]?.migrate).toBe('/wid migrate finance reports-binding --cluster blue');
    // in Slack the binding carries a Migrate button that starts /wid migrate for it on this cluster
    const blocks = JSON.stringify(renderSlack(result, 'U0CAROL001').map((m) => m.blocks));
    expect(blocks).toContain('"action_id":"wid_migrate"');
    expect(blocks).toContain(JSON.stringify(JSON.stringify({ n: 'finance', b: 'reports-binding', c: 'blue' })).slice(1, -1));
  });

  it('retries a throttled credential listing after the wait ARM asks for', async () => {
    world.arm.controls.failNext(2, { path: '/federatedIdentityCredentials', status: 429, code: 'ResourceRequestsThrottled', retryAfterSeconds: 1 });
    const deps = inspectorDeps(world, { retry: { maxRetries: 3 } });
    // The SDK's own retry is off here so the inspector's retry is what must cope.
    const azure = createAzureAdapters({ credential: { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) }, resourceManagerUrl: world.arm.url, tlsCa: world.tls.certPem, retry: { maxRetries: 0 } });
    const result = await createInspector({ ...deps, identities: azure.identities }).creds({ cluster: 'blue' });
    expect(result.credentials).toHaveLength(3);
  });

  it('on a terminal, the CLI draws its progress on stderr and wipes it; stdout keeps exactly the JSON', async () => {
    const deps = inspectorDeps(world);
    const plain = captureIo({});
    await runAudit(['--policy', world.files.policy, '--cluster', 'blue', '--json'], plain, { clusters: deps.clusters, identities: deps.identities, kube: deps.kube });
    const drawn: string[] = [];
    const tty = { ...captureIo({}), terminal: { write: (t: string) => void drawn.push(t), columns: 100 } };
    const code = await runAudit(['--policy', world.files.policy, '--cluster', 'blue', '--json'], tty, { clusters: deps.clusters, identities: deps.identities, kube: deps.kube });
    expect(code).toBe(0);
    expect(drawn.some((d) => /credentials \[[#-]+\] 7\/7/.test(d))).toBe(true);
    expect(drawn[drawn.length - 1]).toBe('\r\x1b[K');
    expect(tty.stderr).toEqual([]);
    expect(JSON.parse(tty.stdout.join(''))).toEqual(JSON.parse(plain.stdout.join('')));
  });

  it('Slack and the CLI give the same findings, and every Slack message is within Block Kit limits', async () => {
    const io = captureIo({});
    const deps = inspectorDeps(world);
    const code = await runAudit(['--policy', world.files.policy, '--cluster', 'blue', '--json'], io, { clusters: deps.clusters, identities: deps.identities, kube: deps.kube });
    expect(io.stderr).toEqual([]);
    expect(code).toBe(0);
    const cli = JSON.parse(io.stdout.join('')) as AuditResult;

    const progress: InspectProgress[] = [];
    const messages = await inspectForSlack(deps)('audit', { cluster: 'blue' }, 'U0CAROL001', (p) => progress.push(p));
    expectValidSlack(messages);
    expect(findingsFromSlack(messages)).toEqual(codesOf(cli));
    expect(codesOf(cli)).toEqual([...seeded.blue].sort());
    expect(JSON.stringify(messages[0]?.blocks)).toContain('*4* errors, *4* warnings');
    expect(progress.length).toBeGreaterThan(0);

    for (const verb of ['cluster', 'list', 'creds', 'legacy'] as const) expectValidSlack(await inspectForSlack(deps)(verb, { cluster: 'blue' }, 'U0CAROL001'));
    const unknown = await inspectForSlack(deps)('audit', { cluster: 'purple' }, 'U0CAROL001');
    expect(JSON.stringify(unknown)).toContain('There is no cluster');
  });

  it('the CLI runs as its own process with the world env: audit --json, exit 0', async () => {
    const env = { ...process.env, ...world.env, NODE_EXTRA_CA_CERTS: world.files.ca };
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['-r', 'tsx/cjs', 'src/cli.ts', 'audit', '--json', '--cluster', 'blue', '--policy', world.files.policy], { cwd: ROOT, env });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(codesOf(JSON.parse(stdout) as AuditResult)).toEqual([...seeded.blue].sort());
  }, 60_000);
});

describe('inspection verbs against a clean world', () => {
  let world: World;
  beforeAll(async () => {
    world = await startCleanWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('audit finds nothing; the table and Slack say so', async () => {
    const inspector = createInspector(inspectorDeps(world));
    const result = await inspector.audit();
    expect(result.findings).toEqual([]);
    expect(result.scanned).toEqual({ identities: 1, credentials: 1, serviceAccounts: 7, pods: 2 });
    expect(renderTable(result)).toMatch(/^No findings\./);
    const messages = renderSlack(result, 'U0ALICE001');
    expect(messages).toHaveLength(1);
    expectValidSlack(messages);
    expect(findingsFromSlack(messages)).toEqual([]);
  });

  it('cluster, list, creds and legacy answer for the clean cluster', async () => {
    const inspector = createInspector(inspectorDeps(world));
    expect((await inspector.cluster()).problems).toEqual([]);
    expect((await inspector.list()).serviceAccounts).toEqual([expect.objectContaining({ namespace: 'finance', name: 'orders', useLabel: true, identity: expect.objectContaining({ name: 'id-orders' }) })]);
    expect((await inspector.creds()).credentials.map((c) => c.subject)).toEqual(['system:serviceaccount:finance:orders']);
    // The aad-pod-identity CRDs are not installed: none.
    expect((await inspector.legacy()).items).toEqual([]);
  });

  it('CLI: table by default, exit 2 on bad input, exit 1 when an outside system fails', async () => {
    const deps = inspectorDeps(world);
    const injected = { clusters: deps.clusters, identities: deps.identities, kube: deps.kube };
    const ok = captureIo();
    expect(await runList(['--policy', world.files.policy, 'finance'], ok, injected)).toBe(0);
    expect(ok.stdout.join('\n')).toMatch(/NAMESPACE\s+NAME\s+CLIENT ID/);
    expect(ok.stdout.join('\n')).toContain('id-orders');
    const after = captureIo();
    expect(await runList(['finance', '--json', '--policy', world.files.policy], after, injected)).toBe(0);
    expect((JSON.parse(after.stdout.join('')) as ListResult).serviceAccounts.map((s) => s.name)).toEqual(['orders']);
    await expect(runList(['--policy', world.files.policy, '--bogus'], captureIo(), injected)).rejects.toThrow('"--bogus" is not an option of wid list');

    await expect(runList(['--policy', world.files.policy, 'a', 'b'], captureIo(), injected)).rejects.toThrow('at most one namespace');
    await expect(runAudit(['--policy', world.files.policy, '--cluster', 'purple'], captureIo(), injected)).rejects.toThrow('There is no cluster "purple"');
    await expect(runAudit([], captureIo(), injected)).rejects.toThrow('needs the policy file');

    world.arm.deny({ action: 'Microsoft.ManagedIdentity/userAssignedIdentities/read' });
    const failed = captureIo();
    try {
      expect(await runAudit(['--policy', world.files.policy], failed, injected)).toBe(1);
      expect(failed.stderr.join('\n')).toMatch(/^wid audit: /);
    } finally {
      world.arm.clearDenies();
    }
  });
});
