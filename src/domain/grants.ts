/**
 * Time-bound grants. Pure: no I/O. A grant is the access one succeeded grant request gave a ServiceAccount:
 * one role at one scope, until `endsAt` (or without an end for roles the policy grants for good).
 *
 *   active → ending → ended;   ending → endFailed (the removal kept failing) → ending (retried)
 *
 * A grant ends by expiry, by the requester's early "I'm done", by an approver's or operator's revoke, or by a
 * later revoke request. Two grants of the same role at the same scope for the same ServiceAccount share one
 * Azure role assignment (its name is deterministic): it goes only when the last of them ends, so the later
 * end wins and an earlier grant's expiry never removes a later grant's access.
 */
import { ok, refuse, type Result } from './errors';
import { formatDuration } from './grammar';
import { normaliseScope } from './names';
import type { Actor, WidRequest } from './types';

export type GrantState = 'active' | 'ending' | 'ended' | 'endFailed';
export type GrantEndReason = 'expired' | 'done' | 'revoked' | 'revokeRequest';
/** Who removes the assignment at the end: wid-bot itself, or Azure's own schedule (roleAssignmentScheduleRequests). */
export type GrantExpiry = 'bot' | 'azure';

export const END_REASON_TEXT: Record<GrantEndReason, string> = {
  expired: 'its time ran out',
  done: 'the requester said they were done',
  revoked: 'revoked by an approver or operator',
  revokeRequest: 'a revoke request was approved',
};

export interface GrantExtension {
  actor: Actor;
  at: string;
  from: string;
  to: string;
}

export interface GrantEnd {
  reason: GrantEndReason;
  actor: Actor;
  /** When the end was asked for (for an expiry: the time the end was noticed). */
  requestedAt: string;
  /** When the end was complete. */
  endedAt?: string;
  /** True when this grant's end removed the role assignment; false when another grant still needed it, or it was gone already. */
  assignmentRemoved?: boolean;
  /** What the end did, in a sentence per step. */
  notes?: string[];
  /** Set just before the removal is sent, so a run resumed after a crash knows the assignment it finds gone was its own. */
  removing?: boolean;
  /** For a grant under Azure's own schedule (expiry: azure): who took the assignment away. */
  removedBy?: 'azure' | 'wid-bot';
  /** A multi-cluster grant: the other clusters whose credential and annotation this end removed, and those kept for another grant. */
  clusters?: { removed: string[]; kept: string[] };
  /** The release that followed (identity, credential, annotation), once it ran. */
  release?: { at: string; detail: string };
}

export interface Grant {
  /** The grant request's id (one grant per request). */
  id: string;
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleName: string;
  /** Normalised ARM scope. */
  scope: string;
  requester: Actor;
  /** Slack ids of the people who approved the request. */
  approvers: string[];
  /** When the request was (last) approved: the base of the policy's cap. */
  approvedAt: string;
  /** When the grant began (provisioning started). */
  startedAt: string;
  /** Undefined for a grant without an end. */
  endsAt?: string;
  /** The policy's cap for the role when the grant was made, in seconds. */
  maxDurationSeconds?: number;
  expiry: GrantExpiry;
  state: GrantState;
  /**
   * True when the role assignment existed before this grant and was not wid-bot's time-bound one (granted for
   * good by wid-bot, or by hand under the same name): the end must leave it.
   */
  keepAssignment?: boolean;
  extensions: GrantExtension[];
  end?: GrantEnd;
  /** The last failed attempt at ending, shown loudly once retries are used up. */
  failure?: { message: string; at: string; attempts: number };
  /** Where the approval message lives, to update it when the grant ends. */
  slack?: { channel: string; ts?: string };
  /** `--cluster a,b`: the clusters after the first that the grant federated (their credentials go at its end). */
  alsoClusters?: string[];
  /** Set when the requester approved it themselves under the policy's break-glass rule (the audit marks it). */
  breakGlass?: { reason: string; at: string };
  updatedAt: string;
}

