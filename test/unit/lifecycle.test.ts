import { applyAction, newRequest, type RequestAction } from '../../src/domain/lifecycle';
import type { Plan, RequestState, WidRequest } from '../../src/domain/types';
import { testPlan } from '../support/plans';

const T0 = new Date('2025-01-01T10:00:00.000Z');
const later = (min: number) => new Date(T0.getTime() + min * 60_000);
const alice = { id: 'U_ALICE' };
const bob = { id: 'U_BOB' };
const carol = { id: 'U_CAROL' };

const plan = (approvalsRequired: 1 | 2): Plan => testPlan({ approvalsRequired });

function fresh(approvals: 1 | 2 = 1): WidRequest {
  return newRequest({ id: 'r1', plan: plan(approvals), requester: alice, reason: 'because', now: T0, policy: { requestTtlSeconds: 3600 } }).request;
}

function step(req: WidRequest, action: RequestAction, at = later(1)) {
  const r = applyAction(req, action, at);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function refused(req: WidRequest, action: RequestAction, code: string, at = later(1)): string {
  const r = applyAction(req, action, at);
  expect(r).toMatchObject({ ok: false, error: { code } });
  return r.ok ? '' : r.error.message;
}

const approve = (actor = bob, actorIsApprover = true): RequestAction => ({ type: 'approve', actor, actorIsApprover });

describe('a new request', () => {
  it('is pending, expires after the TTL and records its creation from null', () => {
    const { request, event } = newRequest({ id: 'r1', plan: plan(1), requester: alice, reason: 'because', now: T0, policy: { requestTtlSeconds: 3600 } });
    expect(request).toMatchObject({
      id: 'r1', kind: 'grant', state: 'pending', clusterName: 'blue', namespace: 'ns', serviceAccount: 'sa', roleName: 'Reader', scope: '/subscriptions/s',
      approvals: [], createdAt: T0.toISOString(), updatedAt: T0.toISOString(), expiresAt: '2025-01-01T11:00:00.000Z', resources: {}, steps: [], reason: 'because',
    });
    expect(event).toEqual({ requestId: 'r1', actor: alice, from: null, to: 'pending', reason: 'because', at: T0.toISOString() });
  });
});

describe('transitions', () => {
  it('walks the happy path with one approval', () => {
    const a = step(fresh(), approve());
    expect(a.request.state).toBe('approved');
    expect(a.event).toMatchObject({ from: 'pending', to: 'approved', actor: bob, reason: 'approval 1 of 1' });
    expect(a.request.approvals).toEqual([{ actor: bob, at: later(1).toISOString() }]);
    const p = step(a.request, { type: 'startProvisioning' }, later(2));
    expect(p.event).toMatchObject({ from: 'approved', to: 'provisioning', actor: { id: 'system' } });
    const s = step(p.request, { type: 'succeed', resources: { clientId: 'c', principalId: 'p' } }, later(3));
    expect(s.request).toMatchObject({ state: 'succeeded', resources: { clientId: 'c', principalId: 'p' } });
  });

  it('needs two different approvers when the plan says 2', () => {
    const first = step(fresh(2), approve(bob));
    expect(first.request.state).toBe('pending');
    expect(first.event).toMatchObject({ from: 'pending', to: 'pending', reason: 'approval 1 of 2' });
    expect(refused(first.request, approve(bob), 'already-approved')).toContain('different approver');
    const second = step(first.request, approve(carol), later(2));
    expect(second.request.state).toBe('approved');
    expect(second.event.reason).toBe('approval 2 of 2');
    expect(second.request.approvals.map((a) => a.actor.id)).toEqual(['U_BOB', 'U_CAROL']);
  });

  it('refuses self-approval and approval by someone the policy does not name', () => {
    expect(refused(fresh(), approve(alice), 'self-approval')).toContain('own request');
    expect(refused(fresh(), approve(carol, false), 'not-an-approver')).toContain('"ns"');
  });

  it('refuses approving after the request expired, and expires only then', () => {
    refused(fresh(), approve(), 'request-expired', later(61));
    refused(fresh(), { type: 'expire' }, 'not-expired', later(59));
    expect(step(fresh(), { type: 'expire' }, later(60)).request.state).toBe('expired');
  });

  it('denies only with a reason, by an approver', () => {
    expect(refused(fresh(), { type: 'deny', actor: bob, actorIsApprover: true, reason: '  ' }, 'reason-required')).toContain('why');
    refused(fresh(), { type: 'deny', actor: alice, actorIsApprover: false, reason: 'no' }, 'not-an-approver');
    const d = step(fresh(), { type: 'deny', actor: bob, actorIsApprover: true, reason: 'too broad' });
    expect(d.request.state).toBe('denied');
    expect(d.event).toMatchObject({ from: 'pending', to: 'denied', reason: 'too broad', actor: bob });
  });

  it('lets the requester or an approver cancel', () => {
    expect(step(fresh(), { type: 'cancel', actor: alice }).request.state).toBe('cancelled');
    expect(step(fresh(), { type: 'cancel', actor: bob, actorIsApprover: true }).request.state).toBe('cancelled');
    refused(fresh(), { type: 'cancel', actor: carol }, 'not-allowed');
  });

  it('records failures and retries them', () => {
    const prov = step(step(fresh(), approve()).request, { type: 'startProvisioning' });
    const failed = step(prov.request, { type: 'fail', reason: 'ARM said 403', step: 'roleAssignment', retryable: false, resources: { identityId: '/id' } });
    expect(failed.request).toMatchObject({ state: 'failed', failure: { reason: 'ARM said 403', step: 'roleAssignment', retryable: false }, resources: { identityId: '/id' } });
    refused(failed.request, { type: 'retry', actor: carol, actorIsApprover: false }, 'not-allowed');
    const retried = step(failed.request, { type: 'retry', actor: bob, actorIsApprover: true });
    expect(retried.request.state).toBe('provisioning');
    expect(retried.request.failure).toBeUndefined();
    expect(retried.request.resources).toEqual({ identityId: '/id' });
    expect(retried.event).toMatchObject({ from: 'failed', to: 'provisioning', actor: bob });
  });

  it('refuses every illegal move, naming the state, the action and the allowed ones', () => {
    const all: RequestAction[] = [
      approve(), { type: 'deny', actor: bob, actorIsApprover: true, reason: 'x' }, { type: 'expire' }, { type: 'cancel', actor: alice },
      { type: 'startProvisioning' }, { type: 'succeed', resources: {} }, { type: 'fail', reason: 'x', retryable: true, resources: {} },
      { type: 'retry', actor: bob, actorIsApprover: true },
    ];
    const legal: Record<RequestState, string[]> = {
      pending: ['approve', 'deny', 'expire', 'cancel', 'breakGlass'], approved: ['startProvisioning'], provisioning: ['succeed', 'fail'], failed: ['retry'],
      succeeded: [], denied: [], expired: [], cancelled: [],
    };
    for (const state of Object.keys(legal) as RequestState[]) {
      for (const action of all) {
        const r = applyAction({ ...fresh(), state }, action, later(120));
        if (legal[state].includes(action.type)) {
          if (!r.ok) expect(r.error.code).not.toBe('illegal-transition');
        } else {
          expect(r).toMatchObject({ ok: false, error: { code: 'illegal-transition' } });
          expect(!r.ok && r.error.message).toContain(`it is ${state}`);
        }
      }
    }
    expect(refused({ ...fresh(), state: 'succeeded' }, approve(), 'illegal-transition')).toContain('final');
    expect(refused({ ...fresh(), state: 'approved' }, approve(), 'illegal-transition')).toContain('start provisioning');
  });

  it('always moves updatedAt forward, even within one millisecond', () => {
    const first = step(fresh(2), approve(bob), T0);
    expect(first.request.updatedAt > fresh(2).updatedAt).toBe(true);
    const second = step(first.request, approve(carol), T0);
    expect(second.request.updatedAt > first.request.updatedAt).toBe(true);
  });

  it('never changes the request it was given', () => {
    const r = fresh();
    const copy = JSON.parse(JSON.stringify(r));
    step(r, approve());
    expect(r).toEqual(copy);
  });
});
