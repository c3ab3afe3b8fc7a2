/**
 * The request state machine at its edges: the exact expiry instant, which states are final, and what
 * each move keeps or drops. These pin behaviour a refactor could change silently (found by mutation
 * testing, `npm run test:mutation`).
 */
import { ALLOWED_ACTIONS, applyAction, isFinal, newRequest, SYSTEM_ACTOR, type RequestAction } from '../../../src/domain/lifecycle';
import { OPEN_STATES, type Plan, type RequestState, type WidRequest } from '../../../src/domain/types';
import { testPlan } from '../../support/plans';

const T0 = new Date('2025-03-01T08:00:00.000Z');
const TTL = 3600;
const EXPIRY = new Date(T0.getTime() + TTL * 1000);
const ms = (delta: number) => new Date(EXPIRY.getTime() + delta);
const alice = { id: 'U_ALICE' };
const bob = { id: 'U_BOB' };
const carol = { id: 'U_CAROL' };

const plan = (approvalsRequired: 1 | 2, durationSeconds?: number): Plan => testPlan({ approvalsRequired, ...(durationSeconds !== undefined ? { durationSeconds } : {}) });

const fresh = (approvals: 1 | 2 = 1): WidRequest =>
  newRequest({ id: 'r1', plan: plan(approvals), requester: alice, now: T0, policy: { requestTtlSeconds: TTL } }).request;

const approve = (actor = bob): RequestAction => ({ type: 'approve', actor, actorIsApprover: true });

