/**
 * Who may see and do what, tried as an outsider would against the whole product (signed Slack requests, the
 * real Slack app and worker, the emulated Azure and cluster): `/wid status <id>` of someone else's request,
 * `/wid list` of namespaces one may not see, private answers unless `--share`, one scan per person, scans in a
 * lane of their own that does not hold up requests, and a fresh scan reused.
 */
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';
import { ACTION } from '../../src/slack/ids';
import type { SlackEmulatorEvent } from '../emulators/slack';

const { requester: ALICE, approver: BOB, admin: CAROL, outsider: DAVE } = WORLD.users;
const RG = WORLD.identityResourceGroup;
const SUB = WORLD.subscriptionId;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a user was shown after `since` where they typed (their ephemerals, posts in the requests channel, their DM), as text with blocks. */
function shownTo(h: Harness, user: string, since: number): string[] {
  const dm = h.world.slack.dmChannel(user);
  return h.world.slack
    .events()
    .filter((e) => e.seq > since && ((e.kind === 'ephemeral' && e.user === user) || (e.kind === 'post' && (e.channel === WORLD.requestsChannel || e.channel === dm))))
    .map((e) => `${e.text ?? ''}\n${JSON.stringify(e.blocks ?? [])}`);
}

async function ephemeralSince(h: Harness, user: string, since: number, match: (t: string) => boolean, timeoutMs = 15_000): Promise<SlackEmulatorEvent> {
  return h.world.slack.waitFor((e) => e.kind === 'ephemeral' && e.user === user && match(`${e.text ?? ''}\n${JSON.stringify(e.blocks ?? [])}`), timeoutMs, { since });
}

function seedWorkload(h: Harness, namespace: string, name: string): string {
  const { arm, kube } = h.world;
  const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: `id-${namespace}-${name}` });
  arm.state.seedFederatedCredential(identity.id, { name: `${namespace}-${name}`, issuer: kube.issuerUrl, subject: `system:serviceaccount:${namespace}:${name}` });
  kube.seedServiceAccount({ namespace, name, annotations: { 'azure.workload.identity/client-id': identity.clientId } });
  return identity.clientId;
}

