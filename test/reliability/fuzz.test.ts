/**
 * Fuzzing the three ways in: slash-command text, the request modal's fields and interaction payloads.
 * 10,000 cases each at the service level (the parser, the modal's form reader and the policy check,
 * the request service's approve/deny), and a few hundred through the real signed HTTP app. Never a
 * crash, never an Azure or Kubernetes call for invalid input, and a clear message every time.
 */
import fc from 'fast-check';
import { WebClient } from '@slack/web-api';
import type { ViewOutput } from '@slack/bolt';
import { parseCommand, type RequestCommand } from '../../src/domain/grammar';
import { evaluateRequest } from '../../src/domain/policy';
import type { ClusterFacts, PolicyCluster } from '../../src/domain/types';
import { ACTION, CALLBACK, INPUT_ACTION, REQUEST_BLOCK } from '../../src/slack/ids';
import { silentLogger } from '../../src/slack/logger';
import { RequestService } from '../../src/app/requests';
import { SlackRequestNotifier } from '../../src/slack/request-notifier';
import { policyGroupIds, UserGroups } from '../../src/slack/usergroups';
import { readRequestForm } from '../../src/slack/views/request';
import { createAzureAdapters } from '../../src/azure';
import { anyToken } from '../integration/provision/harness';
import { keyVaultScope, storageScope, WORLD } from '../emulators/world';
import { requestIdIn, startHarness, type Harness } from '../e2e/harness';
import { keysUnder, report, sleep, storedKeys, worldCalls, worldWrites } from './support';

const { requester: ALICE, approver: BOB, admin: CAROL, outsider: DAVE } = WORLD.users;
const CASES = 10_000;
const HTTP_CASES = 300;
const SEED = 20_261_128;
type Values = ViewOutput['state']['values'];

let h: Harness;
let service: RequestService;
let factsCalls = 0;

beforeAll(async () => {
  h = await startHarness({ world: { slack: { rateLimits: false }, arm: { throttle: false } } });
  h.world.slack.addUser({ id: DAVE, name: 'dave' });
  const client = new WebClient(WORLD.botToken, { slackApiUrl: h.world.slack.apiUrl, retryConfig: { retries: 0 } });
  const clusters = createAzureAdapters({ credential: anyToken, resourceManagerUrl: h.world.arm.url, audience: 'https://management.azure.com' }).clusters;
  service = new RequestService({
    store: h.store,
    queues: h.queues,
    policy: h.policy,
    clusterFacts: (c: PolicyCluster): Promise<ClusterFacts> => {
      factsCalls += 1;
      return clusters.getClusterFacts(c);
    },
    notifier: new SlackRequestNotifier({ client, logger: silentLogger }),
    groups: new UserGroups(client, () => policyGroupIds(h.policy), silentLogger),
    logger: silentLogger,
  });
});
afterAll(async () => {
  await h?.close();
});

/** A message a person can act on: words, not a stack trace or a rendering accident. */
function clear(message: unknown): boolean {
  return typeof message === 'string' && message.trim().length >= 10 && !/undefined|\[object Object\]|NaN|TypeError|at .*\.ts:\d+/.test(message);
}

// ───────────────────────────── generators ─────────────────────────────

