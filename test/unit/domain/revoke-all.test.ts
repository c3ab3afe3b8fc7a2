/**
 * `/wid revoke … --cluster all` and the per-cluster progress lines, pure: the grammar, the order of the parts
 * (per identity: the clusters that only federate it first, its own revoke last), an adopted identity never
 * revoked in full, the request as it undid each cluster, and the line the approval message and App Home show.
 */
import path from 'node:path';
import { loadPolicyFile } from '../../../src/config/policy';
import { clusterProgress, clusterProgressLine, clustersOf } from '../../../src/domain/cluster-progress';
import { extraClusterPlan, servingOn } from '../../../src/domain/federate';
import { parseArgv, parseCommand, type RequestCommand } from '../../../src/domain/grammar';
import { federatedCredentialName } from '../../../src/domain/names';
import { buildPlan } from '../../../src/domain/plan';
import { evaluateRequest } from '../../../src/domain/policy';
import { buildRevokeAllPlan, describeRevokePart, revokeAllClusters, revokeAllOn, revokedViews, singleClusterRevokePlan, type ServingPart } from '../../../src/domain/revoke-all';
import type { Plan, PlannedExtraCluster, StepRecord, WidRequest } from '../../../src/domain/types';

const policy = loadPolicyFile(path.join(__dirname, '..', '..', '..', 'policy.example.yaml'));
const ISSUER: Record<string, string> = { blue: 'https://oic.example/blue/', green: 'https://oic.example/green/', red: 'https://oic.example/red/' };

function grantPlan(cluster: string, sa = 'checkout-api'): Plan {
  const c = parseCommand(`request payments ${sa} Key Vault Secrets User --cluster ${cluster}`);
  if (!c.ok) throw new Error(c.error.message);
  const d = evaluateRequest(policy, { requester: { id: 'U0ALICE01' }, requesterGroups: [], command: c.value as RequestCommand });
  if (!d.ok) throw new Error(d.error.message);
  const p = buildPlan({ policy, decision: d.value, clusterFacts: { name: cluster, oidcIssuerEnabled: true, issuerUrl: ISSUER[cluster] as string, workloadIdentityEnabled: true }, requestId: 'wid-source0001', requester: { id: 'U0ALICE01' }, kind: 'grant' });
  if (!p.ok) throw new Error(p.error.message);
  return p.value;
}

function extra(name: string, sa = 'checkout-api'): PlannedExtraCluster {
  return { cluster: { name, subscriptionId: 's', resourceGroup: 'rg', aksName: `aks-${name}` }, federatedCredential: { name: federatedCredentialName(name, 'payments', sa), issuer: ISSUER[name] as string, subject: `system:serviceaccount:payments:${sa}`, audiences: ['api://AzureADTokenExchange'] } };
}

function request(over: Partial<WidRequest> & { plan: Plan }): WidRequest {
  return { id: 'wid-multi00001', kind: 'grant', state: 'succeeded', requester: { id: 'U0ALICE01' }, clusterName: over.plan.cluster.name, namespace: 'payments', serviceAccount: 'checkout-api', roleName: 'Key Vault Secrets User', scope: over.plan.roleAssignment.scope, approvals: [], createdAt: '', updatedAt: '', expiresAt: '', resources: {}, steps: [], ...over } as WidRequest;
}

