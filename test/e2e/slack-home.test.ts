/**
 * The App Home end to end: Slack's app_home_opened event → views.publish of each persona's home (requester,
 * approver, operator), kept current after every lifecycle change without reopening; Approve in the home
 * racing the channel button; Withdraw racing Approve; 500 grants paged within Block Kit's limits.
 */
import { createAzureAdapters } from '../../src/azure';
import { newGrant } from '../../src/domain/grants';
import { createInspector, type Inspector } from '../../src/inspect';
import { createKubeAdapter } from '../../src/kube';
import { anyToken } from '../integration/provision/harness';
import type { WidRequest } from '../../src/domain/types';
import { RedisGrantStore } from '../../src/grants/store';
import { ACTION, CALLBACK, DENY_BLOCK, INPUT_ACTION } from '../../src/slack/ids';
import { validateHomeView, type PublishedHome } from '../emulators/slack';
import { storageScope, WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB, admin: CAROL } = WORLD.users;

function text(home: PublishedHome | undefined): string {
  return JSON.stringify(home?.view.blocks ?? []);
}

/** Waits until the user's published home satisfies `ok` (it must arrive without the user reopening it). */
async function homeOf(h: Harness, user: string, ok: (t: string) => boolean, timeoutMs = 15_000): Promise<PublishedHome> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const home = h.world.slack.home(user);
    if (home && ok(text(home))) return home;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`home of ${user} never matched; last: ${text(h.world.slack.home(user)).slice(0, 1500)}`);
}