function step(req: WidRequest, action: RequestAction, at: Date) {
  const r = applyAction(req, action, at);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

describe('the expiry instant', () => {
  it('is createdAt + requestTtlSeconds, to the millisecond', () => {
    expect(fresh().expiresAt).toBe(EXPIRY.toISOString());
    const r = newRequest({ id: 'r2', plan: plan(1), requester: alice, now: new Date('2025-03-01T08:00:00.123Z'), policy: { requestTtlSeconds: 1 } }).request;
    expect(r.expiresAt).toBe('2025-03-01T08:00:01.123Z');
  });

  it('an approval one millisecond before expiry counts; at the expiry instant it is refused', () => {
    expect(step(fresh(), approve(), ms(-1)).request.state).toBe('approved');
    const at = applyAction(fresh(), approve(), ms(0));
    expect(at).toMatchObject({ ok: false, error: { code: 'request-expired' } });
    expect(!at.ok && at.error.message).toBe(`Request r1 expired at ${EXPIRY.toISOString()}; ask the requester to request again.`);
  });

  it('expire is refused one millisecond before expiry and accepted at the instant', () => {
    const before = applyAction(fresh(), { type: 'expire' }, ms(-1));
    expect(before).toMatchObject({ ok: false, error: { code: 'not-expired' } });
    expect(!before.ok && before.error.message).toBe(`Request r1 does not expire until ${EXPIRY.toISOString()}.`);
    const at = step(fresh(), { type: 'expire' }, ms(0));
    expect(at.request.state).toBe('expired');
    expect(at.event).toEqual({ requestId: 'r1', actor: SYSTEM_ACTOR, from: 'pending', to: 'expired', reason: 'no decision before the request expired', at: EXPIRY.toISOString() });
  });

  it('the second approval of two is refused once the request expired, and the first stays recorded', () => {
    const first = step(fresh(2), approve(bob), ms(-10));
    expect(first.request.state).toBe('pending');
    expect(applyAction(first.request, approve(carol), ms(0))).toMatchObject({ ok: false, error: { code: 'request-expired' } });
    expect(first.request.approvals.map((a) => a.actor.id)).toEqual(['U_BOB']);
  });
});

describe('final states', () => {
  const all: RequestState[] = ['pending', 'approved', 'provisioning', 'failed', 'succeeded', 'denied', 'expired', 'cancelled'];

  it('succeeded, denied, expired and cancelled are final; the open states are not', () => {
    expect(all.filter((s) => isFinal(s))).toEqual(['succeeded', 'denied', 'expired', 'cancelled']);
    expect(all.filter((s) => !isFinal(s))).toEqual([...OPEN_STATES]);
  });

  it('the allowed actions per state are exactly the documented machine', () => {
    expect(ALLOWED_ACTIONS).toEqual({
      pending: ['approve', 'deny', 'expire', 'cancel', 'breakGlass'],
      approved: ['startProvisioning'],
      provisioning: ['succeed', 'fail'],
      failed: ['retry'],
      succeeded: [],
      denied: [],
      expired: [],
      cancelled: [],
    });
  });

  it('a final request names that it accepts nothing; others list their moves in words', () => {
    const r = applyAction({ ...fresh(), state: 'expired' }, { type: 'retry', actor: alice, actorIsApprover: true }, ms(-1));
    expect(!r.ok && r.error.message).toBe('Cannot retry request r1: it is expired, and from expired it is final and accepts no actions.');
    const p = applyAction({ ...fresh(), state: 'provisioning' }, approve(), ms(-1));
    expect(!p.ok && p.error.message).toBe('Cannot approve request r1: it is provisioning, and from provisioning the allowed actions are: mark as succeeded, mark as failed.');
    const q = applyAction(fresh(), { type: 'startProvisioning' }, ms(-1));
    expect(!q.ok && q.error.message).toBe('Cannot start provisioning request r1: it is pending, and from pending the allowed actions are: approve, deny, expire, cancel, break glass on.');
    const f = applyAction({ ...fresh(), state: 'failed' }, { type: 'succeed', resources: {} }, ms(-1));
    expect(!f.ok && f.error.message).toBe('Cannot mark as succeeded request r1: it is failed, and from failed the allowed actions are: retry.');
    const a = applyAction({ ...fresh(), state: 'approved' }, { type: 'fail', reason: 'x', retryable: true, resources: {} }, ms(-1));
    expect(!a.ok && a.error.message).toBe('Cannot mark as failed request r1: it is approved, and from approved the allowed actions are: start provisioning.');
    const d = applyAction({ ...fresh(), state: 'denied' }, { type: 'deny', actor: bob, actorIsApprover: true, reason: 'x' }, ms(-1));
    expect(!d.ok && d.error.message).toContain('Cannot deny request r1');
    const e = applyAction({ ...fresh(), state: 'cancelled' }, { type: 'expire' }, ms(1));
    expect(!e.ok && e.error.message).toContain('Cannot expire request r1');
    const c = applyAction({ ...fresh(), state: 'succeeded' }, { type: 'cancel', actor: alice }, ms(-1));
    expect(!c.ok && c.error.message).toContain('Cannot cancel request r1');
  });
});

describe('what each move records', () => {
  it('a new request without reason or Slack message has neither, and its event has no reason', () => {
    const { request, event } = newRequest({ id: 'r9', plan: plan(1), requester: alice, now: T0, policy: { requestTtlSeconds: TTL } });
    expect('reason' in request).toBe(false);
    expect('slack' in request).toBe(false);
    expect('durationSeconds' in request).toBe(false);
    expect(event).toEqual({ requestId: 'r9', actor: alice, from: null, to: 'pending', at: T0.toISOString() });
  });

  it('a new request keeps the Slack message and the plan\'s duration; an empty reason is kept on the request but not the event', () => {
    const { request, event } = newRequest({
      id: 'r9', plan: plan(1, 7200), requester: alice, reason: '', now: T0, policy: { requestTtlSeconds: TTL }, slack: { channel: 'C1', ts: '1.2' },
    });
    expect(request).toMatchObject({ reason: '', durationSeconds: 7200, slack: { channel: 'C1', ts: '1.2' }, kind: 'grant' });
    expect('reason' in event).toBe(false);
  });

  it('the not-an-approver refusal names the namespace; a second approval by the same person says it needs another', () => {
    const r = applyAction(fresh(), { type: 'approve', actor: carol, actorIsApprover: false }, ms(-1));
    expect(!r.ok && r.error.message).toBe('You are not an approver for the namespace "ns" in the policy.');
    const once = step(fresh(2), approve(bob), ms(-5));
    const twice = applyAction(once.request, approve(bob), ms(-4));
    expect(!twice.ok && twice.error.message).toBe('You have already approved request r1; it needs a different approver for the second approval.');
    const single = applyAction({ ...fresh(1), approvals: [{ actor: bob, at: T0.toISOString() }] }, approve(bob), ms(-4));
    expect(!single.ok && single.error.message).toBe('You have already approved request r1; it needs a different approver.');
  });

  it('deny trims the reason it records and refuses non-approvers with the namespace named', () => {
    const d = step(fresh(), { type: 'deny', actor: bob, actorIsApprover: true, reason: '  too broad \n' }, ms(-1));
    expect(d.event.reason).toBe('too broad');
    const r = applyAction(fresh(), { type: 'deny', actor: alice, actorIsApprover: false, reason: 'no' }, ms(-1));
    expect(!r.ok && r.error.message).toBe('Only approvers of "ns" can deny requests; the requester can cancel instead.');
    const e = applyAction(fresh(), { type: 'deny', actor: bob, actorIsApprover: true, reason: '\t' }, ms(-1));
    expect(e).toMatchObject({ ok: false, error: { code: 'reason-required', field: 'reason' } });
  });

  it('cancel says who cancelled; an approver who is not the requester may cancel, a stranger may not', () => {
    expect(step(fresh(), { type: 'cancel', actor: alice }, ms(-1)).event.reason).toBe('cancelled by the requester');
    expect(step(fresh(), { type: 'cancel', actor: alice, actorIsApprover: false }, ms(-1)).request.state).toBe('cancelled');
    expect(step(fresh(), { type: 'cancel', actor: bob, actorIsApprover: true }, ms(-1)).event.reason).toBe('cancelled by an approver');
    const r = applyAction(fresh(), { type: 'cancel', actor: carol, actorIsApprover: false }, ms(-1));
    expect(!r.ok && r.error.message).toBe('Only the requester or an approver can cancel a request.');
  });

  it('succeed and fail merge resources into what was there; fail records step only when given', () => {
    const prov = { ...fresh(), state: 'provisioning' as const, resources: { identityId: '/id', clientId: 'old' } };
    const s = step(prov, { type: 'succeed', resources: { clientId: 'c', principalId: 'p' } }, ms(-1));
    expect(s.request.resources).toEqual({ identityId: '/id', clientId: 'c', principalId: 'p' });
    expect(s.event).toMatchObject({ from: 'provisioning', to: 'succeeded', actor: SYSTEM_ACTOR });
    expect('reason' in s.event).toBe(false);
    const f = step(prov, { type: 'fail', reason: 'timeout', retryable: true, resources: { principalId: 'p' } }, ms(-1));
    expect(f.request.failure).toEqual({ reason: 'timeout', retryable: true });
    expect(f.request.resources).toEqual({ identityId: '/id', clientId: 'old', principalId: 'p' });
    expect(f.event).toMatchObject({ from: 'provisioning', to: 'failed', reason: 'timeout', actor: SYSTEM_ACTOR });
  });

  it('the requester may retry their own failed request; the retry event is from failed with reason "retry"', () => {
    const failed = { ...fresh(), state: 'failed' as const, failure: { reason: 'x', retryable: true } };
    const r = step(failed, { type: 'retry', actor: alice, actorIsApprover: false }, ms(-1));
    expect(r.request.state).toBe('provisioning');
    expect('failure' in r.request).toBe(false);
    expect(r.event).toEqual({ requestId: 'r1', actor: alice, from: 'failed', to: 'provisioning', reason: 'retry', at: ms(-1).toISOString() });
    const no = applyAction(failed, { type: 'retry', actor: carol, actorIsApprover: false }, ms(-1));
    expect(!no.ok && no.error.message).toBe('Only the requester or an approver can retry a failed request.');
  });

  it('updatedAt is now when now is later, and one millisecond after the previous stamp otherwise', () => {
    const r = fresh();
    expect(step(r, approve(), ms(-100)).request.updatedAt).toBe(ms(-100).toISOString());
    const same = step({ ...r, updatedAt: ms(-100).toISOString() }, approve(), ms(-100));
    expect(same.request.updatedAt).toBe(ms(-99).toISOString());
    expect(same.event.at).toBe(ms(-99).toISOString());
    const earlier = step({ ...r, updatedAt: ms(-50).toISOString() }, approve(), ms(-100));
    expect(earlier.request.updatedAt).toBe(ms(-49).toISOString());
    const unreadable = step({ ...r, updatedAt: 'not a date' }, approve(), ms(-100));
    expect(unreadable.request.updatedAt).toBe(ms(-100).toISOString());
  });
});
