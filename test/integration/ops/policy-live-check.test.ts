/**
 * `wid policy check --live` against the emulator world: a good policy has no problems; a deliberately broken one
 * (a deactivated approver, an unknown one, an empty usergroup, a missing scope, an unknown role, a cluster
 * without OIDC issuer and workload identity) has each problem named with its file, field and fix; `--json`
 * has the documented shape.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebClient } from '@slack/web-api';
import { checkPolicyLive, type PolicyCheckReport } from '../../../src/app/policy-check';
import { createAzureAdapters } from '../../../src/azure';
import { parsePolicy } from '../../../src/config/policy';
import { run as policyCli } from '../../../src/cli/policy';
import { slackDirectory } from '../../../src/slack/directory';
import { anyToken } from '../provision/harness';
import { startWorld, worldPolicyYaml, WORLD, type World } from '../../emulators/world';

const SUB = WORLD.subscriptionId;
let world: World;
let dir: string;

beforeAll(async () => {
  world = await startWorld();
  dir = mkdtempSync(path.join(os.tmpdir(), 'wid-policy-check-'));
  world.slack.addUser({ id: 'U0GONE0001', name: 'gone', deleted: true });
  world.slack.addUsergroup({ id: 'S0EMPTY001', handle: 'empty', users: ['U0GONE0001'] });
  // a second cluster that exists but has neither OIDC issuer nor workload identity
  world.arm.state.setCluster({ subscriptionId: SUB, resourceGroup: WORLD.aksResourceGroup, name: 'aks-green', location: WORLD.location, oidcIssuerEnabled: false, workloadIdentityEnabled: false, identityType: 'SystemAssigned' });
});
afterAll(async () => {
  await world?.close();
});

function deps() {
  const azure = createAzureAdapters({ credential: anyToken, resourceManagerUrl: world.arm.url, audience: 'https://management.azure.com' });
  const client = new WebClient(WORLD.botToken, { slackApiUrl: world.slack.apiUrl, retryConfig: { retries: 0 } });
  return { directory: slackDirectory(client), scopes: azure.scopes, authorization: azure.authorization, clusters: azure.clusters };
}

/** The world policy with one of each problem put in. */
function brokenYaml(): string {
  return worldPolicyYaml({ clusters: [{ name: WORLD.clusterName, aksName: WORLD.aksName }, { name: 'green', aksName: 'aks-green' }] })
    .replace(`approvers:\n  users: [${WORLD.users.admin}]`, `approvers:\n  users: [${WORLD.users.admin}, U0GONE0001, U0NOBODY01]`)
    .replace(`    approvers:\n      groups: [${WORLD.platformGroup}]`, `    approvers:\n      groups: [${WORLD.platformGroup}, S0EMPTY001]`)
    .replace(`      Key Vault Secrets User: /subscriptions/${SUB}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.KeyVault/vaults/${WORLD.keyVault}`, `      Key Vault Secrets User: /subscriptions/${SUB}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.KeyVault/vaults/kv-gone`)
    .replace(`  - name: Contributor\n`, `  - name: Key Vault Secrets Reeder\n    scopes:\n      - /subscriptions/${SUB}/resourceGroups/rg-missing/providers/Microsoft.KeyVault/vaults/*\n    approvals: 1\n  - name: Contributor\n`);
}

const byPath = (r: PolicyCheckReport) => Object.fromEntries(r.problems.map((p) => [p.path, p]));

test('a good policy: no problems, every kind looked up', async () => {
  const policy = parsePolicy(worldPolicyYaml(), 'policy.yaml');
  const r = await checkPolicyLive({ policy, file: 'policy.yaml', ...deps() });
  expect(r.problems).toEqual([]);
  expect(r.skipped).toEqual([]);
  expect(r.checked['slack-user']).toBeGreaterThanOrEqual(3);
  expect(r.checked['slack-usergroup']).toBe(1);
  expect(r.checked['azure-scope']).toBeGreaterThanOrEqual(2);
  expect(r.checked['azure-role']).toBe(3);
  expect(r.checked.cluster).toBe(1);
});

