/**
 * Step 1: the user-assigned managed identity. Created with wid-bot's tags, or reused: an identity
 * wid-bot manages gets any missing tag added; one it does not manage is used as it is, never retagged.
 */
import { TAG_REQUEST_ID } from '../domain/plan';
import { TAG_MANAGED_BY, TAG_MANAGED_BY_VALUE } from '../domain/types';
import type { ProvisionRun } from './context';
import { identityCreateTurn, writeTurn } from './pacing';
import { done, type Step } from './step';

/** Who approved the request, on the identity's tags. */
export const TAG_APPROVER = 'wid-approver';

export function isManagedByWid(tags: Record<string, string> | undefined): boolean {
  return tags?.[TAG_MANAGED_BY] === TAG_MANAGED_BY_VALUE;
}

/** The tags the identity should carry: what it has, the plan's, and the approvers; the creating request's id is kept. */
export function desiredIdentityTags(run: ProvisionRun): Record<string, string> {
  const existing = run.preflight.identity?.tags ?? {};
  const approvers = run.request.approvals.map((a) => a.actor.id).join(',');
  const tags: Record<string, string> = { ...existing, ...run.request.plan.identity.tags, ...(approvers ? { [TAG_APPROVER]: approvers.slice(0, 256) } : {}) };
  if (existing[TAG_REQUEST_ID]) tags[TAG_REQUEST_ID] = existing[TAG_REQUEST_ID];
  return tags;
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export const identityStep: Step = {
  name: 'identity',
  async run(run) {
    const existing = run.preflight.identity;
    const planned = run.request.plan.identity;
    let detail: string;
    if (existing && !isManagedByWid(existing.tags)) {
      run.identity = existing;
      detail = `reused ${existing.id} (not managed by wid-bot: left as it is)`;
    } else {
      const tags = desiredIdentityTags(run);
      if (existing && sameTags(existing.tags, tags)) {
        run.identity = existing;
        detail = `reused ${existing.id}`;
      } else {
        if (existing) await writeTurn(run, planned.subscriptionId);
        else await identityCreateTurn(run, planned.subscriptionId, planned.location);
        run.identity = await run.deps.identities.putIdentity(run.identityRef, planned.location, tags);
        detail = `${existing ? 'updated' : 'created'} ${run.identity.id}`;
      }
    }
    const identity = run.identity;
    const createdByWid = isManagedByWid(existing?.tags) || !existing;
    const patch = {
      identityId: identity.id,
      clientId: identity.clientId,
      principalId: identity.principalId,
      tenantId: identity.tenantId,
      identityCreatedByWid: createdByWid,
    };
    Object.assign(run.resources, patch);
    return done(`${detail} (client id ${identity.clientId})`, patch);
  },
};
