/**
 * The App Home's listeners: app_home_opened publishes the person's home; Previous / Next page its lists;
 * Withdraw (in the home, and on the requester's confirmation) takes a pending request back. Approve, Deny,
 * Retry, Extend and I'm done in the home are the channel buttons' own listeners (src/slack/actions/).
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { RequestService } from '../../app/requests';
import type { RedisRequestStore } from '../../store';
import { buttonClick, replyTo } from '../actions/click';
import { claimOnce } from '../deliveries';
import { ACTION } from '../ids';
import { errorText, type SlackLogger } from '../logger';
import { parsePageValue } from './blocks';
import type { HomeService } from './service';

export interface HomeListenerDeps {
  service: RequestService;
  store: RedisRequestStore;
  logger: SlackLogger;
  home: HomeService;
}

export function registerHome(app: App, deps: HomeListenerDeps): void {
  const { home, service, store, logger } = deps;

  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    await home.opened(event.user).catch((e: unknown) => logger.warn(`app_home_opened for ${event.user}: ${errorText(e)}`));
  });

  const turnPage = async ({ ack, body }: { ack: () => Promise<void>; body: BlockAction<ButtonAction> }) => {
    await ack();
    const target = parsePageValue(body.actions[0]?.value ?? '');
    if (!target) return;
    home.turnPage(body.user.id, target.list, target.page);
  };
  app.action<BlockAction<ButtonAction>>(ACTION.homePage, turnPage);
  app.action<BlockAction<ButtonAction>>(ACTION.homePageBack, turnPage);

  app.action<BlockAction<ButtonAction>>(ACTION.homeRunAudit, async ({ ack, body }) => {
    await ack();
    await home.runAudit(body.user.id).catch((e: unknown) => logger.warn(`run audit for ${body.user.id}: ${errorText(e)}`));
  });

  app.action<BlockAction<ButtonAction>>(ACTION.withdraw, async ({ ack, body, respond }) => {
    await ack();
    const c = buttonClick(body);
    const tell = replyTo(body, respond, home);
    if (!(await claimOnce(store, c.key, logger))) return;
    try {
      const outcome = await service.withdraw(c.value, c.actor);
      await tell(outcome.message);
    } catch (e) {
      logger.error(`withdraw ${c.value} failed: ${errorText(e)}`);
      await tell(`Withdrawing ${c.value} failed: ${errorText(e)}. Try again.`).catch(() => undefined);
    }
  });
}