describe('who may see what', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      worker: true,
      migrate: true,
      world: { policy: { operators: [CAROL] }, kube: { namespaces: ['finance', 'payments'] } },
    });
    seedWorkload(h, 'finance', 'open-app');
    seedWorkload(h, 'payments', 'secret-pay');
  });
  afterAll(async () => h?.close());

  test('/wid status <id>: requester, approver and operator see it; an outsider gets the very answer a made-up id gets', async () => {
    const mark = h.world.slack.mark();
    await h.wid(ALICE, 'request finance status-sa Key Vault Secrets User --reason read the vault');
    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval'))) as string;
    expect(id).toBeDefined();

    for (const who of [ALICE, BOB, CAROL]) {
      const since = h.world.slack.mark();
      await h.wid(who, `status ${id}`);
      const seen = await ephemeralSince(h, who, since, (t) => t.includes('History') || t.includes('There is no request'));
      expect(`${seen.text}${JSON.stringify(seen.blocks)}`).toContain('History');
      expect(JSON.stringify(seen.blocks)).toContain('read the vault');
    }

    const made = 'wid-aaaaaaaaaa';
    const answers: string[] = [];
    for (const asked of [id, made]) {
      const since = h.world.slack.mark();
      await h.wid(DAVE, `status ${asked}`);
      const e = await ephemeralSince(h, DAVE, since, (t) => t.includes(asked));
      // block ids are Slack's own, random per message
      answers.push(`${e.text}\n${JSON.stringify(e.blocks ?? [])}`.split(asked).join('<id>').replace(/"block_id":"[^"]*"/g, ''));
    }
    expect(answers[0]).toContain('There is no request <id>');
    expect(answers[0]).toBe(answers[1]);
    // nothing of the request leaked anywhere Dave can see
    for (const t of shownTo(h, DAVE, mark)) {
      expect(t).not.toContain('read the vault');
      expect(t).not.toContain('status-sa');
    }
  }, 60_000);

  test('/wid list answers privately, with only the namespaces one may see; --share posts it in the channel', async () => {
    // Dave may request for finance (anyone may) but has nothing to do with payments
    const mark = h.world.slack.mark();
    await h.wid(DAVE, 'list');
    const answer = await ephemeralSince(h, DAVE, mark, (t) => t.includes('Only you can see this'));
    const text = `${answer.text}\n${JSON.stringify(answer.blocks)}`;
    expect(text).toContain('finance/open-app');
    expect(text).not.toContain('payments');
    expect(text).not.toContain('secret-pay');
    expect(text).toContain('Only you can see this');
    expect(text).toContain('only the namespaces you may request for or approve in: finance');
    expect(h.world.slack.events().filter((e) => e.seq > mark && e.kind === 'post')).toEqual([]);

    // asking for payments by name is refused without a scan
    const named = h.world.slack.mark();
    await h.wid(DAVE, 'list payments');
    const refused = await ephemeralSince(h, DAVE, named, (t) => t.includes('/wid list payments'));
    expect(refused.text).toContain('you may see only the namespaces you may request for or approve in: finance');
    expect(shownTo(h, DAVE, named).join('\n')).not.toContain('secret-pay');

    // creds and audit likewise keep to finance
    for (const verb of ['creds', 'audit']) {
      const since = h.world.slack.mark();
      await h.wid(DAVE, verb);
      const e = await ephemeralSince(h, DAVE, since, (t) => t.includes(`wid ${verb}`) && t.includes('Only you can see this'));
      expect(JSON.stringify(e.blocks)).not.toContain('payments');
      if (verb === 'creds') expect(JSON.stringify(e.blocks)).toContain('system:serviceaccount:finance:open-app');
    }

    // the operator sees both
    const op = h.world.slack.mark();
    await h.wid(CAROL, 'list');
    const all = await ephemeralSince(h, CAROL, op, (t) => t.includes('Only you can see this'));
    expect(JSON.stringify(all.blocks)).toContain('payments/secret-pay');
    expect(JSON.stringify(all.blocks)).toContain('finance/open-app');

    // --share: in the channel, still scoped to the asker
    const shared = h.world.slack.mark();
    await h.wid(DAVE, 'list --share');
    const post = await h.world.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.requestsChannel && (e.text ?? '').includes('wid list'), 15_000, { since: shared });
    expect(JSON.stringify(post.blocks)).toContain('finance/open-app');
    expect(JSON.stringify(post.blocks)).not.toContain('secret-pay');
    expect(post.text).toContain('Shared in the channel with --share');
  }, 60_000);

  test('a typed /wid audit updates the operators’ App Home counts', async () => {
    await h.store.redis.del(h.store.keys.homeAudit);
    const since = h.world.slack.mark();
    await h.wid(CAROL, 'audit');
    await ephemeralSince(h, CAROL, since, (t) => t.includes('Only you can see this'));
    let stored: string | null = null;
    for (let i = 0; i < 100 && !stored; i++) {
      stored = await h.store.redis.get(h.store.keys.homeAudit);
      if (!stored) await sleep(50);
    }
    const record = JSON.parse(stored as string) as { at: string; counts: Record<string, number>; clusters: Record<string, unknown> };
    expect(Object.keys(record.clusters)).toEqual([WORLD.clusterName]);
    expect(Date.now() - Date.parse(record.at)).toBeLessThan(30_000);
    expect(Object.keys(record.counts).sort()).toEqual(['error', 'info', 'warning']);
    // an operator's home shows it (the home is published to operators who opened it, and on open)
    const opened = h.world.slack.mark();
    await h.slack.openHome(CAROL);
    const home = await h.world.slack.waitFor((e) => e.kind === 'home_publish' && e.user === CAROL && JSON.stringify(e.view ?? {}).includes('Last audit <!date^'), 10_000, { since: opened });
    expect(JSON.stringify(home.view)).toMatch(/Last audit <!date\^\d+\^[^>]+>: \d+ error/);
  }, 60_000);
});

describe('someone the policy does not name', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ migrate: true, world: { policy: { financeRequesters: [ALICE] }, kube: { namespaces: ['finance', 'payments'] } } });
    seedWorkload(h, 'finance', 'closed-app');
  });
  afterAll(async () => h?.close());

  test('is told what they may see (nothing, and why) instead of an answer, without a scan', async () => {
    for (const verb of ['list', 'audit', 'cluster']) {
      const mark = h.world.slack.mark();
      const reads = h.world.arm.stats().requests;
      await h.wid(DAVE, verb);
      const e = await ephemeralSince(h, DAVE, mark, (t) => t.includes('shows what the policy lets you see'));
      expect(e.text).toContain(`/wid ${verb} shows what the policy lets you see, and that is nothing: the policy names you as requester or approver of no namespace`);
      await sleep(100);
      expect(shownTo(h, DAVE, mark).join('\n')).not.toContain('closed-app');
      expect(h.world.arm.stats().requests).toBe(reads);
    }
    // Alice, a requester there, sees it
    const mark = h.world.slack.mark();
    await h.wid(ALICE, 'list');
    const e = await ephemeralSince(h, ALICE, mark, (t) => t.includes('Only you can see this'));
    expect(JSON.stringify(e.blocks)).toContain('finance/closed-app');
  }, 60_000);
});

