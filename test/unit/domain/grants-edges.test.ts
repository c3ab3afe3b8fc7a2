/**
 * Time-bound grants, the edges the main tests (test/unit/grants.test.ts) leave open: every refusal's words and
 * code, the keys that decide which grants share an assignment, the description Azure keeps, the state machine's
 * less common paths (revoke, resume, endFailed), extension limits, and the countdown's units.
 */
import {
  assignmentDescription,
  assignmentKey,
  checkDuration,
  completeEnd,
  countdown,
  decideEnd,
  END_REASON_TEXT,
  extendGrant,
  failEnd,
  isDue,
  isLive,
  newGrant,
  parseAssignmentDescription,
  reminderAt,
  requestEnd,
  serviceAccountKey,
  sharedDescription,
  TOKEN_VALIDITY_NOTE,
  DEFAULT_GRANT_REMINDER_SECONDS,
  type Grant,
} from '../../../src/domain/grants';
import { newRequest } from '../../../src/domain/lifecycle';
import type { WidRequest } from '../../../src/domain/types';
import { testPlan } from '../../support/plans';

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

function request(o: { durationSeconds?: number; kind?: WidRequest['kind'] } = {}): WidRequest {
  const plan = testPlan({
    namespace: 'finance',
    serviceAccount: 'api',
    roleAssignment: { roleName: 'Contributor', scope: '/subscriptions/S/resourceGroups/RG' },
    ...(o.durationSeconds !== undefined ? { durationSeconds: o.durationSeconds } : {}),
  });
  const r = newRequest({ id: 'wid-aaaaaaaaaa', plan, requester: alice, now: T0, policy: { requestTtlSeconds: 3600 } }).request;
  return { ...r, ...(o.kind ? { kind: o.kind } : {}), approvals: [{ actor: bob, at: at(1).toISOString() }] };
}

