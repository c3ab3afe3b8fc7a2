/**
 * `/wid revoke … --cluster all` through Slack against the world with three clusters (blue, green, purple), and
 * the approval message showing every cluster while the worker runs: one approval removes every cluster's
 * credential and annotation, then the role assignment and the identity; the result names each cluster.
 */
import { ACTION } from '../../src/slack/ids';
import { ANNOTATION_CLIENT_ID } from '../../src/domain/types';
import { validateBlocks } from '../emulators/slack/blocks';
import { WORLD } from '../emulators/world';
import { commandAnswers, requestIdIn, startHarness, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;

describe('/wid revoke --cluster all', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      worker: true,
      world: { extraClusters: [{ name: 'green', aksName: 'aks-green' }, { name: 'purple', aksName: 'aks-purple' }] },
    });
    answerTo = commandAnswers(h, ALICE);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Sends the command as Alice and returns the first answer she gets to it (not an earlier one). */
  let answerTo: (text: string, timeoutMs?: number) => Promise<string>;

  async function requestAndApprove(text: string): Promise<string> {
    const confirmation = await answerTo(text);
    expect(confirmation).toContain('waiting for approval');
    const id = requestIdIn(confirmation) as string;
    await h.click(BOB, ACTION.approve, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 40_000);
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('succeeded');
    return id;
  }

  const kubes = () => [h.world.kube, h.world.kubes.green, h.world.kubes.purple];

  test('a grant on blue and green plus a federation on purple: one approval removes all of it, and every step shows every cluster', async () => {
    const grantId = await requestAndApprove('request finance everywhere Key Vault Secrets User --cluster blue,green');
    // the grant's message showed green's part while it ran, not only at the end
    const grantTs = h.approvalMessage(grantId).ts;
    const finished = await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === grantTs && JSON.stringify(e.blocks).includes('Done'), 10_000, { since: 0 });
    expect(JSON.stringify(finished.blocks)).toContain('*Clusters:* blue ✓ · green ✓');
    const updates = h.world.slack.events().filter((e) => e.kind === 'update' && e.ts === grantTs).map((e) => JSON.stringify(e.blocks));
    expect(updates.some((u) => /green (…|waiting)/.test(u))).toBe(true);
    // green's steps are kept on the request, per cluster
    expect((await h.store.get(grantId))?.resources.clusters?.green?.steps).toMatchObject({ federatedCredential: 'done', serviceAccount: 'done', verify: 'done' });
    await requestAndApprove('federate finance everywhere --cluster purple');
    const grant = await h.store.get(grantId);
    const identity = h.world.arm.state.identities().find((i) => i.name === grant?.plan.identity.name);
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id)).toHaveLength(3);
    for (const k of kubes()) expect(k?.getServiceAccount('finance', 'everywhere')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);

    // the plan shown: every cluster, what goes on each
    const mark = h.world.slack.mark();
    const confirmation = await answerTo('revoke finance everywhere --cluster all --reason decommissioned');
    expect(confirmation).toContain('waiting for approval');
    const id = requestIdIn(confirmation) as string;
    const pending = await h.store.get(id);
    expect(pending?.plan.revokeAll?.parts.map((p) => p.cluster.name)).toEqual(['green', 'purple', 'blue']);
    const shown = JSON.stringify(h.approvalMessage(id).blocks);
    for (const part of ['every cluster', 'green: its credential and annotation', 'purple: its credential and annotation', 'blue: its credential and annotation, then the role assignments and the identity']) expect(shown).toContain(part);
    expect(validateBlocks(h.approvalMessage(id).blocks, 'message')).toEqual([]);

    // one approval
    await h.click(BOB, ACTION.approve, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 40_000);
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('succeeded');
    expect(Object.entries(done.resources.clusters ?? {}).map(([c, p]) => [c, p.revoked])).toEqual([['green', true], ['purple', true], ['blue', true]]);
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeUndefined();
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(0);
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id)).toHaveLength(0);
    for (const k of kubes()) expect(k?.getServiceAccount('finance', 'everywhere')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeUndefined();

    // the message went through the clusters one by one and ends naming each
    const ts = h.approvalMessage(id).ts;
    const final = await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === ts && JSON.stringify(e.blocks).includes('Done'), 10_000, { since: mark });
    expect(JSON.stringify(final.blocks)).toContain('green ✓ · purple ✓ · blue ✓');
    expect(JSON.stringify(final.blocks)).toMatch(/On purple: revoked/);

    // nothing is left anywhere: every per-cluster revoke and another revoke-all find nothing
    for (const c of ['blue', 'green', 'purple']) expect(await answerTo(`revoke finance everywhere --cluster ${c}`)).toMatch(/nothing to revoke/);
    expect(await answerTo('revoke finance everywhere --cluster all')).toMatch(/on any cluster \(looked at blue, green and purple\)/);
  }, 180_000);

  test('after green was revoked on its own, --cluster all removes the rest, the identity too', async () => {
    const grantId = await requestAndApprove('request finance partly Key Vault Secrets User --cluster green,blue');
    await requestAndApprove('revoke finance partly --cluster green');
    const grant = await h.store.get(grantId);
    const identity = h.world.arm.state.identities().find((i) => i.name === grant?.plan.identity.name);
    expect(identity).toBeDefined();
    const id = await requestAndApprove('revoke finance partly --cluster all');
    expect((await h.store.get(id))?.plan.revokeAll?.parts.map((p) => p.cluster.name)).toEqual(['blue']);
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeUndefined();
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(0);
    for (const k of kubes()) expect(k?.getServiceAccount('finance', 'partly')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeUndefined();
  }, 120_000);

  test('per cluster, the last cluster’s revoke removes everything, whichever cluster is last', async () => {
    const grantId = await requestAndApprove('request finance lastone Key Vault Secrets User --cluster blue,green');
    const grant = await h.store.get(grantId);
    const identity = h.world.arm.state.identities().find((i) => i.name === grant?.plan.identity.name);
    // the grant's own cluster first: green still uses the identity and its role
    await requestAndApprove('revoke finance lastone --cluster blue');
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeDefined();
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(1);
    // green is the last: its revoke removes the role assignment and the identity
    const last = await requestAndApprove('revoke finance lastone --cluster green');
    expect((await h.store.get(last))?.plan.federation).toBeUndefined();
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeUndefined();
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(0);
    for (const k of kubes()) expect(k?.getServiceAccount('finance', 'lastone')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeUndefined();
  }, 120_000);

  test('a cluster that refuses: the request fails naming it, the identity’s own cluster is untouched, and Retry ends in the same world', async () => {
    const grantId = await requestAndApprove('request finance refused Key Vault Secrets User --cluster blue,green');
    const grant = await h.store.get(grantId);
    const identity = h.world.arm.state.identities().find((i) => i.name === grant?.plan.identity.name);
    const confirmation = await answerTo('revoke finance refused --cluster all');
    const id = requestIdIn(confirmation) as string;
    h.world.kubes.green?.controls.setErrorRate(1, { path: '/serviceaccounts/refused', status: 403, code: 'Forbidden', message: 'serviceaccounts "refused" is forbidden' });
    try {
      await h.click(BOB, ACTION.approve, id);
      const failed = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 40_000);
      expect(failed.state).toBe('failed');
      expect(failed.failure?.reason).toContain('On cluster green:');
      // green runs first and failed: blue, the identity and its role are as they were
      expect(h.world.kube.getServiceAccount('finance', 'refused')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);
      expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeDefined();
      expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(1);
      const ts = h.approvalMessage(id).ts;
      const shown = await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === ts && JSON.stringify(e.blocks).includes(ACTION.retry), 10_000, { since: 0 });
      expect(JSON.stringify(shown.blocks)).toMatch(/green ✗( at [^·]+)? · blue waiting/);
    } finally {
      h.world.kubes.green?.controls.reset();
    }
    await h.click(BOB, ACTION.retry, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded', 40_000);
    expect(done.failure).toBeUndefined();
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeUndefined();
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id)).toHaveLength(0);
    for (const k of kubes()) expect(k?.getServiceAccount('finance', 'refused')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeUndefined();
  }, 120_000);

  test('bad input is refused with what to do', async () => {
    expect(await answerTo('revoke finance everywhere --cluster all,green')).toMatch(/mixes all with cluster names/);
    expect(await answerTo('revoke finance everywhere --cluster green,blue')).toMatch(/revoke takes one cluster or all/);
    expect(await answerTo('revoke finance nobody --cluster all')).toMatch(/nothing to revoke/);
  }, 60_000);
});
