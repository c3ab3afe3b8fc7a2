/**
 * The world with two clusters, through wid-bot's own adapters: each cluster has its own Kubernetes API and
 * OIDC issuer (HTTPS with the world's CA), the per-cluster kube wiring reaches the right one, ARM reports each
 * cluster's issuer, and Entra accepts a cluster's token only through a credential for that cluster's issuer.
 */
import { ClientSecretCredential } from '@azure/identity';
import { readFileSync } from 'node:fs';
import { createAzureAdapters } from '../../../src/azure';
import { parsePolicy } from '../../../src/config/policy';
import { createTokenExchange } from '../../../src/entra';
import { createKubeAdapter } from '../../../src/kube';
import { kubeByCluster } from '../../../src/kube/clusters';
import { WORKLOAD_IDENTITY_AUDIENCE, type PolicyCluster } from '../../../src/domain/types';
import { caught } from '../../support/helpers';
import { startWorld, WORLD, type World } from '../../emulators/world';

function issuerOf(jwt: string): string {
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as { iss: string };
  return payload.iss;
}

describe('a world with blue, green and red (no OIDC)', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld({ extraClusters: [{ name: 'green', aksName: 'aks-green' }, { name: 'red', aksName: 'aks-red', oidcIssuerEnabled: false }] });
  });
  afterAll(async () => world?.close());

  it('writes a policy naming every cluster and an env with each extra cluster’s kubeconfig', () => {
    const policy = parsePolicy(readFileSync(world.files.policy, 'utf8'), world.files.policy);
    expect(policy.clusters.map((c) => [c.name, c.aksName])).toEqual([['blue', 'aks-blue'], ['green', 'aks-green'], ['red', 'aks-red']]);
    expect(world.env.WID_KUBECONFIGS).toBe(`green=${world.files.kubeconfigs.green},red=${world.files.kubeconfigs.red}`);
    expect(new Set([world.kube.issuerUrl, world.kubes.green?.issuerUrl, world.kubes.red?.issuerUrl]).size).toBe(3);
  });

  it('each cluster’s adapter reaches its own API; tokens carry that cluster’s issuer', async () => {
    const kubeFor = kubeByCluster({ kubeconfigPath: world.files.kubeconfig }, { green: { kubeconfigPath: world.files.kubeconfigs.green as string } }, createKubeAdapter);
    await kubeFor('green').createServiceAccount('finance', 'only-green', {});
    expect(world.kubes.green?.getServiceAccount('finance', 'only-green')).toBeDefined();
    expect(world.kube.getServiceAccount('finance', 'only-green')).toBeUndefined();
    expect(await kubeFor('blue').getServiceAccount('finance', 'only-green')).toBeUndefined();
    const blueToken = await kubeFor('blue').requestServiceAccountToken('finance', 'default', WORKLOAD_IDENTITY_AUDIENCE, 600);
    const greenToken = await kubeFor('green').requestServiceAccountToken('finance', 'only-green', WORKLOAD_IDENTITY_AUDIENCE, 600);
    expect(issuerOf(blueToken)).toBe(world.kube.issuerUrl);
    expect(issuerOf(greenToken)).toBe(world.kubes.green?.issuerUrl);
  });

  it('ARM reports each cluster’s issuer, and none for red; Entra trusts green’s token only through green’s credential', async () => {
    const credential = new ClientSecretCredential(WORLD.tenantId, WORLD.botClientId, WORLD.botClientSecret, { authorityHost: world.entra.url, disableInstanceDiscovery: true });
    const azure = createAzureAdapters({ credential, resourceManagerUrl: world.arm.url });
    const policy = parsePolicy(readFileSync(world.files.policy, 'utf8'), world.files.policy);
    const facts = await Promise.all(policy.clusters.map((c: PolicyCluster) => azure.clusters.getClusterFacts(c)));
    expect(facts.map((f) => [f.name, f.oidcIssuerEnabled, f.issuerUrl])).toEqual([
      ['blue', true, world.kube.issuerUrl],
      ['green', true, world.kubes.green?.issuerUrl],
      ['red', false, ''],
    ]);

    const ref = { subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: 'id-two-clusters' };
    const identity = await azure.identities.putIdentity(ref, WORLD.location, {});
    const subject = 'system:serviceaccount:finance:default';
    await azure.identities.putFederatedCredential(ref, 'blue', world.kube.issuerUrl, subject, [WORKLOAD_IDENTITY_AUDIENCE]);
    const exchange = createTokenExchange({ authorityHost: world.entra.url });
    const greenToken = world.kubes.green?.issueToken({ namespace: 'finance', name: 'default', audiences: [WORKLOAD_IDENTITY_AUDIENCE] }) as string;
    const blueToken = world.kube.issueToken({ namespace: 'finance', name: 'default', audiences: [WORKLOAD_IDENTITY_AUDIENCE] });
    await expect(exchange.exchange(WORLD.tenantId, identity.clientId, blueToken, 'https://management.azure.com/.default')).resolves.toBeDefined();
    expect((await caught(exchange.exchange(WORLD.tenantId, identity.clientId, greenToken, 'https://management.azure.com/.default'))).code).toBe('AADSTS70021');
    await azure.identities.putFederatedCredential(ref, 'green', world.kubes.green?.issuerUrl as string, subject, [WORKLOAD_IDENTITY_AUDIENCE]);
    await expect(exchange.exchange(WORLD.tenantId, identity.clientId, greenToken, 'https://management.azure.com/.default')).resolves.toBeDefined();
  });
});
