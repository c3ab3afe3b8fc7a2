/**
 * Contract: the real Azure CLI (Debian's `azure-cli`, 2.45) against the test world, through the runbook's
 * commands: `az login --service-principal`, `az account show`, `az group …`, `az aks show`, `az identity …`,
 * `az identity federated-credential …` and `az role assignment create|list|delete`; and what az sees agrees with
 * `wid cluster|creds --json` on the same world. Run with `npm run test:clients` (about a minute: az takes ~3 s a call).
 *
 * How az reaches the world, all on the client side and with TLS verification on:
 * - `az cloud register --cloud-config` names the ARM and Entra emulators (and the Entra emulator's Graph sliver);
 *   REQUESTS_CA_BUNDLE trusts the world's CA; AZURE_CONFIG_DIR is a fresh temporary directory per run.
 * - Instance discovery: MSAL Python asks login.microsoftonline.com about any authority host it does not know,
 *   and az 2.45 cannot turn that off. support/seed_msal_http_cache.py asks the Entra emulator those very
 *   questions and seeds az's own MSAL HTTP cache (msal_http_cache.bin) with the emulator's answers, so MSAL
 *   validates the authority against the emulator's answer instead of the public cloud's (the `/adfs` authority
 *   form, which skips discovery, would change az's code path to ADFS; it is not used).
 * - Debian's az role module crashes on azure-mgmt-authorization 3.0.0 (`'RoleAssignmentsOperations' object has
 *   no attribute 'config'`): support/sitecustomize.py, on PYTHONPATH, gives the operations classes that attribute.
 * - Graph: only `directoryObjects/getByIds` exists (the Entra emulator's /graph/), which `az role assignment list`
 *   uses for principal names; so role assignments are made with `--assignee-object-id … --assignee-principal-type`.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterResult, CredsResult } from '../../src/inspect/types';
import { startWorld, WORLD, type World } from '../emulators/world';

const ROOT = path.resolve(__dirname, '..', '..');
const SUPPORT = path.join(__dirname, 'support');
const CLOUD = 'widworld';
const RG = WORLD.identityResourceGroup;
const IDENTITY = 'id-az-contract';
const FIC = 'fic-az-contract';
const SUBJECT = 'system:serviceaccount:finance:az-contract';
const KV_SECRETS_USER = 'Key Vault Secrets User';
const KV_SCOPE = `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}/providers/Microsoft.KeyVault/vaults/${WORLD.keyVault}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let world: World;
let configDir: string;
let env: NodeJS.ProcessEnv;

function run(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: { ...env, ...extraEnv }, cwd: cwd ?? configDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr + String(e) }));
    child.on('close', (c) => resolve({ code: c ?? 1, stdout, stderr }));
  });
}

const az = (...args: string[]): Promise<Run> => run('az', [...args, '--only-show-errors']);

/** An az call that must succeed; its JSON output. */
async function azJson<T>(...args: string[]): Promise<T> {
  const r = await az(...args, '-o', 'json');
  if (r.code !== 0) throw new Error(`az ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function wid<T>(verb: string): Promise<T> {
  const r = await run(process.execPath, ['-r', 'tsx/cjs', 'src/cli.ts', verb, '--json', '--cluster', WORLD.clusterName, '--policy', world.files.policy], { ...world.env, NODE_EXTRA_CA_CERTS: world.files.ca }, ROOT);
  if (r.code !== 0) throw new Error(`wid ${verb} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

function azInstalled(): Promise<boolean> {
  return new Promise((resolve) => execFile('az', ['version', '-o', 'none'], { env: { ...process.env, AZURE_CONFIG_DIR: configDir } }, (e) => resolve(!e)));
}

beforeAll(async () => {
  configDir = mkdtempSync(path.join(os.tmpdir(), 'wid-az-'));
  if (!(await azInstalled())) {
    throw new Error('The Azure CLI (az) is not installed. These contract tests drive the real one: install it with `apt-get update && apt-get install -y azure-cli` (Debian/Ubuntu), then run `npm run test:clients` again.');
  }
  world = await startWorld({
    strictAuth: true,
    entra: { apps: [{ clientId: WORLD.botClientId, secret: WORLD.botClientSecret, tenantId: WORLD.tenantId }] },
  });
  env = {
    PATH: process.env.PATH,
    HOME: configDir,
    LANG: 'C.UTF-8',
    AZURE_CONFIG_DIR: configDir,
    REQUESTS_CA_BUNDLE: world.files.ca,
    PYTHONPATH: SUPPORT,
    PYTHONDONTWRITEBYTECODE: '1',
    AZURE_CORE_COLLECT_TELEMETRY: 'false',
    AZURE_CORE_NO_COLOR: 'true',
    AZURE_CORE_SURVEY_MESSAGE: 'false',
  };
  const cloud = path.join(configDir, 'cloud.json');
  writeFileSync(
    cloud,
    JSON.stringify({
      endpoints: {
        resourceManager: `${world.urls.arm}/`,
        activeDirectory: world.urls.entra,
        activeDirectoryResourceId: 'https://management.core.windows.net/',
        microsoftGraphResourceId: world.entra.graphUrl,
      },
    }),
  );
  for (const args of [['cloud', 'register', '-n', CLOUD, '--cloud-config', `@${cloud}`], ['cloud', 'set', '-n', CLOUD]]) {
    const r = await az(...args);
    if (r.code !== 0) throw new Error(`az ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  }
  const seeded = await run('/usr/bin/python3', [path.join(SUPPORT, 'seed_msal_http_cache.py'), world.urls.entra, WORLD.tenantId, configDir]);
  if (seeded.code !== 0) throw new Error(`seeding az's MSAL HTTP cache failed:\n${seeded.stderr}${seeded.stdout}`);
}, 120_000);

afterAll(async () => {
  await world?.close();
  rmSync(configDir, { recursive: true, force: true });
});

describe('az against the test world', () => {
  test('az login --service-principal: a wrong secret is refused by Entra; the right one lists the world’s subscription', async () => {
    const wrong = await az('login', '--service-principal', '-u', WORLD.botClientId, '-p', 'not-the-secret', '--tenant', WORLD.tenantId);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('AADSTS7000215');

    const subs = await azJson<Array<Record<string, unknown>>>('login', '--service-principal', '-u', WORLD.botClientId, '-p', WORLD.botClientSecret, '--tenant', WORLD.tenantId);
    expect(subs).toEqual([
      expect.objectContaining({ cloudName: CLOUD, id: WORLD.subscriptionId, name: WORLD.subscriptionName, state: 'Enabled', tenantId: WORLD.tenantId, user: { name: WORLD.botClientId, type: 'servicePrincipal' } }),
    ]);
    // Every ARM call below carried a token the Entra emulator issued (strictAuth), and none went to the public cloud.
    expect(world.entra.issued.some((t) => t.clientId === WORLD.botClientId && t.via === 'client_secret')).toBe(true);
  }, 60_000);

  test('az account show', async () => {
    expect(await azJson('account', 'show')).toMatchObject({ environmentName: CLOUD, id: WORLD.subscriptionId, name: WORLD.subscriptionName, isDefault: true, tenantId: WORLD.tenantId });
  }, 30_000);

  test('az group show | exists | list, and ResourceGroupNotFound for a group that is not there', async () => {
    expect(await azJson('group', 'show', '-n', WORLD.aksResourceGroup)).toMatchObject({
      id: `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.aksResourceGroup}`,
      location: WORLD.location,
      properties: { provisioningState: 'Succeeded' },
    });
    expect((await az('group', 'exists', '-n', 'rg-not-here')).stdout.trim()).toBe('false');
    expect((await az('group', 'exists', '-n', RG)).stdout.trim()).toBe('true');
    const missing = await az('group', 'show', '-n', 'rg-not-here');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("ResourceGroupNotFound");
    expect(missing.stderr).toContain("Resource group 'rg-not-here' could not be found.");
    const names = (await azJson<Array<{ name: string }>>('group', 'list')).map((g) => g.name).sort();
    expect(names).toEqual([WORLD.aksResourceGroup, WORLD.appsResourceGroup, WORLD.identityResourceGroup].sort());
  }, 60_000);

  test('az aks show agrees with `wid cluster --json`', async () => {
    const aks = await azJson<{ oidcIssuerProfile: { enabled: boolean; issuerUrl: string }; securityProfile: { workloadIdentity: { enabled: boolean } }; location: string }>(
      'aks', 'show', '-g', WORLD.aksResourceGroup, '-n', WORLD.aksName,
    );
    expect(aks.oidcIssuerProfile).toEqual({ enabled: true, issuerUrl: world.kube.issuerUrl });
    expect(aks.securityProfile.workloadIdentity.enabled).toBe(true);
    const cluster = await wid<ClusterResult>('cluster');
    expect(cluster).toMatchObject({ issuerUrl: aks.oidcIssuerProfile.issuerUrl, oidcIssuerEnabled: aks.oidcIssuerProfile.enabled, workloadIdentityEnabled: aks.securityProfile.workloadIdentity.enabled, problems: [] });
  }, 90_000);

  test('az identity create | show | list; creating in a missing group fails as in Azure', async () => {
    const created = await azJson<{ clientId: string; principalId: string; location: string; tenantId: string; id: string }>('identity', 'create', '-g', RG, '-n', IDENTITY);
    expect(created).toMatchObject({ location: WORLD.location, tenantId: WORLD.tenantId, name: IDENTITY, resourceGroup: RG });
    const held = world.arm.state.identities().find((i) => i.name === IDENTITY);
    expect(held).toMatchObject({ clientId: created.clientId, principalId: created.principalId, location: WORLD.location });
    expect(await azJson('identity', 'show', '-g', RG, '-n', IDENTITY)).toMatchObject({ clientId: created.clientId, id: created.id });
    expect((await azJson<Array<{ name: string }>>('identity', 'list', '-g', RG)).map((i) => i.name)).toContain(IDENTITY);
    const missing = await az('identity', 'create', '-g', 'rg-not-here', '-n', IDENTITY, '-l', WORLD.location);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('ResourceGroupNotFound');
  }, 90_000);

  test('az identity federated-credential create | list | show, seen by `wid creds --json`', async () => {
    const fic = await azJson<{ issuer: string; subject: string; audiences: string[]; name: string }>(
      'identity', 'federated-credential', 'create', '--identity-name', IDENTITY, '-g', RG, '-n', FIC,
      '--issuer', world.kube.issuerUrl, '--subject', SUBJECT, '--audiences', 'api://AzureADTokenExchange',
    );
    expect(fic).toMatchObject({ name: FIC, issuer: world.kube.issuerUrl, subject: SUBJECT, audiences: ['api://AzureADTokenExchange'] });
    expect((await azJson<Array<{ name: string }>>('identity', 'federated-credential', 'list', '--identity-name', IDENTITY, '-g', RG)).map((f) => f.name)).toEqual([FIC]);
    expect(await azJson('identity', 'federated-credential', 'show', '--identity-name', IDENTITY, '-g', RG, '-n', FIC)).toMatchObject({ subject: SUBJECT });

    const creds = await wid<CredsResult>('creds');
    const identity = await azJson<{ clientId: string }>('identity', 'show', '-g', RG, '-n', IDENTITY);
    expect(creds.issuerUrl).toBe(fic.issuer);
    expect(creds.credentials).toContainEqual(expect.objectContaining({ identity: IDENTITY, identityClientId: identity.clientId, credential: FIC, subject: SUBJECT }));
  }, 120_000);

  test('az role assignment create | list | delete with --assignee-object-id; who and when are recorded', async () => {
    const identity = await azJson<{ principalId: string; clientId: string }>('identity', 'show', '-g', RG, '-n', IDENTITY);
    const created = await azJson<Record<string, unknown>>(
      'role', 'assignment', 'create', '--assignee-object-id', identity.principalId, '--assignee-principal-type', 'ServicePrincipal', '--role', KV_SECRETS_USER, '--scope', KV_SCOPE,
    );
    const bot = world.entra.issued.filter((t) => t.clientId === WORLD.botClientId).at(-1);
    const botObjectId = bot ? world.entra.accessTokenClaims(bot.accessToken)?.oid : undefined;
    expect(botObjectId).toBeDefined();
    expect(created).toMatchObject({ principalId: identity.principalId, principalType: 'ServicePrincipal', scope: KV_SCOPE, createdBy: botObjectId, updatedBy: botObjectId });
    expect(Date.parse(String(created.createdOn))).toBeGreaterThan(Date.now() - 120_000);

    const listed = await azJson<Array<Record<string, unknown>>>('role', 'assignment', 'list', '--scope', KV_SCOPE);
    expect(listed).toEqual([
      expect.objectContaining({ id: created.id, roleDefinitionName: KV_SECRETS_USER, principalId: identity.principalId, principalName: identity.clientId, createdBy: botObjectId }),
    ]);
    const deleted = await az('role', 'assignment', 'delete', '--ids', String(created.id));
    expect(deleted.code).toBe(0);
    expect(await azJson('role', 'assignment', 'list', '--scope', KV_SCOPE)).toEqual([]);
    expect(world.arm.state.roleAssignments().filter((r) => r.principalId === identity.principalId)).toEqual([]);
  }, 120_000);

  test('az identity federated-credential delete and az identity delete leave nothing behind', async () => {
    expect((await az('identity', 'federated-credential', 'delete', '--identity-name', IDENTITY, '-g', RG, '-n', FIC, '--yes')).code).toBe(0);
    expect(await azJson('identity', 'federated-credential', 'list', '--identity-name', IDENTITY, '-g', RG)).toEqual([]);
    expect((await az('identity', 'delete', '-g', RG, '-n', IDENTITY)).code).toBe(0);
    expect((await azJson<Array<{ name: string }>>('identity', 'list', '-g', RG)).map((i) => i.name)).not.toContain(IDENTITY);
    expect(world.arm.state.identities().some((i) => i.name === IDENTITY)).toBe(false);
  }, 90_000);
});