const err = <T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string; field?: string } }) => {
  if (r.ok) throw new Error('expected a refusal');
  return r.error;
};
const val = <T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T => {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('which grants share an assignment', () => {
  test('the ServiceAccount key folds case and trims each part', () => {
    expect(serviceAccountKey({ clusterName: ' Blue ', namespace: 'Finance', serviceAccount: 'API ' })).toBe('blue/finance/api');
  });

  test('the assignment key folds the role\'s case and inner spaces and normalises the scope', () => {
    const a = assignmentKey(grant('a', 1));
    expect(a).toBe('blue/finance/api|key vault secrets user|/subscriptions/s/resourcegroups/rg');
    expect(assignmentKey(grant('b', 1, { roleName: '  KEY   Vault  Secrets\tUser ', scope: '/SUBSCRIPTIONS/S/resourceGroups/RG/' }))).toBe(a);
    expect(assignmentKey(grant('c', 1, { roleName: 'Reader' }))).not.toBe(a);
    expect(assignmentKey(grant('d', 1, { serviceAccount: 'web' }))).not.toBe(a);
  });

  test('only active grants are live', () => {
    expect((['active', 'ending', 'ended', 'endFailed'] as const).map((state) => isLive(grant('g', 1, { state })))).toEqual([true, false, false, false]);
  });
});

describe('making a grant', () => {
  test('copies who, what and where; the approval time is the latest approval; no end without a duration', () => {
    const r = { ...request({ durationSeconds: 600 }), approvals: [{ actor: bob, at: at(3).toISOString() }, { actor: { id: 'U_CAROL' }, at: at(2).toISOString() }], slack: { channel: 'C1', ts: '1.2' }, breakGlass: { reason: 'down', at: at(2).toISOString(), maxDurationSeconds: 600 } };
    const g = val(newGrant({ request: r, now: at(5), maxDurationSeconds: 3600, expiry: 'azure' }));
    expect(g).toMatchObject({
      id: 'wid-aaaaaaaaaa',
      clusterName: r.clusterName,
      namespace: 'finance',
      serviceAccount: 'api',
      roleName: 'Contributor',
      requester: alice,
      approvers: ['U_BOB', 'U_CAROL'],
      approvedAt: at(3).toISOString(),
      startedAt: at(5).toISOString(),
      endsAt: at(15).toISOString(),
      maxDurationSeconds: 3600,
      expiry: 'azure',
      state: 'active',
      extensions: [],
      slack: { channel: 'C1', ts: '1.2' },
      breakGlass: { reason: 'down', at: at(2).toISOString() },
      updatedAt: at(5).toISOString(),
    });
    expect(g.breakGlass).toEqual({ reason: 'down', at: at(2).toISOString() });
    const plain = val(newGrant({ request: request(), now: at(5) }));
    expect(plain.expiry).toBe('bot');
    expect('endsAt' in plain).toBe(false);
    expect('maxDurationSeconds' in plain).toBe(false);
    expect('slack' in plain).toBe(false);
    expect('breakGlass' in plain).toBe(false);
    // no approvals: the request's last update stands in for the approval time
    expect(val(newGrant({ request: { ...request(), approvals: [] }, now: at(5) })).approvedAt).toBe(request().updatedAt);
  });

  test('only grant requests start grants; a bad duration is refused with its code and field', () => {
    const revoke = err(newGrant({ request: request({ kind: 'revoke' }), now: at(5) }));
    expect(revoke).toMatchObject({ code: 'not-a-grant' });
    expect(revoke.message).toBe('Request wid-aaaaaaaaaa is a revoke; only grant requests start grants.');
    expect(err(newGrant({ request: request({ durationSeconds: 7200 }), now: at(5), maxDurationSeconds: 3600 }))).toMatchObject({ code: 'duration-too-long', field: 'durationSeconds' });
  });

  test('checkDuration: at least a whole second, only with a cap, at most the cap', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(checkDuration(bad, 3600, 'R')).toMatchObject({ code: 'bad-duration', field: 'durationSeconds' });
    }
    expect(checkDuration(0, 3600, 'R')?.message).toBe('A grant must last at least a second; got 0. Use e.g. --for 30m or --for 8h.');
    expect(checkDuration(60, undefined, 'Reader')).toEqual({ code: 'duration-not-allowed', message: '"Reader" is granted without an end date in this policy, so --for does not apply; leave it out.', field: 'durationSeconds' });
    expect(checkDuration(3601, 3600, 'Reader')).toEqual({ code: 'duration-too-long', message: '--for 1h1s is longer than the 1h the policy allows for "Reader".', field: 'durationSeconds' });
    expect(checkDuration(3600, 3600, 'R')).toBeUndefined();
    expect(checkDuration(1, 3600, 'R')).toBeUndefined();
  });
});

describe('the description Azure keeps', () => {
  test('the end is normalised to UTC milliseconds; the id is 1–100 of letters, digits, _ and -', () => {
    expect(assignmentDescription('wid-x', '2026-11-30T09:00:00+01:00')).toBe('wid-bot wid-x; ends 2026-11-30T08:00:00.000Z');
    expect(assignmentDescription('wid-x')).toBe('wid-bot wid-x');
    expect(parseAssignmentDescription('  wid-bot wid_X-1; ends 2026-11-30T08:00:00Z  ')).toEqual({ requestId: 'wid_X-1', endsAt: '2026-11-30T08:00:00.000Z' });
    expect(parseAssignmentDescription('wid-bot a; ends 2026-11-30T08:00:00.5Z')).toEqual({ requestId: 'a', endsAt: '2026-11-30T08:00:00.500Z' });
    expect(parseAssignmentDescription(`wid-bot ${'a'.repeat(100)}`)).toEqual({ requestId: 'a'.repeat(100) });
    for (const text of [
      null,
      `wid-bot ${'a'.repeat(101)}`,
      'wid-bot a.b',
      'xwid-bot a',
      'wid-bot a; ends 2026-11-30T08:00:00Zx',
      'wid-bot a; ends 2026-11-30T08:00:00.1234Z',
      'wid-bot a; ends 2026-11-30 08:00:00Z',
      'wid-bot a; ends 2026-13-45T08:00:00Z',
      'wid-bot a;ends 2026-11-30T08:00:00Z',
    ]) {
      expect(parseAssignmentDescription(text)).toBeUndefined();
    }
  });

  test('shared: a grant without an end wins; one keeping a prior assignment leaves the description alone; ties go to the smaller id', () => {
    expect(sharedDescription([grant('a', 10), grant('b', undefined)])).toBe('wid-bot b');
    expect(sharedDescription([grant('a', 10), grant('k', 20, { keepAssignment: true })])).toBeUndefined();
    expect(sharedDescription([grant('z', 30), grant('m', 30)])).toBe(assignmentDescription('m', at(30).toISOString()));
    expect(sharedDescription([grant('m', 30), grant('z', 30)])).toBe(assignmentDescription('m', at(30).toISOString()));
    expect(sharedDescription([grant('b', 90), grant('a', 10)])).toBe(assignmentDescription('b', at(90).toISOString()));
    expect(sharedDescription([])).toBeUndefined();
  });
});