describe('the grammar of revoke --cluster', () => {
  test('all, in any case, means every cluster and names none', () => {
    for (const text of ['revoke payments api --cluster all', 'revoke payments api --cluster ALL --reason gone', 'revoke payments api --cluster=all']) {
      const c = parseCommand(text);
      expect(c.ok && c.value).toMatchObject({ verb: 'revoke', namespace: 'payments', serviceAccount: 'api', allClusters: true });
      expect(c.ok && 'cluster' in c.value).toBe(false);
    }
    const argv = parseArgv(['revoke', 'payments', 'api', '--cluster', 'all']);
    expect(argv.ok && argv.value).toMatchObject({ allClusters: true });
  });

  test('one cluster stays one cluster', () => {
    const c = parseCommand('revoke payments api --cluster green');
    expect(c.ok && c.value).toEqual({ verb: 'revoke', namespace: 'payments', serviceAccount: 'api', cluster: 'green' });
  });

  test('all beside names, a list of names, a repeated or an empty name are refused with the form to use', () => {
    const refusal = (text: string) => {
      const c = parseCommand(text);
      if (c.ok) throw new Error(`accepted: ${text}`);
      return c.error;
    };
    expect(refusal('revoke payments api --cluster all,green')).toMatchObject({ code: 'cluster-all-alone', field: 'cluster' });
    expect(refusal('revoke payments api --cluster green,all').message).toContain('Give --cluster all alone, or one cluster name.');
    const list = refusal('revoke payments api --cluster green,blue');
    expect(list.code).toBe('one-cluster');
    expect(list.message).toContain('--cluster green, --cluster blue');
    expect(list.message).toContain('Usage: /wid revoke <namespace> <serviceaccount> [--cluster <name>|all]');
    expect(refusal('revoke payments api --cluster all,all').code).toBe('duplicate-cluster');
    expect(refusal('revoke payments api --cluster green,').code).toBe('bad-cluster-list');
  });
});

