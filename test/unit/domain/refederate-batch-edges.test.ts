/**
 * A refederate batch's transitions, the edges: each refusal's code and words, who may deny, what a removal pass
 * leaves, which items are offered for removal, the states that hold the cluster, and results merged by item.
 */
import { applyBatchAction, CLAIMING_STATES, failedKeys, namespacesOf, removableKeys, type BatchAction, type ItemResult, type RefederationBatch } from '../../../src/domain/refederate-batch';
import { planRefederate } from '../../../src/domain/refederate';

const OLD = 'https://westeurope.oic.prod-aks.azure.com/t/old/';
const NEW = 'https://westeurope.oic.prod-aks.azure.com/t/new/';
const NOW = new Date('2026-12-03T12:00:00Z');
const LATER = new Date('2026-12-03T12:05:00Z');

function batch(n = 2, over: Partial<RefederationBatch> = {}, namespaces: string[] = ['finance']): RefederationBatch {
  const ns = (i: number) => namespaces[i % namespaces.length] as string;
  const identities = Array.from({ length: n }, (_, i) => ({
    id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${i}`,
    name: `id-${i}`,
    subscriptionId: 's',
    resourceGroup: 'rg',
    clientId: `c-${i}`,
    tenantId: 't',
    credentials: [{ name: `old-${i}`, issuer: OLD, subject: `system:serviceaccount:${ns(i)}:app-${i}`, audiences: ['api://AzureADTokenExchange'] }],
  }));
  const plan = planRefederate({ cluster: 'blue', currentIssuer: NEW, previousIssuers: [OLD], identities, serviceAccounts: new Set(identities.map((_, i) => `${ns(i)}/app-${i}`)) });
  return {
    id: 'ref-abcdefghij',
    cluster: 'blue',
    state: 'pending',
    requester: { id: 'UADMIN' },
    plan,
    keepOldCredentials: false,
    results: [],
    removal: [],
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    expiresAt: new Date(NOW.getTime() + 3600_000).toISOString(),
    version: 7,
    ...over,
  };
}

const apply = (b: RefederationBatch, a: BatchAction, now = LATER) => applyBatchAction(b, a, now);
const ok = (b: RefederationBatch, a: BatchAction, now = LATER): RefederationBatch => {
  const r = apply(b, a, now);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};
const refused = (b: RefederationBatch, a: BatchAction, now = LATER) => {
  const r = apply(b, a, now);
  if (r.ok) throw new Error(`expected ${a.type} to be refused in ${b.state}`);
  return r.error;
};
const result = (key: string, o: Partial<ItemResult> = {}): ItemResult => ({ key, identity: 'id', subject: 's', outcome: 'done', detail: 'ok', verified: true, ...o });
const keys = (b: RefederationBatch) => b.plan.items.map((i) => i.key);

test('every action in the wrong state is refused naming the batch, its cluster, its state and the action', () => {
  const cases: Array<[BatchAction, string, RefederationBatch['state']]> = [
    [{ type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true }, 'approved', 'running'],
    [{ type: 'deny', actor: { id: 'UBOB' }, actorMayApprove: true }, 'denied', 'approved'],
    [{ type: 'expire' }, 'expired', 'approved'],
    [{ type: 'start' }, 'started', 'pending'],
    [{ type: 'ran', results: [] }, 'finished', 'approved'],
    [{ type: 'confirmRemoval', actor: { id: 'UBOB' }, actorMayConfirm: true }, 'told to remove the old credentials', 'finished'],
    [{ type: 'removed', removal: [] }, 'marked removed', 'verified'],
    [{ type: 'retry', actor: { id: 'UBOB' }, actorMayConfirm: true }, 'retried', 'running'],
  ];
  for (const [action, what, state] of cases) {
    expect(refused(batch(2, { state }), action)).toEqual({ code: 'wrong-state', message: `Refederate ref-abcdefghij of cluster blue is ${state}, so it cannot be ${what} now.` });
  }
});

test('approve: the expiry message says what to run; the moment of expiry is already too late; the approver and time are recorded', () => {
  const b = batch();
  const at = new Date(b.expiresAt);
  expect(refused(b, { type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true }, at)).toEqual({ code: 'expired', message: `Refederate ref-abcdefghij expired at ${b.expiresAt}; run /wid refederate blue again.` });
  const approved = ok(b, { type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true }, new Date(at.getTime() - 1));
  expect(approved).toMatchObject({ state: 'approved', approver: { id: 'UBOB' }, version: 8, updatedAt: new Date(at.getTime() - 1).toISOString() });
  expect(refused(b, { type: 'approve', actor: { id: 'UADMIN' }, actorMayApprove: true }).code).toBe('self-approval');
  expect(refused(b, { type: 'approve', actor: { id: 'UEVE' }, actorMayApprove: false }).code).toBe('not-approver');
  expect(refused(batch(3, {}, ['payments', 'finance']), { type: 'approve', actor: { id: 'UEVE' }, actorMayApprove: false }).message).toBe('Only an approver of every namespace in refederate ref-abcdefghij (finance, payments) may approve it.');
});

test('deny: an approver or the requester, with or without a reason; anyone else is refused', () => {
  expect(ok(batch(), { type: 'deny', actor: { id: 'UBOB' }, actorMayApprove: true, reason: 'not now' })).toMatchObject({ state: 'denied', reason: 'not now' });
  const mine = ok(batch(), { type: 'deny', actor: { id: 'UADMIN' }, actorMayApprove: false });
  expect(mine.state).toBe('denied');
  expect('reason' in mine).toBe(false);
  expect(refused(batch(), { type: 'deny', actor: { id: 'UEVE' }, actorMayApprove: false })).toEqual({ code: 'not-approver', message: 'Only an approver or the requester may deny refederate ref-abcdefghij.' });
  expect(ok(batch(), { type: 'expire' }).state).toBe('expired');
});

test('start runs every item; ran merges results by item (a later one replaces), keeping the first order', () => {
  const started = ok(batch(3, { state: 'approved' }), { type: 'start' });
  expect(started.runKeys).toEqual(keys(started));
  const [k0, k1, k2] = keys(started) as [string, string, string];
  const first = ok(started, { type: 'ran', results: [result(k0), result(k1, { outcome: 'failed', verified: false }), result(k2)] });
  expect(first.state).toBe('verified');
  expect(failedKeys(first)).toEqual([k1]);
  const retried = ok(first, { type: 'retry', actor: { id: 'UADMIN' }, actorMayConfirm: true });
  expect(retried).toMatchObject({ state: 'running', runKeys: [k1] });
  const second = ok(retried, { type: 'ran', results: [result(k1, { detail: 'second try' })] });
  expect(second.results.map((r) => [r.key, r.detail])).toEqual([
    [k0, 'ok'],
    [k1, 'second try'],
    [k2, 'ok'],
  ]);
  expect(failedKeys(second)).toEqual([]);
});

test('which items are offered for removal: done, verified, with old credentials, not removed yet', () => {
  const b = batch(5, { state: 'verified' });
  const [k0, k1, k2, k3, k4] = keys(b) as [string, string, string, string, string];
  const plan = { ...b.plan, items: b.plan.items.map((i) => (i.key === k3 ? { ...i, oldCredentials: [] } : i)) };
  const x: RefederationBatch = {
    ...b,
    plan,
    results: [result(k0), result(k1, { verified: false }), result(k2, { outcome: 'skipped' }), result(k3), result(k4)],
    removal: [{ key: k4, identity: 'id', removed: ['old'], outcome: 'done', detail: 'removed' }],
  };
  expect(removableKeys(x)).toEqual([k0]);
  expect(removableKeys({ ...x, removal: [{ key: k4, identity: 'id', removed: [], outcome: 'failed', detail: 'no' }] })).toEqual([k0, k4]);
});

test('confirmRemoval: only the requester or an approver, only with something to remove', () => {
  const b = batch(2, { state: 'verified' });
  const [k0] = keys(b) as [string];
  const ready = { ...b, results: [result(k0)] };
  expect(refused(ready, { type: 'confirmRemoval', actor: { id: 'UEVE' }, actorMayConfirm: false })).toEqual({ code: 'not-approver', message: 'Only the requester or an approver of refederate ref-abcdefghij may remove the old credentials.' });
  expect(refused(b, { type: 'confirmRemoval', actor: { id: 'UADMIN' }, actorMayConfirm: true })).toEqual({ code: 'nothing-to-remove', message: 'No item of refederate ref-abcdefghij has verified old credentials left to remove.' });
  expect(ok(ready, { type: 'confirmRemoval', actor: { id: 'UADMIN' }, actorMayConfirm: true }).state).toBe('removing');
});

test('removed: "kept" outcomes change nothing; a failed removal leaves the batch verified to try again; all done finishes it', () => {
  const b = batch(2, { state: 'removing' });
  const [k0, k1] = keys(b) as [string, string];
  const withResults = { ...b, results: [result(k0), result(k1)] };
  const kept = ok(withResults, { type: 'removed', removal: [{ key: k0, identity: 'id', removed: [], outcome: 'kept', detail: 'kept' }, { key: k1, identity: 'id', removed: ['old'], outcome: 'done', detail: 'removed' }] });
  expect(kept.state).toBe('verified');
  expect(kept.removal.map((r) => r.key)).toEqual([k1]);
  const failed = ok({ ...withResults, removal: kept.removal }, { type: 'removed', removal: [{ key: k0, identity: 'id', removed: [], outcome: 'failed', detail: 'Entra said no', retryable: true }] });
  expect(failed.state).toBe('verified');
  const finished = ok({ ...failed, state: 'removing' }, { type: 'removed', removal: [{ key: k0, identity: 'id', removed: ['old'], outcome: 'done', detail: 'removed' }] });
  expect(finished.state).toBe('finished');
  expect(finished.removal.find((r) => r.key === k0)?.outcome).toBe('done');
});

test('retry: only the requester or an approver, only with failed items; from finished too', () => {
  const b = batch(2, { state: 'finished' });
  const [k0, k1] = keys(b) as [string, string];
  const withFailure = { ...b, results: [result(k0), result(k1, { outcome: 'failed' })] };
  expect(refused(withFailure, { type: 'retry', actor: { id: 'UEVE' }, actorMayConfirm: false })).toEqual({ code: 'not-approver', message: 'Only the requester or an approver of refederate ref-abcdefghij may retry it.' });
  expect(refused({ ...b, results: [result(k0)] }, { type: 'retry', actor: { id: 'UADMIN' }, actorMayConfirm: true })).toEqual({ code: 'nothing-to-retry', message: 'No item of refederate ref-abcdefghij failed, so there is nothing to retry.' });
  expect(ok(withFailure, { type: 'retry', actor: { id: 'UADMIN' }, actorMayConfirm: true }).runKeys).toEqual([k1]);
});

test('the states that hold the cluster, and the namespaces a batch touches (sorted, once each)', () => {
  expect(CLAIMING_STATES).toEqual(['pending', 'approved', 'running', 'removing']);
  expect(namespacesOf(batch(4, {}, ['payments', 'finance']))).toEqual(['finance', 'payments']);
});
