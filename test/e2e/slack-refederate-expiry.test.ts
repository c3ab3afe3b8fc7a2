/**
 * A `/wid refederate` batch nobody approves in time: at its expiry the worker marks it expired, its message is
 * re-rendered without Approve/Deny, and the cluster is free for a new refederate.
 */
import { RefederationStore } from '../../src/store/refederations';
import type { RefederationBatch } from '../../src/domain/refederate-batch';
import { ACTION } from '../../src/slack/ids';
import { validateBlocks } from '../emulators/slack/blocks';
import { WORLD } from '../emulators/world';
import { startHarness, type Harness } from './harness';

const { admin: ADMIN } = WORLD.users;
const batchIdIn = (text: string) => /ref-[a-z2-7]{10}/.exec(text)?.[0];

describe('/wid refederate that expires', () => {
  let h: Harness;
  let batches: RefederationStore;
  beforeAll(async () => {
    h = await startHarness({ worker: true, refederate: true, world: { policy: { requestTtl: '4s' } } });
    batches = new RefederationStore(h.store.redis, h.prefix);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** The first answer to this command (after the "Planning…" note) that matches. */
  async function answer(userId: string, text: string, match: RegExp): Promise<string> {
    const before = h.world.slack.ephemerals(userId).length;
    await h.wid(userId, text);
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const found = h.world.slack.ephemerals(userId).slice(before).map((e) => `${e.text}\n${JSON.stringify(e.blocks ?? [])}`).find((t) => match.test(t));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no answer matching ${match} to /wid ${text}: ${h.world.slack.ephemerals(userId).slice(before).map((e) => e.text).join(' | ')}`);
  }

  test('the pending batch expires at its time, its message loses its buttons, and the cluster is free again', async () => {
    const { world } = h;
    const i = world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: 'id-orders' });
    world.arm.state.seedFederatedCredential(i.id, { name: 'finance-orders', issuer: world.kube.issuerUrl, subject: 'system:serviceaccount:finance:orders' });
    world.kube.seedServiceAccount({ namespace: 'finance', name: 'orders', annotations: { 'azure.workload.identity/client-id': i.clientId } });
    await answer(ADMIN, `refederate ${WORLD.clusterName}`, /has only ever seen cluster/);
    world.recreateCluster();

    const first = batchIdIn(await answer(ADMIN, `refederate ${WORLD.clusterName}`, /ref-[a-z2-7]{10}/)) as string;
    expect(first).toBeDefined();
    const pending = (await batches.get(first)) as RefederationBatch;
    expect(pending.state).toBe('pending');
    const ts = pending.slack?.ts as string;
    const message = () => world.slack.message(WORLD.approvalsChannel, ts);
    expect(JSON.stringify(message()?.blocks)).toContain(ACTION.refederateApprove);

    // while it waits, the cluster is held
    await answer(ADMIN, `refederate ${WORLD.clusterName}`, new RegExp(`already has refederate ${first}`));

    const mark = world.slack.mark();
    const until = Date.now() + 20_000;
    let b = pending;
    while (Date.now() < until && b.state === 'pending') {
      await new Promise((r) => setTimeout(r, 100));
      b = (await batches.get(first)) as RefederationBatch;
    }
    expect(b.state).toBe('expired');
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(pending.expiresAt));
    await world.slack.waitFor((e) => e.kind === 'update' && e.ts === ts && JSON.stringify(e.blocks).includes('expired'), 10_000, { since: mark });
    const shown = JSON.stringify(message()?.blocks);
    expect(shown).not.toContain(ACTION.refederateApprove);
    expect(validateBlocks(message()?.blocks, 'message')).toEqual([]);

    // the cluster is free: a new refederate is planned
    const second = batchIdIn(await answer(ADMIN, `refederate ${WORLD.clusterName}`, new RegExp(`ref-(?!${first.slice(4)})[a-z2-7]{10}`)));
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
  }, 60_000);
});