describe('buildRevokeAllPlan', () => {
  const multi = request({ plan: { ...grantPlan('blue'), alsoClusters: [extra('green')] } });

  test('nothing anywhere is refused, naming the clusters looked at', () => {
    const r = buildRevokeAllPlan([], ['blue', 'green'], 'payments/checkout-api');
    expect(!r.ok && r.error).toMatchObject({ code: 'nothing-to-revoke', message: 'wid-bot has granted nothing to payments/checkout-api on any cluster (looked at blue and green) that is still in place, so there is nothing to revoke.' });
  });

  test('a grant on blue and green: green’s credential first, then blue’s own revoke; one approval', () => {
    const parts: ServingPart[] = [{ serving: servingOn(multi, 'blue') as WidRequest }, { serving: servingOn(multi, 'green') as WidRequest, rootKind: 'grant' }];
    const r = buildRevokeAllPlan(parts, ['blue', 'green', 'red'], 'payments/checkout-api');
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.kind).toBe('revoke');
    expect(r.value.approvalsRequired).toBe(1);
    expect(r.value.cluster.name).toBe('blue');
    expect(r.value.revokeAll?.clusters).toEqual(['blue', 'green', 'red']);
    const [first, last] = r.value.revokeAll?.parts ?? [];
    expect(first).toMatchObject({ kind: 'revoke', cluster: { name: 'green' }, federation: { sourceRequestId: 'wid-multi00001' } });
    expect(last).toMatchObject({ kind: 'revoke', cluster: { name: 'blue' } });
    expect(last?.federation).toBeUndefined();
    expect(last?.alsoClusters).toBeUndefined();
    expect(describeRevokePart(first as Plan)).toBe('its credential and annotation');
    expect(describeRevokePart(last as Plan)).toContain('then the role assignments and the identity');
  });

  test('only federations left of a grant’s identity: the last is revoked in full; of a migrated identity: none is', () => {
    const greenPart = servingOn(multi, 'green') as WidRequest;
    const redPart = servingOn(request({ plan: { ...multi.plan, alsoClusters: [extra('green'), extra('red')] } }), 'red') as WidRequest;
    const fromGrant = buildRevokeAllPlan([{ serving: greenPart, rootKind: 'grant' }, { serving: redPart, rootKind: 'grant' }], ['blue', 'green', 'red'], 'x');
    expect(fromGrant.ok && fromGrant.value.revokeAll?.parts.map((p) => [p.cluster.name, p.federation !== undefined])).toEqual([['red', true], ['green', false]]);
    expect(fromGrant.ok && fromGrant.value.cluster.name).toBe('green');
    const fromMigration = buildRevokeAllPlan([{ serving: greenPart, rootKind: 'migrate' }, { serving: redPart }], ['blue', 'green', 'red'], 'x');
    expect(fromMigration.ok && fromMigration.value.revokeAll?.parts.every((p) => p.federation !== undefined)).toBe(true);
  });

  test('a migration keeps its migration (the adopted identity stays)', () => {
    const migrated = request({ kind: 'migrate', plan: { ...grantPlan('blue'), kind: 'migrate', migration: { binding: 'b' } as unknown as NonNullable<Plan['migration']> } });
    const r = buildRevokeAllPlan([{ serving: migrated }], ['blue'], 'x');
    expect(r.ok && r.value.revokeAll?.parts[0]?.migration).toBeDefined();
    expect(r.ok && describeRevokePart(r.value.revokeAll?.parts[0] as Plan)).toContain('adopted identity and its roles stay');
  });

  test('separate identities on two clusters: each revoked in full, in the clusters’ order', () => {
    const blue = request({ plan: grantPlan('blue') });
    const green = request({ id: 'wid-green00001', plan: grantPlan('green') });
    const r = buildRevokeAllPlan([{ serving: blue }, { serving: green }], ['blue', 'green'], 'x');
    expect(r.ok && r.value.revokeAll?.parts.map((p) => [p.cluster.name, p.identity.name])).toEqual([['blue', blue.plan.identity.name], ['green', green.plan.identity.name]]);
    expect(blue.plan.identity.name).not.toBe(green.plan.identity.name);
  });

  test('the request as it undid each cluster: found on every cluster it covers, and nowhere else', () => {
    const parts: ServingPart[] = [{ serving: servingOn(multi, 'blue') as WidRequest }, { serving: servingOn(multi, 'green') as WidRequest, rootKind: 'grant' }];
    const r = buildRevokeAllPlan(parts, ['blue', 'green', 'red'], 'x');
    if (!r.ok) throw new Error(r.error.message);
    const revoke = request({ id: 'wid-revall0001', kind: 'revoke', plan: r.value });
    expect(revokeAllClusters(revoke)).toEqual(['green', 'blue']);
    expect(servingOn(revoke, 'green')).toMatchObject({ kind: 'revoke', clusterName: 'green', plan: { cluster: { name: 'green' } } });
    expect(servingOn(revoke, 'blue')?.plan.federation).toBeUndefined();
    expect(servingOn(revoke, 'red')).toBeUndefined();
    expect(revokeAllOn(revoke, 'red')).toBeUndefined();
    expect(revokedViews(revoke).map((v) => v.clusterName)).toEqual(['green', 'blue']);
    const plain = request({ kind: 'revoke', plan: { ...grantPlan('blue'), kind: 'revoke' } });
    expect(revokedViews(plain)).toEqual([plain]);
    expect(clustersOf(revoke)).toEqual(['green', 'blue']);
  });
});