describe('ending', () => {
  test('the reasons in words', () => {
    expect(END_REASON_TEXT).toEqual({
      expired: 'its time ran out',
      done: 'the requester said they were done',
      revoked: 'revoked by an approver or operator',
      revokeRequest: 'a revoke request was approved',
    });
  });

  test('revoke only by approvers; an approver may say "done" too; the expiry refusal names the end', () => {
    const g = grant('g1', 60);
    expect(err(requestEnd(g, { reason: 'revoked', actor: alice, actorIsRequester: true, now: at(5) }))).toEqual({ code: 'not-allowed', message: 'Only approvers of "finance" or an operator can revoke grant g1.' });
    expect(val(requestEnd(g, { reason: 'revoked', actor: bob, actorIsApprover: true, now: at(5) }))).toMatchObject({ state: 'ending', end: { reason: 'revoked', actor: bob, requestedAt: at(5).toISOString() }, updatedAt: at(5).toISOString() });
    expect(val(requestEnd(g, { reason: 'done', actor: bob, actorIsApprover: true, now: at(5) })).state).toBe('ending');
    expect(err(requestEnd(g, { reason: 'done', actor: { id: 'U_EVE' }, now: at(5) })).message).toBe('Only the requester (<@U_ALICE>) or an approver of "finance" can end grant g1 early.');
    expect(err(requestEnd(g, { reason: 'expired', actor: { id: 'system' }, now: at(59) })).message).toBe(`The grant g1 ends at ${at(60).toISOString()}, not yet.`);
    expect(err(requestEnd(grant('g2', undefined), { reason: 'expired', actor: { id: 'system' }, now: at(59) })).message).toBe('The grant g2 ends at no set time, not yet.');
    expect(err(requestEnd(g, { reason: 'done', actor: { id: 'U_EVE' }, now: at(5) })).code).toBe('not-allowed');
    expect(err(requestEnd(g, { reason: 'expired', actor: { id: 'system' }, now: at(59) })).code).toBe('not-due');
  });

  test('an ending grant: a second ask is refused, the expiry resumes it as it is; an ended one names how it ended', () => {
    const ending = val(requestEnd(grant('g1', 60), { reason: 'done', actor: alice, actorIsRequester: true, now: at(5) }));
    expect(err(requestEnd(ending, { reason: 'revoked', actor: bob, actorIsApprover: true, now: at(6) }))).toEqual({ code: 'grant-ending', message: 'The grant g1 is already ending (the requester said they were done).' });
    expect(err(requestEnd({ ...ending, end: undefined } as Grant, { reason: 'done', actor: alice, actorIsRequester: true, now: at(6) })).message).toBe('The grant g1 is already ending (in progress).');
    expect(val(requestEnd(ending, { reason: 'expired', actor: { id: 'system' }, now: at(61) }))).toBe(ending);
    const ended = completeEnd(ending, { now: at(7), assignmentRemoved: true, notes: ['x'] });
    expect(err(requestEnd(ended, { reason: 'done', actor: alice, actorIsRequester: true, now: at(8) }))).toEqual({ code: 'grant-ended', message: `The grant g1 has already ended (the requester said they were done, ${at(7).toISOString()}); there is nothing left to end.` });
    const bare = { ...ended, end: undefined } as Grant;
    expect(err(requestEnd(bare, { reason: 'done', actor: alice, actorIsRequester: true, now: at(8) })).message).toBe('The grant g1 has already ended; there is nothing left to end.');
    const noTime = { ...ended, end: { reason: 'expired', actor: { id: 'system' }, requestedAt: at(7).toISOString() } } as Grant;
    expect(err(requestEnd(noTime, { reason: 'done', actor: alice, actorIsRequester: true, now: at(8) })).message).toBe('The grant g1 has already ended (its time ran out); there is nothing left to end.');
  });

  test('endFailed → ending keeps the first end\'s who and why and drops the failure; isDue at the end exactly', () => {
    const ending = val(requestEnd(grant('g1', 60), { reason: 'done', actor: alice, actorIsRequester: true, now: at(5) }));
    const failed = failEnd(ending, { now: at(6), message: 'boom', attempts: 3 });
    expect(failed).toMatchObject({ state: 'endFailed', failure: { message: 'boom', at: at(6).toISOString(), attempts: 3 }, updatedAt: at(6).toISOString() });
    const again = val(requestEnd(failed, { reason: 'expired', actor: { id: 'system' }, now: at(61) }));
    expect(again.state).toBe('ending');
    expect(again.end).toEqual(ending.end);
    expect('failure' in again).toBe(false);
    // an active grant that had failed before (no end recorded): the new end is written
    const fresh = val(requestEnd({ ...grant('g2', 60), failure: { message: 'x', at: at(1).toISOString(), attempts: 1 } }, { reason: 'done', actor: alice, actorIsRequester: true, now: at(5) }));
    expect(fresh.end).toEqual({ reason: 'done', actor: alice, requestedAt: at(5).toISOString() });
    expect('failure' in fresh).toBe(false);
    expect(isDue(grant('g', 60), at(60))).toBe(true);
    expect(isDue(grant('g', 60), new Date(at(60).getTime() - 1))).toBe(false);
    expect(isDue(grant('g', undefined), at(6000))).toBe(false);
  });

  test('completeEnd records when, what and who removed it; without a recorded end it is an expiry by the system', () => {
    const ending = val(requestEnd(grant('g1', 60, { failure: { message: 'x', at: at(1).toISOString(), attempts: 1 } }), { reason: 'revoked', actor: bob, actorIsApprover: true, now: at(5) }));
    const done = completeEnd({ ...ending, failure: { message: 'x', at: at(6).toISOString(), attempts: 2 } }, { now: at(7), assignmentRemoved: false, notes: ['kept'], removedBy: 'azure' });
    expect(done).toMatchObject({ state: 'ended', updatedAt: at(7).toISOString(), end: { reason: 'revoked', actor: bob, requestedAt: at(5).toISOString(), endedAt: at(7).toISOString(), assignmentRemoved: false, notes: ['kept'], removedBy: 'azure' } });
    expect('failure' in done).toBe(false);
    const bare = completeEnd(grant('g2', 60), { now: at(8), assignmentRemoved: true, notes: [] });
    expect(bare.end).toEqual({ reason: 'expired', actor: { id: 'system' }, requestedAt: at(8).toISOString(), endedAt: at(8).toISOString(), assignmentRemoved: true, notes: [] });
  });

  test('decideEnd says why, in the singular and the plural, and releases the identity only when nothing else is live', () => {
    const g = grant('g1', 60);
    expect(decideEnd(g, [])).toEqual({ removeAssignment: true, releaseIdentity: true, why: 'no other grant of the ServiceAccount remains' });
    expect(decideEnd(g, [g, grant('x', 90, { state: 'ended' })])).toMatchObject({ removeAssignment: true, releaseIdentity: true });
    expect(decideEnd(g, [grant('r1', 90, { roleName: 'Reader' }), grant('r2', 90, { roleName: 'Reader' })])).toEqual({ removeAssignment: true, releaseIdentity: false, why: 'other grants of the ServiceAccount remain (r1, r2)' });
    expect(decideEnd(g, [grant('s1', 90)])).toEqual({
      removeAssignment: false,
      rewriteDescription: assignmentDescription('s1', at(90).toISOString()),
      remainingEndsAt: at(90).toISOString(),
      releaseIdentity: false,
      why: 'grant s1 still needs the same role assignment, so it stays',
    });
    // the remaining end is the latest of the sharers'; none when one of them has no end or keeps a prior assignment
    expect(decideEnd(g, [grant('s1', 30), grant('s2', 90), grant('s3', 45)]).remainingEndsAt).toBe(at(90).toISOString());
    expect('remainingEndsAt' in decideEnd(g, [grant('s1', 30), grant('s2', undefined)])).toBe(false);
    expect('remainingEndsAt' in decideEnd(g, [grant('s1', 30), grant('s2', 90, { keepAssignment: true })])).toBe(false);
    expect(decideEnd(g, [grant('s1', 90), grant('s2', 30)]).why).toBe('grants s1, s2 still need the same role assignment, so it stays');
    const keep = decideEnd(grant('g1', 60, { keepAssignment: true }), []);
    expect(keep).toEqual({ removeAssignment: false, releaseIdentity: false, why: 'the role assignment existed before grant g1 and was not its own, so it stays' });
    // a sharer that keeps a prior assignment: no rewrite
    expect('rewriteDescription' in decideEnd(g, [grant('k', 90, { keepAssignment: true })])).toBe(false);
  });
});