/** Live grants hold their access; `ending` and `endFailed` ones want it gone. */
export function isLive(g: Grant): boolean {
  return g.state === 'active';
}

/** `cluster/namespace/serviceaccount`, case-folded: the grants of one ServiceAccount. */
export function serviceAccountKey(g: { clusterName: string; namespace: string; serviceAccount: string }): string {
  return [g.clusterName, g.namespace, g.serviceAccount].map((s) => s.trim().toLowerCase()).join('/');
}

/** Grants with the same key share one Azure role assignment. */
export function assignmentKey(g: { clusterName: string; namespace: string; serviceAccount: string; roleName: string; scope: string }): string {
  return `${serviceAccountKey(g)}|${g.roleName.trim().toLowerCase().replace(/\s+/g, ' ')}|${normaliseScope(g.scope)}`;
}

// ───────────────────────────── making a grant ─────────────────────────────

export interface NewGrantInput {
  request: WidRequest;
  now: Date;
  maxDurationSeconds?: number;
  expiry?: GrantExpiry;
}

/** The grant a grant request starts when its provisioning starts; the end counts from now. */
export function newGrant(input: NewGrantInput): Result<Grant> {
  const { request: r, now } = input;
  if (r.kind !== 'grant') return refuse('not-a-grant', `Request ${r.id} is a ${r.kind}; only grant requests start grants.`);
  const approvedAt = [...r.approvals].map((a) => a.at).sort().at(-1) ?? r.updatedAt;
  const d = r.durationSeconds;
  if (d !== undefined) {
    const bad = checkDuration(d, input.maxDurationSeconds, r.roleName);
    if (bad) return { ok: false, error: bad };
  }
  const at = now.toISOString();
  return ok({
    id: r.id,
    clusterName: r.clusterName,
    namespace: r.namespace,
    serviceAccount: r.serviceAccount,
    roleName: r.roleName,
    scope: normaliseScope(r.scope),
    requester: r.requester,
    approvers: r.approvals.map((a) => a.actor.id),
    approvedAt,
    startedAt: at,
    ...(d !== undefined ? { endsAt: new Date(now.getTime() + d * 1000).toISOString() } : {}),
    ...(input.maxDurationSeconds !== undefined ? { maxDurationSeconds: input.maxDurationSeconds } : {}),
    expiry: input.expiry ?? 'bot',
    state: 'active',
    extensions: [],
    ...(r.slack ? { slack: r.slack } : {}),
    ...(r.plan.alsoClusters?.length ? { alsoClusters: r.plan.alsoClusters.map((c) => c.cluster.name) } : {}),
    ...(r.breakGlass ? { breakGlass: { reason: r.breakGlass.reason, at: r.breakGlass.at } } : {}),
    updatedAt: at,
  });
}

/** Why a duration cannot be granted, or undefined when it can. */
export function checkDuration(seconds: number, maxDurationSeconds: number | undefined, roleName: string): { code: string; message: string; field: string } | undefined {
  if (!Number.isFinite(seconds) || !Number.isInteger(seconds) || seconds <= 0) {
    return { code: 'bad-duration', message: `A grant must last at least a second; got ${seconds}. Use e.g. --for 30m or --for 8h.`, field: 'durationSeconds' };
  }
  if (maxDurationSeconds === undefined) {
    return { code: 'duration-not-allowed', message: `"${roleName}" is granted without an end date in this policy, so --for does not apply; leave it out.`, field: 'durationSeconds' };
  }
  if (seconds > maxDurationSeconds) {
    return {
      code: 'duration-too-long',
      message: `--for ${formatDuration(seconds)} is longer than the ${formatDuration(maxDurationSeconds)} the policy allows for "${roleName}".`,
      field: 'durationSeconds',
    };
  }
  return undefined;
}

// ───────────────────────────── the description Azure keeps ─────────────────────────────

const DESCRIPTION = /^wid-bot ([A-Za-z0-9_-]{1,100})(?:; ends (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z))?$/;