async function requestAs(h: Harness, user: string, cmd: string): Promise<string> {
  const before = h.world.slack.ephemerals(user).length;
  await h.wid(user, cmd);
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const hit = h.world.slack.ephemerals(user).slice(before).map((e) => `${e.text} ${JSON.stringify(e.blocks)}`).find((t) => requestIdIn(t));
    if (hit) return requestIdIn(hit) as string;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no request id for ${cmd}`);
}

function clickHome(h: Harness, user: string, actionId: string, value: string) {
  const home = h.world.slack.home(user);
  if (!home) throw new Error(`${user} has no home`);
  return h.slack.blockAction({ userId: user, actionId, value, viewId: home.id });
}

function transitionsFromPending(history: Array<{ from: string | null; to: string }>): string[] {
  return history.filter((e) => e.from === 'pending' && e.to !== 'pending').map((e) => e.to);
}

describe('each persona’s home, kept current', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: true, world: { slack: { rateLimits: {} }, policy: { operators: [CAROL] } } });
  });
  afterAll(async () => {
    await h?.close();
  });

  test('opened homes follow a request from submission to an active grant', async () => {
    for (const u of [ALICE, BOB, CAROL]) expect((await h.slack.openHome(u)).status).toBe(200);
    const alice0 = await homeOf(h, ALICE, (t) => t.includes('My requests') && t.includes('Nothing open'));
    expect(validateHomeView(alice0.view)).toEqual([]);
    expect(text(alice0)).not.toContain('Waiting on me');
    await homeOf(h, BOB, (t) => t.includes('Waiting on me (0)'));
    const carol0 = await homeOf(h, CAROL, (t) => t.includes('Operations'));
    expect(text(carol0)).toContain(WORLD.clusterName);
    expect(text(carol0)).toContain('ready');
    expect(text(carol0)).toMatch(/Queue\* · 0 waiting · 0 active · 0 failed/);

    const id = await requestAs(h, ALICE, `request finance home-sa Storage Blob Data Reader --scope ${storageScope()} --for 2h --reason reports`);
    // without reopening: the requester sees it pending with Withdraw, the approvers see it with the plan and buttons
    const alice1 = await homeOf(h, ALICE, (t) => t.includes(id) && t.includes('waiting for approval'));
    expect(text(alice1)).toContain(ACTION.withdraw);
    const bob1 = await homeOf(h, BOB, (t) => t.includes('Waiting on me (1)') && t.includes(id));
    expect(text(bob1)).toContain(ACTION.approve);
    expect(text(bob1)).toContain('*Subject*');
    await homeOf(h, CAROL, (t) => t.includes('Waiting on me (1)'));
    // the requester never sees her own request as waiting on her
    expect(text(h.world.slack.home(ALICE))).not.toContain(ACTION.approve);

    expect((await clickHome(h, BOB, ACTION.approve, id)).status).toBe(200);
    await h.waitForRequest(id, (r) => r.state === 'succeeded', 60_000);
    const alice2 = await homeOf(h, ALICE, (t) => t.includes('My access') && t.includes('home-sa') && t.includes(ACTION.grantDone) && t.includes('Recent results'));
    expect(text(alice2)).toContain(ACTION.grantExtend);
    const bob2 = await homeOf(h, BOB, (t) => t.includes('I approved lately') && t.includes(id) && t.includes('Waiting on me (0)'));
    // the answer to his click showed at the top of his home (a later publish may have replaced it)
    expect(bob2.versions.some((v) => JSON.stringify(v.blocks).includes(`You approved ${id}`))).toBe(true);
    const carol2 = await homeOf(h, CAROL, (t) => t.includes('Grants ending today (1)'));
    expect(text(carol2)).toContain('home-sa');

    // I'm done from the home: the grant ends and the home shows it gone
    expect((await clickHome(h, ALICE, ACTION.grantDone, id)).status).toBe(200);
    await homeOf(h, ALICE, (t) => t.includes('No active grants'), 60_000);
    await homeOf(h, CAROL, (t) => t.includes('Grants ending today (0)'), 30_000);
    for (const u of [ALICE, BOB, CAROL]) {
      const home = h.world.slack.home(u);
      for (const v of home?.versions ?? []) expect(validateHomeView(v)).toEqual([]);
    }
    expect(h.world.slack.stats().ratelimited).toBe(0);
  }, 150_000);
});

describe('races and long lists', () => {
  let h: Harness;
  let auditor: Inspector | undefined;
  beforeAll(async () => {
    h = await startHarness({
      world: { slack: { rateLimits: {} }, policy: { operators: [CAROL] } },
      // the real audit against the world, wired once the world is up
      web: { audit: async (cluster) => (await (auditor as Inspector).audit({ cluster })).counts },
    });
    const azure = createAzureAdapters({ credential: anyToken, resourceManagerUrl: h.world.arm.url, audience: 'https://management.azure.com' });
    const kubePort = createKubeAdapter({ kubeconfigPath: h.world.files.kubeconfig });
    auditor = createInspector({ policy: h.policy, clusters: azure.clusters, identities: azure.identities, kube: () => kubePort });
    for (const u of [ALICE, BOB, CAROL]) await h.slack.openHome(u);
    await homeOf(h, BOB, (t) => t.includes('Waiting on me'));
  });
  afterAll(async () => {
    await h?.close();
  });

  test('Approve in the home and the channel button at the same time: one outcome', async () => {
    const id = await requestAs(h, ALICE, 'request finance race-home-sa Key Vault Secrets User --reason race');
    await homeOf(h, BOB, (t) => t.includes(id));
    const [a, b] = await Promise.all([clickHome(h, BOB, ACTION.approve, id), h.click(CAROL, ACTION.approve, id)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const r = await h.waitForRequest(id, (x) => x.state === 'approved');
    await new Promise((res) => setTimeout(res, 500));
    const final = (await h.store.get(id)) as WidRequest;
    expect(final.approvals).toHaveLength(1);
    expect(transitionsFromPending(await h.store.history(id))).toEqual(['approved']);
    expect(await h.provisionJobs()).toBe(1);
    // the loser is told what happened: in the home for Bob, below the message for Carol
    const winner = r.approvals[0]?.actor.id;
    if (winner === CAROL) await homeOf(h, BOB, (t) => t.includes('already approved') || t.includes('Cannot approve'));
    else await waitForEphemeral(h.world, CAROL, (t) => t.includes('Cannot approve') || t.includes('already'));
    await homeOf(h, BOB, (t) => !t.includes(`waiting:${id}`));
  });

  test('Withdraw racing Approve: one outcome, and a withdrawn request’s message loses its buttons', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const id = await requestAs(h, ALICE, `request finance withdraw-race-${i} Key Vault Secrets User --reason race`);
      await homeOf(h, ALICE, (t) => t.includes(id));
      const [w, a] = await Promise.all([clickHome(h, ALICE, ACTION.withdraw, id), h.click(BOB, ACTION.approve, id)]);
      expect([w.status, a.status]).toEqual([200, 200]);
      const r = await h.waitForRequest(id, (x) => x.state === 'cancelled' || x.state === 'approved');
      expect(transitionsFromPending(await h.store.history(id))).toEqual([r.state]);
      outcomes.push(r.state);
      if (r.state === 'cancelled') {
        const msg = h.approvalMessage(id);
        const until = Date.now() + 5000;
        while (Date.now() < until && !JSON.stringify(h.approvalMessage(id).blocks).includes('Withdrawn')) await new Promise((res) => setTimeout(res, 25));
        const blocks = JSON.stringify(h.approvalMessage(id).blocks);
        expect(blocks).toContain('Withdrawn');
        expect(blocks).not.toContain(ACTION.approve);
        expect(msg.channel).toBe(WORLD.approvalsChannel);
      }
    }
    expect(outcomes.length).toBe(4);
  });

  test('Deny in the home asks for a reason; the requester’s home shows it denied, the approvers’ no longer offer it', async () => {
    const id = await requestAs(h, ALICE, 'request finance deny-home-sa Key Vault Secrets User --reason please');
    await homeOf(h, BOB, (t) => t.includes(`waiting:${id}`));
    const mark = h.world.slack.mark();
    await clickHome(h, BOB, ACTION.deny, id);
    const opened = await h.world.slack.waitFor((e) => e.kind === 'view_open' && e.user === BOB, 5000, { since: mark });
    const ok = await h.slack.viewSubmission({ userId: BOB, view: { id: opened.viewId as string, callback_id: CALLBACK.denyModal, state: { values: { [DENY_BLOCK.reason]: { [INPUT_ACTION]: { type: 'plain_text_input', value: 'use the shared vault' } } } } } });
    expect(ok.status).toBe(200);
    await h.waitForRequest(id, (r) => r.state === 'denied');
    await homeOf(h, ALICE, (t) => t.includes(id) && t.includes('denied'));
    await homeOf(h, BOB, (t) => !t.includes(`waiting:${id}`));
    await homeOf(h, CAROL, (t) => !t.includes(`waiting:${id}`));
  });

  test('/wid withdraw: only the requester, only while pending', async () => {
    const id = await requestAs(h, ALICE, 'request finance withdraw-cmd-sa Key Vault Secrets User --reason cmd');
    await h.wid(BOB, `withdraw ${id}`);
    await waitForEphemeral(h.world, BOB, (t) => t.includes(`Only the requester can withdraw ${id}`));
    await h.wid(ALICE, `withdraw ${id}`);
    await waitForEphemeral(h.world, ALICE, (t) => t.includes(`You withdrew ${id}`));
    expect((await h.store.get(id))?.state).toBe('cancelled');
    await h.wid(ALICE, `withdraw ${id}`);
    await waitForEphemeral(h.world, ALICE, (t) => t.includes('already cancelled'));
    await homeOf(h, ALICE, (t) => t.includes(id) && t.includes('withdrawn'));
  });

  test('operators run the audit from the home and see its counts with the time; others are refused', async () => {
    await homeOf(h, CAROL, (t) => t.includes('No audit run yet') && t.includes(ACTION.homeRunAudit));
    expect(text(h.world.slack.home(ALICE))).not.toContain(ACTION.homeRunAudit);
    await clickHome(h, ALICE, ACTION.homeRunAudit, 'audit');
    await homeOf(h, ALICE, (t) => t.includes('Only the policy’s operators'));
    // (a failed cluster would be counted as "clusters not audited" and named in a notice)
    expect(await h.store.redis.get(h.store.keys.homeAudit)).toBeNull();
    expect((await clickHome(h, CAROL, ACTION.homeRunAudit, 'audit')).status).toBe(200);
    const after = await homeOf(h, CAROL, (t) => t.includes('Last audit <!date^'), 30_000);
    expect(text(after)).toMatch(/Last audit <!date\^\d+\^[^>]+>: (\d+ \w+(, )?)+|no findings/);
    const stored = JSON.parse((await h.store.redis.get(h.store.keys.homeAudit)) as string) as { at: string; counts: Record<string, number> };
    expect(Object.keys(stored.counts).sort()).toEqual(expect.arrayContaining(['error', 'info', 'warning']));
    expect(stored.counts['clusters not audited']).toBeUndefined();
    expect(Date.now() - Date.parse(stored.at)).toBeLessThan(60_000);
  });

  test('a home with 500 grants stays within 100 blocks and pages with Next / Previous', async () => {
    const grants = new RedisGrantStore(h.store.redis, h.store.keys);
    const now = new Date();
    for (let i = 0; i < 500; i++) {
      const base = { id: `wid-bulk${String(i).padStart(6, '0')}`, kind: 'grant' as const, state: 'succeeded' as const, requester: { id: ALICE }, clusterName: WORLD.clusterName, namespace: 'finance', serviceAccount: `bulk-${i}`, roleName: 'Storage Blob Data Reader', scope: `/subscriptions/${WORLD.subscriptionId}/resourceGroups/apps`, durationSeconds: 3600 + i * 60, approvals: [{ actor: { id: BOB }, at: now.toISOString() }], createdAt: now.toISOString(), updatedAt: now.toISOString(), expiresAt: now.toISOString(), resources: {}, steps: [] };
      const g = newGrant({ request: { ...base, plan: {} as WidRequest['plan'] }, now, maxDurationSeconds: 7 * 86400 });
      if (!g.ok) throw new Error(g.error.message);
      await grants.create(g.value);
    }
    await h.slack.openHome(ALICE);
    const first = await homeOf(h, ALICE, (t) => t.includes('· 500 in all') && t.includes('finance/bulk-0`'));
    expect(validateHomeView(first.view)).toEqual([]);
    expect((first.view.blocks as unknown[]).length).toBeLessThanOrEqual(100);
    expect(text(first)).toContain('Page 1 of 63');
    expect(text(first)).toContain('"value":"grants:1"');
    expect(text(first)).not.toContain(ACTION.homePageBack);
    expect(await clickHome(h, ALICE, ACTION.homePage, 'grants:1')).toMatchObject({ status: 200 });
    const second = await homeOf(h, ALICE, (t) => t.includes('Page 2 of 63'));
    expect(text(second)).toContain('"value":"grants:0"');
    expect(text(second)).toContain('"value":"grants:2"');
    expect(text(second)).toContain('finance/bulk-8');
    expect(text(second)).not.toContain('finance/bulk-0`');
    await clickHome(h, ALICE, ACTION.homePage, 'grants:62');
    const last = await homeOf(h, ALICE, (t) => t.includes('Page 63 of 63'));
    expect(text(last)).toContain('"value":"grants:61"');
    expect(text(last)).not.toContain('"value":"grants:63"');
    expect(text(last)).toContain('finance/bulk-499`');
    expect(validateHomeView(last.view)).toEqual([]);
    // the operator's home counts them too, within limits
    await h.slack.openHome(CAROL);
    const carol = await homeOf(h, CAROL, (t) => /Grants ending today \((\d+)\)/.test(t) && Number(/Grants ending today \((\d+)\)/.exec(t)?.[1]) >= 1);
    expect(validateHomeView(carol.view)).toEqual([]);
  });
});