const word = fc.oneof(
  fc.constantFrom('request', 'revoke', 'status', 'help', 'list', 'cluster', 'creds', 'audit', 'legacy', 'REQUEST', 'Request'),
  fc.constantFrom('finance', 'payments', 'kube-system', 'default', 'Finance', 'finance ', 'wid-system'),
  fc.constantFrom('backend-sa', 'sa', 'a'.repeat(64), 'Bad_SA', '-sa', 'sa-', 'x.y', '..'),
  fc.constantFrom('Key', 'Vault', 'Secrets', 'User', 'Contributor', 'Owner', 'Storage', 'Blob', 'Data', 'Reader', 'key vault secrets user'),
  fc.constantFrom('--scope', '--for', '--reason', '--cluster', '--bogus', '-for', '—reason', '--', '--scope='),
  fc.constantFrom(keyVaultScope(), storageScope(), `/subscriptions/${WORLD.subscriptionId}`, `/subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}`, '/', '*'),
  fc.constantFrom('1h', '7d', '8d', '30m', '1h30m', '0s', '-1h', '999999d', 'forever', '1e9h'),
  fc.constantFrom('blue', 'green', 'wid-aaaaaaaaaa', 'wid-zzzzzzzzz2', '"quoted reason"', '"unterminated', "'single'", '&lt;script&gt;', '<@U0BOB00001>', '<https://evil.example|click>', '\t', '\u0000', '\u202e', '🙂'),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
/** Mostly command-shaped text, some pure noise, a few very long ones. */
const commandText = fc.oneof(
  { weight: 6, arbitrary: fc.array(word, { minLength: 0, maxLength: 12 }).map((ws) => ws.join(' ')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 100 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('request finance big-sa Key Vault Secrets User --reason ', 'status '), fc.integer({ min: 1900, max: 2200 })).map(([p, n]) => p + 'r'.repeat(n)) },
);

interface Gate {
  /** Would reach Azure (cluster facts) and create a request. */
  valid: boolean;
  message?: string;
  stage: 'parse' | 'policy' | 'valid' | 'no-azure';
}

/** The Slack side's decision before any port is called: parse, then the policy for request and revoke. */
function gate(text: string, user = ALICE): Gate {
  const trimmed = text.trim();
  if (trimmed === '' || /^request$/i.test(trimmed)) return { valid: false, stage: 'no-azure' };
  const parsed = parseCommand(text);
  if (!parsed.ok) return { valid: false, stage: 'parse', message: parsed.error.message };
  const cmd = parsed.value;
  if (cmd.verb !== 'request' && cmd.verb !== 'revoke') return { valid: false, stage: 'no-azure' };
  const decision = evaluateRequest(h.policy, { requester: { id: user }, requesterGroups: [], command: cmd });
  if (!decision.ok) return { valid: false, stage: 'policy', message: decision.error.message };
  return { valid: cmd.verb === 'request', stage: cmd.verb === 'request' ? 'valid' : 'no-azure' };
}

// ───────────────────────────── slash-command text ─────────────────────────────

test(`slash-command text: ${CASES} cases through the parser and the policy, ${HTTP_CASES} through the signed HTTP app`, async () => {
  const counts = { parse: 0, policy: 0, valid: 0, 'no-azure': 0, crashes: 0, unclear: 0, submitted: 0 };
  const keysBefore = await keysUnder(h);
  const facts0 = factsCalls;
  await fc.assert(
    fc.asyncProperty(commandText, async (text) => {
      let g: Gate;
      try {
        g = gate(text);
      } catch (e) {
        counts.crashes += 1;
        throw e;
      }
      counts[g.stage] += 1;
      if (g.stage === 'parse' || g.stage === 'policy') {
        if (!clear(g.message)) counts.unclear += 1;
        expect(clear(g.message)).toBe(true);
        // the service refuses the same input without touching Azure, Redis or Slack
        const parsed = parseCommand(text);
        if (parsed.ok && (parsed.value.verb === 'request' || parsed.value.verb === 'revoke')) {
          counts.submitted += 1;
          const outcome = await service.submit({ id: ALICE }, parsed.value);
          expect(outcome.kind).toBe('refused');
          if (outcome.kind === 'refused') expect(clear(outcome.refusal.message)).toBe(true);
        }
      }
    }),
    { numRuns: CASES, seed: SEED },
  );
  const keysAfter = await keysUnder(h);
  report(
    `slash text (service level): cases ${CASES}, refused by the parser ${counts.parse}, by the policy ${counts.policy} (${counts.submitted} also through RequestService.submit), valid requests ${counts.valid}, other verbs ${counts['no-azure']}, crashes ${counts.crashes}, unclear messages ${counts.unclear}, cluster-facts calls for invalid ${factsCalls - facts0}, keys written ${storedKeys(keysAfter, h.prefix).length - storedKeys(keysBefore, h.prefix).length}`,
  );
  expect(factsCalls - facts0).toBe(0);
  expect(storedKeys(keysAfter, h.prefix)).toEqual(storedKeys(keysBefore, h.prefix));

  // the same generator through the real app: invalid first (no Azure or Kubernetes call at all), then valid
  const sample = fc.sample(commandText, { numRuns: HTTP_CASES, seed: SEED + 1 });
  const invalid = sample.filter((t) => !gate(t).valid);
  const valid = sample.filter((t) => gate(t).valid);
  const calls0 = worldCalls(h.world);
  const answered0 = answersFor(ALICE);
  await inBatches(invalid, 20, async (text) => {
    const res = await h.wid(ALICE, text);
    expect(res.status).toBe(200);
  });
  const answeredInvalid = await waitForAnswers(ALICE, answered0, invalid.length);
  const calls1 = worldCalls(h.world);
  const clearAnswers = h.world.slack.ephemerals(ALICE).slice(answered0.ephemerals).filter((e) => clear(`${e.text} ${JSON.stringify(e.blocks ?? [])}`)).length;
  report(
    `slash text over HTTP (a ${HTTP_CASES}-case sample; HTTP is slower): invalid ${invalid.length}, answered ${answeredInvalid} (clear ephemerals ${clearAnswers}, modals ${h.world.slack.views().length}), azure calls ${calls1.arm - calls0.arm}, kube calls ${calls1.kube - calls0.kube}, requests stored ${(await h.store.listByRequester(ALICE, 1000)).length}`,
  );
  expect(answeredInvalid).toBe(invalid.length);
  expect(calls1.arm - calls0.arm).toBe(0);
  expect(calls1.kube - calls0.kube).toBe(0);
  expect(await h.store.listByRequester(ALICE, 1000)).toHaveLength(0);
  expect(await h.provisionJobs()).toBe(0);

  const w0 = worldWrites(h.world);
  const answered1 = answersFor(ALICE);
  for (const text of valid) expect((await h.wid(ALICE, text)).status).toBe(200);
  const answeredValid = await waitForAnswers(ALICE, answered1, valid.length);
  const w1 = worldWrites(h.world);
  const stored = await h.store.listByRequester(ALICE, 1000);
  report(`slash text over HTTP: valid ${valid.length}, answered ${answeredValid}, requests stored ${stored.length} (duplicates refused), azure writes ${w1.arm - w0.arm}, kube writes ${w1.kube - w0.kube}, jobs ${await h.provisionJobs()}`);
  expect(answeredValid).toBe(valid.length);
  expect(stored.length).toBeLessThanOrEqual(valid.length);
  expect(stored.every((r) => r.state === 'pending')).toBe(true);
  expect([w1.arm - w0.arm, w1.kube - w0.kube]).toEqual([0, 0]);
  expect(await h.provisionJobs()).toBe(0);
}, 120_000);

function answersFor(user: string): { ephemerals: number; views: number } {
  return { ephemerals: h.world.slack.ephemerals(user).length, views: h.world.slack.views().filter((v) => v.user === user).length };
}

async function waitForAnswers(user: string, since: { ephemerals: number; views: number }, expected: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < 400; i++) {
    const now = answersFor(user);
    n = now.ephemerals - since.ephemerals + (now.views - since.views);
    if (n >= expected) break;
    await sleep(25);
  }
  await sleep(200);
  const now = answersFor(user);
  return now.ephemerals - since.ephemerals + (now.views - since.views);
}

