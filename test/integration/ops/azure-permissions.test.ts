/**
 * deploy/azure-permissions.sh against a stand-in az CLI that keeps state in files: the first run
 * creates the identity, its federated credential and the three kinds of role assignment (RBAC
 * Administrator with the ABAC condition); a second run changes nothing; a new policy role replaces
 * only the conditioned assignments; roles that would hand out access to others are refused.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../../..');
const script = path.join(root, 'deploy', 'azure-permissions.sh');
const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const KV_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
const BLOB_READER = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1';
const RBAC_ADMIN = 'f58310d9-a9f6-439a-9e8d-f62e7b41a168';

function world(): { state: string; run: (env?: Record<string, string>) => { status: number | null; stderr: string; calls: string[][] } } {
  const state = mkdtempSync(path.join(os.tmpdir(), 'wid-az-'));
  const bin = path.join(state, 'bin');
  mkdirSync(bin);
  symlinkSync(path.join(__dirname, 'fixtures', 'fake-az'), path.join(bin, 'az'));
  let seen = 0;
  return {
    state,
    run(env = {}) {
      const r = spawnSync('bash', [script], {
        env: { PATH: `${bin}:${process.env.PATH}`, FAKE_AZ_STATE: state, SUBSCRIPTION_ID: SUB, ...env },
        encoding: 'utf8',
        timeout: 30000,
      });
      let log: string[] = [];
      try {
        log = readFileSync(path.join(state, 'calls.log'), 'utf8').trim().split('\n');
      } catch {
        // no calls at all
      }
      const calls = log.slice(seen).map((l) => l.split('\t'));
      seen = log.length;
      return { status: r.status, stderr: r.stderr, calls };
    },
  };
}

const changes = (calls: string[][]) => calls.filter((c) => c.includes('create') || c.includes('delete'));
const arg = (call: string[], flag: string): string | undefined => (call.includes(flag) ? call[call.indexOf(flag) + 1] : undefined);

describe('deploy/azure-permissions.sh', () => {
  it('creates the identity, its federated credential and the role assignments; a second run changes nothing', () => {
    const w = world();
    const first = w.run();
    expect(first.stderr).toContain('Done.');
    expect(first.status).toBe(0);
    const made = changes(first.calls);
    expect(made.map((c) => c.slice(0, 3).join(' '))).toEqual([
      'group create --name',
      'identity create --resource-group',
      'identity federated-credential create',
      'role assignment create',
      'role assignment create',
      'role assignment create',
    ]);
    const fic = made[2]!;
    expect(arg(fic, '--subject')).toBe('system:serviceaccount:wid:wid-bot');
    expect(arg(fic, '--audiences')).toBe('api://AzureADTokenExchange');

    const [mic, rbac, reader] = made.slice(3);
    expect(arg(mic!, '--role')).toBe('e40ec5ca-96e0-45a2-b4ff-59039f2c2b59');
    expect(arg(mic!, '--scope')).toBe(`/subscriptions/${SUB}/resourceGroups/rg-workload-identities`);
    expect(mic).not.toContain('--condition');
    expect(arg(rbac!, '--role')).toBe(RBAC_ADMIN);
    expect(arg(rbac!, '--scope')).toBe(`/subscriptions/${SUB}/resourceGroups/rg-apps`);
    expect(arg(rbac!, '--condition-version')).toBe('2.0');
    expect(arg(rbac!, '--assignee-principal-type')).toBe('ServicePrincipal');
    const condition = arg(rbac!, '--condition')!;
    const guids = `{${KV_SECRETS_USER}, ${BLOB_READER}}`;
    expect(condition).toContain(`@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${guids}`);
    expect(condition).toContain(`@Request[Microsoft.Authorization/roleAssignments:PrincipalType] StringEqualsIgnoreCase 'ServicePrincipal'`);
    expect(condition).toContain(`@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals ${guids}`);
    expect(condition).toContain(`@Resource[Microsoft.Authorization/roleAssignments:PrincipalType] StringEqualsIgnoreCase 'ServicePrincipal'`);
    expect(condition).toContain("!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})");
    expect(condition).toContain("!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})");
    expect(condition.split('(').length).toBe(condition.split(')').length);
    expect(arg(reader!, '--role')).toBe('acdd72a7-3385-48ef-bd42-f606fba81ae7');
    expect(arg(reader!, '--scope')).toMatch(/\/providers\/Microsoft\.ContainerService\/managedClusters\/aks-prod-blue$/);
    expect(first.stderr).toContain('azure.workload.identity/client-id: "99999999-aaaa-4bbb-8ccc-dddddddddddd"');

    const second = w.run();
    expect(second.status).toBe(0);
    expect(changes(second.calls)).toEqual([]);
  });

  it('a new policy role replaces only the conditioned assignments, at every granted scope', () => {
    const w = world();
    expect(w.run().status).toBe(0);
    const scopes = `/subscriptions/${SUB}/resourceGroups/rg-apps /subscriptions/${SUB}/resourceGroups/rg-data`;
    const r = w.run({ POLICY_ROLES: `Key Vault Secrets User\nStorage Blob Data Reader\n11111111-2222-4333-8444-555555555555`, GRANTED_SCOPES: scopes });
    expect(r.status).toBe(0);
    const made = changes(r.calls);
    expect(made.map((c) => `${c[2]} ${arg(c, '--role') ?? ''} ${arg(c, '--scope') ?? ''}`.trim())).toEqual([
      'delete',
      `create ${RBAC_ADMIN} /subscriptions/${SUB}/resourceGroups/rg-apps`,
      `create ${RBAC_ADMIN} /subscriptions/${SUB}/resourceGroups/rg-data`,
    ]);
    expect(arg(made[1]!, '--condition')).toContain('11111111-2222-4333-8444-555555555555');
  });

  it('refuses to delegate Owner, and unknown role names', () => {
    const w = world();
    const owner = w.run({ POLICY_ROLES: 'Owner' });
    expect(owner.status).toBe(1);
    expect(owner.stderr).toContain('cannot be delegated to wid-bot');
    expect(changes(owner.calls)).toEqual([]);
    const unknown = w.run({ POLICY_ROLES: 'Made Up Role' });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('no role definition named "Made Up Role"');
  });

  it('AZURE_SCHEDULES=true (expiry: azure) adds a custom role with only the schedule actions, assigned at each granted scope; a second run changes nothing', () => {
    const w = world();
    const plain = w.run();
    expect(plain.status).toBe(0);
    expect(plain.calls.some((c) => c[0] === 'role' && c[1] === 'definition' && c[2] !== 'list')).toBe(false);
    const scopes = `/subscriptions/${SUB}/resourceGroups/rg-apps /subscriptions/${SUB}/resourceGroups/rg-data`;
    const r = w.run({ AZURE_SCHEDULES: 'true', GRANTED_SCOPES: scopes });
    expect(r.status).toBe(0);
    const made = changes(r.calls);
    const def = made.find((c) => c[1] === 'definition' && c[2] === 'create');
    expect(def).toBeDefined();
    const json = JSON.parse(arg(def!, '--role-definition')!);
    expect(json).toMatchObject({ Name: 'wid-bot role assignment schedules', IsCustom: true, NotActions: [], DataActions: [] });
    expect([...json.Actions].sort()).toEqual([
      'Microsoft.Authorization/roleAssignmentScheduleInstances/read',
      'Microsoft.Authorization/roleAssignmentScheduleRequests/read',
      'Microsoft.Authorization/roleAssignmentScheduleRequests/write',
      'Microsoft.Authorization/roleAssignmentSchedules/read',
    ]);
    expect(json.AssignableScopes).toEqual([`/subscriptions/${SUB}/resourceGroups/rg-apps`, `/subscriptions/${SUB}/resourceGroups/rg-data`]);
    const assigned = made.filter((c) => c[1] === 'assignment' && arg(c, '--role') === 'wid-bot role assignment schedules');
    expect(assigned.map((c) => arg(c, '--scope'))).toEqual([`/subscriptions/${SUB}/resourceGroups/rg-apps`, `/subscriptions/${SUB}/resourceGroups/rg-data`]);
    for (const c of assigned) expect(arg(c, '--assignee-principal-type')).toBe('ServicePrincipal');
    const again = w.run({ AZURE_SCHEDULES: 'true', GRANTED_SCOPES: scopes });
    expect(again.status).toBe(0);
    expect(changes(again.calls).filter((c) => !(c[1] === 'assignment' && arg(c, '--role') === RBAC_ADMIN))).toEqual([]);
    // a scope fewer: the definition is updated to it
    const fewer = w.run({ AZURE_SCHEDULES: 'true', GRANTED_SCOPES: `/subscriptions/${SUB}/resourceGroups/rg-apps` });
    expect(fewer.status).toBe(0);
    const upd = fewer.calls.find((c) => c[1] === 'definition' && c[2] === 'update');
    expect(JSON.parse(arg(upd!, '--role-definition')!).AssignableScopes).toEqual([`/subscriptions/${SUB}/resourceGroups/rg-apps`]);
  });

  it('DRY_RUN=true prints the changes and makes none', () => {
    const w = world();
    const r = w.run({ DRY_RUN: 'true' });
    expect(r.status).toBe(0);
    expect(changes(r.calls)).toEqual([]);
    expect(r.stderr).toContain('dry run: az role assignment create');
  });
});
