/**
 * The request lifecycle's voice in Slack (the RequestNotifier port of src/app/notifier.ts): the approval
 * message posted and kept current, the requester's direct messages, reminders in the approval thread and
 * the break-glass alert. Everything but postApproval is best effort and never throws.
 */
import type { WebClient } from '@slack/web-api';
import type { Audience, Decision, RequestNotifier, RequesterNews } from '../app/notifier';
import type { WidRequest } from '../domain/types';
import { approvalMessage } from './blocks/approval';
import { breakGlassAlert } from './blocks/break-glass';
import { approvedDm, deniedDm, expiredDm, reminderReply } from './blocks/result';
import type { SlackMessage } from './blocks/text';
import { errorText, type SlackLogger } from './logger';

export interface SlackRequestNotifierOptions {
  client: WebClient;
  logger: SlackLogger;
  /** The workspace URL (`https://x.slack.com/`), for links to messages. */
  teamUrl?: () => string | undefined;
}

export class SlackRequestNotifier implements RequestNotifier {
  constructor(private readonly opts: SlackRequestNotifierOptions) {}

  async postApproval(channel: string, r: WidRequest): Promise<{ channel: string; ts: string }> {
    const posted = await this.opts.client.chat.postMessage({ channel, ...approvalMessage(r), unfurl_links: false });
    return { channel, ts: String(posted.ts) };
  }

  async refreshApproval(r: WidRequest, decision?: Decision): Promise<void> {
    if (!r.slack?.ts) return;
    const { channel, ts } = r.slack;
    const msg = approvalMessage(r, decision ? { decision } : {});
    await this.safely(`update the approval message of ${r.id}`, () => this.opts.client.chat.update({ channel, ts, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) }));
  }

  async tellRequester(r: WidRequest, news: RequesterNews): Promise<void> {
    switch (news.kind) {
      case 'approved':
        return this.dm(r.requester.id, approvedDm(r));
      case 'denied':
        return this.dm(r.requester.id, deniedDm(r, news.approverId, news.reason));
      case 'expired':
        return this.dm(r.requester.id, expiredDm(r));
      case 'break-glass':
        return this.dm(r.requester.id, { text: `You approved ${r.id} yourself (break-glass); the approvers have been told.` });
    }
  }

  async remindApprovers(r: WidRequest, who: Audience): Promise<void> {
    const slack = r.slack;
    if (!slack?.ts) return;
    const threadTs = slack.ts;
    const msg = reminderReply(r, who);
    await this.safely(`remind the approvers of ${r.id}`, () =>
      this.opts.client.chat.postMessage({ channel: slack.channel, thread_ts: threadTs, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) }),
    );
  }

  async breakGlassUsed(r: WidRequest, who: Audience): Promise<void> {
    const msg = breakGlassAlert(r, who);
    const slack = r.slack;
    if (slack?.ts) {
      const threadTs = slack.ts;
      await this.safely(`alert the approvals channel of ${r.id}`, () =>
        this.opts.client.chat.postMessage({ channel: slack.channel, thread_ts: threadTs, reply_broadcast: true, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) }),
      );
    }
    for (const u of who.users) if (u !== r.requester.id) await this.dm(u, msg);
  }

  linkTo(r: Pick<WidRequest, 'slack'>): string | undefined {
    const base = this.opts.teamUrl?.();
    if (!r.slack?.ts || !base) return undefined;
    return `${base.replace(/\/+$/, '')}/archives/${r.slack.channel}/p${r.slack.ts.replace('.', '')}`;
  }

  /** A direct message (best effort). */
  async dm(userId: string, msg: SlackMessage): Promise<void> {
    await this.safely(`send a direct message to ${userId}`, async () => {
      const opened = await this.opts.client.conversations.open({ users: userId });
      const channel = opened.channel?.id;
      if (!channel) throw new Error('conversations.open returned no channel');
      await this.opts.client.chat.postMessage({ channel, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
    });
  }

  private async safely(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.opts.logger.warn(`could not ${what}: ${errorText(e)}`);
    }
  }
}