/** `wid-bot <request id>; ends <ISO time>`: the end written into Azure with the assignment, so no Redis loss can forget it. */
export function assignmentDescription(requestId: string, endsAt?: string): string {
  return endsAt ? `wid-bot ${requestId}; ends ${new Date(endsAt).toISOString()}` : `wid-bot ${requestId}`;
}

/** The request id and end a description names, or undefined when wid-bot did not write it. */
export function parseAssignmentDescription(text: string | undefined | null): { requestId: string; endsAt?: string } | undefined {
  if (!text) return undefined;
  const m = DESCRIPTION.exec(text.trim());
  if (!m || !m[1]) return undefined;
  if (m[2] === undefined) return { requestId: m[1] };
  const t = Date.parse(m[2]);
  if (!Number.isFinite(t)) return undefined;
  return { requestId: m[1], endsAt: new Date(t).toISOString() };
}

/**
 * The description a shared assignment should carry: the end of the grant that ends last, or no end while any
 * sharing grant has none (or keeps an assignment that predates it). Undefined when no live grant shares it.
 */
export function sharedDescription(sharers: readonly Grant[]): string | undefined {
  const live = sharers.filter(isLive);
  if (live.length === 0) return undefined;
  const forGood = live.find((g) => g.endsAt === undefined || g.keepAssignment);
  if (forGood) return forGood.keepAssignment ? undefined : assignmentDescription(forGood.id);
  const last = [...live].sort((a, b) => Date.parse(b.endsAt as string) - Date.parse(a.endsAt as string) || a.id.localeCompare(b.id))[0] as Grant;
  return assignmentDescription(last.id, last.endsAt);
}

// ───────────────────────────── ending ─────────────────────────────

export interface EndRequest {
  reason: GrantEndReason;
  actor: Actor;
  /** For `done`: the actor is the grant's requester. */
  actorIsRequester?: boolean;
  /** For `done` and `revoked`: the actor approves this namespace (or is an operator). */
  actorIsApprover?: boolean;
  now: Date;
}

/** active (or endFailed) → ending, with who and why; refuses what must not end it. */
export function requestEnd(g: Grant, e: EndRequest): Result<Grant> {
  if (g.state === 'ended') {
    const how = g.end ? ` (${END_REASON_TEXT[g.end.reason]}${g.end.endedAt ? `, ${g.end.endedAt}` : ''})` : '';
    return refuse('grant-ended', `The grant ${g.id} has already ended${how}; there is nothing left to end.`);
  }
  if (g.state === 'ending' && e.reason !== 'expired') return refuse('grant-ending', `The grant ${g.id} is already ending (${g.end ? END_REASON_TEXT[g.end.reason] : 'in progress'}).`);
  if (e.reason === 'done' && !e.actorIsRequester && !e.actorIsApprover) {
    return refuse('not-allowed', `Only the requester (<@${g.requester.id}>) or an approver of "${g.namespace}" can end grant ${g.id} early.`);
  }
  if (e.reason === 'revoked' && !e.actorIsApprover) return refuse('not-allowed', `Only approvers of "${g.namespace}" or an operator can revoke grant ${g.id}.`);
  if (e.reason === 'expired' && !isDue(g, e.now)) {
    return refuse('not-due', `The grant ${g.id} ends at ${g.endsAt ?? 'no set time'}, not yet.`);
  }
  if (g.state === 'ending') return ok(g); // resuming an end already asked for
  const at = e.now.toISOString();
  const { failure: _failure, ...rest } = g;
  return ok({ ...rest, state: 'ending', end: g.end && g.state === 'endFailed' ? g.end : { reason: e.reason, actor: e.actor, requestedAt: at }, updatedAt: at });
}

export function isDue(g: Grant, now: Date): boolean {
  return g.endsAt !== undefined && Date.parse(g.endsAt) <= now.getTime();
}

