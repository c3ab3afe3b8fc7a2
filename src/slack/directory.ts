/** Slack's user directory for `wid policy check`: users.info and usergroups.users.list through the Web API. */
import type { WebClient } from '@slack/web-api';
import type { SlackDirectory } from '../app/policy-check';

function slackErrorCode(e: unknown): string | undefined {
  const data = (e as { data?: { error?: unknown } } | null)?.data;
  return typeof data?.error === 'string' ? data.error : undefined;
}

export function slackDirectory(client: WebClient): SlackDirectory {
  return {
    async user(id) {
      try {
        const r = await client.users.info({ user: id });
        const u = r.user;
        if (!u) return undefined;
        return { deleted: u.deleted === true, isBot: u.is_bot === true, ...(u.name ? { name: u.name } : {}) };
      } catch (e) {
        if (slackErrorCode(e) === 'user_not_found') return undefined;
        throw e;
      }
    },
    async usergroupMembers(id) {
      try {
        const r = await client.usergroups.users.list({ usergroup: id });
        return [...(r.users ?? [])];
      } catch (e) {
        if (slackErrorCode(e) === 'no_such_subteam') return undefined;
        throw e;
      }
    },
  };
}
