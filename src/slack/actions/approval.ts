/**
 * Approve, Deny and Retry buttons on the approval message: ack, claim, hand over to the request
 * service, and tell the clicker alone what happened.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { errorMessage } from '../blocks/messages';
import { buttonClick, replyTo, type HomeNotices } from './click';
import { denyModal } from '../blocks/modals';
import { claimOnce } from '../deliveries';
import { ACTION } from '../ids';
import { errorText, type SlackLogger } from '../logger';
import type { RequestService } from '../../app/requests';
import type { RedisRequestStore } from '../../store';

export interface ActionDeps {
  service: RequestService;
  store: RedisRequestStore;
  logger: SlackLogger;
  /** Answers to clicks made in the App Home. */
  home?: HomeNotices;
}

const clicked = (body: BlockAction<ButtonAction>) => {
  const c = buttonClick(body);
  return { ...c, requestId: c.value };
};

export function registerApprovalActions(app: App, deps: ActionDeps): void {
  const { service, store, logger } = deps;

  app.action<BlockAction<ButtonAction>>(ACTION.approve, async ({ ack, body, respond }) => {
    await ack();
    const tell = (_r: unknown, text: string) => replyTo(body, respond, deps.home)(text);
    const c = clicked(body);
    if (!(await claimOnce(store, c.key, logger))) return;
    try {
      const outcome = await service.approve(c.requestId, c.actor);
      await tell(respond, outcome.message);
    } catch (e) {
      logger.error(`approve ${c.requestId} failed: ${errorText(e)}`);
      await tell(respond, errorMessage(`Approving ${c.requestId} failed: ${errorText(e)}. Try again.`).text).catch(() => undefined);
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION.deny, async ({ ack, body, respond, client }) => {
    await ack();
    const tell = (_r: unknown, text: string) => replyTo(body, respond, deps.home)(text);
    const c = clicked(body);
    if (!(await claimOnce(store, c.key, logger))) return;
    try {
      const may = await service.mayDeny(c.requestId, c.actor.id);
      if (!may.ok) return void (await tell(respond, may.message));
      const slack = may.request.slack;
      await client.views.open({
        trigger_id: body.trigger_id,
        view: denyModal({ requestId: c.requestId, channel: slack?.channel ?? body.channel?.id ?? '', ts: slack?.ts ?? body.message?.ts ?? '' }),
      });
    } catch (e) {
      logger.error(`deny ${c.requestId} failed: ${errorText(e)}`);
      await tell(respond, `wid-bot could not open the deny form: ${errorText(e)}. Try again.`).catch(() => undefined);
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION.retry, async ({ ack, body, respond }) => {
    await ack();
    const tell = (_r: unknown, text: string) => replyTo(body, respond, deps.home)(text);
    const c = clicked(body);
    if (!(await claimOnce(store, c.key, logger))) return;
    try {
      const outcome = await service.retry(c.requestId, c.actor);
      await tell(respond, outcome.message);
    } catch (e) {
      logger.error(`retry ${c.requestId} failed: ${errorText(e)}`);
      await tell(respond, `Retrying ${c.requestId} failed: ${errorText(e)}.`).catch(() => undefined);
    }
  });
}