export interface EndDecision {
  /** Remove this grant's role assignment (false: another live grant needs it, or it predates the grant). */
  removeAssignment: boolean;
  /** Rewrite the shared assignment's description to this (the remaining grants' latest end). */
  rewriteDescription?: string;
  /** The assignment stays for the remaining grants: the latest of their ends (undefined when one has none). */
  remainingEndsAt?: string;
  /** No other live grant of the ServiceAccount remains: its identity, credential and annotation may go too. */
  releaseIdentity: boolean;
  why: string;
}

/** What ending `g` removes, given the other grants of the same ServiceAccount. */
export function decideEnd(g: Grant, othersOfServiceAccount: readonly Grant[]): EndDecision {
  const others = othersOfServiceAccount.filter((o) => o.id !== g.id && isLive(o));
  const key = assignmentKey(g);
  const sharers = others.filter((o) => assignmentKey(o) === key);
  const releaseIdentity = others.length === 0;
  if (g.keepAssignment) return { removeAssignment: false, releaseIdentity: false, why: `the role assignment existed before grant ${g.id} and was not its own, so it stays` };
  if (sharers.length > 0) {
    const rewrite = sharedDescription(sharers);
    const ends = sharers.map((o) => (o.endsAt === undefined || o.keepAssignment ? Number.NaN : Date.parse(o.endsAt)));
    const remaining = ends.some(Number.isNaN) ? undefined : Math.max(...ends);
    return {
      removeAssignment: false,
      ...(rewrite ? { rewriteDescription: rewrite } : {}),
      ...(remaining !== undefined ? { remainingEndsAt: new Date(remaining).toISOString() } : {}),
      releaseIdentity: false,
      why: `grant${sharers.length > 1 ? 's' : ''} ${sharers.map((s) => s.id).join(', ')} still need${sharers.length > 1 ? '' : 's'} the same role assignment, so it stays`,
    };
  }
  return { removeAssignment: true, releaseIdentity, why: releaseIdentity ? 'no other grant of the ServiceAccount remains' : `other grants of the ServiceAccount remain (${others.map((o) => o.id).join(', ')})` };
}

/** ending → ended. */
export function completeEnd(g: Grant, done: { now: Date; assignmentRemoved: boolean; notes: string[]; removedBy?: 'azure' | 'wid-bot'; clusters?: { removed: string[]; kept: string[] } }): Grant {
  const at = done.now.toISOString();
  const end: GrantEnd = {
    ...(g.end ?? { reason: 'expired', actor: { id: 'system' }, requestedAt: at }),
    endedAt: at,
    assignmentRemoved: done.assignmentRemoved,
    notes: done.notes,
    ...(done.removedBy ? { removedBy: done.removedBy } : {}),
    ...(done.clusters ? { clusters: done.clusters } : {}),
  };
  const { failure: _f, ...rest } = g;
  return { ...rest, state: 'ended', end, updatedAt: at };
}

/** ending → endFailed: shown loudly; the reconciler keeps trying. */
export function failEnd(g: Grant, f: { now: Date; message: string; attempts: number }): Grant {
  const at = f.now.toISOString();
  return { ...g, state: 'endFailed', failure: { message: f.message, at, attempts: f.attempts }, updatedAt: at };
}

// ───────────────────────────── extending ─────────────────────────────

export interface ExtendInput {
  actor: Actor;
  actorIsRequester: boolean;
  /** How much longer, in seconds. */
  extraSeconds: number;
  /** The policy lets the requester extend within maxDuration without a new approval. */
  selfExtend: boolean;
  now: Date;
}

export type ExtendOutcome = { kind: 'extended'; grant: Grant } | { kind: 'needs-approval'; durationSeconds: number; why: string };

/**
 * Extend an active grant. Within the policy's cap from the original approval and with self-extension allowed,
 * the end moves at once; otherwise a new approval is needed (a new grant of the same access, which shares the
 * assignment: the later end wins).
 */
