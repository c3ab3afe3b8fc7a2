/**
 * A grant's life outside the end itself: it begins when its request's provisioning starts; the role
 * assignment step asks what description to write and which lock to hold; people end it early or extend it;
 * a revoke request ends every grant of the ServiceAccount. Used by the worker and the Slack side alike.
 */
import { WidError } from '../domain/errors';
import {
  assignmentKey,
  completeEnd,
  extendGrant,
  isLive,
  newGrant,
  parseAssignmentDescription,
  reminderAt,
  requestEnd,
  sharedDescription,
  type EndRequest,
  type ExtendOutcome,
  type Grant,
} from '../domain/grants';
import { findRole } from '../domain/policy';
import { accessOfGrant, recheckAccess } from '../domain/recheck';
import { AZURE_SCHEDULE_MIN_SECONDS, scheduleJustification } from '../domain/azure-schedule';
import type { RoleAssignment } from '../domain/ports';
import type { AzureScheduleAsk } from '../provision/context';
import type { Actor, Policy, WidRequest } from '../domain/types';
import { serviceAccountLockName } from './context';
import type { GrantQueue } from './queue';
import type { RedisGrantStore } from './store';

export interface GrantServiceDeps {
  grants: RedisGrantStore;
  queue: GrantQueue;
  policy: Policy;
  /** Reminder lead before the end in seconds (0 = none; default 30 min, or 10 % of the duration when shorter). */
  reminderLeadSeconds?: number;
  logger?: { warn(obj: object, msg?: string): void };
  now?: () => Date;
  /** The requester's Slack user groups, to check an extension's requester against the current policy. */
  groupsOf?: (userId: string) => Promise<string[]>;
}

export type GrantActionResult = { ok: true; grant: Grant; message: string } | { ok: false; message: string; grant?: Grant };

export class GrantService {
  constructor(private readonly deps: GrantServiceDeps) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  get store(): RedisGrantStore {
    return this.deps.grants;
  }

  /** Policy settings of the grant's role (by name). */
  roleOf(roleName: string) {
    return findRole(this.deps.policy, roleName);
  }

  /**
   * The grant of a grant request whose provisioning starts: created once (its end counts from the first start),
   * its end and reminder scheduled (idempotent). Returns the grant as stored.
   */
  async begin(request: WidRequest): Promise<Grant | undefined> {
    if (request.kind !== 'grant') return undefined;
    const existing = await this.deps.grants.get(request.id);
    let grant = existing?.grant;
    if (!grant) {
      const role = this.roleOf(request.roleName);
      const made = newGrant({
        request,
        now: this.now(),
        // a break-glass request is capped by its rule even for a role granted for good otherwise
        ...((role?.maxDurationSeconds ?? request.breakGlass?.maxDurationSeconds) !== undefined ? { maxDurationSeconds: role?.maxDurationSeconds ?? request.breakGlass?.maxDurationSeconds } : {}),
        expiry: role?.expiry ?? 'bot',
      });
      if (!made.ok) throw new WidError(made.error.message, 'terminal', made.error.code);
      await this.deps.grants.create(made.value);
      grant = (await this.deps.grants.get(request.id))?.grant ?? made.value;
    }
    if (isLive(grant)) await this.schedule(grant);
    return grant;
  }

  /** The end job and the reminder of a live grant (deterministic ids: scheduling twice is a no-op). */
  async schedule(g: Grant): Promise<void> {
    if (g.endsAt === undefined) return;
    const end = Date.parse(g.endsAt);
    await this.deps.queue.scheduleEnd(g.id, end);
    const remind = reminderAt(g, this.deps.reminderLeadSeconds ?? this.deps.policy.grantReminderSeconds);
    if (remind && remind.getTime() > this.now().getTime()) await this.deps.queue.scheduleReminder(g.id, end, remind.getTime());
  }

  /** What the role-assignment step holds and writes for a grant request (see src/provision/role-assignment.ts). */
  assignmentHook() {
    return {
      lockName: (request: WidRequest) => serviceAccountLockName(request),
      description: (request: WidRequest, existing: RoleAssignment | undefined) => this.descriptionFor(request, existing),
      azureSchedule: (request: WidRequest) => this.azureScheduleFor(request),
    };
  }

  /** For a grant Azure's own schedule ends (expiry: azure): the duration left until its end, and the justification Azure keeps. */
  async azureScheduleFor(request: WidRequest): Promise<AzureScheduleAsk | undefined> {
    const g = (await this.deps.grants.get(request.id))?.grant;
    if (!g || g.expiry !== 'azure' || g.endsAt === undefined) return undefined;
    const key = assignmentKey(g);
    const sharedWith = (await this.deps.grants.openOfServiceAccount(g))
      .filter((o) => o.id !== g.id && o.expiry === 'azure' && isLive(o) && assignmentKey(o) === key)
      .map((o) => ({ id: o.id, ...(o.endsAt ? { endsAt: o.endsAt } : {}) }));
    const durationSeconds = Math.round((Date.parse(g.endsAt) - this.now().getTime()) / 1000);
    if (durationSeconds < AZURE_SCHEDULE_MIN_SECONDS) {
      throw new WidError(
        `Grant ${g.id} has ${durationSeconds}s left, less than the 5 minutes Azure's own schedule lasts at least (the policy sets expiry: azure for "${g.roleName}"). Request it again with --for 5m or more.`,
        'terminal',
        'ActiveDurationTooShort',
      );
    }
    return { durationSeconds, endsAt: g.endsAt, justification: scheduleJustification(g.id, g.endsAt), sharedWith };
  }

