/**
 * The request lifecycle: parse → policy → cluster facts → plan → store → approval message; approvals,
 * denials, withdrawals, retries, expiry and reminders as atomic state transitions. Slack listeners, the App
 * Home, the CLI and timers all call this service; it speaks through the RequestNotifier port (src/app/notifier.ts)
 * and knows nothing about Slack, HTTP or acks.
 */
import { randomBytes } from 'node:crypto';
import { WidError, type DomainRefusal } from '../domain/errors';
import type { FederateCommand, MigrateCommand, RequestCommand, RevokeCommand } from '../domain/grammar';
import { breakGlassRule } from '../domain/break-glass';
import { mayViewRequest } from '../domain/visibility';
import { applyAction, newRequest, SYSTEM_ACTOR, type RequestAction } from '../domain/lifecycle';
import { buildPlan } from '../domain/plan';
import { accessOf, recheckAccess } from '../domain/recheck';
import { approvalsChannelFor, evaluateRequest, findNamespace, isApprover, principalsInclude } from '../domain/policy';
import { OPEN_STATES, type Actor, type ClusterFacts, type Plan, type Policy, type PolicyCluster, type TransitionEvent, type WidRequest } from '../domain/types';
import type { WidQueues } from '../queue';
import { openRequestKey, type RedisRequestStore } from '../store';
import type { Migrations } from './migrate';
import type { Grant } from '../domain/grants';
import { planAlsoClusters, type Federations } from './federate';
import { servingOn } from '../domain/federate';
import { planRevokeAll, revokeOnOneCluster } from './revoke-all';
import type { Decision, GroupDirectory, RequestNotifier, ServiceLogger } from './notifier';

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `wid-` + 10 base32 characters (50 random bits): short enough to type, never an integer, no `:`. */
export function newRequestId(): string {
  const bytes = randomBytes(10);
  let out = '';
  for (const b of bytes) out += BASE32[b % 32];
  return `wid-${out}`;
}

export const REQUEST_ID_PATTERN = /^wid-[a-z2-7]{10}$/;

export interface RequestServiceDeps {
  store: RedisRequestStore;
  queues: WidQueues;
  policy: Policy;
  clusterFacts: (cluster: PolicyCluster) => Promise<ClusterFacts>;
  /** Where approval messages and direct messages go (Slack: src/slack/request-notifier.ts). */
  notifier: RequestNotifier;
  groups: GroupDirectory;
  approvalsChannelFallback?: string;
  logger: ServiceLogger;
  now?: () => Date;
  /** `/wid migrate`: reads aad-pod-identity objects and the adopted identity (src/app/migrate.ts). */
  migrations?: Migrations;
  /** The grant index (src/grants/store.ts): a revoke finds the ServiceAccount's open grants there. */
  grants?: { openOfServiceAccount(sa: { clusterName: string; namespace: string; serviceAccount: string }): Promise<Grant[]> };
  /** `/wid federate`: reads the other cluster and the identity's credentials (src/app/federate.ts). */
  federations?: Federations;
  /**
   * Lets the job be queued while the approval message is still being updated to "approved": the worker renders the
   * message only after this update landed (src/store/approval-gate.ts). Without it the update lands before the job is queued.
   */
  approvalGate?: { hold(requestId: string): Promise<void>; release(requestId: string): Promise<boolean> };
}

export type SubmitOutcome =
  | { kind: 'created'; request: WidRequest; link?: string; breakGlass?: boolean }
  | { kind: 'refused'; refusal: DomainRefusal }
  | { kind: 'duplicate'; existingId: string; link?: string }
  | { kind: 'error'; message: string };

/** What a click or submission did; `message` goes back to the person who acted. */
export interface ActionOutcome {
  changed: boolean;
  message: string;
  request?: WidRequest;
}

/** How often a transition re-reads after losing a race before giving up (each loss means someone else changed it). */
const CAS_ATTEMPTS = 8;

export class RequestService {
  private readonly now: () => Date;

