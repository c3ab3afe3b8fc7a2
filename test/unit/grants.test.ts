import fc from 'fast-check';
import {
  assignmentDescription,
  assignmentKey,
  completeEnd,
  countdown,
  decideEnd,
  extendGrant,
  isLive,
  newGrant,
  parseAssignmentDescription,
  reminderAt,
  requestEnd,
  sharedDescription,
  type Grant,
} from '../../src/domain/grants';
import { parseCommand, parseDuration } from '../../src/domain/grammar';
import { evaluateRequest } from '../../src/domain/policy';
import { newRequest } from '../../src/domain/lifecycle';
import type { Plan, Policy, WidRequest } from '../../src/domain/types';
import { testPlan } from '../support/plans';

const T0 = new Date('2026-11-30T08:00:00.000Z');
const at = (min: number) => new Date(T0.getTime() + min * 60_000);
const alice = { id: 'U_ALICE' };
const bob = { id: 'U_BOB' };

function grant(id: string, endMin: number | undefined, over: Partial<Grant> = {}): Grant {
  return {
    id,
    clusterName: 'blue',
    namespace: 'finance',
    serviceAccount: 'api',
    roleName: 'Key Vault Secrets User',
    scope: '/subscriptions/s/resourcegroups/rg',
    requester: alice,
    approvers: [bob.id],
    approvedAt: T0.toISOString(),
    startedAt: T0.toISOString(),
    ...(endMin !== undefined ? { endsAt: at(endMin).toISOString() } : {}),
    maxDurationSeconds: 8 * 3600,
    expiry: 'bot',
    state: 'active',
    extensions: [],
    updatedAt: T0.toISOString(),
    ...over,
  };
}

function request(durationSeconds?: number): WidRequest {
  const plan = testPlan({
    namespace: 'finance',
    serviceAccount: 'api',
    roleAssignment: { roleName: 'Contributor', scope: '/subscriptions/S/resourceGroups/RG' },
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
  });
  const r = newRequest({ id: 'wid-aaaaaaaaaa', plan, requester: alice, now: T0, policy: { requestTtlSeconds: 3600 } }).request;
  return { ...r, approvals: [{ actor: bob, at: at(1).toISOString() }] };
}

describe('durations', () => {
  it('refuses --for 0, --for 10y and --for beyond 366 days with what to type instead', () => {
    const zero = parseDuration('0');
    expect(zero.ok).toBe(false);
    if (!zero.ok) expect(zero.error.message).toMatch(/zero/);
    const zeroH = parseDuration('0h');
    expect(zeroH.ok).toBe(false);
    const years = parseDuration('10y');
    expect(years.ok).toBe(false);
    if (!years.ok) expect(years.error.message).toMatch(/years are not units.*366d/);
    const long = parseDuration('400d');
    expect(long.ok).toBe(false);
    const cmd = parseCommand('request finance api Contributor --for 0');
    expect(cmd.ok).toBe(false);
    if (!cmd.ok) expect(cmd.error.message).toMatch(/--for .*zero/);
  });

  it('--for on a role without maxDuration and past the cap are refused by the policy, naming the role', () => {
    const policy = {
      source: 't',
      clusters: [{ name: 'blue', subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'rg', aksName: 'aks' }],
      defaultCluster: 'blue',
      identities: { subscriptionId: '00000000-0000-0000-0000-000000000001', resourceGroup: 'ids', location: 'westeurope', tags: {} },
      roles: [
        { name: 'Reader', scopes: ['/subscriptions/00000000-0000-0000-0000-000000000001'], approvals: 1, privileged: false },
        { name: 'Key Vault Secrets User', scopes: ['/subscriptions/00000000-0000-0000-0000-000000000001'], approvals: 1, privileged: false, maxDurationSeconds: 8 * 3600 },
      ],
      namespaces: [{ name: 'finance', requesters: { users: [], groups: [], anyone: true }, approvers: { users: ['U_BOB'], groups: [], anyone: false }, roles: ['Reader', 'Key Vault Secrets User'], defaultScopes: {} }],
      approvers: { users: [], groups: [], anyone: false },
      operators: { users: [], groups: [], anyone: false },
      allowReservedNamespaces: false,
      requestTtlSeconds: 3600,
      reminderAfterSeconds: 0,
    } as Policy;
    const ask = (roleName: string, durationSeconds: number) =>
      evaluateRequest(policy, { requester: alice, requesterGroups: [], command: { verb: 'request', namespace: 'finance', serviceAccount: 'api', roleName, scope: '/subscriptions/00000000-0000-0000-0000-000000000001', durationSeconds } });
    const noMax = ask('Reader', 3600);
    expect(noMax.ok).toBe(false);
    if (!noMax.ok) expect(noMax.error).toMatchObject({ code: 'duration-not-allowed' });
    const tooLong = ask('Key Vault Secrets User', 9 * 3600);
    expect(tooLong.ok).toBe(false);
    if (!tooLong.ok) expect(tooLong.error.message).toMatch(/9h is longer than the 8h/);
  });

  it('a grant ends its duration after it starts and keeps the cap and approval time', () => {
    const g = newGrant({ request: request(3600), now: at(2), maxDurationSeconds: 8 * 3600 });
    expect(g.ok).toBe(true);
    if (!g.ok) return;
    expect(g.value.endsAt).toBe(at(62).toISOString());
    expect(g.value.approvedAt).toBe(at(1).toISOString());
    expect(g.value.scope).toBe('/subscriptions/s/resourcegroups/rg');
    const noMax = newGrant({ request: request(3600), now: at(2) });
    expect(noMax.ok).toBe(false);
    const forGood = newGrant({ request: request(), now: at(2) });
    expect(forGood.ok && forGood.value.endsAt).toBe(undefined);
  });
});