  /**
   * The description the assignment should carry now: the latest end among the live grants sharing it. An
   * assignment that existed before, and was not a time-bound one of wid-bot's, is left as it is and the grant
   * marked to keep it at its end (nothing removed that wid-bot did not grant).
   */
  async descriptionFor(request: WidRequest, existing: RoleAssignment | undefined): Promise<string | undefined> {
    const own = (await this.deps.grants.get(request.id))?.grant;
    if (!own) return undefined;
    const open = await this.deps.grants.openOfServiceAccount(own);
    const key = assignmentKey(own);
    const sharers = open.filter((g) => isLive(g) && assignmentKey(g) === key);
    if (existing) {
      const parsed = parseAssignmentDescription(existing.description);
      const ours = parsed && (parsed.endsAt !== undefined || parsed.requestId === own.id || sharers.some((s) => s.id === parsed.requestId));
      const othersLive = sharers.some((s) => s.id !== own.id);
      if (!ours && !othersLive && !own.keepAssignment && own.endsAt !== undefined) {
        await this.deps.grants.update(own.id, (g) => ({ ...g, keepAssignment: true }));
        return existing.description;
      }
      if (own.keepAssignment) return existing.description;
    }
    return sharedDescription(sharers.length ? sharers : [own]);
  }

  /** "I'm done" or a revoke: the grant is ending now; the end job runs at once. */
  async askEnd(grantId: string, e: Omit<EndRequest, 'now'>): Promise<GrantActionResult> {
    const now = this.now();
    const r = await this.deps.grants.update(grantId, (g) => {
      const next = requestEnd(g, { ...e, now });
      return next.ok ? next.value : next.error.message;
    });
    if (!r.ok) return r;
    await this.deps.queue.scheduleEnd(grantId, now.getTime());
    return { ok: true, grant: r.grant, message: `Grant ${grantId} is ending now: wid-bot removes its role assignment and tells you when it is gone.` };
  }

  /**
   * Extend by `extraSeconds`: at once when the policy lets the requester self-extend within the cap, otherwise
   * the caller asks for a new approval (a new grant of the same access, sharing the assignment).
   */
  async extend(grantId: string, actor: Actor, extraSeconds: number, expectedEndsAt?: string): Promise<GrantActionResult | { ok: true; needsApproval: Extract<ExtendOutcome, { kind: 'needs-approval' }>; grant: Grant }> {
    const now = this.now();
    // an extension keeps access only the policy as it is now still allows
    const current = await this.deps.grants.get(grantId);
    if (current) {
      const g = current.grant;
      const groups = this.deps.groupsOf ? await this.deps.groupsOf(g.requester.id) : undefined;
      const allowed = recheckAccess({ policy: this.deps.policy, access: accessOfGrant(g), ...(groups ? { requesterGroups: groups } : {}), action: 'extend' });
      if (!allowed.ok) return { ok: false, message: allowed.error.message, grant: g };
    }
    let outcome: ExtendOutcome | undefined;
    const r = await this.deps.grants.update(grantId, (g) => {
      // the button names the end it was shown with: a second click (or a stale reminder) extends nothing
      if (expectedEndsAt !== undefined && g.endsAt !== undefined && Date.parse(g.endsAt) !== Date.parse(expectedEndsAt)) {
        return `Grant ${grantId} was already extended: it now ends at ${g.endsAt}.`;
      }
      const role = this.roleOf(g.roleName);
      const x = extendGrant(g, { actor, actorIsRequester: actor.id === g.requester.id, extraSeconds, selfExtend: role?.selfExtend === true, now });
      if (!x.ok) return x.error.message;
      outcome = x.value;
      return x.value.kind === 'extended' ? x.value.grant : 'needs-approval';
    });
    if (!r.ok && outcome?.kind === 'needs-approval' && r.grant) return { ok: true, needsApproval: outcome, grant: r.grant };
    if (!r.ok) return r;
    const before = r.before.endsAt ? Date.parse(r.before.endsAt) : undefined;
    await this.schedule(r.grant);
    await this.deps.queue.scheduleDescribe(grantId, Date.parse(r.grant.endsAt as string));
    if (before !== undefined) await this.deps.queue.cancelFor(grantId, before);
    return { ok: true, grant: r.grant, message: `Grant ${grantId} now ends at ${r.grant.endsAt}.` };
  }

  /** A revoke request succeeded: it removed everything wid-bot made for the ServiceAccount, so its grants ended with it. */
  async endByRevokeRequest(revoke: WidRequest): Promise<Grant[]> {
    const now = this.now();
    const open = await this.deps.grants.openOfServiceAccount(revoke);
    const out: Grant[] = [];
    for (const g of open) {
      const r = await this.deps.grants.update(g.id, (cur) => {
        if (cur.state === 'ended') return 'ended';
        const asked = cur.state === 'active' ? requestEnd(cur, { reason: 'revokeRequest', actor: revoke.requester, now }) : { ok: true as const, value: cur };
        if (!asked.ok) return asked.error.message;
        return completeEnd(asked.value, { now, assignmentRemoved: true, notes: [`revoke request ${revoke.id} removed what wid-bot made for ${revoke.namespace}/${revoke.serviceAccount}`] });
      });
      if (r.ok) out.push(r.grant);
    }
    return out;
  }
}
