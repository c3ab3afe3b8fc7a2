/**
 * The grants' voice in Slack (the worker's GrantNotifier): the approval message updated when a grant ends (by
 * whom, why) with a thread reply, the requester's DMs (reminder with Extend / I'm done, the end), and the loud
 * report of an end that kept failing (requester, approvers, approvals channel). Never throws.
 */
import type { WebClient } from '@slack/web-api';
import type { Grant } from '../domain/grants';
import { findNamespace } from '../domain/policy';
import type { Policy, WidRequest } from '../domain/types';
import type { GrantNotifier } from '../grants/context';
import type { RedisRequestStore } from '../store';
import { approvalMessage } from './blocks/approval';
import { grantEndedBlocks, grantEndedDm, grantEndFailedMessage, grantReminderDm } from './blocks/grants';
import type { SlackMessage } from './blocks/text';
import { errorText, silentLogger, type SlackLogger } from './logger';

export interface SlackGrantNotifierOptions {
  client: WebClient;
  store: Pick<RedisRequestStore, 'get'>;
  policy: Policy;
  logger?: SlackLogger;
  now?: () => Date;
}

export class SlackGrantNotifier implements GrantNotifier {
  private readonly logger: SlackLogger;

  constructor(private readonly opts: SlackGrantNotifierOptions) {
    this.logger = opts.logger ?? silentLogger;
  }

  async ended(g: Grant): Promise<void> {
    const request = await this.opts.store.get(g.id).catch(() => undefined);
    const slack = request?.slack ?? g.slack;
    if (request && slack?.ts) {
      const base = approvalMessage(request);
      await this.safely('update the approval message', () =>
        this.opts.client.chat.update({ channel: slack.channel, ts: slack.ts as string, text: base.text, blocks: [...(base.blocks ?? []), ...grantEndedBlocks(g)].slice(0, 50) }),
      );
      await this.post(slack.channel, grantEndedDm(g), slack.ts);
    }
    await this.dm(g.requester.id, grantEndedDm(g));
  }

  async endFailed(g: Grant, message: string): Promise<void> {
    const msg = grantEndFailedMessage(g, message);
    const request = await this.opts.store.get(g.id).catch(() => undefined);
    const channel = request?.slack?.channel ?? g.slack?.channel ?? this.approvalsChannel(request);
    if (channel) await this.post(channel, msg);
    for (const u of new Set([g.requester.id, ...g.approvers])) await this.dm(u, msg);
  }

  async remind(g: Grant): Promise<void> {
    await this.dm(g.requester.id, grantReminderDm(g, this.opts.now?.() ?? new Date()));
  }

  private approvalsChannel(r: WidRequest | undefined): string | undefined {
    if (!r) return this.opts.policy.approvalsChannel;
    return findNamespace(this.opts.policy, r.namespace)?.approvalsChannel ?? this.opts.policy.approvalsChannel;
  }

  private async post(channel: string, msg: SlackMessage, threadTs?: string): Promise<void> {
    await this.safely(`post in ${channel}`, () =>
      this.opts.client.chat.postMessage({ channel, ...(threadTs ? { thread_ts: threadTs } : {}), text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}), unfurl_links: false }),
    );
  }

  private async dm(userId: string, msg: SlackMessage): Promise<void> {
    await this.safely(`send a direct message to ${userId}`, async () => {
      const opened = await this.opts.client.conversations.open({ users: userId });
      if (!opened.channel?.id) throw new Error('conversations.open returned no channel');
      await this.opts.client.chat.postMessage({ channel: opened.channel.id, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
    });
  }

  private async safely(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.logger.warn(`could not ${what}: ${errorText(e)}`);
    }
  }
}