describe('the line per cluster', () => {
  const plan: Plan = { ...grantPlan('blue'), alsoClusters: [extra('green'), extra('red')] };
  const step = (s: StepRecord['step'], outcome: StepRecord['outcome']): StepRecord => ({ step: s, outcome, startedAt: 't' });

  test('a one-cluster request has none', () => {
    expect(clusterProgressLine(request({ plan: grantPlan('blue') }))).toBeUndefined();
    expect(clustersOf(request({ plan: grantPlan('blue') }))).toEqual(['blue']);
  });

  test('while the first cluster runs, the others wait', () => {
    const r = request({ state: 'provisioning', plan, steps: [step('identity', 'done'), step('roleAssignment', 'running')] });
    expect(clusterProgressLine(r)).toBe('blue … role assignment · green waiting · red waiting');
    expect(clustersOf(r)).toEqual(['blue', 'green', 'red']);
  });

  test('the first cluster verified, green on its credential, red waiting', () => {
    const own = ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'].map((s) => step(s as StepRecord['step'], 'done'));
    const r = request({ state: 'provisioning', plan, steps: own, resources: { clusters: { green: { steps: { identity: 'done', federatedCredential: 'running', serviceAccount: 'done' } } } } });
    expect(clusterProgressLine(r)).toBe('blue ✓ · green … federated credential · red waiting');
    // between two steps: the next one to come
    const between = request({ ...r, resources: { clusters: { green: { steps: { identity: 'done' } } } } });
    expect(clusterProgress(between)?.[1]).toEqual({ cluster: 'green', status: 'running', step: 'roleAssignment' });
  });

  test('a failure names the cluster and the step; success ticks every cluster', () => {
    const failed = request({ state: 'failed', plan, steps: [step('verify', 'done')], resources: { clusters: { green: { steps: { federatedCredential: 'done', serviceAccount: 'failed' } } } } });
    expect(clusterProgressLine(failed)).toBe('blue ✓ · green ✗ at ServiceAccount annotation · red waiting');
    const stuck = request({ ...failed, resources: { clusters: { green: { steps: { verify: 'running' } } } } });
    expect(clusterProgress(stuck)?.[1]).toEqual({ cluster: 'green', status: 'failed', step: 'verify' });
    expect(clusterProgressLine(request({ plan, state: 'succeeded' }))).toBe('blue ✓ · green ✓ · red ✓');
  });

  test('revoke --cluster all: revoked, running, waiting', () => {
    const multi = request({ plan: { ...grantPlan('blue'), alsoClusters: [extra('green')] } });
    const built = buildRevokeAllPlan([{ serving: servingOn(multi, 'blue') as WidRequest }, { serving: servingOn(multi, 'green') as WidRequest, rootKind: 'grant' }], ['blue', 'green'], 'x');
    if (!built.ok) throw new Error(built.error.message);
    const r = request({ kind: 'revoke', state: 'provisioning', plan: built.value, resources: { clusters: { green: { steps: { serviceAccount: 'done', federatedCredential: 'done' }, revoked: true }, blue: { steps: { serviceAccount: 'running' } } } } });
    expect(clusterProgressLine(r)).toBe('green ✓ · blue … ServiceAccount annotation');
    expect(clusterProgressLine({ ...r, resources: {} })).toBe('green waiting · blue waiting');
    expect(clusterProgressLine({ ...r, state: 'succeeded' })).toBe('green ✓ · blue ✓');
    // stopped on a cluster before its first step
    expect(clusterProgressLine({ ...r, state: 'failed', resources: { clusters: { green: { steps: {}, failed: true }, blue: { steps: {} } } } })).toBe('green ✗ · blue waiting');
  });

  test('extraClusterPlan parts keep the grant’s request id, so a revoke-all finds their root', () => {
    const multi = request({ plan: { ...grantPlan('blue'), alsoClusters: [extra('green')] } });
    expect(extraClusterPlan(multi, extra('green')).federation?.sourceRequestId).toBe(multi.id);
  });
});

describe('singleClusterRevokePlan', () => {
  const multi = request({ plan: { ...grantPlan('blue'), alsoClusters: [extra('green')] } });
  const greenPart = servingOn(multi, 'green') as WidRequest;

  test('a federation while another cluster still uses the identity: only its credential and annotation', () => {
    const p = singleClusterRevokePlan(greenPart, 'grant', 1);
    expect(p).toMatchObject({ kind: 'revoke', approvalsRequired: 1, cluster: { name: 'green' }, federation: { sourceCluster: 'blue' } });
  });

  test('the last cluster of an identity wid-bot made for a grant: revoked in full', () => {
    const p = singleClusterRevokePlan(greenPart, 'grant', 0);
    expect(p.federation).toBeUndefined();
    expect(p).toMatchObject({ kind: 'revoke', cluster: { name: 'green' }, roleAssignment: multi.plan.roleAssignment });
  });

  test('the last cluster of a migrated identity, or of an unknown source, keeps the federation (nothing adopted is deleted)', () => {
    expect(singleClusterRevokePlan(greenPart, 'migrate', 0).federation).toBeDefined();
    expect(singleClusterRevokePlan(greenPart, undefined, 0).federation).toBeDefined();
  });

  test('a grant’s own cluster is unchanged', () => {
    const p = singleClusterRevokePlan(multi, undefined, 0);
    expect(p).toEqual({ ...multi.plan, kind: 'revoke', approvalsRequired: 1 });
  });
});

