/**
 * Retry end to end: from the approval message after the policy changed (refused with the rule that forbids it
 * now, nothing written to Azure or Kubernetes), and from the App Home's Recent results (to success).
 */
import { ACTION } from '../../src/slack/ids';
import { ANNOTATION_CLIENT_ID } from '../../src/domain/types';
import type { PublishedHome } from '../emulators/slack';
import { validateHomeView } from '../emulators/slack';
import { WORLD } from '../emulators/world';
import { worldWrites } from '../reliability/support';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB, admin: CAROL } = WORLD.users;

function text(home: PublishedHome | undefined): string {
  return JSON.stringify(home?.view.blocks ?? []);
}

async function homeOf(h: Harness, user: string, ok: (t: string) => boolean, timeoutMs = 15_000): Promise<PublishedHome> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const home = h.world.slack.home(user);
    if (home && ok(text(home))) return home;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`home of ${user} never matched; last: ${text(h.world.slack.home(user)).slice(0, 1500)}`);
}

describe('Retry', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function failedRequest(user: string, sa: string): Promise<string> {
    h.world.arm.controls.failNext(1, { method: 'PUT', path: 'roleAssignments', status: 403, code: 'AuthorizationFailed', message: 'wid-bot may not assign roles here' });
    const before = h.world.slack.ephemerals(user).length;
    await h.wid(user, `request finance ${sa} Key Vault Secrets User --reason retry test`);
    const id = requestIdIn(await waitForEphemeral(h.world, user, (t) => t.includes(sa) && h.world.slack.ephemerals(user).length > before)) as string;
    await h.click(BOB, ACTION.approve, id);
    const failed = await h.waitForRequest(id, (r) => r.state === 'failed' || r.state === 'succeeded', 30_000);
    expect(failed.state).toBe('failed');
    // a person clicks the Retry they see: wait for the approval message to show it (its update follows the state)
    const until = Date.now() + 15_000;
    while (!JSON.stringify(h.approvalMessage(id).blocks ?? []).includes(ACTION.retry)) {
      if (Date.now() > until) throw new Error(`the approval message of ${id} never showed Retry`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return id;
  }

  test('the policy stopped allowing the role between the failure and the click: refused with the rule, nothing written', async () => {
    const id = await failedRequest(ALICE, 'policy-changed-sa');
    const finance = h.policy.namespaces.find((n) => n.name === 'finance');
    if (!finance) throw new Error('no finance namespace in the world policy');
    const roles = [...finance.roles];
    finance.roles = roles.filter((r) => r !== 'Key Vault Secrets User');
    try {
      await new Promise((r) => setTimeout(r, 500)); // the failed run's last calls settle
      const before = worldWrites(h.world);
      const jobsBefore = await h.provisionJobs();
      await h.click(BOB, ACTION.retry, id);
      const refused = await waitForEphemeral(h.world, BOB, (t) => t.includes('policy changed'));
      expect(refused).toContain('namespaces.finance.roles');
      expect(refused).toContain('"Key Vault Secrets User" may not be requested for "finance"');
      expect(refused).toContain('Nothing was changed in Azure or Kubernetes');
      await new Promise((r) => setTimeout(r, 1000));
      expect((await h.store.get(id))?.state).toBe('failed');
      expect(worldWrites(h.world)).toEqual(before);
      expect(await h.provisionJobs()).toBe(jobsBefore);
    } finally {
      finance.roles = roles;
    }
    // the policy allows it again: the same Retry goes through
    await h.click(BOB, ACTION.retry, id);
    expect((await h.waitForRequest(id, (r) => r.state === 'succeeded', 30_000)).state).toBe('succeeded');
  }, 90_000);

  test('Retry from the App Home: an approver’s own failed request, retried from Recent results to success', async () => {
    // Carol is a global approver and may request in finance; Bob approves, the role assignment fails once
    const id = await failedRequest(CAROL, 'home-retry-sa');
    expect((await h.slack.openHome(CAROL)).status).toBe(200);
    const home = await homeOf(h, CAROL, (t) => t.includes('Recent results') && t.includes(id) && t.includes(ACTION.retry));
    expect(validateHomeView(home.view)).toEqual([]);
    expect((await h.slack.blockAction({ userId: CAROL, actionId: ACTION.retry, value: id, viewId: home.id })).status).toBe(200);
    // the click moved it back to provisioning (not the failed state it was in), then it finished
    const until = Date.now() + 10_000;
    while (!(await h.store.history(id)).some((e) => e.from === 'failed' && e.to === 'provisioning') && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 30_000);
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('succeeded');
    expect(h.world.kube.getServiceAccount('finance', 'home-retry-sa')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeTruthy();
    const history = await h.store.history(id);
    expect(history.filter((e) => e.from === 'failed' && e.to === 'provisioning').map((e) => e.actor.id)).toEqual([CAROL]);
    // the home follows: the request shows as done, no Retry left for it
    const retryButtonFor = (home: PublishedHome) =>
      (home.view.blocks as Array<{ type: string; elements?: Array<{ action_id?: string; value?: string }> }>).some((b) => b.type === 'actions' && (b.elements ?? []).some((e) => e.action_id === ACTION.retry && e.value === id));
    expect(retryButtonFor(home)).toBe(true);
    const after = await homeOf(h, CAROL, (t) => t.includes(id) && t.includes('Recent results') && t.includes('home-retry-sa') && !t.includes(':x: failed'));
    expect(retryButtonFor(after)).toBe(false);
  }, 90_000);
});