describe('the description Azure keeps', () => {
  it('round-trips request id and end, and ignores what wid-bot did not write', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^wid-[a-z2-7]{10}$/), fc.date({ min: new Date('2000-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }), (id, d) => {
        const iso = d.toISOString();
        expect(parseAssignmentDescription(assignmentDescription(id, iso))).toEqual({ requestId: id, endsAt: iso });
        expect(parseAssignmentDescription(assignmentDescription(id))).toEqual({ requestId: id });
      }),
    );
    expect(assignmentDescription('wid-abc', '2026-11-30T08:00:00.000Z')).toBe('wid-bot wid-abc; ends 2026-11-30T08:00:00.000Z');
    for (const text of [undefined, '', 'granted by hand', 'wid-bot', 'wid-bot x; ends tomorrow', 'wid-bot a b']) expect(parseAssignmentDescription(text)).toBeUndefined();
  });
});

describe('shared role assignments: the later end wins', () => {
  it('removes the assignment exactly once, when the last sharing grant ends, whatever the order and ends', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ end: fc.option(fc.integer({ min: 1, max: 600 }), { nil: undefined }), sameRole: fc.boolean() }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (specs, order) => {
          let grants = specs.map((s, i) => grant(`g${i}`, s.end ?? 60 * (i + 1), s.sameRole ? {} : { roleName: 'Reader' }));
          // end them in any order (early "I'm done"s and expiries mix)
          const sequence = [...grants.keys()];
          for (let i = 0; i < order.length && sequence.length > 1; i++) {
            const j = (order[i] as number) % sequence.length;
            sequence.push(...sequence.splice(j, 1));
          }
          const removals = new Map<string, number>();
          for (const idx of sequence) {
            const g = grants[idx] as Grant;
            const others = grants.filter((o) => o.id !== g.id);
            const d = decideEnd(g, others);
            const key = assignmentKey(g);
            const stillLive = others.filter((o) => isLive(o) && assignmentKey(o) === key);
            expect(d.removeAssignment).toBe(stillLive.length === 0);
            expect(d.releaseIdentity).toBe(others.every((o) => !isLive(o)));
            if (d.removeAssignment) removals.set(key, (removals.get(key) ?? 0) + 1);
            if (d.rewriteDescription) {
              const latest = stillLive.map((o) => Date.parse(o.endsAt as string)).sort((a, b) => b - a)[0];
              expect(parseAssignmentDescription(d.rewriteDescription)?.endsAt).toBe(new Date(latest as number).toISOString());
            }
            grants = grants.map((x) => (x.id === g.id ? completeEnd(x, { now: at(1000), assignmentRemoved: d.removeAssignment, notes: [] }) : x));
          }
          for (const key of new Set(specs.map((_, i) => assignmentKey(grants[i] as Grant)))) expect(removals.get(key)).toBe(1);
        },
      ),
    );
  });

  it('never removes an assignment that predates the grant, nor one a grant without end shares', () => {
    const kept = decideEnd(grant('g1', 10, { keepAssignment: true }), []);
    expect(kept.removeAssignment).toBe(false);
    const forGood = decideEnd(grant('g1', 10), [grant('g2', undefined)]);
    expect(forGood).toMatchObject({ removeAssignment: false, rewriteDescription: 'wid-bot g2' });
    expect(sharedDescription([grant('a', 10), grant('b', 90), grant('c', 30, { state: 'ended' })])).toBe(assignmentDescription('b', at(90).toISOString()));
    expect(sharedDescription([grant('a', 10, { state: 'ending' })])).toBeUndefined();
  });
});