test('a broken policy: each problem named with its file, field and fix', async () => {
  const broken = brokenYaml();
  expect(broken).toContain('U0GONE0001');
  expect(broken).toContain('S0EMPTY001');
  expect(broken).toContain('kv-gone');
  expect(broken).toContain('Reeder');
  const policy = parsePolicy(broken, 'broken.yaml');
  const r = await checkPolicyLive({ policy, file: 'broken.yaml', ...deps() });
  const p = byPath(r);
  expect(Object.keys(p).sort()).toEqual(
    [
      'approvers.users[1]',
      'approvers.users[2]',
      'namespaces.payments.approvers.groups[1]',
      'namespaces.finance.defaultScopes["Key Vault Secrets User"]',
      'roles[2].scopes[0]',
      'roles[2].name',
      'clusters[1]',
    ].sort(),
  );
  expect(r.problems.every((x) => x.file === 'broken.yaml' && x.fix.length > 10)).toBe(true);
  expect(p['approvers.users[1]']).toMatchObject({ check: 'slack-user', problem: expect.stringContaining('U0GONE0001 (gone) is deactivated') });
  expect(p['approvers.users[2]']).toMatchObject({ check: 'slack-user', problem: 'Slack has no user U0NOBODY01' });
  expect(p['namespaces.payments.approvers.groups[1]']).toMatchObject({ check: 'slack-usergroup', problem: expect.stringContaining('S0EMPTY001 has no active member') });
  expect(p['namespaces.finance.defaultScopes["Key Vault Secrets User"]']).toMatchObject({ check: 'azure-scope', problem: expect.stringContaining('kv-gone, which does not exist') });
  expect(p['roles[2].scopes[0]']).toMatchObject({ check: 'azure-scope', problem: expect.stringContaining('rg-missing') });
  expect(p['roles[2].name']).toMatchObject({ check: 'azure-role', problem: expect.stringContaining('no role named "Key Vault Secrets Reeder"') });
  const cluster = r.problems.filter((x) => x.path === 'clusters[1]');
  expect(cluster.map((x) => x.fix).sort()).toEqual([
    `az aks update -g ${WORLD.aksResourceGroup} -n aks-green --subscription ${SUB} --enable-oidc-issuer`,
    `az aks update -g ${WORLD.aksResourceGroup} -n aks-green --subscription ${SUB} --enable-workload-identity`,
  ]);
});

test('wid policy check --live --json: the shape, exit 1 on problems and 0 on a good policy', async () => {
  const bad = path.join(dir, 'broken.yaml');
  const good = path.join(dir, 'good.yaml');
  writeFileSync(bad, brokenYaml());
  writeFileSync(good, worldPolicyYaml());
  const out: string[] = [];
  const io = { out: (t: string) => void out.push(t), err: () => undefined, env: { ...process.env, ...world.env } };
  expect(await policyCli(['check', '--policy', bad, '--live', '--json'], io)).toBe(1);
  const parsed = JSON.parse(out.join('\n')) as { file: string; ok: boolean; problems: Array<Record<string, unknown>>; checked: Record<string, number>; skipped: string[] };
  expect(parsed.file).toBe(bad);
  expect(parsed.ok).toBe(false);
  expect(Object.keys(parsed.checked).sort()).toEqual(['azure-role', 'azure-scope', 'cluster', 'slack-user', 'slack-usergroup']);
  expect(parsed.skipped).toEqual([]);
  expect(parsed.problems.length).toBe(8);
  for (const problem of parsed.problems) expect(Object.keys(problem).sort()).toEqual(['check', 'file', 'fix', 'path', 'problem']);

  out.length = 0;
  expect(await policyCli(['check', '--policy', good, '--live'], io)).toBe(0);
  expect(out.join('\n')).toMatch(/policy and the live world agree: \d+ Slack users, 1 usergroups, \d+ scopes, 3 roles, 1 clusters checked/);

  out.length = 0;
  expect(await policyCli(['check', '--policy', bad, '--live'], io)).toBe(1);
  expect(out.some((l) => l.startsWith(`${bad}: approvers.users[2]: Slack has no user U0NOBODY01. Fix: `))).toBe(true);
});
