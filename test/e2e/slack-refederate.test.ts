/**
 * `/wid refederate` end to end: signed slash command → plan posted for approval → one approval → the worker writes
 * and verifies a credential for the recreated cluster's new issuer per identity → a second click removes the old
 * credentials. Also: only approvers or operators may ask, self-approval is refused, and of two refederates of one
 * cluster sent together exactly one is created.
 */
import { ACTION } from '../../src/slack/ids';
import { RefederationStore } from '../../src/store/refederations';
import type { RefederationBatch } from '../../src/domain/refederate-batch';
import { validateBlocks } from '../emulators/slack/blocks';
import { WORLD } from '../emulators/world';
import { startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB, admin: ADMIN } = WORLD.users;
const RG = WORLD.identityResourceGroup;
const subject = (sa: string) => `system:serviceaccount:finance:${sa}`;
const batchIdIn = (text: string) => /ref-[a-z2-7]{10}/.exec(text)?.[0];

describe('/wid refederate', () => {
  let h: Harness;
  let batches: RefederationStore;
  beforeAll(async () => {
    h = await startHarness({ worker: true, refederate: true });
    batches = new RefederationStore(h.store.redis, h.prefix);
  });
  afterAll(async () => {
    await h?.close();
  });

  async function waitForBatch(id: string, ok: (b: RefederationBatch) => boolean, timeoutMs = 30_000): Promise<RefederationBatch> {
    const until = Date.now() + timeoutMs;
    let last: RefederationBatch | undefined;
    while (Date.now() < until) {
      last = await batches.get(id);
      if (last && ok(last)) return last;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`refederate ${id} did not reach the expected state; last: ${last?.state}`);
  }

  test('recreated cluster: plan → approve → new credentials verified → Remove old credentials', async () => {
    const { world } = h;
    const cluster = WORLD.clusterName;
    const oldIssuer = world.kube.issuerUrl;
    const apps = ['orders', 'billing'];
    for (const a of apps) {
      const i = world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: RG, name: `id-${a}` });
      world.arm.state.seedFederatedCredential(i.id, { name: `finance-${a}`, issuer: oldIssuer, subject: subject(a) });
      world.kube.seedServiceAccount({ namespace: 'finance', name: a, annotations: { 'azure.workload.identity/client-id': i.clientId } });
    }

    // Before the cluster changes, wid-bot has only seen its issuer: nothing to do (and the issuer is now recorded).
    await h.wid(ADMIN, `refederate ${cluster}`);
    await waitForEphemeral(world, ADMIN, (t) => t.includes('has only ever seen cluster'));

    const newIssuer = world.recreateCluster();

    // Someone who approves nothing may not ask.
    await h.wid(ALICE, `refederate ${cluster}`);
    await waitForEphemeral(world, ALICE, (t) => t.includes('only wid-bot') && t.includes('operators or approvers'));

    // Two at once: one wins, the other is told which one holds the cluster.
    await Promise.all([h.wid(ADMIN, `refederate ${cluster} --reason cluster rebuilt`), h.wid(ADMIN, `refederate ${cluster}`)]);
    const created = await waitForEphemeral(world, ADMIN, (t) => t.includes('is waiting for approval'));
    const busy = await waitForEphemeral(world, ADMIN, (t) => t.includes('only one refederate of a cluster runs at a time'));
    const id = batchIdIn(created) as string;
    expect(id).toBeDefined();
    expect(busy).toContain(id);

    const message = h.approvalMessage(id);
    const shown = JSON.stringify(message.blocks);
    for (const part of [newIssuer, oldIssuer, 'id-orders', 'id-billing', subject('orders'), 'cluster rebuilt']) expect(shown).toContain(part);
    expect(validateBlocks(message.blocks, 'message')).toEqual([]);

    // The requester may not approve their own batch.
    await h.click(ADMIN, ACTION.refederateApprove, id);
    await waitForEphemeral(world, ADMIN, (t) => t.includes('another approver must approve it'));
    expect((await batches.get(id))?.state).toBe('pending');

    const beforeApproval = world.slack.mark();
    await h.click(BOB, ACTION.refederateApprove, id);
    const verified = await waitForBatch(id, (b) => b.state === 'verified' || b.state === 'finished');
    expect(verified.state).toBe('verified');
    expect(verified.results.map((r) => [r.identity, r.outcome, r.verified]).sort()).toEqual([
      ['id-billing', 'done', true],
      ['id-orders', 'done', true],
    ]);
    for (const a of apps) {
      const creds = world.arm.state.federatedCredentials().filter((f) => f.subject === subject(a));
      expect(creds.map((c) => c.issuer).sort()).toEqual([newIssuer, oldIssuer].sort());
    }
    const updated = await world.slack.waitFor((e) => e.kind === 'update' && e.ts === message.ts && JSON.stringify(e.blocks).includes(ACTION.refederateRemoveOld), 10_000, { since: beforeApproval });
    expect(validateBlocks(updated.blocks, 'message')).toEqual([]);

    const beforeRemoval = world.slack.mark();
    await h.click(BOB, ACTION.refederateRemoveOld, id);
    const finished = await waitForBatch(id, (b) => b.state === 'finished');
    expect(finished.removal.filter((r) => r.outcome === 'done')).toHaveLength(2);
    for (const a of apps) {
      expect(world.arm.state.federatedCredentials().filter((f) => f.subject === subject(a)).map((c) => c.issuer)).toEqual([newIssuer]);
    }
    await world.slack.waitFor((e) => e.kind === 'update' && e.ts === message.ts && JSON.stringify(e.blocks).includes('removed from 2 identities'), 10_000, { since: beforeRemoval });

    // The cluster is free again: a new refederate finds nothing left to do.
    await h.wid(ADMIN, `refederate ${cluster}`);
    await waitForEphemeral(world, ADMIN, (t) => t.includes('needs a credential for its issuer'));
  }, 90_000);
});
