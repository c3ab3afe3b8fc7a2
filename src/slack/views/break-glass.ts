/**
 * Break-glass in Slack: the Break glass button (shown only when the policy enables it) opens the reason form;
 * its submission hands over to the request service, which re-checks the policy, so a forged click or form is
 * refused with the reason.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { RequestService } from '../../app/requests';
import { breakGlassRule } from '../../domain/break-glass';
import type { RedisRequestStore } from '../../store';
import { buttonClick, replyTo, type HomeNotices } from '../actions/click';
import { infoMessage } from '../blocks/messages';
import { breakGlassModal } from '../blocks/break-glass';
import { claimOnce } from '../deliveries';
import { ACTION, BREAK_GLASS_BLOCK, CALLBACK } from '../ids';
import { errorText, type SlackLogger } from '../logger';
import type { SlackRequestNotifier } from '../request-notifier';
import { inputValue } from './request';

export interface BreakGlassDeps {
  service: RequestService;
  notifier: SlackRequestNotifier;
  store: RedisRequestStore;
  logger: SlackLogger;
  home?: HomeNotices;
}

function requestIdOf(metadata: string): string | undefined {
  try {
    const m = JSON.parse(metadata) as { requestId?: unknown };
    return typeof m.requestId === 'string' ? m.requestId : undefined;
  } catch {
    return undefined;
  }
}

export function registerBreakGlass(app: App, deps: BreakGlassDeps): void {
  const { service, notifier, store, logger } = deps;

  app.action<BlockAction<ButtonAction>>(ACTION.breakGlass, async ({ ack, body, respond, client }) => {
    await ack();
    const c = buttonClick(body);
    const tell = replyTo(body, respond, deps.home);
    // the trigger_id is valid for 3 s: open the form before anything slow
    try {
      const r = await service.get(c.value);
      if (!r) return void (await tell(`There is no request ${c.value}.`));
      if (r.requester.id !== c.actor.id) return void (await tell(`Only the requester can break glass on ${r.id}.`));
      const rule = breakGlassRule(service.policy, r);
      if (!rule || r.state !== 'pending') return void (await tell(r.state !== 'pending' ? `Request ${r.id} is already ${r.state}.` : `Break-glass is not enabled for "${r.roleName}" in "${r.namespace}"; the request needs an approver.`));
      await client.views.open({ trigger_id: body.trigger_id, view: breakGlassModal(r, rule.maxDurationSeconds) });
    } catch (e) {
      logger.warn(`break-glass form for ${c.value}: ${errorText(e)}`);
      await tell(`wid-bot could not open the break-glass form: ${errorText(e)}. Try again.`).catch(() => undefined);
    }
  });

  app.view(CALLBACK.breakGlassModal, async ({ ack, body, view }) => {
    const reason = inputValue(view.state.values, BREAK_GLASS_BLOCK.reason);
    if (!reason) return void (await ack({ response_action: 'errors', errors: { [BREAK_GLASS_BLOCK.reason]: 'Say why you need the access now; break-glass needs a reason, and the approvers see it.' } }));
    const requestId = requestIdOf(view.private_metadata);
    if (!requestId) return void (await ack({ response_action: 'errors', errors: { [BREAK_GLASS_BLOCK.reason]: 'This form lost track of its request; close it and press Break glass again.' } }));
    const actor = { id: body.user.id, ...(body.user.name ? { name: body.user.name } : {}) };
    let outcome;
    try {
      outcome = await service.breakGlass(requestId, actor, reason);
    } catch (e) {
      return void (await ack({ response_action: 'errors', errors: { [BREAK_GLASS_BLOCK.reason]: `wid-bot could not approve the request: ${errorText(e)}. Try again.` } }));
    }
    if (!outcome.changed) return void (await ack({ response_action: 'errors', errors: { [BREAK_GLASS_BLOCK.reason]: outcome.message.slice(0, 2000) } }));
    await ack();
    if (!(await claimOnce(store, `view:${view.id}:${view.hash}`, logger))) return;
    await notifier.dm(actor.id, infoMessage(outcome.message));
  });
}