  constructor(private readonly deps: RequestServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  get policy(): Policy {
    return this.deps.policy;
  }

  /** A link to the approval message, when the chat has one. */
  messageLink(slack: WidRequest['slack']): string | undefined {
    return this.deps.notifier.linkTo({ ...(slack ? { slack } : {}) });
  }

  groupsOf(userId: string): Promise<string[]> {
    return this.deps.groups.groupsOf(userId);
  }

  /** Check a request against the policy without side effects (the modal's field validation). */
  async check(user: Actor, command: RequestCommand): Promise<DomainRefusal | undefined> {
    const decision = evaluateRequest(this.deps.policy, { requester: user, requesterGroups: await this.groupsOf(user.id), command });
    return decision.ok ? undefined : decision.error;
  }

  /** `/wid request …`, `/wid revoke …` and `/wid migrate …`: a pending request with its approval message, or why not. */
  async submit(user: Actor, command: RequestCommand | RevokeCommand | MigrateCommand | FederateCommand): Promise<SubmitOutcome> {
    const { policy, store } = this.deps;
    try {
      const groups = await this.groupsOf(user.id);
      const id = newRequestId();
      let plan: Plan;
      if (command.verb === 'request') {
        const decision = evaluateRequest(policy, { requester: user, requesterGroups: groups, command });
        if (!decision.ok) return { kind: 'refused', refusal: decision.error };
        const facts = await this.deps.clusterFacts(decision.value.cluster);
        const built = buildPlan({ policy, decision: decision.value, clusterFacts: facts, requestId: id, requester: user, kind: 'grant' });
        if (!built.ok) return { kind: 'refused', refusal: built.error };
        plan = built.value;
        if (command.clusters && command.clusters.length > 1) {
          // --cluster a,b: one identity and role assignment, one credential and ServiceAccount per cluster
          const also = await planAlsoClusters(policy, decision.value, command.clusters.slice(1), this.deps.clusterFacts, id, user);
          if (!also.ok) return { kind: 'refused', refusal: also.error };
          plan = { ...plan, alsoClusters: also.value };
        }
      } else if (command.verb === 'federate') {
        if (!this.deps.federations) return { kind: 'error', message: 'Federation (/wid federate) is not configured on this wid-bot.' };
        const built = await this.deps.federations.plan(user, groups, command, id, (c, ns, sa) => this.findActiveGrant(c, ns, sa));
        if (!built.ok) return { kind: 'refused', refusal: built.error };
        plan = built.value;
      } else if (command.verb === 'migrate') {
        if (!this.deps.migrations) return { kind: 'error', message: 'Migration (/wid migrate) is not configured on this wid-bot.' };
        const built = await this.deps.migrations.plan(user, groups, command, id);
        if (!built.ok) return { kind: 'refused', refusal: built.error };
        plan = built.value;
      } else {
        const decision = evaluateRequest(policy, { requester: user, requesterGroups: groups, command });
        if (!decision.ok) return { kind: 'refused', refusal: decision.error };
        if (command.allClusters) {
          // --cluster all: every cluster's part in one approval
          const built = await planRevokeAll(policy, (c, ns, sa) => this.findActiveGrant(c, ns, sa), (rid) => store.get(rid), command.namespace, command.serviceAccount);
          if (!built.ok) return { kind: 'refused', refusal: built.error };
          plan = built.value;
        } else {
          const grant = await this.findActiveGrant(decision.value.cluster.name, command.namespace, command.serviceAccount);
          if (!grant) {
            return {
              kind: 'refused',
              refusal: {
                code: 'nothing-to-revoke',
                message: `wid-bot has granted nothing to ${command.namespace}/${command.serviceAccount} on ${decision.value.cluster.name} that is still in place, so there is nothing to revoke.`,
              },
            };
          }
          // A revoke removes what the grant made; taking access away needs one approval. The last cluster of an identity removes it too.
          plan = await revokeOnOneCluster(policy, grant, (c, ns, sa) => this.findActiveGrant(c, ns, sa), (rid) => store.get(rid));
        }
      }

      const openKey = openRequestKey({
        clusterName: plan.revokeAll ? '*' : plan.cluster.name,
        namespace: plan.serviceAccount.namespace,
        serviceAccount: plan.serviceAccount.name,
        roleName: plan.kind === 'revoke' ? '*' : plan.roleAssignment.roleName,
      });
      const reserved = await store.reserveOpenKey(openKey, id);
      if (!reserved.ok) {
        const existing = await store.get(reserved.existingId);
        const link = this.messageLink(existing?.slack);
        return { kind: 'duplicate', existingId: reserved.existingId, ...(link ? { link } : {}) };
      }

      const channel = approvalsChannelFor(policy, plan.serviceAccount.namespace) ?? this.deps.approvalsChannelFallback;
      if (!channel) {
        await store.releaseOpenKey(openKey, id);
        return { kind: 'error', message: `The policy names no approvals channel for "${plan.serviceAccount.namespace}" and none is configured, so nobody could approve the request. Ask the platform team to set approvalsChannel.` };
      }
      const reason = command.reason?.trim() || undefined;
      const { request, event } = newRequest({ id, plan, requester: user, ...(reason ? { reason } : {}), now: this.now(), policy });
      let ts: string;
      try {
        ts = (await this.deps.notifier.postApproval(channel, request)).ts;
      } catch (e) {
        await store.releaseOpenKey(openKey, id);
        return { kind: 'error', message: `wid-bot could not post the approval message in <#${channel}>: ${errorText(e)}. Invite wid-bot to the channel, then try again.` };
      }
      request.slack = { channel, ts };
      await store.create(request, event);
      await this.scheduleTimers(request);
      const link = this.messageLink(request.slack);
      return { kind: 'created', request, ...(link ? { link } : {}), ...(this.mayBreakGlass(request) ? { breakGlass: true } : {}) };
    } catch (e) {
      this.deps.logger.error(`request by ${user.id} failed: ${errorText(e)}`);
      return { kind: 'error', message: e instanceof WidError ? e.message : `wid-bot could not take the request: ${errorText(e)}. Try again in a minute.` };
    }
  }

  private async scheduleTimers(r: WidRequest): Promise<void> {
    const created = Date.parse(r.createdAt);
    const remindAfter = this.deps.policy.reminderAfterSeconds;
    try {
      await this.deps.queues.scheduleTimers(r.id, Date.parse(r.expiresAt), remindAfter > 0 ? created + remindAfter * 1000 : undefined);
    } catch (e) {
      // the request stands; an unscheduled expiry only means it waits longer
      this.deps.logger.error(`could not schedule the timers of ${r.id}: ${errorText(e)}`);
    }
  }

  /**
   * The newest succeeded grant or migration for this cluster/namespace/ServiceAccount that no later revoke undid.
   * Reads only that ServiceAccount's records: its open grants (the grant index) and the requests that succeeded
   * for it (the store's per-ServiceAccount index, which also holds migrations, grants that already ended and
   * requests older than the grant records), never the whole history.
   */
  async findActiveGrant(clusterName: string, namespace: string, serviceAccount: string): Promise<WidRequest | undefined> {
    const sa = { clusterName, namespace, serviceAccount };
    const [open, succeeded] = await Promise.all([this.deps.grants ? this.deps.grants.openOfServiceAccount(sa) : Promise.resolve([]), this.deps.store.succeededOfServiceAccount(sa)]);
    const candidates = new Map<string, WidRequest>(succeeded.map((r) => [r.id, r]));
    for (const g of open) {
      if (candidates.has(g.id)) continue;
      const r = await this.deps.store.get(g.id);
      if (r) candidates.set(r.id, r);
    }
    let grant: WidRequest | undefined;
    let revoke: WidRequest | undefined;
    for (const stored of candidates.values()) {
      // a multi-cluster grant serves each of its clusters (servingOn gives the part for this one)
      const r = servingOn(stored, clusterName);
      if (!r || r.state !== 'succeeded' || r.clusterName !== clusterName || r.namespace !== namespace || r.serviceAccount !== serviceAccount) continue;
      if ((r.kind === 'grant' || r.kind === 'migrate' || r.kind === 'federate') && (!grant || r.updatedAt > grant.updatedAt)) grant = r;
      if (r.kind === 'revoke' && (!revoke || r.updatedAt > revoke.updatedAt)) revoke = r;
    }
    if (grant && revoke && revoke.updatedAt > grant.updatedAt) return undefined;
    return grant;
  }

  private async isApproverOf(r: WidRequest, userId: string): Promise<boolean> {
    return isApprover(this.deps.policy, r.namespace, userId, await this.groupsOf(userId));
  }

  /** Approvers anywhere: global, or of at least one namespace. */
  async isAnyApprover(userId: string): Promise<boolean> {
    const groups = await this.groupsOf(userId);
    const p = this.deps.policy;
    return principalsInclude(p.approvers, userId, groups) || p.namespaces.some((n) => principalsInclude(n.approvers, userId, groups));
  }

  /**
   * Read, decide, compare-and-set; on a lost race re-read and decide again, so exactly one of any number of
   * concurrent actions wins and the others are told what happened instead.
   */
  private async transition(
    requestId: string,
    decide: (r: WidRequest) => Promise<RequestAction | { refuse: string }>,
    at: (r: WidRequest) => Date = () => this.now(),
  ): Promise<{ ok: true; before: WidRequest; after: WidRequest; event: TransitionEvent } | { ok: false; message: string; request?: WidRequest }> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const r = await this.deps.store.get(requestId);
      if (!r) return { ok: false, message: `There is no request ${requestId}.` };
      const action = await decide(r);
      if ('refuse' in action) return { ok: false, message: action.refuse, request: r };
      const result = applyAction(r, action, at(r));
      if (!result.ok) return { ok: false, message: result.error.message, request: r };
      if (await this.deps.store.compareAndSet(r, result.value.request, result.value.event)) {
        return { ok: true, before: r, after: result.value.request, event: result.value.event };
      }
    }
    const latest = await this.deps.store.get(requestId);
    return { ok: false, message: `Request ${requestId} kept changing while wid-bot tried to update it; it is now ${latest?.state ?? 'gone'}.`, ...(latest ? { request: latest } : {}) };
  }

  async approve(requestId: string, actor: Actor): Promise<ActionOutcome> {
    const t = await this.transition(requestId, async (r) => ({ type: 'approve', actor, actorIsApprover: await this.isApproverOf(r, actor.id) }));
    if (!t.ok) return { changed: false, message: t.message, ...(t.request ? { request: t.request } : {}) };
    const r = t.after;
    if (r.state === 'approved') {
      const queued = await this.showApprovedAndQueue(r);
      if (queued) return { changed: true, request: r, message: `You approved ${r.id}, but wid-bot could not queue the provisioning: ${queued}.` };
      await this.deps.notifier.tellRequester(r, { kind: 'approved' });
      return { changed: true, request: r, message: `You approved ${r.id}; provisioning starts now.` };
    }
    await this.refreshMessage(r);
    return { changed: true, request: r, message: `You approved ${r.id}: ${r.approvals.length} of ${r.plan.approvalsRequired} approvals; it needs another approver.` };
  }

  /**
   * The approval message says "approved" and the job is queued; the timers are cancelled. With the approval gate the
   * three go together (the worker's progress waits for the message's update to land); without it the message is
   * updated first, so updates never go back in time. Resolves with why the job could not be queued, if it could not.
   */
  private async showApprovedAndQueue(r: WidRequest): Promise<string | undefined> {
    const enqueue = async (): Promise<string | undefined> => {
      try {
        await this.deps.queues.enqueueProvision(r.id, r.kind, { requester: r.requester.id });
        return undefined;
      } catch (e) {
        this.deps.logger.error(`approved ${r.id} but could not queue it: ${errorText(e)}`);
        return errorText(e);
      }
    };
    const timers = this.safely(`cancel the timers of ${r.id}`, () => this.deps.queues.cancelTimers(r.id));
    const gate = this.deps.approvalGate;
    let held = false;
    if (gate) {
      try {
        await gate.hold(r.id);
        held = true;
      } catch (e) {
        this.deps.logger.warn(`could not mark the approval message of ${r.id} as being updated (it is updated before the job is queued instead): ${errorText(e)}`);
      }
    }
    if (!gate || !held) {
      await timers;
      await this.refreshMessage(r);
      return enqueue();
    }
    const shown = this.refreshMessage(r).catch(() => undefined).then(async () => {
      const stillMarked = await gate.release(r.id).catch(() => false);
      if (stillMarked) return;
      // The update outlived its mark (Slack slow to answer): the worker may have rendered progress or the result first,
      // which this "approved" then covered. The message is rendered once more from what is stored now.
      const latest = await this.deps.store.get(r.id).catch(() => undefined);
      if (latest && (latest.state !== r.state || latest.steps.length > 0)) await this.refreshMessage(latest);
    });
    const [failure] = await Promise.all([enqueue(), shown, timers]);
    return failure;
  }

  /**
   * The requester takes back a request still waiting for approval: one atomic transition to cancelled, so a
   * withdraw racing an approval has one outcome (the loser is told what happened). The approval message says
   * so and loses its buttons.
   */
  async withdraw(requestId: string, actor: Actor): Promise<ActionOutcome> {
    const t = await this.transition(requestId, async (r) => {
      if (r.requester.id !== actor.id) {
        // Someone who may not see the request hears what a made-up id gets: no oracle for ids.
        if (!mayViewRequest(this.deps.policy, r, actor.id, await this.groupsOf(actor.id))) return { refuse: `There is no request ${requestId}.` };
        return { refuse: `Only the requester can withdraw ${r.id}; approvers deny it instead.` };
      }
      if (r.state !== 'pending') return { refuse: `Request ${r.id} is already ${r.state}; only a request waiting for approval can be withdrawn.` };
      return { type: 'cancel', actor };
    });
    if (!t.ok) return { changed: false, message: t.message, ...(t.request ? { request: t.request } : {}) };
    const r = t.after;
    await this.safely(`cancel the timers of ${r.id}`, () => this.deps.queues.cancelTimers(r.id));
    await this.refreshMessage(r, { decision: { actorId: actor.id, reason: 'withdrawn by the requester' } });
    return { changed: true, request: r, message: `You withdrew ${r.id}; the approvers see it withdrawn.` };
  }

  /** Whether the policy lets this request's requester approve it themselves (break-glass). */
  mayBreakGlass(r: WidRequest): boolean {
    return r.state === 'pending' && breakGlassRule(this.deps.policy, r) !== undefined;
  }

  /**
   * Break-glass: the requester approves their own request with a reason, when the policy enables it for the
   * role or namespace (the rule is read from the current policy; a forged click without it is refused). The
   * access is capped at the rule's duration, provisioning starts at once, and the approvers hear at once with
   * a Revoke button; the history records `break-glass: <reason>`.
   */
  async breakGlass(requestId: string, actor: Actor, reason: string): Promise<ActionOutcome> {
    const t = await this.transition(requestId, async (r) => {
      const rule = breakGlassRule(this.deps.policy, r);
      return { type: 'breakGlass', actor, reason, ...(rule ? { rule } : {}) };
    });
    if (!t.ok) return { changed: false, message: t.message, ...(t.request ? { request: t.request } : {}) };
    const r = t.after;
    await this.safely(`cancel the timers of ${r.id}`, () => this.deps.queues.cancelTimers(r.id));
    await this.refreshMessage(r);
    const ns = findNamespace(this.deps.policy, r.namespace);
    const users = [...new Set([...(ns?.approvers.users ?? []), ...this.deps.policy.approvers.users])].filter((u) => u !== r.requester.id);
    const groups = [...new Set([...(ns?.approvers.groups ?? []), ...this.deps.policy.approvers.groups])];
    await this.deps.notifier.breakGlassUsed(r, { users, groups });
    try {
      await this.deps.queues.enqueueProvision(r.id, r.kind, { lane: 'interactive' });
    } catch (e) {
      this.deps.logger.error(`break-glass ${r.id} could not be queued: ${errorText(e)}`);
      return { changed: true, request: r, message: `You approved ${r.id} yourself (break-glass), but wid-bot could not queue the provisioning: ${errorText(e)}.` };
    }
    return { changed: true, request: r, message: `You approved ${r.id} yourself (break-glass) for at most ${Math.round((r.durationSeconds ?? 0) / 60)} minutes; the approvers have been told and can revoke it.` };
  }

  /** Whether this person may open the deny form for the request; the refusal says why not. */
  async mayDeny(requestId: string, userId: string): Promise<{ ok: true; request: WidRequest } | { ok: false; message: string }> {
    const r = await this.deps.store.get(requestId);
    if (!r) return { ok: false, message: `There is no request ${requestId}.` };
    if (r.state !== 'pending') return { ok: false, message: `Request ${r.id} is already ${r.state}; it can no longer be denied.` };
    if (!(await this.isApproverOf(r, userId))) return { ok: false, message: `Only approvers of "${r.namespace}" can deny requests; the requester can cancel instead.` };
    return { ok: true, request: r };
  }

  async deny(requestId: string, actor: Actor, reason: string): Promise<ActionOutcome> {
    const t = await this.transition(requestId, async (r) => ({ type: 'deny', actor, actorIsApprover: await this.isApproverOf(r, actor.id), reason }));
    if (!t.ok) return { changed: false, message: t.message, ...(t.request ? { request: t.request } : {}) };
    const r = t.after;
    await this.safely(`cancel the timers of ${r.id}`, () => this.deps.queues.cancelTimers(r.id));
    await this.refreshMessage(r, { decision: { actorId: actor.id, reason: t.event.reason ?? reason } });
    await this.deps.notifier.tellRequester(r, { kind: 'denied', approverId: actor.id, reason: t.event.reason ?? reason });
    return { changed: true, request: r, message: `You denied ${r.id}; the requester has been told why.` };
  }

  /** Retry a failed request (approvers only): back to provisioning with a fresh job. */
  async retry(requestId: string, actor: Actor): Promise<ActionOutcome> {
    const t = await this.transition(requestId, async (r) => {
      if (!(await this.isApproverOf(r, actor.id))) return { refuse: `Only approvers of "${r.namespace}" can retry a failed request.` };
      // the frozen plan runs again only if the policy as it is now still allows it
      if (r.state === 'failed') {
        const allowed = recheckAccess({ policy: this.deps.policy, access: accessOf(r), requesterGroups: await this.groupsOf(r.requester.id), action: 'retry' });
        if (!allowed.ok) return { refuse: allowed.error.message };
      }
      return { type: 'retry', actor, actorIsApprover: true };
    });
    if (!t.ok) return { changed: false, message: t.message, ...(t.request ? { request: t.request } : {}) };
    const r = t.after;
    const retries = (await this.deps.store.history(r.id)).filter((e) => e.from === 'failed' && e.to === 'provisioning').length;
    await this.refreshMessage(r);
    try {
      await this.deps.queues.enqueueProvision(r.id, r.kind, { retry: Math.max(1, retries), requester: r.requester.id });
    } catch (e) {
      this.deps.logger.error(`retry of ${r.id} could not be queued: ${errorText(e)}`);
      return { changed: true, request: r, message: `Retry of ${r.id} recorded, but wid-bot could not queue it: ${errorText(e)}.` };
    }
    return { changed: true, request: r, message: `Retrying ${r.id}.` };
  }

  /** The expiry timer fired: a still-pending request expires, its message says so and the requester is told. */
  async expire(requestId: string): Promise<void> {
    // the delayed job fires at expiresAt by its own clock; a few milliseconds of skew must not keep the request alive
    const t = await this.transition(
      requestId,
      async (r) => (r.state === 'pending' ? { type: 'expire' } : { refuse: 'not pending' }),
      (r) => new Date(Math.max(this.now().getTime(), Date.parse(r.expiresAt))),
    );
    if (!t.ok) return;
    await this.refreshMessage(t.after, { decision: { actorId: SYSTEM_ACTOR.id, reason: t.event.reason ?? 'no decision in time' } });
    await this.deps.notifier.tellRequester(t.after, { kind: 'expired' });
  }

  /** The reminder timer fired: ping the approvers in the approval message's thread. */
  async remind(requestId: string): Promise<void> {
    const r = await this.deps.store.get(requestId);
    if (!r || r.state !== 'pending' || !r.slack?.ts) return;
    const ns = findNamespace(this.deps.policy, r.namespace);
    const users = [...new Set([...(ns?.approvers.users ?? []), ...this.deps.policy.approvers.users])].filter((u) => u !== r.requester.id);
    const groups = [...new Set([...(ns?.approvers.groups ?? []), ...this.deps.policy.approvers.groups])];
    await this.deps.notifier.remindApprovers(r, { users, groups });
  }

  async get(requestId: string): Promise<WidRequest | undefined> {
    return this.deps.store.get(requestId);
  }

  async history(requestId: string): Promise<TransitionEvent[]> {
    return this.deps.store.history(requestId);
  }

  /** My open requests, and for approvers the pending requests they may approve (not their own, not already approved by them). */
  async overview(userId: string): Promise<{ mine: WidRequest[]; waitingOnMe?: WidRequest[] }> {
    const mine = (await this.deps.store.listByRequester(userId, 100)).filter((r) => OPEN_STATES.includes(r.state));
    if (!(await this.isAnyApprover(userId))) return { mine };
    const groups = await this.groupsOf(userId);
    const waitingOnMe = (await this.deps.store.listPending(200)).filter(
      (r) => r.state === 'pending' && r.requester.id !== userId && !r.approvals.some((a) => a.actor.id === userId) && isApprover(this.deps.policy, r.namespace, userId, groups),
    );
    return { mine, waitingOnMe };
  }

  /** Re-render the approval message from the request (best effort: the request record is the truth). */
  async refreshMessage(r: WidRequest, opts: { decision?: Decision } = {}): Promise<void> {
    await this.deps.notifier.refreshApproval(r, opts.decision);
  }

  private async safely(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.deps.logger.warn(`could not ${what}: ${errorText(e)}`);
    }
  }
}
