/**
 * With several policy clusters, `list` and `creds` say which clusters each identity trusts: the clusters whose
 * current issuer one of its federated credentials names exactly.
 */
import { createInspector, renderSlack, renderTable } from '../../../src/inspect';
import { startWorld, WORLD, type World } from '../../emulators/world';
import { inspectorDeps, RG, SUB } from './world-seed';

const GREEN_ISSUER = `https://westeurope.oic.prod-aks.azure.com/${WORLD.tenantId}/5d3c1e2a-7b44-4c1e-9a0e-2f6b8d9c1a11/`;
const sa = (ns: string, name: string) => `system:serviceaccount:${ns}:${name}`;

let world: World;
beforeAll(async () => {
  world = await startWorld({ policy: { clusters: [{ name: 'blue', aksName: WORLD.aksName }, { name: 'green', aksName: 'aks-green' }] } });
  world.arm.setCluster({ subscriptionId: SUB, resourceGroup: WORLD.aksResourceGroup, location: WORLD.location, name: 'aks-green', issuerUrl: GREEN_ISSUER, oidcIssuerEnabled: true, workloadIdentityEnabled: true, identityType: 'SystemAssigned' });
  const blue = world.kube.issuerUrl;
  const multi = world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: 'id-multi' });
  world.arm.state.seedFederatedCredential(multi.id, { name: 'blue-multi', issuer: blue, subject: sa('finance', 'multi') });
  world.arm.state.seedFederatedCredential(multi.id, { name: 'green-multi', issuer: GREEN_ISSUER, subject: sa('finance', 'multi') });
  world.kube.seedServiceAccount({ namespace: 'finance', name: 'multi', annotations: { 'azure.workload.identity/client-id': multi.clientId } });
  const single = world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: 'id-single' });
  world.arm.state.seedFederatedCredential(single.id, { name: 'blue-single', issuer: blue, subject: sa('finance', 'single') });
  world.kube.seedServiceAccount({ namespace: 'finance', name: 'single', annotations: { 'azure.workload.identity/client-id': single.clientId } });
});
afterAll(async () => {
  await world?.close();
});

test('creds and list name every policy cluster each identity trusts', async () => {
  const inspector = createInspector(inspectorDeps(world));
  const creds = await inspector.creds({ cluster: 'blue' });
  const byCred = Object.fromEntries(creds.credentials.map((c) => [c.credential, c.identityTrustsClusters]));
  expect(byCred).toEqual({ 'blue-multi': ['blue', 'green'], 'blue-single': ['blue'] });
  expect(renderTable(creds)).toMatch(/IDENTITY TRUSTS CLUSTERS[\s\S]*blue,green/);
  expect(JSON.stringify(renderSlack(creds))).toContain('identity trusts blue, green');

  const list = await inspector.list({ cluster: 'green' });
  const rows = Object.fromEntries(list.serviceAccounts.map((s) => [s.name, s.identity?.trustsClusters]));
  expect(rows).toEqual({ multi: ['blue', 'green'], single: ['blue'] });
  expect(renderTable(list)).toMatch(/TRUSTS CLUSTERS[\s\S]*blue,green/);
});
