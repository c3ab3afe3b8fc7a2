/**
 * Test worlds for the inspection verbs: one seeded with exactly one case of every audit finding
 * (cluster blue, plus cluster green with OIDC and workload identity off), and a clean one.
 */
import { startWorld, WORLD, type World } from '../../emulators/world';
import { createAzureAdapters } from '../../../src/azure';
import { createKubeAdapter } from '../../../src/kube';
import { loadPolicyFile } from '../../../src/config/policy';
import type { InspectorDeps } from '../../../src/inspect';

export const RG = WORLD.identityResourceGroup;
export const SUB = WORLD.subscriptionId;
export const GHOST_CLIENT_ID = '99999999-9999-4999-8999-999999999999';
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

const credential = { getToken: async () => ({ token: 'inspect-test', expiresOnTimestamp: Date.now() + 3_600_000 }) };

export function inspectorDeps(world: World, extra: Partial<InspectorDeps> = {}): InspectorDeps {
  const azure = createAzureAdapters({ credential, resourceManagerUrl: world.arm.url, tlsCa: world.tls.certPem, retry: { maxRetries: 2, retryDelayMs: 10 } });
  const kube = createKubeAdapter({ kubeconfigPath: world.files.kubeconfig });
  return { policy: loadPolicyFile(world.files.policy), clusters: azure.clusters, identities: azure.identities, kube: () => kube, ...extra };
}

const sa = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;
const clusterBase = { subscriptionId: SUB, resourceGroup: WORLD.aksResourceGroup, location: WORLD.location, identityType: 'SystemAssigned' as const };

/** What the findings world is expected to yield for cluster blue: `code subject`. */
export interface SeededFindings {
  world: World;
  blue: string[];
  oldIssuer: string;
  issuer: string;
}

export async function startFindingsWorld(): Promise<SeededFindings> {
  const world = await startWorld({
    policy: { clusters: [{ name: 'blue', aksName: WORLD.aksName }, { name: 'green', aksName: 'aks-green' }] },
    kube: { namespaces: ['finance', 'payments'], podIdentityCrds: true },
  });
  const { arm, kube } = world;
  // A recreated cluster: the old issuer is gone, ARM reports the new one.
  const oldIssuer = kube.issuerUrl;
  const issuer = kube.rotateIssuer();
  arm.setCluster({ ...clusterBase, name: WORLD.aksName, issuerUrl: issuer, oidcIssuerEnabled: true, workloadIdentityEnabled: true, podIdentityEnabled: true });
  arm.setCluster({ ...clusterBase, name: 'aks-green', oidcIssuerEnabled: false, workloadIdentityEnabled: false });

  const seed = (name: string) => arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name });
  const fic = (id: string, name: string, iss: string, subject: string) => arm.state.seedFederatedCredential(id, { name, issuer: iss, subject });

  // Healthy: identity, credential, annotated SA, labelled pod (the webhook injects the client id).
  const orders = seed('id-orders');
  fic(orders.id, 'finance-orders', issuer, sa('finance', 'orders'));
  kube.seedServiceAccount({ namespace: 'finance', name: 'orders', annotations: { 'azure.workload.identity/client-id': orders.clientId } });
  kube.seedPod({ namespace: 'finance', name: 'orders-1', serviceAccountName: 'orders', labels: { 'azure.workload.identity/use': 'true' } });

  // sa-unknown-client-id
  kube.seedServiceAccount({ namespace: 'finance', name: 'ghost', annotations: { 'azure.workload.identity/client-id': GHOST_CLIENT_ID } });
  // sa-missing-credential
  const billing = seed('id-billing');
  kube.seedServiceAccount({ namespace: 'finance', name: 'billing', annotations: { 'azure.workload.identity/client-id': billing.clientId } });
  // credential-orphaned
  const orphan = seed('id-orphan');
  fic(orphan.id, 'finance-gone', issuer, sa('finance', 'gone'));
  // credential-stale-issuer
  const old = seed('id-old');
  fic(old.id, 'finance-legacy-app', oldIssuer, sa('finance', 'legacy-app'));
  // credential-issuer-mismatch: the cluster's issuer without its trailing slash
  const slash = seed('id-slash');
  fic(slash.id, 'payments-reports', issuer.replace(/\/$/, ''), sa('payments', 'reports'));
  // pod-missing-use-label
  kube.seedPod({ namespace: 'finance', name: 'orders-nolabel', serviceAccountName: 'orders' });
  // pod-client-id-drift: the pod started with another identity's client id
  const pay = seed('id-pay');
  fic(pay.id, 'payments-pay', issuer, sa('payments', 'pay'));
  kube.seedServiceAccount({ namespace: 'payments', name: 'pay', annotations: { 'azure.workload.identity/client-id': pay.clientId } });
  kube.seedPod({ namespace: 'payments', name: 'pay-1', serviceAccountName: 'pay', labels: { 'azure.workload.identity/use': 'true' }, env: { AZURE_CLIENT_ID: orders.clientId } });
  // identity-credentials-near-limit: 18 credentials for GitHub Actions (not a cluster, so nothing else to report)
  const full = seed('id-full');
  for (let i = 0; i < 18; i++) fic(full.id, `gha-${i}`, GITHUB_ISSUER, `repo:contoso/app:environment:env${i}`);

  // aad-pod-identity leftovers
  kube.seedAzureIdentity({ namespace: 'finance', name: 'reports-identity', clientID: billing.clientId, resourceID: billing.id });
  kube.seedAzureIdentityBinding({ namespace: 'finance', name: 'reports-binding', azureIdentity: 'reports-identity', selector: 'reports' });

  const blue = [
    `sa-unknown-client-id serviceaccount/finance/ghost`,
    `sa-missing-credential serviceaccount/finance/billing`,
    `credential-orphaned credential/${RG}/id-orphan/finance-gone`,
    `credential-stale-issuer credential/${RG}/id-old/finance-legacy-app`,
    `credential-issuer-mismatch credential/${RG}/id-slash/payments-reports`,
    `pod-missing-use-label pod/finance/orders-nolabel`,
    `pod-client-id-drift pod/payments/pay-1`,
    `identity-credentials-near-limit identity/${RG}/id-full`,
  ];
  return { world, blue, oldIssuer, issuer };
}

/** A world where everything is right: one identity, its credential, its ServiceAccount and a labelled pod. */
export async function startCleanWorld(): Promise<World> {
  const world = await startWorld({ kube: { namespaces: ['finance', 'payments'] } });
  const { arm, kube } = world;
  const orders = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: 'id-orders' });
  arm.state.seedFederatedCredential(orders.id, { name: 'finance-orders', issuer: kube.issuerUrl, subject: sa('finance', 'orders') });
  kube.seedServiceAccount({ namespace: 'finance', name: 'orders', annotations: { 'azure.workload.identity/client-id': orders.clientId }, labels: { 'azure.workload.identity/use': 'true' } });
  kube.seedPod({ namespace: 'finance', name: 'orders-1', serviceAccountName: 'orders', labels: { 'azure.workload.identity/use': 'true' } });
  kube.seedPod({ namespace: 'payments', name: 'batch-1' });
  return world;
}