describe('revoke-all at its edges', () => {
  const multi = request({ plan: { ...grantPlan('blue'), alsoClusters: [extra('green')] } });
  const greenPart = servingOn(multi, 'green') as WidRequest;

  test('nothing anywhere and no cluster looked at: the refusal says none and is about the cluster', () => {
    expect(buildRevokeAllPlan([], [], 'payments/checkout-api')).toEqual({
      ok: false,
      error: { code: 'nothing-to-revoke', field: 'cluster', message: 'wid-bot has granted nothing to payments/checkout-api on any cluster (looked at none) that is still in place, so there is nothing to revoke.' },
    });
  });

  test('the identity’s own part found after its federation still runs last and is the request’s plan', () => {
    const r = buildRevokeAllPlan([{ serving: greenPart, rootKind: 'grant' }, { serving: servingOn(multi, 'blue') as WidRequest }], ['blue', 'green'], 'x');
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.revokeAll?.parts.map((p) => [p.cluster.name, p.federation !== undefined])).toEqual([['green', true], ['blue', false]]);
    expect(r.value.cluster.name).toBe('blue');
    expect(r.value.federation).toBeUndefined();
  });

  test('only federations of a migrated identity: each keeps its federation, the first is the request’s plan', () => {
    const redPart = servingOn(request({ plan: { ...multi.plan, alsoClusters: [extra('green'), extra('red')] } }), 'red') as WidRequest;
    const r = buildRevokeAllPlan([{ serving: greenPart, rootKind: 'migrate' }, { serving: redPart }], ['green', 'red'], 'x');
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.revokeAll?.parts.map((p) => p.cluster.name)).toEqual(['green', 'red']);
    expect(r.value).toMatchObject({ kind: 'revoke', approvalsRequired: 1, cluster: { name: 'green' }, federation: { sourceCluster: 'blue' } });
  });

  test('a request that is no revoke-all covers no cluster', () => {
    const plain = request({ kind: 'revoke', plan: { ...grantPlan('blue'), kind: 'revoke' } });
    expect(revokeAllClusters(plain)).toEqual([]);
    expect(revokeAllOn(plain, 'blue')).toBeUndefined();
  });

  test('a grant’s own cluster stays as it is even when its identity serves no other cluster', () => {
    expect(singleClusterRevokePlan(multi, 'grant', 0)).toEqual({ ...multi.plan, kind: 'revoke', approvalsRequired: 1 });
    expect(singleClusterRevokePlan(multi, 'grant', 0).alsoClusters).toHaveLength(1);
  });
});