export function extendGrant(g: Grant, e: ExtendInput): Result<ExtendOutcome> {
  if (!isLive(g)) return refuse('grant-not-active', `The grant ${g.id} is ${g.state}; only an active grant can be extended. Make a new request instead.`);
  if (g.endsAt === undefined) return refuse('grant-has-no-end', `The grant ${g.id} has no end, so there is nothing to extend.`);
  if (!e.actorIsRequester) return refuse('not-allowed', `Only the requester (<@${g.requester.id}>) can extend grant ${g.id}.`);
  if (!Number.isInteger(e.extraSeconds) || e.extraSeconds <= 0) return refuse('bad-duration', `An extension must be at least a second; got ${e.extraSeconds}.`, 'durationSeconds');
  if (g.maxDurationSeconds === undefined) return refuse('duration-not-allowed', `"${g.roleName}" has no maxDuration in the policy, so its grants cannot be extended.`);
  if (g.expiry === 'azure') {
    return refuse('azure-schedule', `Azure's own schedule ends grant ${g.id} at ${g.endsAt} (the policy sets expiry: azure for "${g.roleName}"), and wid-bot does not move it. Request the access again once this grant has ended.`);
  }
  const now = e.now.getTime();
  const from = Math.max(now, Date.parse(g.endsAt));
  const to = from + e.extraSeconds * 1000;
  const cap = Date.parse(g.approvedAt) + g.maxDurationSeconds * 1000;
  const fresh = Math.ceil((to - now) / 1000);
  if (fresh > g.maxDurationSeconds) {
    return refuse(
      'duration-too-long',
      `Extending by ${formatDuration(e.extraSeconds)} would leave ${formatDuration(fresh)} from now, longer than the ${formatDuration(g.maxDurationSeconds)} the policy allows for "${g.roleName}" at all.`,
      'durationSeconds',
    );
  }
  if (!e.selfExtend || to > cap) {
    const why = !e.selfExtend
      ? `the policy asks for a new approval to extend "${g.roleName}"`
      : `the new end would pass the ${formatDuration(g.maxDurationSeconds)} cap counted from the approval at ${g.approvedAt}`;
    return ok({ kind: 'needs-approval', durationSeconds: fresh, why });
  }
  const at = e.now.toISOString();
  const toIso = new Date(to).toISOString();
  return ok({ kind: 'extended', grant: { ...g, endsAt: toIso, extensions: [...g.extensions, { actor: e.actor, at, from: g.endsAt, to: toIso }], updatedAt: at } });
}

// ───────────────────────────── reminders ─────────────────────────────

/** Default lead of the reminder before the end. */
export const DEFAULT_GRANT_REMINDER_SECONDS = 30 * 60;

/** When to remind the requester: `lead` before the end, or 10 % of the duration when that is shorter; undefined for no end. */
export function reminderAt(g: Pick<Grant, 'startedAt' | 'endsAt'>, leadSeconds: number = DEFAULT_GRANT_REMINDER_SECONDS): Date | undefined {
  if (g.endsAt === undefined || leadSeconds <= 0) return undefined;
  const end = Date.parse(g.endsAt);
  const duration = end - Date.parse(g.startedAt);
  const lead = Math.min(leadSeconds * 1000, duration * 0.1);
  return new Date(Math.round(end - lead));
}

/** `2h 14m left`, `ended 3m ago`: the countdown next to a Slack date. */
export function countdown(endsAt: string, now: Date): string {
  const ms = Date.parse(endsAt) - now.getTime();
  const abs = Math.abs(ms);
  const mins = Math.round(abs / 60_000);
  const text = mins >= 60 * 24 ? `${Math.floor(mins / 1440)}d ${Math.floor((mins % 1440) / 60)}h` : mins >= 60 ? `${Math.floor(mins / 60)}h ${mins % 60}m` : mins >= 1 ? `${mins}m` : 'less than a minute';
  return ms >= 0 ? `${text} left` : `ended ${text} ago`;
}

/** What people must know: tokens already issued keep the role until they expire. */
export const TOKEN_VALIDITY_NOTE =
  'Tokens Azure already issued keep working until they expire (up to about 24 h for managed identities); removing the role stops new tokens from carrying it.';
