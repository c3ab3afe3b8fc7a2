/**
 * The request state machine. Every change goes through applyAction, which refuses illegal moves and
 * returns the next request together with the append-only event that records the change.
 *
 *   pending → approved → provisioning → succeeded | failed;  failed → provisioning (retry)
 *   pending → denied | expired | cancelled
 */
import { ok, refuse, type Result } from './errors';
import { breakGlassDuration } from './break-glass';
import type { Actor, Approval, Plan, Policy, PolicyBreakGlass, ProvisionedResources, RequestState, StepName, TransitionEvent, WidRequest } from './types';

export const SYSTEM_ACTOR: Actor = { id: 'system' };

export type RequestAction =
  | { type: 'approve'; actor: Actor; actorIsApprover: boolean }
  | { type: 'deny'; actor: Actor; actorIsApprover: boolean; reason: string }
  | { type: 'expire' }
  | { type: 'cancel'; actor: Actor; actorIsApprover?: boolean }
  | { type: 'startProvisioning' }
  | { type: 'succeed'; resources: ProvisionedResources }
  | { type: 'fail'; reason: string; step?: StepName; retryable: boolean; resources: ProvisionedResources }
  | { type: 'retry'; actor: Actor; actorIsApprover: boolean }
  /** The requester approves their own request under the policy's break-glass rule (absent: break-glass is off). */
  | { type: 'breakGlass'; actor: Actor; reason: string; rule?: PolicyBreakGlass };

export type ActionType = RequestAction['type'];

/** Which actions each state accepts. */
export const ALLOWED_ACTIONS: Record<RequestState, readonly ActionType[]> = {
  pending: ['approve', 'deny', 'expire', 'cancel', 'breakGlass'],
  approved: ['startProvisioning'],
  provisioning: ['succeed', 'fail'],
  failed: ['retry'],
  succeeded: [],
  denied: [],
  expired: [],
  cancelled: [],
};

export function isFinal(state: RequestState): boolean {
  return ALLOWED_ACTIONS[state].length === 0;
}

export interface NewRequestInput {
  id: string;
  plan: Plan;
  requester: Actor;
  reason?: string;
  now: Date;
  policy: Pick<Policy, 'requestTtlSeconds'>;
  slack?: { channel: string; ts?: string };
}

/** A fresh pending request and the event that records its creation (from null). */
export function newRequest(input: NewRequestInput): { request: WidRequest; event: TransitionEvent } {
  const { id, plan, requester, now } = input;
  const at = now.toISOString();
  const request: WidRequest = {
    id,
    kind: plan.kind,
    state: 'pending',
    requester,
    clusterName: plan.cluster.name,
    namespace: plan.serviceAccount.namespace,
    serviceAccount: plan.serviceAccount.name,
    roleName: plan.roleAssignment.roleName,
    scope: plan.roleAssignment.scope,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(plan.durationSeconds !== undefined ? { durationSeconds: plan.durationSeconds } : {}),
    plan,
    approvals: [],
    createdAt: at,
    updatedAt: at,
    expiresAt: new Date(now.getTime() + input.policy.requestTtlSeconds * 1000).toISOString(),
    resources: {},
    steps: [],
    ...(input.slack ? { slack: input.slack } : {}),
  };
  const event: TransitionEvent = { requestId: id, actor: requester, from: null, to: 'pending', ...(input.reason ? { reason: input.reason } : {}), at };
  return { request, event };
}

const VERB: Record<ActionType, string> = {
  approve: 'approve',
  deny: 'deny',
  expire: 'expire',
  cancel: 'cancel',
  startProvisioning: 'start provisioning',
  succeed: 'mark as succeeded',
  fail: 'mark as failed',
  retry: 'retry',
  breakGlass: 'break glass on',
};

function actorOf(action: RequestAction): Actor {
  return 'actor' in action ? action.actor : SYSTEM_ACTOR;
}

/**
 * The next version stamp: `now`, but always later than the previous one, because the store's
 * compare-and-set uses updatedAt as the version and two changes may fall in the same millisecond.
 */
function nextStamp(previous: string, now: Date): string {
  const prev = Date.parse(previous);
  const t = Number.isNaN(prev) || now.getTime() > prev ? now.getTime() : prev + 1;
  return new Date(t).toISOString();
}

