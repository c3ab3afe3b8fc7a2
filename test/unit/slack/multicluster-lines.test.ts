/**
 * A multi-cluster request in the approval message and the App Home: every cluster on one line while the worker
 * runs (not only in the final resources), each cluster's revoke-all result, and a grant's clusters under My access.
 */
import type { Grant } from '../../../src/domain/grants';
import type { Plan, WidRequest } from '../../../src/domain/types';
import { approvalMessage } from '../../../src/slack/blocks/approval';
import { homeView, type HomeData } from '../../../src/slack/home/blocks';
import { grantEndedDm, grantEndFailedMessage } from '../../../src/slack/blocks/grants';
import { statusMessage } from '../../../src/slack/blocks/status';
import { validateBlocks, validateHomeView } from '../../emulators/slack/blocks';
import { request } from './fixtures';

const NOW = new Date('2026-12-03T12:00:00.000Z');
const base = request({});
const green = { cluster: { name: 'green', subscriptionId: 's', resourceGroup: 'rg', aksName: 'aks-green' }, federatedCredential: { ...base.plan.federatedCredential, name: 'wid-green', issuer: 'https://oic.example/green/' } };
const multi: WidRequest = {
  ...base,
  state: 'provisioning',
  plan: { ...base.plan, alsoClusters: [green] },
  steps: (['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'] as const).map((step) => ({ step, outcome: 'done' as const, startedAt: NOW.toISOString(), endedAt: NOW.toISOString() })),
  resources: { clusters: { green: { steps: { identity: 'done', federatedCredential: 'running', serviceAccount: 'done' } } } },
};
const json = (x: unknown) => JSON.stringify(x);

test('the approval message shows every cluster while the worker runs, and the tick on each at the end', () => {
  const running = approvalMessage(multi);
  expect(validateBlocks(running.blocks, 'message')).toEqual([]);
  expect(json(running.blocks)).toContain(`*Clusters:* ${base.clusterName} ✓ · green … federated credential`);
  const done = approvalMessage({ ...multi, state: 'succeeded', resources: { clusters: { green: { verified: true, steps: { verify: 'done' } } } } });
  expect(json(done.blocks)).toContain(`*Clusters:* ${base.clusterName} ✓ · green ✓`);
  expect(json(done.blocks)).toContain('On green: verified');
  // pending: nothing runs yet, so no line
  expect(json(approvalMessage({ ...multi, state: 'pending', steps: [], resources: {} }).blocks)).not.toContain('*Clusters:*');
  // one cluster: no line
  expect(json(approvalMessage({ ...base, state: 'provisioning' }).blocks)).not.toContain('*Clusters:*');
});

test('revoke --cluster all: the message names every cluster, what goes on each, and each one’s result', () => {
  const part = (name: string, federation: boolean): Plan => ({ ...base.plan, kind: 'revoke', cluster: { ...base.plan.cluster, name }, ...(federation ? { federation: { sourceCluster: base.clusterName, sourceRequestId: base.id, trustedClusters: [], credentialCount: 2 } } : {}) });
  const plan: Plan = { ...part(base.clusterName, false), revokeAll: { parts: [part('green', true), part(base.clusterName, false)], clusters: [base.clusterName, 'green'] } };
  const r: WidRequest = { ...base, kind: 'revoke', state: 'provisioning', plan, steps: [], resources: { clusters: { green: { revoked: true, steps: { federatedCredential: 'done' } }, [base.clusterName]: { steps: { roleAssignment: 'running' } } } } };
  const m = approvalMessage(r);
  expect(validateBlocks(m.blocks, 'message')).toEqual([]);
  const s = json(m.blocks);
  expect(s).toContain('on *every cluster* (green, ' + base.clusterName + ')');
  expect(s).toContain('green: its credential and annotation');
  expect(s).toContain(`${base.clusterName}: its credential and annotation, then the role assignments and the identity`);
  expect(s).toContain(`*Clusters:* green ✓ · ${base.clusterName} … role assignment`);
  expect(json(approvalMessage({ ...r, state: 'succeeded' }).blocks)).toContain('On green: revoked');
});

