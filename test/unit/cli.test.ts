import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { main } from '../../src/cli';
import type { CliIo } from '../../src/cli/verb';
import { clusterFactsFor } from '../../src/cli/cluster-facts';
import { run as runPlan } from '../../src/cli/plan';
import type { ClusterPort } from '../../src/domain/ports';
import type { Plan } from '../../src/domain/types';

const ROOT = path.join(__dirname, '..', '..');
const POLICY = path.join(ROOT, 'policy.example.yaml');
const ISSUER = 'https://oidc.example/abc/';
const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';

function capture(env: NodeJS.ProcessEnv = {}): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    env,
    out: (t: string) => { io.stdout += `${t}\n`; },
    err: (t: string) => { io.stderr += `${t}\n`; },
  };
  return io;
}

async function wid(...argv: string[]) {
  const io = capture();
  const code = await main(argv, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

const plan = (...request: string[]) => wid('plan', '--policy', POLICY, '--issuer', ISSUER, 'request', ...request);

describe('wid plan', () => {
  it('prints the plan for the example policy with subject, audience and issuer exactly right', async () => {
    const r = await plan('payments', 'checkout-api', 'Key Vault Secrets User');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as Plan;
    expect(p.federatedCredential.issuer).toBe(ISSUER);
    expect(p.federatedCredential.subject).toBe('system:serviceaccount:payments:checkout-api');
    expect(p.federatedCredential.audiences).toEqual(['api://AzureADTokenExchange']);
    expect(p.roleAssignment.roleDefinitionId).toBe('4633458b-17de-408a-b874-0445c86b69e6');
    expect(p.identity.tags['wid-request-id']).toBe('dry-run');
  });

  it('accepts the cluster before the request, --as and request flags', async () => {
    const r = await wid('plan', '--policy', POLICY, '--cluster=green', `--issuer=${ISSUER}`, '--as', 'U0ALICE01', 'request', 'payments', 'api', 'AcrPull', '--reason', 'pull images');
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout) as Plan;
    expect(p.cluster.name).toBe('green');
    expect(p.identity.tags['wid-requester']).toBe('U0ALICE01');
    const denied = await wid('plan', '--policy', POLICY, '--issuer', ISSUER, '--as', 'U0MALLORY', 'request', 'payments', 'api', 'AcrPull');
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain('may not request');
  });

  it('uses the policy issuer when no --issuer is given, and says what is needed when there is none', async () => {
    const r = await wid('plan', '--policy', POLICY, 'request', 'payments', 'api', 'AcrPull');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs Azure');
    expect(r.stderr).toContain('--issuer');
    expect(r.stderr).toContain('az aks show --resource-group rg-aks-prod --name aks-prod-blue');
    const cluster = { name: 'blue', subscriptionId: SUB, resourceGroup: 'rg', aksName: 'aks', issuerUrl: 'https://from-policy/x/' };
    expect(await clusterFactsFor(cluster, {})).toEqual({ name: 'blue', oidcIssuerEnabled: true, issuerUrl: 'https://from-policy/x/', workloadIdentityEnabled: true });
    expect((await clusterFactsFor(cluster, { issuerUrl: 'https://given/' })).issuerUrl).toBe('https://given/');
  });

  it('reads the cluster through a ClusterPort when one is given', async () => {
    const port: ClusterPort = { getClusterFacts: async (c) => ({ name: c.name, oidcIssuerEnabled: false, issuerUrl: '', workloadIdentityEnabled: false }) };
    const io = capture();
    await expect(runPlan(['--policy', POLICY, 'request', 'payments', 'api', 'AcrPull'], io, { clusterPort: port })).rejects.toThrow(/enable-oidc-issuer --enable-workload-identity/);
    const on: ClusterPort = { getClusterFacts: async (c) => ({ name: c.name, oidcIssuerEnabled: true, issuerUrl: 'https://live/x/', workloadIdentityEnabled: true }) };
    expect(await runPlan(['--policy', POLICY, 'request', 'payments', 'api', 'AcrPull'], io, { clusterPort: on })).toBe(0);
    expect(JSON.parse(io.stdout).federatedCredential.issuer).toBe('https://live/x/');
  });

  const hostile: Array<[string, string[], RegExp]> = [
    ['an uppercase namespace', ['Payments', 'api', 'AcrPull'], /"Payments".*uppercase letter "P"/s],
    ['an uppercase ServiceAccount', ['payments', 'API', 'AcrPull'], /"API".*ServiceAccount/s],
    ['a 64-character namespace', ['n'.repeat(64), 'api', 'AcrPull'], /64 characters long/],
    ['kube-system', ['kube-system', 'api', 'AcrPull'], /reserved.*kube-system|kube-system.*reserved/s],
    ['a role outside the policy', ['payments', 'api', 'Made', 'Up', 'Role'], /"Made Up Role" is not in the policy's roles catalogue/],
    ['a role not allowed in the namespace', ['payments', 'api', 'Storage Blob Data Reader'], /may not be requested for "payments"/],
    ['Owner', ['payments', 'api', 'Owner'], /"Owner" is a privileged role/],
    ['a scope outside the role', ['payments', 'api', 'Key Vault Secrets User', '--scope', `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.KeyVault/vaults/kv`], /outside what the policy allows/],
    ['shell metacharacters in the namespace', ['; rm -rf /', 'api', 'AcrPull'], /"; rm -rf \/".*not a valid Kubernetes namespace/s],
    ['command substitution in the ServiceAccount', ['payments', '$(whoami)', 'AcrPull'], /"\$\(whoami\)".*ServiceAccount/s],
    ['shell metacharacters in the scope', ['payments', 'api', 'AcrPull', '--scope', '; rm -rf /'], /"; rm -rf \/" is not an ARM scope/],
    ['a namespace not in the policy', ['billing', 'api', 'AcrPull'], /"billing" is not in the policy/],
    ['a duration for a permanent role', ['payments', 'api', 'AcrPull', '--for', '8h'], /--for does not apply/],
    ['no role', ['payments', 'api'], /needs a role name/],
  ];
  it.each(hostile)('exits 2 naming the problem for %s', async (_what, request, message) => {
    const r = await plan(...request);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 for empty text, a missing policy, a bad policy and a bad issuer', async () => {
    const empty = await wid('plan', '--policy', POLICY, '--issuer', ISSUER, '');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('No command given');
    const nothing = await wid('plan', '--policy', POLICY);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('needs a request');
    const noPolicy = await wid('plan', 'request', 'payments', 'api', 'AcrPull');
    expect(noPolicy.stderr).toContain('--policy FILE');
    const missing = await wid('plan', '--policy', '/nope.yaml', 'request', 'payments', 'api', 'AcrPull');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nope.yaml');
    const http = await wid('plan', '--policy', POLICY, '--issuer', 'http://oidc/', 'request', 'payments', 'api', 'AcrPull');
    expect(http.code).toBe(2);
    expect(http.stderr).toContain('https');
    const revoke = await plan('payments', 'api');
    expect(revoke.code).toBe(2);
    const notRequest = await wid('plan', '--policy', POLICY, 'revoke', 'payments', 'api');
    expect(notRequest.stderr).toContain('plans requests and migrations only');
  });
});

describe('wid', () => {
  it('shows help for help, --help and per verb', async () => {
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const r = await wid(...argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('plan');
    }
    const planHelp = await wid('help', 'plan');
    expect(planHelp.stdout).toContain('wid plan --policy FILE');
    const inline = await wid('plan', '--help');
    expect(inline.code).toBe(0);
    expect(inline.stdout).toContain('--issuer');
  });

  it('refuses unknown verbs and no verb with exit 2', async () => {
    const r = await wid('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"frobnicate" is not a wid command');
    expect((await wid()).code).toBe(2);
    expect((await wid('help', 'nope')).code).toBe(2);
    expect((await wid('constructor')).code).toBe(2);
  });

  it('runs as a program: plan on stdout with exit 0, a refusal on stderr with exit 2 and no stack trace', () => {
    const node = (args: string[]) => spawnSync(process.execPath, ['-r', 'tsx/cjs', path.join(ROOT, 'src', 'cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, WID_DEBUG: '' } });
    const good = node(['plan', '--policy', POLICY, '--issuer', ISSUER, 'request', 'payments', 'checkout-api', 'Key Vault Secrets User']);
    expect(good.status).toBe(0);
    expect(JSON.parse(good.stdout).federatedCredential.subject).toBe('system:serviceaccount:payments:checkout-api');
    const bad = node(['plan', '--policy', POLICY, '--issuer', ISSUER, 'request', 'kube-system', 'x', 'Owner']);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('kube-system');
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