describe('ending a grant', () => {
  it('"I\'m done" only by the requester or an approver; never twice; never on an ended grant', () => {
    const g = grant('g1', 60);
    const stranger = requestEnd(g, { reason: 'done', actor: { id: 'U_EVE' }, now: at(5) });
    expect(stranger.ok).toBe(false);
    if (!stranger.ok) expect(stranger.error.message).toMatch(/Only the requester \(<@U_ALICE>\) or an approver/);
    const mine = requestEnd(g, { reason: 'done', actor: alice, actorIsRequester: true, now: at(5) });
    expect(mine.ok && mine.value.state).toBe('ending');
    if (!mine.ok) return;
    const again = requestEnd(mine.value, { reason: 'done', actor: alice, actorIsRequester: true, now: at(6) });
    expect(again.ok).toBe(false);
    const ended = completeEnd(mine.value, { now: at(6), assignmentRemoved: true, notes: [] });
    const afterEnd = requestEnd(ended, { reason: 'done', actor: alice, actorIsRequester: true, now: at(7) });
    expect(afterEnd.ok).toBe(false);
    if (!afterEnd.ok) expect(afterEnd.error.message).toMatch(/already ended \(the requester said they were done/);
    expect(requestEnd(g, { reason: 'expired', actor: { id: 'system' }, now: at(59) }).ok).toBe(false);
    expect(requestEnd(g, { reason: 'expired', actor: { id: 'system' }, now: at(60) }).ok).toBe(true);
  });
});

describe('extending a grant', () => {
  it('moves the end within the cap when the policy lets the requester self-extend, never past approvedAt + maxDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 480 }), fc.integer({ min: 0, max: 470 }), fc.integer({ min: 1, max: 20 * 3600 }), fc.boolean(), (endMin, nowMin, extra, self) => {
        const g = grant('g1', endMin);
        const now = at(Math.min(nowMin, endMin - 1 < 0 ? 0 : endMin - 1));
        const r = extendGrant(g, { actor: alice, actorIsRequester: true, extraSeconds: extra, selfExtend: self, now });
        if (!r.ok) {
          expect(r.error.code).toBe('duration-too-long');
          return;
        }
        if (r.value.kind === 'extended') {
          expect(self).toBe(true);
          const end = Date.parse(r.value.grant.endsAt as string);
          expect(end).toBeLessThanOrEqual(T0.getTime() + 8 * 3600_000);
          expect(end).toBeGreaterThan(Date.parse(g.endsAt as string));
        } else {
          expect(r.value.durationSeconds).toBeLessThanOrEqual(8 * 3600);
        }
      }),
    );
    expect(extendGrant(grant('g1', 60), { actor: bob, actorIsRequester: false, extraSeconds: 60, selfExtend: true, now: at(1) }).ok).toBe(false);
    const past = extendGrant(grant('g1', 60), { actor: alice, actorIsRequester: true, extraSeconds: 9 * 3600, selfExtend: true, now: at(1) });
    expect(past.ok).toBe(false);
    if (!past.ok) expect(past.error.message).toMatch(/longer than the 8h/);
    const overCap = extendGrant(grant('g1', 7 * 60), { actor: alice, actorIsRequester: true, extraSeconds: 2 * 3600, selfExtend: true, now: at(60) });
    expect(overCap.ok && overCap.value.kind).toBe('needs-approval');
    expect(extendGrant(grant('g1', 60, { state: 'ended' }), { actor: alice, actorIsRequester: true, extraSeconds: 60, selfExtend: true, now: at(1) }).ok).toBe(false);
  });
});

describe('reminders and countdowns', () => {
  it('reminds 30 minutes before the end, or at 10 % of the duration when that is shorter, always inside the grant', () => {
    expect(reminderAt(grant('g', 480))?.toISOString()).toBe(at(450).toISOString());
    expect(reminderAt(grant('g', 60))?.toISOString()).toBe(at(54).toISOString());
    expect(reminderAt(grant('g', undefined))).toBeUndefined();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 86_400 }), (mins, lead) => {
        const r = reminderAt(grant('g', mins), lead) as Date;
        expect(r.getTime()).toBeGreaterThanOrEqual(T0.getTime());
        expect(r.getTime()).toBeLessThanOrEqual(at(mins).getTime());
        expect(at(mins).getTime() - r.getTime()).toBeLessThanOrEqual(lead * 1000);
      }),
    );
    expect(countdown(at(135).toISOString(), T0)).toBe('2h 15m left');
    expect(countdown(at(-3).toISOString(), T0)).toBe('ended 3m ago');
  });
});
