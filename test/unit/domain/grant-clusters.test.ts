/**
 * A multi-cluster grant's end on its other clusters: which clusters lose their credential and annotation, which
 * keep them for another live grant, and the grant remembering its clusters from its request.
 */
import { clusterEndNote, clustersAtEnd } from '../../../src/domain/grant-clusters';
import { newGrant, type Grant } from '../../../src/domain/grants';
import { newRequest } from '../../../src/domain/lifecycle';
import { testPlan } from '../../support/plans';

const T0 = new Date('2026-12-01T08:00:00.000Z');

function grant(id: string, over: Partial<Grant> = {}): Grant {
  return {
    id,
    clusterName: 'blue',
    namespace: 'finance',
    serviceAccount: 'api',
    roleName: 'Key Vault Secrets User',
    scope: '/subscriptions/s/resourcegroups/rg',
    requester: { id: 'U_ALICE' },
    approvers: ['U_BOB'],
    approvedAt: T0.toISOString(),
    startedAt: T0.toISOString(),
    endsAt: new Date(T0.getTime() + 3600_000).toISOString(),
    expiry: 'bot',
    state: 'active',
    extensions: [],
    updatedAt: T0.toISOString(),
    ...over,
  };
}

describe('clustersAtEnd', () => {
  test('with no other grant every other cluster loses its part, in the grant’s order', () => {
    expect(clustersAtEnd(grant('g'), ['green', 'red'], [])).toEqual({ remove: ['green', 'red'], keep: [] });
  });

  test('a live grant made for the same cluster keeps that cluster only, and says which grant', () => {
    const other = grant('h', { alsoClusters: ['red'] });
    expect(clustersAtEnd(grant('g'), ['green', 'red'], [other])).toEqual({ remove: ['green'], keep: [{ cluster: 'red', why: 'grant h also serves red' }] });
  });

  test('two grants keeping one cluster are both named', () => {
    const d = clustersAtEnd(grant('g'), ['green'], [grant('h', { alsoClusters: ['green'] }), grant('i', { alsoClusters: ['green', 'red'] })]);
    expect(d.keep).toEqual([{ cluster: 'green', why: 'grants h, i also serve green' }]);
    expect(d.remove).toEqual([]);
  });

  test('a single-cluster grant of the same ServiceAccount, an ending grant and the grant itself keep nothing', () => {
    const others = [grant('single'), grant('ending', { state: 'ending', alsoClusters: ['green'] }), grant('failed', { state: 'endFailed', alsoClusters: ['green'] }), grant('g', { alsoClusters: ['green'] })];
    expect(clustersAtEnd(grant('g', { alsoClusters: ['green'] }), ['green'], others)).toEqual({ remove: ['green'], keep: [] });
  });

  test('a cluster named twice is decided once', () => {
    expect(clustersAtEnd(grant('g'), ['green', 'green'], []).remove).toEqual(['green']);
  });

  test('no other clusters: nothing to decide', () => {
    expect(clustersAtEnd(grant('g'), [], [grant('h', { alsoClusters: ['green'] })])).toEqual({ remove: [], keep: [] });
  });
});

describe('clusterEndNote', () => {
  test('names the cluster and what was done there', () => {
    expect(clusterEndNote('green', ['deleted federated credential X', 'removed the annotation'])).toBe('on green: deleted federated credential X, removed the annotation');
    expect(clusterEndNote('green', [])).toBe('on green: nothing to remove');
  });
});

describe('a grant remembers its other clusters', () => {
  function requestWith(also: string[]) {
    const plan = testPlan({ namespace: 'finance', serviceAccount: 'api' });
    const withAlso = {
      ...plan,
      ...(also.length
        ? { alsoClusters: also.map((name) => ({ cluster: { name, subscriptionId: 's', resourceGroup: 'rg', aksName: `aks-${name}` }, federatedCredential: { ...plan.federatedCredential, name: `wid-${name}` } })) }
        : {}),
    };
    const r = newRequest({ id: 'wid-aaaaaaaaaa', plan: withAlso, requester: { id: 'U_ALICE' }, now: T0, policy: { requestTtlSeconds: 3600 } }).request;
    return { ...r, approvals: [{ actor: { id: 'U_BOB' }, at: T0.toISOString() }] };
  }

  test('from its request’s plan', () => {
    const g = newGrant({ request: requestWith(['green', 'red']), now: T0 });
    expect(g.ok && g.value.alsoClusters).toEqual(['green', 'red']);
  });

  test('a one-cluster grant has none', () => {
    const g = newGrant({ request: requestWith([]), now: T0 });
    expect(g.ok && 'alsoClusters' in g.value).toBe(false);
  });
});
