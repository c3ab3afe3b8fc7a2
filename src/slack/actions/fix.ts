/**
 * The Request and Revoke buttons on /wid audit and /wid legacy findings (src/slack/blocks/fix-buttons.ts):
 * Request opens the request form prefilled with the ServiceAccount; Revoke (confirmed in Slack's dialog) asks
 * for a revoke request, which waits for an approver like any other. Neither changes anything by itself.
 */
import type { App, BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import type { RequestService } from '../../app/requests';
import { requestOptionsFor } from '../../domain/policy';
import type { RedisRequestStore } from '../../store';
import { parseFixButtonValue } from '../blocks/fix-buttons';
import { nothingToRequestModal, requestModal } from '../blocks/modals';
import type { SlackMessage } from '../blocks/text';
import { submitAnswer } from '../commands/wid';
import { claimOnce } from '../deliveries';
import { ACTION } from '../ids';
import { errorText, type SlackLogger } from '../logger';
import { buttonClick, tellClicker } from './click';

export interface FixActionDeps {
  service: RequestService;
  store: RedisRequestStore;
  logger: SlackLogger;
}

function tellMessage(respond: RespondFn, msg: SlackMessage): Promise<unknown> {
  return respond({ response_type: 'ephemeral', replace_original: false, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
}

export function registerFixActions(app: App, deps: FixActionDeps): void {
  const { service, store, logger } = deps;

  app.action<BlockAction<ButtonAction>>(ACTION.fixRequest, async ({ ack, body, respond, client }) => {
    await ack();
    const c = buttonClick(body);
    const target = parseFixButtonValue(c.value);
    if (!target || target.action !== 'request' || !target.namespace) {
      return void (await tellClicker(respond, 'This Request button carries no ServiceAccount; run /wid audit again.').catch(() => undefined));
    }
    // the trigger id is valid for 3 s: the form opens before anything else
    try {
      const options = requestOptionsFor(service.policy, c.actor.id, await service.groupsOf(c.actor.id));
      const channel = body.channel?.id ?? '';
      const view = options.namespaces.length === 0 ? nothingToRequestModal() : requestModal(options, { channel }, { namespace: target.namespace, ...(target.serviceAccount ? { serviceAccount: target.serviceAccount } : {}) });
      await client.views.open({ trigger_id: body.trigger_id, view });
      if (options.namespaces.length > 0 && !options.namespaces.some((n) => n.name === target.namespace)) {
        await tellClicker(respond, `The policy does not let you request access in "${target.namespace}", so the form starts empty; ask a requester of "${target.namespace}" to request it.`).catch(() => undefined);
      }
    } catch (e) {
      logger.warn(`opening the prefilled request form failed: ${errorText(e)}`);
      await tellClicker(respond, `wid-bot could not open the request form (${errorText(e)}). Type it instead: /wid request ${target.namespace} ${target.serviceAccount ?? '<serviceaccount>'} <role…>`).catch(() => undefined);
    }
  });

  app.action<BlockAction<ButtonAction>>(ACTION.fixRevoke, async ({ ack, body, respond }) => {
    await ack();
    const c = buttonClick(body);
    if (!(await claimOnce(store, c.key, logger))) return;
    const target = parseFixButtonValue(c.value);
    if (!target || target.action !== 'revoke') return void (await tellClicker(respond, 'This Revoke button carries no ServiceAccount; run /wid audit again.').catch(() => undefined));
    try {
      let { namespace, serviceAccount } = target;
      if ((!namespace || !serviceAccount) && target.requestId) {
        const grant = await service.get(target.requestId);
        if (!grant) return void (await tellClicker(respond, `There is no request ${target.requestId} any more, so wid-bot cannot tell which ServiceAccount to revoke; use /wid revoke <namespace> <serviceaccount>.`));
        namespace = grant.namespace;
        serviceAccount = grant.serviceAccount;
      }
      if (!namespace || !serviceAccount) return void (await tellClicker(respond, 'This Revoke button names no ServiceAccount; use /wid revoke <namespace> <serviceaccount>.'));
      const outcome = await service.submit(c.actor, { verb: 'revoke', namespace, serviceAccount, cluster: target.cluster, reason: target.requestId ? `repair from /wid audit: grant ${target.requestId}` : 'repair from /wid audit' });
      await tellMessage(respond, submitAnswer(outcome, 'revoke'));
    } catch (e) {
      logger.error(`revoke from a finding failed: ${errorText(e)}`);
      await tellClicker(respond, `Asking for the revoke failed: ${errorText(e)}. Try /wid revoke.`).catch(() => undefined);
    }
  });
}
