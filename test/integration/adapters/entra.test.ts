import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { startArmEmulator, type ArmEmulator } from '../../emulators/arm';
import { startEntraEmulator, type EntraEmulator } from '../../emulators/entra';
import { startKubeEmulator, type KubeEmulator } from '../../emulators/kube';
import { createAzureAdapters, credentialFromEnv, resourceManagerFromEnv, type AzureAdapters } from '../../../src/azure';
import { createKubeAdapter } from '../../../src/kube';
import { createTokenExchange } from '../../../src/entra';
import type { AdapterCall, IdentityRef, KubePort, ManagedIdentity, TokenExchangePort } from '../../../src/domain/ports';
import { WORKLOAD_IDENTITY_AUDIENCE } from '../../../src/domain/types';
import { caught } from '../../support/helpers';

const SUB = '11111111-2222-3333-4444-555555555555';
const ARM_SCOPE = 'https://management.azure.com/.default';

const anyToken: TokenCredential = {
  getToken: (): Promise<AccessToken> => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3600_000 }),
};


/** The whole workload-identity path through the three adapters: ARM writes, TokenRequest, Entra exchange. */
describe('Entra token exchange (the pod’s own path) against the Entra, ARM and Kubernetes emulators', () => {
  let arm: ArmEmulator;
  let kube: KubeEmulator;
  let entra: EntraEmulator;
  let azure: AzureAdapters;
  let k8s: KubePort;
  let exchange: TokenExchangePort;
  const calls: AdapterCall[] = [];
  const ref = (name: string): IdentityRef => ({ subscriptionId: SUB, resourceGroup: 'rg-wi', name });

  beforeAll(async () => {
    kube = await startKubeEmulator({ namespaces: ['team-a'] });
    arm = await startArmEmulator({ throttle: false, ficWriteMs: 0 });
    entra = await startEntraEmulator({ tenantId: arm.state.tenantId, identityLookup: (clientId) => arm.state.findIdentityByClientId(clientId) });
    azure = createAzureAdapters({ credential: anyToken, resourceManagerUrl: arm.url, audience: 'https://management.azure.com' });
    k8s = createKubeAdapter({ kubeconfigYaml: kube.kubeconfig() });
    // No disableInstanceDiscovery: the adapter skips discovery for an authority host MSAL does not know.
    exchange = createTokenExchange({ authorityHost: entra.url, onCall: (c) => calls.push(c) });
  });
  afterAll(async () => {
    await Promise.all([arm.close(), kube.close(), entra.close()]);
  });
  beforeEach(() => {
    entra.controls.reset({ log: true });
    entra.setFederationPropagationDelay(0);
  });

  async function identityWithCredential(name: string, subject: string, issuer = kube.issuerUrl): Promise<ManagedIdentity> {
    const identity = await azure.identities.putIdentity(ref(name), 'eastus', {});
    await azure.identities.putFederatedCredential(ref(name), `fic-${name}`, issuer, subject, [WORKLOAD_IDENTITY_AUDIENCE]);
    return identity;
  }

  test('a matching federated credential → Entra issues a token for the identity', async () => {
    const identity = await identityWithCredential('id-good', 'system:serviceaccount:team-a:good');
    await k8s.createServiceAccount('team-a', 'good', { 'azure.workload.identity/client-id': identity.clientId });
    const saToken = await k8s.requestServiceAccountToken('team-a', 'good', WORKLOAD_IDENTITY_AUDIENCE);
    const result = await exchange.exchange(identity.tenantId, identity.clientId, saToken, ARM_SCOPE);
    expect(result.expiresOn).toBeGreaterThan(Date.now());
    const last = entra.issued[entra.issued.length - 1];
    expect(last).toMatchObject({ clientId: identity.clientId, via: 'client_assertion', federatedCredential: 'fic-id-good' });
    expect(calls[calls.length - 1]).toMatchObject({ system: 'entra', operation: 'token.exchange', outcome: 'ok' });
  });

  test('a subject mismatch → retryable AADSTS70021 quoting the issuer, subject and audience Entra saw', async () => {
    const identity = await identityWithCredential('id-wrong-sub', 'system:serviceaccount:team-a:someone-else');
    await k8s.createServiceAccount('team-a', 'wrong-sub', {});
    const saToken = await k8s.requestServiceAccountToken('team-a', 'wrong-sub', WORKLOAD_IDENTITY_AUDIENCE);
    const e = await caught(exchange.exchange(identity.tenantId, identity.clientId, saToken, ARM_SCOPE));
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('AADSTS70021');
    expect(e.message).toContain(`issuer '${kube.issuerUrl}'`);
    expect(e.message).toContain("subject 'system:serviceaccount:team-a:wrong-sub'");
    expect(e.message).toContain(`audience '${WORKLOAD_IDENTITY_AUDIENCE}'`);
    expect(calls[calls.length - 1]).toMatchObject({ system: 'entra', outcome: 'retryable', code: 'AADSTS70021' });
  });

  test('an issuer differing only by the trailing slash does not match', async () => {
    const identity = await identityWithCredential('id-slash', 'system:serviceaccount:team-a:slash', kube.issuerUrl.replace(/\/$/, ''));
    await k8s.createServiceAccount('team-a', 'slash', {});
    const saToken = await k8s.requestServiceAccountToken('team-a', 'slash', WORKLOAD_IDENTITY_AUDIENCE);
    const e = await caught(exchange.exchange(identity.tenantId, identity.clientId, saToken, ARM_SCOPE));
    expect(e.code).toBe('AADSTS70021');
    expect(e.message).toContain(`issuer '${kube.issuerUrl}'`);
  });

  test('during propagation the exchange fails retryably, then succeeds', async () => {
    const identity = await identityWithCredential('id-new', 'system:serviceaccount:team-a:fresh');
    await k8s.createServiceAccount('team-a', 'fresh', {});
    const saToken = await k8s.requestServiceAccountToken('team-a', 'fresh', WORKLOAD_IDENTITY_AUDIENCE);
    entra.setFederationPropagationDelay(60_000);
    expect((await caught(exchange.exchange(identity.tenantId, identity.clientId, saToken, ARM_SCOPE))).kind).toBe('retryable');
    entra.setFederationPropagationDelay(0);
    await expect(exchange.exchange(identity.tenantId, identity.clientId, saToken, ARM_SCOPE)).resolves.toBeDefined();
  });

  test('an unknown client id → retryable AADSTS700016 (replication)', async () => {
    const saToken = await k8s.requestServiceAccountToken('team-a', 'default', WORKLOAD_IDENTITY_AUDIENCE);
    const e = await caught(exchange.exchange(arm.state.tenantId, '0c0c0c0c-1111-4222-8333-444455556666', saToken, ARM_SCOPE));
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('AADSTS700016');
  });

  test('an expired ServiceAccount token → terminal with its AADSTS code', async () => {
    const identity = await identityWithCredential('id-expired', 'system:serviceaccount:team-a:old');
    kube.seedServiceAccount({ namespace: 'team-a', name: 'old' });
    const past = kube.issueToken({ namespace: 'team-a', name: 'old', audiences: [WORKLOAD_IDENTITY_AUDIENCE], expirationSeconds: -7200 });
    const e = await caught(exchange.exchange(identity.tenantId, identity.clientId, past, ARM_SCOPE));
    expect(e.kind).toBe('terminal');
    expect(e.code).toMatch(/^AADSTS\d+$/);
  });
});