describe('extending', () => {
  const ext = (g: Grant, o: Partial<Parameters<typeof extendGrant>[1]> = {}) => extendGrant(g, { actor: alice, actorIsRequester: true, extraSeconds: 600, selfExtend: true, now: at(10), ...o });

  test('each refusal with its code and words', () => {
    expect(err(ext(grant('g1', 60, { state: 'ending' })))).toEqual({ code: 'grant-not-active', message: 'The grant g1 is ending; only an active grant can be extended. Make a new request instead.' });
    expect(err(ext(grant('g1', undefined)))).toEqual({ code: 'grant-has-no-end', message: 'The grant g1 has no end, so there is nothing to extend.' });
    expect(err(ext(grant('g1', 60), { actorIsRequester: false, actor: bob }))).toEqual({ code: 'not-allowed', message: 'Only the requester (<@U_ALICE>) can extend grant g1.' });
    for (const bad of [0, -60, 1.5]) expect(err(ext(grant('g1', 60), { extraSeconds: bad }))).toMatchObject({ code: 'bad-duration', field: 'durationSeconds' });
    expect(err(ext(grant('g1', 60), { extraSeconds: 0 })).message).toBe('An extension must be at least a second; got 0.');
    const { maxDurationSeconds: _m, ...noMax } = grant('g1', 60);
    expect(err(ext(noMax as Grant))).toEqual({ code: 'duration-not-allowed', message: '"Key Vault Secrets User" has no maxDuration in the policy, so its grants cannot be extended.' });
    const azure = err(ext(grant('g1', 60, { expiry: 'azure' })));
    expect(azure.code).toBe('azure-schedule');
    expect(azure.message).toBe(`Azure's own schedule ends grant g1 at ${at(60).toISOString()} (the policy sets expiry: azure for "Key Vault Secrets User"), and wid-bot does not move it. Request the access again once this grant has ended.`);
    expect(err(ext(grant('g1', 60), { extraSeconds: 8 * 3600 }))).toEqual({
      code: 'duration-too-long',
      message: 'Extending by 8h would leave 8h50m from now, longer than the 8h the policy allows for "Key Vault Secrets User" at all.',
      field: 'durationSeconds',
    });
  });

  test('the extension counts from the end (or from now once the end has passed), and is recorded', () => {
    const g = grant('g1', 60);
    const x = val(ext(g));
    expect(x.kind).toBe('extended');
    if (x.kind !== 'extended') return;
    expect(x.grant.endsAt).toBe(at(70).toISOString());
    expect(x.grant.extensions).toEqual([{ actor: alice, at: at(10).toISOString(), from: at(60).toISOString(), to: at(70).toISOString() }]);
    expect(x.grant.updatedAt).toBe(at(10).toISOString());
    const late = val(ext(g, { now: at(65) }));
    expect(late.kind === 'extended' && late.grant.endsAt).toBe(at(75).toISOString());
  });

  test('needing approval: says why, with the fresh duration from now', () => {
    expect(val(ext(grant('g1', 60), { selfExtend: false }))).toEqual({ kind: 'needs-approval', durationSeconds: 60 * 60, why: 'the policy asks for a new approval to extend "Key Vault Secrets User"' });
    // past the cap counted from the approval (8h from T0), though within 8h from now
    const near = val(ext(grant('g1', 7 * 60 + 50), { now: at(7 * 60), extraSeconds: 20 * 60 }));
    expect(near).toEqual({ kind: 'needs-approval', durationSeconds: 70 * 60, why: `the new end would pass the 8h cap counted from the approval at ${T0.toISOString()}` });
    // exactly at the cap is still fine; exactly 8h from now is too
    expect(val(ext(grant('g1', 7 * 60 + 50), { now: at(7 * 60), extraSeconds: 10 * 60 })).kind).toBe('extended');
    expect(val(ext(grant('g1', 60, { approvedAt: at(60).toISOString() }), { now: at(60), extraSeconds: 7 * 3600 })).kind).toBe('extended');
  });
});

