/**
 * Searching as wide as the runbook: `wid creds|audit --subscription …` and `--all-subscriptions` (ARM's
 * GET /subscriptions), the policy's identitySearchScopes for the Slack commands, and a subscription Azure
 * refuses (403 AuthorizationFailed) named in the result without failing it.
 */
import { createAzureAdapters } from '../../../src/azure';
import { run as runAudit } from '../../../src/cli/audit';
import { run as runCreds } from '../../../src/cli/creds';
import { CliError, type CliIo } from '../../../src/cli/verb';
import { parsePolicy } from '../../../src/config/policy';
import { inspectForSlack, type AuditResult, type CredsResult } from '../../../src/inspect';
import { createKubeAdapter } from '../../../src/kube';
import { startWorld, worldPolicyYaml, WORLD, type World } from '../../emulators/world';

const SUB = WORLD.subscriptionId;
const SUB2 = '2c2c2c2c-0000-4000-8000-000000000002';
const LOCKED = '3d3d3d3d-0000-4000-8000-000000000003';
const credential = { getToken: async () => ({ token: 'wide-search', expiresOnTimestamp: Date.now() + 3_600_000 }) };

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), env: {} };
}

describe('wide identity search', () => {
  let world: World;
  let deps: NonNullable<Parameters<typeof runCreds>[2]>;
  let slackDeps: Omit<Parameters<typeof inspectForSlack>[0], 'policy'>;

  beforeAll(async () => {
    const groups = [WORLD.aksResourceGroup, WORLD.identityResourceGroup, WORLD.appsResourceGroup].map((name) => ({ subscriptionId: SUB, name, location: WORLD.location }));
    world = await startWorld({
      kube: { namespaces: ['finance', 'payments'] },
      arm: {
        subscriptions: [{ subscriptionId: SUB, displayName: WORLD.subscriptionName }, { subscriptionId: SUB2, displayName: 'team sandbox' }, { subscriptionId: LOCKED, displayName: 'someone else' }],
        resourceGroups: [...groups, { subscriptionId: SUB2, name: 'rg-hand-made', location: WORLD.location }, { subscriptionId: LOCKED, name: 'rg-secret', location: WORLD.location }],
      },
    });
    const issuer = world.kube.issuerUrl;
    const own = world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: WORLD.identityResourceGroup, name: 'id-own' });
    world.arm.state.seedFederatedCredential(own.id, { name: 'own', issuer, subject: 'system:serviceaccount:finance:own' });
    const hand = world.arm.state.seedIdentity({ subscriptionId: SUB2, resourceGroup: 'rg-hand-made', name: 'id-by-hand' });
    world.arm.state.seedFederatedCredential(hand.id, { name: 'by-hand', issuer, subject: 'system:serviceaccount:finance:by-hand' });
    const secret = world.arm.state.seedIdentity({ subscriptionId: LOCKED, resourceGroup: 'rg-secret', name: 'id-secret' });
    world.arm.state.seedFederatedCredential(secret.id, { name: 'secret', issuer, subject: 'system:serviceaccount:finance:secret' });
    // wid-bot's identity may not read the third subscription: ARM answers 403 AuthorizationFailed there.
    world.arm.deny({ path: `/subscriptions/${LOCKED}/` });
    const azure = createAzureAdapters({ credential, resourceManagerUrl: world.arm.url, tlsCa: world.tls.certPem, retry: { maxRetries: 1, retryDelayMs: 10 } });
    const kube = createKubeAdapter({ kubeconfigPath: world.files.kubeconfig });
    deps = { clusters: azure.clusters, identities: azure.identities, kube: () => kube, subscriptions: azure.subscriptions, grantFindings: async () => [] };
    slackDeps = { clusters: azure.clusters, identities: azure.identities, kube: () => kube };
  });
  afterAll(async () => {
    await world?.close();
  });

  const subjects = (r: CredsResult): string[] => r.credentials.map((c) => c.subject).sort();

  it('without options only the policy identity group is searched', async () => {
    const io = captureIo();
    expect(await runCreds(['--policy', world.files.policy, '--json'], io, deps)).toBe(0);
    const r = JSON.parse(io.stdout.join('')) as CredsResult;
    expect(subjects(r)).toEqual(['system:serviceaccount:finance:own']);
    expect(r.scopes).toEqual({ searched: [`${SUB}/${WORLD.identityResourceGroup}`], unreadable: [] });
  });

  it('--subscription (repeatable, with or without a group) adds scopes', async () => {
    const io = captureIo();
    expect(await runCreds(['--policy', world.files.policy, '--subscription', `${SUB2}/rg-hand-made`, `--subscription=${SUB}`, '--json'], io, deps)).toBe(0);
    const r = JSON.parse(io.stdout.join('')) as CredsResult;
    expect(subjects(r)).toEqual(['system:serviceaccount:finance:by-hand', 'system:serviceaccount:finance:own']);
    // the order given; the whole subscription covers the policy identity group, so that is not searched twice
    expect(r.scopes?.searched).toEqual([`${SUB2}/rg-hand-made`, SUB]);
  });

  it('--all-subscriptions searches every subscription ARM lists and names the one it may not read', async () => {
    const io = captureIo();
    expect(await runCreds(['--policy', world.files.policy, '--all-subscriptions', '--json'], io, deps)).toBe(0);
    const r = JSON.parse(io.stdout.join('')) as CredsResult;
    expect(subjects(r)).toEqual(['system:serviceaccount:finance:by-hand', 'system:serviceaccount:finance:own']);
    expect(r.scopes?.searched).toEqual([SUB, SUB2, LOCKED]);
    expect(r.scopes?.unreadable).toHaveLength(1);
    expect(r.scopes?.unreadable[0]?.scope).toBe(LOCKED);
    expect(r.scopes?.unreadable[0]?.reason).toContain('Microsoft.ManagedIdentity/userAssignedIdentities/read');

    const table = captureIo();
    expect(await runAudit(['--policy', world.files.policy, '--all-subscriptions'], table, deps)).toBe(0);
    const text = table.stdout.join('\n');
    expect(text).toContain(`Searched for identities: ${SUB}, ${SUB2}, ${LOCKED}.`);
    expect(text).toContain(`Could not read ${LOCKED}:`);
    const audit = captureIo();
    await runAudit(['--policy', world.files.policy, '--all-subscriptions', '--json'], audit, deps);
    expect((JSON.parse(audit.stdout.join('')) as AuditResult).scanned.identities).toBe(2);
  });

  it('refuses a --subscription that is not a subscription id', async () => {
    await expect(runCreds(['--policy', world.files.policy, '--subscription', 'not-a-guid'], captureIo(), deps)).rejects.toThrow(CliError);
    await expect(runCreds(['--policy', world.files.policy, '--subscription'], captureIo(), deps)).rejects.toThrow('--subscription needs');
  });

  it("the Slack commands search the policy's identitySearchScopes and say what they searched", async () => {
    const policy = parsePolicy(`${worldPolicyYaml()}identitySearchScopes:\n  - ${SUB2}\n  - ${LOCKED}/rg-secret\n`, 'wide policy');
    const messages = await inspectForSlack({ policy, ...slackDeps })('creds', {}, 'U0ALICE001');
    const text = JSON.stringify(messages.map((m) => m.blocks));
    expect(text).toContain('id-by-hand');
    expect(text).not.toContain('id-secret');
    expect(text).toContain(`could not read \`${LOCKED}/rg-secret\``);
  });
});
