import { readFileSync } from 'node:fs';
import { ClientAssertionCredential } from '@azure/identity';
import { ManagedServiceIdentityClient } from '@azure/arm-msi';
import { parsePolicy } from '../../../src/config/policy';
import { startWorld, WORLD, type World } from '../../emulators/world';

const credential = { getToken: async () => ({ token: 'world-test', expiresOnTimestamp: Date.now() + 3_600_000 }) };

describe('the test world', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ arm: { throttle: false } });
  });
  afterAll(async () => world?.close());

  it('starts in well under a second', async () => {
    const t0 = Date.now();
    const w = await startWorld();
    const ms = Date.now() - t0;
    await w.close();
    expect(ms).toBeLessThan(1000);
  });

  it('writes a policy that wid-bot accepts and that names the world cluster', () => {
    const policy = parsePolicy(readFileSync(world.files.policy, 'utf8'), world.files.policy);
    expect(policy.clusters[0]?.aksName).toBe(WORLD.aksName);
    expect(readFileSync(world.files.env, 'utf8')).toContain(`AZURE_RESOURCE_MANAGER_URL=${world.urls.arm}`);
    expect(readFileSync(world.files.kubeconfig, 'utf8')).toContain(world.urls.kube);
  });

  it('federates: a ServiceAccount token becomes an Entra token once ARM holds a matching credential', async () => {
    const msi = new ManagedServiceIdentityClient(credential, WORLD.subscriptionId, {
      endpoint: world.urls.arm,
      credentialScopes: ['https://management.azure.com/.default'],
    });
    const identity = await msi.userAssignedIdentities.createOrUpdate(WORLD.identityResourceGroup, 'world-test-id', { location: WORLD.location });
    const token = world.kube.issueToken({ namespace: 'finance', name: 'default', audiences: ['api://AzureADTokenExchange'] });
    const exchange = () =>
      new ClientAssertionCredential(WORLD.tenantId, identity.clientId!, async () => token, {
        authorityHost: world.urls.entra,
        disableInstanceDiscovery: true,
      }).getToken('https://vault.azure.net/.default');

    await expect(exchange()).rejects.toThrow(/AADSTS70021/);
    await msi.federatedIdentityCredentials.createOrUpdate(WORLD.identityResourceGroup, 'world-test-id', 'fic1', {
      issuer: world.kube.issuerUrl,
      subject: 'system:serviceaccount:finance:default',
      audiences: ['api://AzureADTokenExchange'],
    });
    const t = await exchange();
    expect(t.token.split('.')).toHaveLength(3);
  });
});