describe('reminders and countdowns', () => {
  test('the default lead is 30 minutes; no reminder without an end or with a lead of zero', () => {
    expect(DEFAULT_GRANT_REMINDER_SECONDS).toBe(1800);
    expect(reminderAt(grant('g', 480), 0)).toBeUndefined();
    expect(reminderAt(grant('g', 480), -5)).toBeUndefined();
    expect(reminderAt(grant('g', 480), 60)?.toISOString()).toBe(at(479).toISOString());
    expect(reminderAt({ startedAt: T0.toISOString(), endsAt: new Date(T0.getTime() + 1005).toISOString() }, 600)?.getTime()).toBe(T0.getTime() + 905);
  });

  test('days and hours, hours and minutes, minutes, less than a minute; past ends say ago', () => {
    expect(countdown(at(24 * 60).toISOString(), T0)).toBe('1d 0h left');
    expect(countdown(at(2 * 24 * 60 + 185).toISOString(), T0)).toBe('2d 3h left');
    expect(countdown(at(24 * 60 - 1).toISOString(), T0)).toBe('23h 59m left');
    expect(countdown(at(60).toISOString(), T0)).toBe('1h 0m left');
    expect(countdown(at(59).toISOString(), T0)).toBe('59m left');
    expect(countdown(at(1).toISOString(), T0)).toBe('1m left');
    expect(countdown(new Date(T0.getTime() + 29_000).toISOString(), T0)).toBe('less than a minute left');
    expect(countdown(new Date(T0.getTime() + 30_000).toISOString(), T0)).toBe('1m left');
    expect(countdown(T0.toISOString(), T0)).toBe('less than a minute left');
    expect(countdown(new Date(T0.getTime() - 1).toISOString(), T0)).toBe('ended less than a minute ago');
    expect(countdown(at(-25 * 60).toISOString(), T0)).toBe('ended 1d 1h ago');
  });

  test('the token note says what removal does not undo', () => {
    expect(TOKEN_VALIDITY_NOTE).toBe(
      'Tokens Azure already issued keep working until they expire (up to about 24 h for managed identities); removing the role stops new tokens from carrying it.',
    );
  });
});
