/**
 * Slack's side of `/wid refederate`: the command's answer, the batch message kept up to date, and its buttons
 * (Approve, Deny, Remove old credentials, Retry failed, and Refederate on the audit finding). Listeners ack,
 * claim the delivery once and hand over to the RefederateService.
 */
import type { App, BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { RefederateNotifier, RefederateService } from '../app/refederate';
import type { RefederationBatch } from '../domain/refederate-batch';
import type { Actor } from '../domain/types';
import type { RedisRequestStore } from '../store';
import { buttonClick, tellClicker } from './actions/click';
import { errorMessage, infoMessage, refusalMessage } from './blocks/messages';
import { refederateMessage } from './blocks/refederate';
import { claimOnce } from './deliveries';
import { ACTION } from './ids';
import { errorText, type SlackLogger } from './logger';

export class SlackRefederateNotifier implements RefederateNotifier {
  constructor(
    private readonly client: WebClient,
    private readonly logger?: SlackLogger,
  ) {}

  async post(batch: RefederationBatch, channel: string): Promise<{ channel: string; ts: string }> {
    const m = refederateMessage(batch);
    const posted = await this.client.chat.postMessage({ channel, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}), unfurl_links: false });
    return { channel, ts: String(posted.ts) };
  }

  async update(batch: RefederationBatch): Promise<void> {
    if (!batch.slack?.ts) return;
    const m = refederateMessage(batch);
    try {
      await this.client.chat.update({ channel: batch.slack.channel, ts: batch.slack.ts, text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
    } catch (e) {
      this.logger?.warn(`could not update the message of refederate ${batch.id}: ${errorText(e)}`);
    }
  }
}

/** The answer to `/wid refederate <cluster>`, for the person who asked. */
export async function answerRefederate(service: RefederateService | undefined, respond: RespondFn, user: Actor, cluster: string, reason?: string): Promise<void> {
  const say = (m: { text: string; blocks?: unknown[] }) => respond({ response_type: 'ephemeral', text: m.text, ...(m.blocks ? { blocks: m.blocks as never } : {}) });
  if (!service) return void (await say(infoMessage('Refederate is not configured on this wid-bot.')));
  await say(infoMessage(`:mag: Planning refederate of cluster ${cluster}…`));
  const outcome = await service.submit(user, cluster, reason);
  switch (outcome.kind) {
    case 'created':
      await say(infoMessage(`Refederate ${outcome.batch.id} of cluster ${outcome.batch.cluster} is waiting for approval: ${outcome.batch.plan.items.length} identit${outcome.batch.plan.items.length === 1 ? 'y' : 'ies'} planned.`));
      return;
    case 'busy':
      await say(refusalMessage(outcome.message, 'refederate'));
      return;
    case 'refused':
      await say(refusalMessage(outcome.message, 'refederate'));
      return;
  }
}

export interface RefederateActionDeps {
  refederate?: RefederateService;
  store: RedisRequestStore;
  logger: SlackLogger;
}

export function registerRefederateActions(app: App, deps: RefederateActionDeps): void {
  const handle = (action: string, run: (service: RefederateService, id: string, actor: Actor, respond: RespondFn) => Promise<string>) =>
    app.action<BlockAction<ButtonAction>>(action, async ({ ack, body, respond }) => {
      await ack();
      const c = buttonClick(body);
      if (!(await claimOnce(deps.store, c.key, deps.logger))) return;
      const service = deps.refederate;
      if (!service) return void (await tellClicker(respond, 'Refederate is not configured on this wid-bot.').catch(() => undefined));
      try {
        const message = await run(service, c.value, c.actor, respond);
        if (message) await tellClicker(respond, message);
      } catch (e) {
        deps.logger.error(`${action} ${c.value} failed: ${errorText(e)}`);
        await respond({ response_type: 'ephemeral', replace_original: false, ...errorMessage(`That did not work: ${errorText(e)}. Try again.`) }).catch(() => undefined);
      }
    });
  handle(ACTION.refederateApprove, async (s, id, actor) => (await s.approve(id, actor)).message);
  handle(ACTION.refederateDeny, async (s, id, actor) => (await s.deny(id, actor)).message);
  handle(ACTION.refederateRemoveOld, async (s, id, actor) => (await s.confirmRemoval(id, actor)).message);
  handle(ACTION.refederateRetry, async (s, id, actor) => (await s.retry(id, actor)).message);
  handle(ACTION.refederateStart, async (s, cluster, actor, respond) => {
    await answerRefederate(s, (m) => respond({ ...(m as object), replace_original: false } as never), actor, cluster);
    return '';
  });
}