describe('scans: one per person, in their own lane, and reused while fresh', () => {
  let h: Harness;
  const IDENTITIES = Number(process.env.WID_LANE_TEST_IDENTITIES ?? 200);
  beforeAll(async () => {
    h = await startHarness({
      worker: true,
      migrate: true,
      inspectReuseMs: 3000,
      world: { policy: { operators: [CAROL] }, kube: { namespaces: ['finance', 'payments'] } },
    });
    // a big estate: every audit lists all identities and each one's credentials
    for (let i = 0; i < IDENTITIES; i++) {
      const identity = h.world.arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: `id-bulk-${i}` });
      h.world.arm.state.seedFederatedCredential(identity.id, { name: `finance-bulk-${i}`, issuer: h.world.kube.issuerUrl, subject: `system:serviceaccount:finance:bulk-${i}` });
    }
  }, 120_000);
  afterAll(async () => h?.close(), 120_000);

  /** Request → approval message (ms), approve → verified (ms). */
  async function requestAndApprove(sa: string): Promise<{ submitMs: number; approveMs: number; doneAt: number }> {
    const t0 = Date.now();
    await h.wid(ALICE, `request finance ${sa} Key Vault Secrets User --reason lane test`);
    const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval') && t.includes(sa), 60_000)) as string;
    for (let i = 0; i < 400; i++) {
      try {
        h.approvalMessage(id);
        break;
      } catch {
        await sleep(25);
      }
    }
    const t1 = Date.now();
    await h.click(BOB, ACTION.approve, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 60_000);
    expect(done.state).toBe('succeeded');
    expect(done.resources.verified).toBe(true);
    const t2 = Date.now();
    return { submitMs: t1 - t0, approveMs: t2 - t1, doneAt: t2 };
  }

  test('a second scan by the same person while the first runs is refused at once; a fresh scan is reused and says how old it is', async () => {
    const mark = h.world.slack.mark();
    await h.wid(DAVE, 'audit');
    await ephemeralSince(h, DAVE, mark, (t) => t.includes('Scanning'));
    await h.wid(DAVE, 'audit');
    const refused = await ephemeralSince(h, DAVE, mark, (t) => t.includes('still running'));
    expect(refused.text).toMatch(/Your \/wid audit is still running \(started \d+ s ago\): wid-bot runs one scan per person at a time/);
    const first = await ephemeralSince(h, DAVE, mark, (t) => t.includes('wid audit') && t.includes('Scanned'), 60_000);
    expect(first.text).not.toContain('Reused');
    // only one audit answer came: the refused one did not scan
    await sleep(200);
    expect(h.world.slack.events().filter((e) => e.seq > mark && e.kind === 'ephemeral' && e.user === DAVE && (e.text ?? '').includes('Scanned'))).toHaveLength(1);

    // right after, someone else's audit of the same cluster reuses it, cut to what they see
    const again = h.world.slack.mark();
    const requestsBefore = h.world.arm.stats().requests;
    await h.wid(CAROL, 'audit');
    const reused = await ephemeralSince(h, CAROL, again, (t) => t.includes('wid audit') && t.includes('Scanned'), 20_000);
    expect(reused.text).toMatch(/Reused a scan from \d+ s ago/);
    expect(h.world.arm.stats().requests - requestsBefore).toBeLessThan(5);

    // once it is older than the window, the next one scans again
    await sleep(3200);
    const later = h.world.slack.mark();
    await h.wid(CAROL, 'audit');
    const fresh = await ephemeralSince(h, CAROL, later, (t) => t.includes('wid audit') && t.includes('Scanned'), 60_000);
    expect(fresh.text).not.toContain('Reused');
  }, 180_000);

  test('a request submitted and approved while big audits run is not held up by them', async () => {
    // warm-up, then the baseline without scans
    await requestAndApprove('lane-warm');
    const quiet = await requestAndApprove('lane-quiet');

    // four people audit at once (each a different person: one scan per person), more than the scan lane runs at once
    await sleep(3500); // past the reuse window, so each audit scans
    const mark = h.world.slack.mark();
    await Promise.all([ALICE, BOB, CAROL, DAVE].map((u) => h.wid(u, 'creds')));
    await h.world.slack.waitFor((e) => e.kind === 'ephemeral' && (e.text ?? '').includes('Scanning'), 10_000, { since: mark });
    const busy = await requestAndApprove('lane-busy');
    // the scans were still going when the request was done
    const finishedScans = h.world.slack.events().filter((e) => e.seq > mark && e.kind === 'ephemeral' && (e.text ?? '').includes('federated credentials trust issuer'));
    const scansDoneAt = await Promise.all(
      [ALICE, BOB, CAROL, DAVE].map(async (u) => {
        await ephemeralSince(h, u, mark, (t) => t.includes('federated credentials trust issuer'), 120_000);
        return Date.now();
      }),
    );
    process.stdout.write(
      `lane figures: quiet submit ${quiet.submitMs} ms, approve→verified ${quiet.approveMs} ms; during 4 creds scans of ${IDENTITIES} identities: submit ${busy.submitMs} ms, approve→verified ${busy.approveMs} ms; scans finished ${Math.max(...scansDoneAt) - busy.doneAt} ms after the request (${finishedScans.length} of 4 done by then)\n`,
    );
    expect(finishedScans.length).toBeLessThan(4);
    // generous: the scans share the CPU and the emulators with the request, but the request never waits for them
    expect(busy.submitMs).toBeLessThan(quiet.submitMs * 3 + 3000);
    expect(busy.approveMs).toBeLessThan(quiet.approveMs * 3 + 5000);
  }, 240_000);
});