/** wid-bot signs in to Azure the way it sets others up: workload identity from the standard AZURE_* variables. */
describe('credentialFromEnv: wid-bot’s own workload-identity login, accepted by a strict ARM', () => {
  test('DefaultAzureCredential with AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST; the ARM audience stays ARM’s', async () => {
    let armRef: ArmEmulator | undefined;
    const kube = await startKubeEmulator({ namespaces: ['wid'] });
    const entra = await startEntraEmulator({ identityLookup: (clientId) => armRef?.state.findIdentityByClientId(clientId) });
    // ARM accepts only tokens Entra issued for ARM's audience.
    const arm = await startArmEmulator({ throttle: false, tenantId: entra.tenantId, tokenValidator: (t) => entra.verifyAccessToken(t, { audience: 'https://management.azure.com' }) });
    armRef = arm;
    const saved = process.env;
    try {
      const bot = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: 'rg-bot', name: 'wid-bot' });
      arm.state.seedFederatedCredential(bot.id, { name: 'wid-bot', issuer: kube.issuerUrl, subject: 'system:serviceaccount:wid:wid-bot', audiences: [WORKLOAD_IDENTITY_AUDIENCE], createdAt: 0 });
      kube.seedServiceAccount({ namespace: 'wid', name: 'wid-bot' });
      const tokenFile = path.join(mkdtempSync(path.join(tmpdir(), 'wid-token-')), 'azure-identity-token');
      writeFileSync(tokenFile, kube.issueToken({ namespace: 'wid', name: 'wid-bot', audiences: [WORKLOAD_IDENTITY_AUDIENCE] }));

      // What the workload-identity webhook injects into wid-bot's own pod, plus the ARM endpoint and audience.
      const env: NodeJS.ProcessEnv = {
        ...saved,
        AZURE_CLIENT_ID: bot.clientId,
        AZURE_TENANT_ID: entra.tenantId,
        AZURE_FEDERATED_TOKEN_FILE: tokenFile,
        AZURE_AUTHORITY_HOST: entra.url,
        AZURE_RESOURCE_MANAGER_URL: arm.url,
        AZURE_RESOURCE_MANAGER_AUDIENCE: 'https://management.azure.com/',
      };
      delete env.AZURE_CLIENT_SECRET;
      // DefaultAzureCredential's inner credentials read process.env when they are built.
      process.env = env;
      const credential = credentialFromEnv(env);
      const rm = resourceManagerFromEnv(env);
      expect(rm).toEqual({ resourceManagerUrl: arm.url, scope: 'https://management.azure.com/.default' });

      const azure = createAzureAdapters({ credential, resourceManagerUrl: rm.resourceManagerUrl, audience: env.AZURE_RESOURCE_MANAGER_AUDIENCE });
      const made = await azure.identities.putIdentity({ subscriptionId: SUB, resourceGroup: 'rg-x', name: 'id-by-bot' }, 'eastus', {});
      expect(made.name).toBe('id-by-bot');
      expect(entra.issued.some((t) => t.clientId === bot.clientId && t.via === 'client_assertion')).toBe(true);

      // The endpoint-derived audience would be refused by ARM: the pinned scope is what makes it work.
      const unpinned = createAzureAdapters({ credential, resourceManagerUrl: arm.url });
      const e = await caught(unpinned.identities.getIdentity({ subscriptionId: SUB, resourceGroup: 'rg-x', name: 'id-by-bot' }));
      expect(e.kind).toBe('terminal');
      expect(e.code).toBe('InvalidAuthenticationToken');
    } finally {
      process.env = saved;
      await Promise.all([arm.close(), kube.close(), entra.close()]);
    }
  });
});