test('the App Home names every cluster of a request and of a grant, with the line per cluster while it runs', () => {
  const grant: Grant = {
    id: 'wid-g000000001', clusterName: base.clusterName, namespace: 'finance', serviceAccount: 'api', roleName: 'Storage Blob Data Reader', scope: '/subscriptions/s/resourcegroups/rg',
    requester: { id: 'U0ALICE001' }, approvers: ['U0BOB00001'], approvedAt: NOW.toISOString(), startedAt: NOW.toISOString(), endsAt: new Date(NOW.getTime() + 3600_000).toISOString(),
    expiry: 'bot', state: 'active', extensions: [], updatedAt: NOW.toISOString(), alsoClusters: ['green'],
  };
  const d: HomeData = { userId: 'U0ALICE001', now: NOW, open: [multi], grants: [grant], recent: [{ ...multi, id: 'wid-recent0001', state: 'failed', failure: { reason: 'On cluster green: boom', step: 'serviceAccount', retryable: true }, resources: { clusters: { green: { steps: { serviceAccount: 'failed' } } } } }] };
  const v = homeView(d);
  expect(validateHomeView(v)).toEqual([]);
  const s = json(v);
  expect(s).toContain(`on ${base.clusterName}, green\\n:gear: provisioning\\n${base.clusterName} ✓ · green … federated credential`);
  expect(s).toContain(`green ✗ at ServiceAccount annotation`);
  expect(s).toContain(`for \`finance/api\` on ${base.clusterName}, green`);
});

test('the grant’s end names the other clusters it removed and those kept for another grant', () => {
  const g: Grant = {
    id: 'wid-g000000002', clusterName: 'blue', namespace: 'finance', serviceAccount: 'api', roleName: 'Storage Blob Data Reader', scope: '/subscriptions/s/resourcegroups/rg',
    requester: { id: 'U0ALICE001' }, approvers: [], approvedAt: NOW.toISOString(), startedAt: NOW.toISOString(), expiry: 'bot', state: 'ended', extensions: [], updatedAt: NOW.toISOString(), alsoClusters: ['green', 'red'],
    end: { reason: 'expired', actor: { id: 'system' }, requestedAt: NOW.toISOString(), endedAt: NOW.toISOString(), assignmentRemoved: true, clusters: { removed: ['green'], kept: ['red'] } },
  };
  const s = json(grantEndedDm(g).blocks);
  expect(s).toContain('its role assignment was removed; on green its federated credential and ServiceAccount annotation were removed; on red they stay for another grant');
  expect(json(grantEndedDm({ ...g, end: { ...g.end, clusters: undefined } as Grant['end'] }).blocks)).not.toContain('federated credential');
});

test('/wid status names every cluster and the line per cluster', () => {
  const s = json(statusMessage(multi, []).blocks);
  expect(s).toContain(`on *${base.clusterName}, green*`);
  expect(s).toContain(`Clusters: ${base.clusterName} ✓ · green … federated credential`);
  expect(json(statusMessage({ ...base, state: 'provisioning' }, []).blocks)).not.toContain('Clusters:');
});

test('a multi-cluster grant whose end kept failing says its other clusters may be what is left', () => {
  const g: Grant = {
    id: 'wid-g000000003', clusterName: 'blue', namespace: 'finance', serviceAccount: 'api', roleName: 'Storage Blob Data Reader', scope: '/subscriptions/s/resourcegroups/rg',
    requester: { id: 'U0ALICE001' }, approvers: [], approvedAt: NOW.toISOString(), startedAt: NOW.toISOString(), endsAt: NOW.toISOString(), expiry: 'bot', state: 'endFailed', extensions: [], updatedAt: NOW.toISOString(), alsoClusters: ['green'],
  };
  const m = grantEndFailedMessage(g, 'on green: unreachable');
  expect(m.text).toContain("its role assignment or another cluster's credential and annotation could not be removed: on green: unreachable");
  expect(json(m.blocks)).toContain('removing its role assignment, or its part on green, kept failing');
  expect(grantEndFailedMessage({ ...g, alsoClusters: undefined } as Grant, 'x').text).toContain('its role assignment could not be removed');
});
