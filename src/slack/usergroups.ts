/**
 * Slack user-group membership for the groups the policy names, via usergroups.users.list, cached
 * briefly so a burst of clicks costs one call per group.
 */
import type { WebClient } from '@slack/web-api';
import type { Policy } from '../domain/types';
import type { SlackLogger } from './logger';

export const GROUP_CACHE_TTL_MS = 60_000;

/** Every user-group id the policy mentions (requesters and approvers). */
export function policyGroupIds(policy: Policy): string[] {
  const ids = new Set<string>(policy.approvers.groups);
  for (const ns of policy.namespaces) {
    for (const g of [...ns.requesters.groups, ...ns.approvers.groups]) ids.add(g);
  }
  return [...ids];
}

interface Entry {
  at: number;
  members: Promise<Set<string>>;
}

export class UserGroups {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly client: WebClient,
    private readonly groupIds: () => readonly string[],
    private readonly logger: SlackLogger,
    private readonly ttlMs = GROUP_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The policy's groups this user belongs to. A group Slack cannot list counts as not containing the user. */
  async groupsOf(userId: string): Promise<string[]> {
    const ids = this.groupIds();
    const memberships = await Promise.all(ids.map(async (g) => ((await this.members(g)).has(userId) ? g : undefined)));
    return memberships.filter((g): g is string => g !== undefined);
  }

  /** The members of one user group (cached like groupsOf; empty when Slack cannot list it). */
  async membersOf(groupId: string): Promise<string[]> {
    return [...(await this.members(groupId))];
  }

  private members(groupId: string): Promise<Set<string>> {
    const hit = this.cache.get(groupId);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.members;
    const members = this.client.usergroups.users
      .list({ usergroup: groupId })
      .then((r) => new Set(r.users ?? []))
      .catch((e: unknown) => {
        this.logger.warn(`Slack did not list the members of user group ${groupId}: ${e instanceof Error ? e.message : String(e)}; treating it as empty.`);
        return new Set<string>();
      });
    this.cache.set(groupId, { at: this.now(), members });
    return members;
  }
}