export function applyAction(request: WidRequest, action: RequestAction, now: Date): Result<{ request: WidRequest; event: TransitionEvent }> {
  const from = request.state;
  const allowed = ALLOWED_ACTIONS[from];
  if (!allowed.includes(action.type)) {
    const options = allowed.length ? `the allowed actions are: ${allowed.map((a) => VERB[a]).join(', ')}` : 'it is final and accepts no actions';
    return refuse('illegal-transition', `Cannot ${VERB[action.type]} request ${request.id}: it is ${from}, and from ${from} ${options}.`);
  }
  const at = nextStamp(request.updatedAt, now);
  const actor = actorOf(action);
  const move = (to: RequestState, changes: Partial<WidRequest>, reason?: string) => {
    const event: TransitionEvent = { requestId: request.id, actor, from, to, ...(reason !== undefined ? { reason } : {}), at };
    return ok({ request: { ...request, ...changes, state: to, updatedAt: at }, event });
  };

  switch (action.type) {
    case 'approve': {
      if (action.actor.id === request.requester.id) {
        return refuse('self-approval', 'You cannot approve your own request; another approver must.');
      }
      if (!action.actorIsApprover) {
        return refuse('not-an-approver', `You are not an approver for the namespace "${request.namespace}" in the policy.`);
      }
      if (request.approvals.some((a) => a.actor.id === action.actor.id)) {
        return refuse('already-approved', `You have already approved request ${request.id}; it needs a different approver${request.plan.approvalsRequired > 1 ? ' for the second approval' : ''}.`);
      }
      if (now.getTime() >= Date.parse(request.expiresAt)) {
        return refuse('request-expired', `Request ${request.id} expired at ${request.expiresAt}; ask the requester to request again.`);
      }
      const approvals: Approval[] = [...request.approvals, { actor: action.actor, at }];
      const needed = request.plan.approvalsRequired;
      const reason = `approval ${approvals.length} of ${needed}`;
      return move(approvals.length >= needed ? 'approved' : 'pending', { approvals }, reason);
    }
    case 'deny': {
      if (!action.actorIsApprover) {
        return refuse('not-an-approver', `Only approvers of "${request.namespace}" can deny requests; the requester can cancel instead.`);
      }
      const reason = action.reason.trim();
      if (reason === '') return refuse('reason-required', 'Say why you deny the request; the requester sees the reason.', 'reason');
      return move('denied', {}, reason);
    }
    case 'expire': {
      if (now.getTime() < Date.parse(request.expiresAt)) {
        return refuse('not-expired', `Request ${request.id} does not expire until ${request.expiresAt}.`);
      }
      return move('expired', {}, 'no decision before the request expired');
    }
    case 'cancel': {
      if (action.actor.id !== request.requester.id && !action.actorIsApprover) {
        return refuse('not-allowed', 'Only the requester or an approver can cancel a request.');
      }
      return move('cancelled', {}, action.actor.id === request.requester.id ? 'cancelled by the requester' : 'cancelled by an approver');
    }
    case 'breakGlass': {
      if (!action.rule) return refuse('break-glass-off', `Break-glass is not enabled for "${request.roleName}" in "${request.namespace}"; the request needs an approver.`);
      if (action.actor.id !== request.requester.id) return refuse('not-the-requester', 'Only the requester can break glass on their own request; approvers approve it instead.');
      const reason = action.reason.trim();
      if (reason === '') return refuse('reason-required', 'Say why you need the access now; break-glass needs a reason, and the approvers see it.', 'reason');
      if (now.getTime() >= Date.parse(request.expiresAt)) return refuse('request-expired', `Request ${request.id} expired at ${request.expiresAt}; request again.`);
      const durationSeconds = breakGlassDuration(request.durationSeconds, action.rule);
      const approvals: Approval[] = [...request.approvals, { actor: action.actor, at }];
      const breakGlass = { reason, at, maxDurationSeconds: action.rule.maxDurationSeconds };
      return move('approved', { approvals, durationSeconds, plan: { ...request.plan, durationSeconds }, breakGlass }, `break-glass: ${reason}`);
    }
    case 'startProvisioning':
      return move('provisioning', {});
    case 'succeed':
      return move('succeeded', { resources: { ...request.resources, ...action.resources } });
    case 'fail': {
      const failure = { reason: action.reason, ...(action.step ? { step: action.step } : {}), retryable: action.retryable };
      return move('failed', { resources: { ...request.resources, ...action.resources }, failure }, action.reason);
    }
    case 'retry': {
      if (action.actor.id !== request.requester.id && !action.actorIsApprover) {
        return refuse('not-allowed', 'Only the requester or an approver can retry a failed request.');
      }
      const { failure: _failure, ...rest } = request;
      return ok({
        request: { ...rest, state: 'provisioning' as const, updatedAt: at },
        event: { requestId: request.id, actor, from, to: 'provisioning' as const, reason: 'retry', at },
      });
    }
  }
}