async function inBatches<T>(items: readonly T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

// ───────────────────────────── modal fields ─────────────────────────────

const fieldText = fc.oneof(
  fc.constantFrom('finance', 'payments', 'kube-system', 'backend-sa', 'Key Vault Secrets User', 'Contributor', 'Owner', keyVaultScope(), storageScope(), '8h', '7d', '0s', '-1h', 'forever', 'read secrets', ' ', ''),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
);
/** One input block's state: a text input, a select, an empty element, or a shape Slack never sends. */
const element = fc.oneof(
  { weight: 4, arbitrary: fieldText.map((value) => ({ type: 'plain_text_input', value })) },
  { weight: 2, arbitrary: fieldText.map((value) => ({ type: 'static_select', selected_option: { value, text: { type: 'plain_text', text: value } } })) },
  { weight: 1, arbitrary: fc.constant({ type: 'plain_text_input', value: null }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const toValues = (r: Partial<Record<string, unknown>>): Values => Object.fromEntries(Object.entries(r).map(([block, el]) => [block, { [INPUT_ACTION]: el }])) as unknown as Values;
const arbitraryForm = fc
  .record(
    {
      [REQUEST_BLOCK.namespace]: element,
      [REQUEST_BLOCK.serviceAccount]: element,
      [REQUEST_BLOCK.role]: element,
      [REQUEST_BLOCK.scope]: element,
      [REQUEST_BLOCK.duration]: element,
      [REQUEST_BLOCK.reason]: element,
    },
    { requiredKeys: [] },
  )
  .map(toValues);
/** Forms a person would fill in: mostly right, with the odd wrong field. */
const text = (value: string) => ({ type: 'plain_text_input', value });
const select = (value: string) => ({ type: 'static_select', selected_option: { value, text: { type: 'plain_text', text: value } } });
const plausibleForm = fc
  .record({
    ns: fc.constantFrom('finance', 'payments', 'kube-system'),
    sa: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/), fc.constantFrom('Bad_SA', '-x', 'a'.repeat(70))),
    role: fc.constantFrom('Key Vault Secrets User', 'Storage Blob Data Reader', 'Contributor', 'Owner'),
    scope: fc.option(fc.constantFrom(keyVaultScope(), storageScope(), keyVaultScope('kv-other'), '/subscriptions/other'), { nil: undefined }),
    duration: fc.option(fc.constantFrom('8h', '7d', '30d', '0s', 'soon'), { nil: undefined }),
    reason: fc.oneof(fc.constantFrom('read secrets', 'nightly export'), fc.string({ maxLength: 40 })),
  })
  .map((f) =>
    toValues({
      [REQUEST_BLOCK.namespace]: select(f.ns),
      [REQUEST_BLOCK.serviceAccount]: text(f.sa),
      [REQUEST_BLOCK.role]: select(f.role),
      ...(f.scope ? { [REQUEST_BLOCK.scope]: text(f.scope) } : {}),
      ...(f.duration ? { [REQUEST_BLOCK.duration]: text(f.duration) } : {}),
      [REQUEST_BLOCK.reason]: text(f.reason),
    }),
  );
const formValues = fc.oneof({ weight: 3, arbitrary: arbitraryForm }, { weight: 1, arbitrary: plausibleForm });

const BLOCKS = new Set<string>(Object.values(REQUEST_BLOCK));

/** The modal's decision: field errors, a policy refusal on a field, or a valid request command. */
async function modalGate(values: Values): Promise<{ ok: true; command: RequestCommand } | { ok: false; errors: Record<string, string> }> {
  const form = readRequestForm(values);
  if (!form.ok) return form;
  const refusal = await service.check({ id: ALICE }, form.command);
  if (refusal) return { ok: false, errors: { [refusal.field ?? 'namespace']: refusal.message } };
  return form;
}

test(`modal fields: ${CASES} cases through the form reader and the policy check, 200 through the signed HTTP app`, async () => {
  const counts = { fieldErrors: 0, policyRefusals: 0, valid: 0, unclear: 0 };
  const facts0 = factsCalls;
  await fc.assert(
    fc.asyncProperty(formValues, async (values) => {
      const form = readRequestForm(values);
      if (!form.ok) {
        counts.fieldErrors += 1;
        const entries = Object.entries(form.errors);
        expect(entries.length).toBeGreaterThan(0);
        for (const [block, msg] of entries) {
          expect(BLOCKS.has(block)).toBe(true);
          if (!clear(msg)) counts.unclear += 1;
          expect(clear(msg)).toBe(true);
        }
        return;
      }
      const refusal = await service.check({ id: ALICE }, form.command);
      if (refusal) {
        counts.policyRefusals += 1;
        if (!clear(refusal.message)) counts.unclear += 1;
        expect(clear(refusal.message)).toBe(true);
      } else {
        counts.valid += 1;
        expect(form.command.namespace).toMatch(/\S/);
      }
    }),
    { numRuns: CASES, seed: SEED + 2 },
  );
  expect(counts.valid).toBeGreaterThan(0);
  report(`modal fields (service level): cases ${CASES}, field errors ${counts.fieldErrors}, policy refusals ${counts.policyRefusals}, valid ${counts.valid}, crashes 0, unclear messages ${counts.unclear}, cluster-facts calls ${factsCalls - facts0}`);
  expect(factsCalls - facts0).toBe(0);
  expect(counts.fieldErrors + counts.policyRefusals + counts.valid).toBe(CASES);

  // through the real app: every submission gets field errors, or an ack and a confirmation
  const sample = fc.sample(formValues, { numRuns: 200, seed: SEED + 3 });
  const w0 = worldWrites(h.world);
  const c0 = worldCalls(h.world);
  const kinds = { errors: 0, acked: 0, unclear: 0, bad: 0, azureCallsForInvalid: 0 };
  const ephemeralsBefore = h.world.slack.ephemerals(ALICE).length;
  let viewNo = 0;
  for (const values of sample) {
    const expected = await modalGate(values);
    const before = worldCalls(h.world).arm;
    viewNo += 1;
    const res = await h.slack.viewSubmission({
      userId: ALICE,
      view: { id: `V0FUZZ${String(viewNo).padStart(5, '0')}`, callback_id: CALLBACK.requestModal, private_metadata: JSON.stringify({ channel: WORLD.requestsChannel }), state: { values } },
    });
    const body = res.body as { response_action?: string; errors?: Record<string, string> } | string;
    if (typeof body === 'object' && body.response_action === 'errors') {
      kinds.errors += 1;
      const msgs = Object.values(body.errors ?? {});
      if (msgs.length === 0 || !msgs.every(clear)) kinds.unclear += 1;
      if (expected.ok) kinds.bad += 1;
      if (worldCalls(h.world).arm !== before) kinds.azureCallsForInvalid += 1;
    } else {
      kinds.acked += 1;
      if (!expected.ok) kinds.bad += 1;
      // let the submission finish (its cluster-facts GET and confirmation) before the next one is counted
      const want = ephemeralsBefore + kinds.acked;
      for (let i = 0; i < 200 && h.world.slack.ephemerals(ALICE).length < want; i++) await sleep(25);
    }
  }
  // every acked submission is confirmed to the user alone: created, or a duplicate of an open one
  let confirmations = 0;
  for (let i = 0; i < 200 && confirmations < kinds.acked; i++) {
    confirmations = h.world.slack.ephemerals(ALICE).slice(ephemeralsBefore).length;
    await sleep(25);
  }
  await sleep(300);
  const w1 = worldWrites(h.world);
  const c1 = worldCalls(h.world);
  report(
    `modal over HTTP (200 cases): field errors ${kinds.errors}, acked ${kinds.acked} (confirmed ${confirmations}), disagreements with the service-level decision ${kinds.bad}, unclear ${kinds.unclear}, azure calls for invalid ${kinds.azureCallsForInvalid}, azure calls ${c1.arm - c0.arm} (GETs for cluster facts), azure writes ${w1.arm - w0.arm}, kube calls ${c1.kube - c0.kube}`,
  );
  expect(kinds.errors + kinds.acked).toBe(200);
  expect(kinds.acked).toBeGreaterThan(0);
  expect(confirmations).toBe(kinds.acked);
  expect(h.world.slack.ephemerals(ALICE).slice(ephemeralsBefore).every((e) => clear(e.text))).toBe(true);
  expect(kinds.bad).toBe(0);
  expect(kinds.unclear).toBe(0);
  expect(kinds.azureCallsForInvalid).toBe(0);
  expect([w1.arm - w0.arm, c1.kube - c0.kube]).toEqual([0, 0]);
  expect(await h.provisionJobs()).toBe(0);
}, 120_000);

// ───────────────────────────── interaction payloads ─────────────────────────────

test(`interaction payloads: ${CASES} approve/deny/retry decisions through the request service, ${HTTP_CASES} block_actions through the signed HTTP app`, async () => {
  // real pending requests to aim at: one- and two-approval roles
  const targets: string[] = [];
  for (const [sa, role] of [
    ['fuzz-target-one', 'Key Vault Secrets User'],
    ['fuzz-target-two', `Contributor --scope /subscriptions/${WORLD.subscriptionId}/resourceGroups/${WORLD.appsResourceGroup}`],
  ] as const) {
    const before = h.world.slack.ephemerals(ALICE).length;
    await h.wid(ALICE, `request finance ${sa} ${role} --reason fuzz target`);
    for (let i = 0; i < 200 && targets.length < (sa.endsWith('one') ? 1 : 2); i++) {
      const id = h.world.slack.ephemerals(ALICE).slice(before).map((e) => requestIdIn(`${e.text} ${JSON.stringify(e.blocks)}`)).find(Boolean);
      if (id) targets.push(id);
      else await sleep(25);
    }
  }
  expect(targets).toHaveLength(2);
  const historyBefore = await Promise.all(targets.map((id) => h.store.history(id)));
  const jobs0 = await h.provisionJobs();
  const c0 = worldCalls(h.world);

  // anyone who is not an approver may aim at the real requests; approvers only at ids that do not exist
  const nonApprover = fc.oneof(fc.constantFrom(ALICE, DAVE, 'U0EVE00001', '', 'system', 'cli:root'), fc.string({ maxLength: 30 }));
  const randomId = fc.oneof(fc.string({ maxLength: 30 }), fc.stringMatching(/^wid-[a-z2-7]{10}$/), fc.constantFrom('', 'wid-', '*', '../req', `${targets[0]}:nothing`, `${targets[0]}:`));
  const click = fc.oneof(
    fc.record({ user: nonApprover.filter((u) => u !== BOB && u !== CAROL), id: fc.oneof(fc.constantFrom(...targets), randomId) }),
    fc.record({ user: fc.constantFrom(BOB, CAROL), id: randomId.filter((id) => !targets.includes(id)) }),
  );
  const action = fc.record({ what: fc.constantFrom('approve', 'deny', 'mayDeny', 'retry'), click, reason: fc.string({ maxLength: 50 }) });
  const counts = { changed: 0, unclear: 0 };
  await fc.assert(
    fc.asyncProperty(action, async ({ what, click: c, reason }) => {
      const actor = { id: c.user };
      let message: string;
      let changed = false;
      if (what === 'approve') ({ message, changed } = await service.approve(c.id, actor));
      else if (what === 'deny') ({ message, changed } = await service.deny(c.id, actor, reason));
      else if (what === 'retry') ({ message, changed } = await service.retry(c.id, actor));
      else {
        const may = await service.mayDeny(c.id, c.user);
        expect(may.ok).toBe(false);
        message = may.ok ? '' : may.message;
      }
      if (changed) counts.changed += 1;
      if (!clear(message)) counts.unclear += 1;
      expect(changed).toBe(false);
      expect(clear(message)).toBe(true);
    }),
    { numRuns: CASES, seed: SEED + 4 },
  );
  const historyAfter = await Promise.all(targets.map((id) => h.store.history(id)));
  const c1 = worldCalls(h.world);
  report(
    `interactions (service level): cases ${CASES}, transitions ${historyAfter.flat().length - historyBefore.flat().length}, changed ${counts.changed}, unclear messages ${counts.unclear}, jobs ${(await h.provisionJobs()) - jobs0}, azure calls ${c1.arm - c0.arm}, kube calls ${c1.kube - c0.kube}`,
  );
  expect(historyAfter.map((x) => x.length)).toEqual(historyBefore.map((x) => x.length));
  expect((await h.provisionJobs()) - jobs0).toBe(0);
  expect([c1.arm - c0.arm, c1.kube - c0.kube]).toEqual([0, 0]);

  // through the real app: arbitrary action ids, values and users on the approval messages
  const known = [ACTION.approve, ACTION.deny, ACTION.retry] as string[];
  const httpClick = fc.record({
    actionId: fc.oneof(fc.constantFrom(...known), fc.constantFrom('wid_delete_everything', 'approve', ''), fc.string({ maxLength: 20 })),
    user: fc.oneof(fc.constantFrom(ALICE, DAVE), fc.stringMatching(/^U[A-Z0-9]{2,12}$/)).filter((u) => u !== BOB && u !== CAROL),
    value: fc.oneof(fc.constantFrom(...targets), fc.string({ maxLength: 30 })),
    target: fc.constantFrom(...targets),
  });
  const sample = fc.sample(httpClick, { numRuns: HTTP_CASES, seed: SEED + 5 });
  const ephemerals0 = h.world.slack.ephemerals().length;
  const mark = h.world.slack.mark();
  const statuses: number[] = [];
  await inBatches(sample, 150, async (c) => {
    const m = h.approvalMessage(c.target);
    const res = await h.slack.blockAction({ userId: c.user, actionId: c.actionId, value: c.value, type: 'button', message: { channel: m.channel, ts: m.ts } });
    statuses.push(res.status);
  });
  const knownCount = sample.filter((c) => known.includes(c.actionId)).length;
  let answered = 0;
  for (let i = 0; i < 200; i++) {
    answered = h.world.slack.ephemerals().length - ephemerals0;
    if (answered >= knownCount) break;
    await sleep(25);
  }
  await sleep(300);
  answered = h.world.slack.ephemerals().length - ephemerals0;
  const unclearAnswers = h.world.slack.ephemerals().slice(ephemerals0).filter((e) => !clear(`${e.text}`)).length;
  const channelWrites = h.world.slack.events().filter((e) => e.seq > mark && e.kind !== 'ephemeral').length;
  const historyHttp = await Promise.all(targets.map((id) => h.store.history(id)));
  const c2 = worldCalls(h.world);
  report(
    `block_actions over HTTP (a ${HTTP_CASES}-case sample): known action ids ${knownCount}, unknown ${HTTP_CASES - knownCount} (Bolt answers 404: ${statuses.filter((s) => s === 404).length}), clear answers ${answered - unclearAnswers}/${knownCount}, transitions ${historyHttp.flat().length - historyBefore.flat().length}, channel writes ${channelWrites}, jobs ${(await h.provisionJobs()) - jobs0}, azure calls ${c2.arm - c0.arm}, kube calls ${c2.kube - c0.kube}`,
  );
  expect(statuses).toHaveLength(HTTP_CASES);
  expect(statuses.every((s) => s === 200 || s === 404)).toBe(true);
  expect(answered).toBe(knownCount);
  expect(unclearAnswers).toBe(0);
  expect(historyHttp.map((x) => x.length)).toEqual(historyBefore.map((x) => x.length));
  expect(channelWrites).toBe(0);
  expect((await h.provisionJobs()) - jobs0).toBe(0);
  expect([c2.arm - c0.arm, c2.kube - c0.kube]).toEqual([0, 0]);
}, 120_000);

// An id that names another key of a request (its history list) must be "no such request", not a Redis
// error: Slack only sends button values the bot wrote, so this needs a forged payload.
test('an approve for "<real id>:history" is answered "there is no request", not a Redis error', async () => {
  const [target] = await h.store.listByRequester(ALICE, 1);
  expect(target).toBeDefined();
  const outcome = await service.approve(`${target?.id}:history`, { id: BOB });
  report(`approve of "${target?.id}:history": ${outcome.message}`);
  expect(outcome.message).toContain('There is no request');
});