describe('the line per cluster at its edges', () => {
  const plan: Plan = { ...grantPlan('blue'), alsoClusters: [extra('green')] };
  const step = (s: StepRecord['step'], outcome: StepRecord['outcome']): StepRecord => ({ step: s, outcome, startedAt: 't' });
  /** The first cluster's four steps done, then its check with `verify` (none yet when undefined). */
  const upTo = (verify?: StepRecord['outcome']) => ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount'].map((s) => step(s as StepRecord['step'], 'done')).concat(verify ? [step('verify', verify)] : []);
  const revokeAll = (): Plan => {
    const built = buildRevokeAllPlan([{ serving: servingOn(request({ plan }), 'blue') as WidRequest }, { serving: servingOn(request({ plan }), 'green') as WidRequest, rootKind: 'grant' }], ['blue', 'green'], 'x');
    if (!built.ok) throw new Error(built.error.message);
    return built.value;
  };

  test('each step’s words: identity first, the token exchange check last', () => {
    expect(clusterProgressLine(request({ state: 'provisioning', plan, steps: [step('identity', 'running')] }))).toBe('blue … identity · green waiting');
    expect(clusterProgressLine(request({ state: 'provisioning', plan, steps: upTo('running') }))).toBe('blue … token exchange check · green waiting');
    expect(clusterProgressLine(request({ state: 'failed', plan, steps: [step('identity', 'failed')] }))).toBe('blue ✗ at identity · green waiting');
    expect(clusterProgress(request({ state: 'provisioning', plan, steps: [] }))).toEqual([{ cluster: 'blue', status: 'waiting' }, { cluster: 'green', status: 'waiting' }]);
  });

  test('the first cluster is done once verified or its check was skipped, without the request having succeeded', () => {
    expect(clusterProgressLine(request({ state: 'provisioning', plan, steps: upTo('skipped') }))).toBe('blue ✓ · green waiting');
    expect(clusterProgressLine(request({ state: 'provisioning', plan, steps: upTo(), resources: { verified: true } }))).toBe('blue ✓ · green waiting');
    expect(clusterProgressLine(request({ state: 'provisioning', plan, steps: upTo() }))).toBe('blue … token exchange check · green waiting');
  });

  test('another cluster is done once verified there, or its check done or skipped', () => {
    const own = upTo('skipped');
    const at = (green: object) => clusterProgressLine(request({ state: 'provisioning', plan, steps: own, resources: { clusters: { green } } }));
    expect(at({ steps: { verify: 'done' } })).toBe('blue ✓ · green ✓');
    expect(at({ steps: { verify: 'skipped' } })).toBe('blue ✓ · green ✓');
    expect(at({ steps: { serviceAccount: 'done' }, verified: true })).toBe('blue ✓ · green ✓');
    expect(at({ steps: { serviceAccount: 'done' } })).toBe('blue ✓ · green … identity');
  });

  test('a revoke of one cluster of a multi-cluster grant is no multi-cluster request', () => {
    const revoke = request({ kind: 'revoke', state: 'provisioning', plan: { ...plan, kind: 'revoke' } });
    expect(clusterProgress(revoke)).toBeUndefined();
    expect(clustersOf(revoke)).toEqual(['blue']);
  });

  test('revoke --cluster all: a failure while a part runs marks that part, a part never started waits', () => {
    const r = request({ kind: 'revoke', state: 'failed', plan: revokeAll(), resources: { clusters: { green: { steps: { serviceAccount: 'running' } } } } });
    expect(clusterProgressLine(r)).toBe('green ✗ at ServiceAccount annotation · blue waiting');
    expect(clusterProgress(r)?.[1]).toEqual({ cluster: 'blue', status: 'waiting' });
  });

  test('revoke --cluster all: a part that failed once and was revoked on a retry is done; one past its last step is still running', () => {
    const parts = { green: { steps: { serviceAccount: 'done', federatedCredential: 'done' }, failed: true, revoked: true }, blue: { steps: { identity: 'done', roleAssignment: 'done', federatedCredential: 'done', serviceAccount: 'done', verify: 'done' } } } as const;
    const r = request({ kind: 'revoke', state: 'provisioning', plan: revokeAll(), resources: { clusters: parts } });
    expect(clusterProgressLine(r)).toBe('green ✓ · blue …');
    expect(clusterProgress(r)).toEqual([{ cluster: 'green', status: 'done' }, { cluster: 'blue', status: 'running' }]);
  });

  test('revoke --cluster all: a cluster with two parts is named once', () => {
    const built = revokeAll();
    const twice = { ...built, revokeAll: { parts: [...(built.revokeAll?.parts ?? []), ...(built.revokeAll?.parts ?? [])], clusters: ['blue', 'green'] } };
    expect(clustersOf(request({ kind: 'revoke', plan: twice }))).toEqual(['green', 'blue']);
  });
});
