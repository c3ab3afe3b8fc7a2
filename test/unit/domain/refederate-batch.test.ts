/**
 * A refederate batch's life: one approval (never the requester's own), the worker's run, the second confirmed
 * step, retries of failed items, and the message that shows it within Slack's limits however large the batch.
 */
import fc from 'fast-check';
import { applyBatchAction, removableKeys, type BatchAction, type ItemResult, type RefederationBatch } from '../../../src/domain/refederate-batch';
import { planRefederate } from '../../../src/domain/refederate';
import { refederateMessage } from '../../../src/slack/blocks/refederate';
import { ACTION } from '../../../src/slack/ids';
import { validateBlocks } from '../../emulators/slack/blocks';
import { parsePolicy } from '../../../src/config/policy';
import { worldPolicyYaml } from '../../emulators/world';

const OLD = 'https://westeurope.oic.prod-aks.azure.com/t/old/';
const NEW = 'https://westeurope.oic.prod-aks.azure.com/t/new/';
const NOW = new Date('2026-12-03T12:00:00Z');

function batch(n = 2, over: Partial<RefederationBatch> = {}): RefederationBatch {
  const identities = Array.from({ length: n }, (_, i) => ({
    id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-${i}`,
    name: `id-${i}`,
    subscriptionId: 's',
    resourceGroup: 'rg',
    clientId: `c-${i}`,
    tenantId: 't',
    credentials: [{ name: `old-${i}`, issuer: OLD, subject: `system:serviceaccount:finance:app-${i}`, audiences: ['api://AzureADTokenExchange'] }],
  }));
  const plan = planRefederate({ cluster: 'blue', currentIssuer: NEW, previousIssuers: [OLD], identities, serviceAccounts: new Set(identities.map((_, i) => `finance/app-${i}`)) });
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
    version: 0,
    ...over,
  };
}

function step(b: RefederationBatch, a: BatchAction): RefederationBatch {
  const r = applyBatchAction(b, a, NOW);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

const done = (b: RefederationBatch, failKey?: string): ItemResult[] =>
  b.plan.items.map((i) => (i.key === failKey ? { key: i.key, identity: i.identity.name, subject: i.subject, outcome: 'failed', detail: 'Entra said no', retryable: true } : { key: i.key, identity: i.identity.name, subject: i.subject, outcome: 'done', detail: 'ok', verified: true }));

describe('refederate batch', () => {
  it('pending → approved → running → verified → removing → finished, each step bumping the version', () => {
    let b = batch();
    b = step(b, { type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true });
    expect(b.state).toBe('approved');
    b = step(b, { type: 'start' });
    expect(b.runKeys).toHaveLength(2);
    b = step(b, { type: 'ran', results: done(b) });
    expect(b.state).toBe('verified');
    expect(removableKeys(b)).toHaveLength(2);
    b = step(b, { type: 'confirmRemoval', actor: { id: 'UADMIN' }, actorMayConfirm: true });
    b = step(b, { type: 'removed', removal: b.plan.items.map((i) => ({ key: i.key, identity: i.identity.name, removed: ['x'], outcome: 'done', detail: 'removed' })) });
    expect(b.state).toBe('finished');
    expect(b.version).toBe(5);
  });

  it('refuses self-approval, approval by a non-approver, and approval after expiry, saying why', () => {
    const b = batch();
    const self = applyBatchAction(b, { type: 'approve', actor: { id: 'UADMIN' }, actorMayApprove: true }, NOW);
    expect(!self.ok && self.error.message).toBe('You asked for refederate ref-abcdefghij yourself; another approver must approve it.');
    const not = applyBatchAction(b, { type: 'approve', actor: { id: 'UALICE' }, actorMayApprove: false }, NOW);
    expect(!not.ok && not.error.message).toBe('Only an approver of every namespace in refederate ref-abcdefghij (finance) may approve it.');
    const late = applyBatchAction(b, { type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true }, new Date(NOW.getTime() + 7200_000));
    expect(!late.ok && late.error.code).toBe('expired');
  });

  it('with keepOldCredentials the run finishes without a second step', () => {
    let b = batch(2, { keepOldCredentials: true, state: 'approved' });
    b = step(b, { type: 'start' });
    b = step(b, { type: 'ran', results: done(b) });
    expect(b.state).toBe('finished');
    expect(refederateMessage(b).blocks?.some((x) => JSON.stringify(x).includes(ACTION.refederateRemoveOld))).toBe(false);
  });

  it('a failed item gets a Retry that reruns only it; its old credentials are not offered for removal', () => {
    let b = batch(3, { state: 'approved' });
    b = step(b, { type: 'start' });
    const failKey = b.plan.items[1]?.key as string;
    b = step(b, { type: 'ran', results: done(b, failKey) });
    expect(removableKeys(b)).not.toContain(failKey);
    expect(JSON.stringify(refederateMessage(b).blocks)).toContain(ACTION.refederateRetry);
    b = step(b, { type: 'retry', actor: { id: 'UADMIN' }, actorMayConfirm: true });
    expect(b.runKeys).toEqual([failKey]);
    b = step(b, { type: 'ran', results: [{ key: failKey, identity: 'id-1', subject: 's', outcome: 'done', detail: 'ok', verified: true }] });
    expect(removableKeys(b)).toHaveLength(3);
  });

  it('any action out of order is refused, never applied', () => {
    const actions: BatchAction[] = [
      { type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true },
      { type: 'deny', actor: { id: 'UBOB' }, actorMayApprove: true },
      { type: 'start' },
      { type: 'ran', results: [] },
      { type: 'confirmRemoval', actor: { id: 'UBOB' }, actorMayConfirm: true },
      { type: 'removed', removal: [] },
      { type: 'retry', actor: { id: 'UBOB' }, actorMayConfirm: true },
      { type: 'expire' },
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...actions), { maxLength: 12 }), (seq) => {
        let b = batch();
        for (const a of seq) {
          const r = applyBatchAction(b, a, NOW);
          if (r.ok) {
            expect(r.value.version).toBe(b.version + 1);
            b = r.value;
          }
        }
        // denied, expired and finished are final except for a retry of failed items
        if (b.state === 'denied' || b.state === 'expired') for (const a of actions) expect(applyBatchAction(b, a, NOW).ok).toBe(false);
      }),
    );
  });

  it('the message of a 500-identity batch stays within Block Kit limits in every state', () => {
    let b = batch(500);
    expect(validateBlocks(refederateMessage(b).blocks, 'message')).toEqual([]);
    b = step(b, { type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true });
    b = step(b, { type: 'start' });
    b = step(b, { type: 'ran', results: done(b, b.plan.items[7]?.key) });
    const m = refederateMessage(b);
    expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(m.blocks)).toContain('…and 485 more');
  });
});

describe('policy setting refederateKeepOldCredentials', () => {
  it('is read from settings, absent by default, and a wrong type names the field', () => {
    expect(parsePolicy(worldPolicyYaml(), 't').refederateKeepOldCredentials).toBeUndefined();
    expect(parsePolicy(`${worldPolicyYaml()}  refederateKeepOldCredentials: true\n`, 't').refederateKeepOldCredentials).toBe(true);
    expect(() => parsePolicy(`${worldPolicyYaml()}  refederateKeepOldCredentials: "yes"\n`, 't')).toThrow(/settings\.refederateKeepOldCredentials/);
  });
});

describe('refederate batch: when the run leaves nothing to remove', () => {
  it('finishes at once when every item failed, or no verified item has old credentials, even when the policy removes them', () => {
    const running = (): RefederationBatch => step(step(batch(), { type: 'approve', actor: { id: 'UBOB' }, actorMayApprove: true }), { type: 'start' });
    const allFailed = running().plan.items.map((i): ItemResult => ({ key: i.key, identity: i.identity.name, subject: i.subject, outcome: 'failed', detail: 'Entra said no', retryable: true }));
    const failed = step(running(), { type: 'ran', results: allFailed });
    expect(failed.state).toBe('finished');
    expect(removableKeys(failed)).toEqual([]);
    const unverified = step(running(), { type: 'ran', results: done(running()).map((r) => ({ ...r, verified: false })) });
    expect(unverified.state).toBe('finished');
    // one verified item with old credentials is enough to wait for the second step
    expect(step(running(), { type: 'ran', results: done(running(), running().plan.items[0]?.key) }).state).toBe('verified');
  });
});
