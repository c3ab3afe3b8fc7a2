/**
 * The deny modal's submission: a reason is required (field error otherwise); the denial itself is an
 * atomic transition made after the ack, and the approver is told the outcome.
 */
import type { App } from '@slack/bolt';
import { infoMessage } from '../blocks/messages';
import type { DenyModalMetadata } from '../blocks/modals';
import { claimOnce } from '../deliveries';
import { CALLBACK, DENY_BLOCK } from '../ids';
import { errorText, type SlackLogger } from '../logger';
import type { RequestService } from '../../app/requests';
import type { RedisRequestStore } from '../../store';
import type { SlackRequestNotifier } from '../request-notifier';
import { inputValue } from './request';

export interface DenyViewDeps {
  service: RequestService;
  notifier: SlackRequestNotifier;
  store: RedisRequestStore;
  logger: SlackLogger;
}

function parseMetadata(text: string): DenyModalMetadata | undefined {
  try {
    const m = JSON.parse(text) as Partial<DenyModalMetadata>;
    return typeof m.requestId === 'string' ? { requestId: m.requestId, channel: m.channel ?? '', ts: m.ts ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

export function registerDenyView(app: App, deps: DenyViewDeps): void {
  const { service, notifier, store, logger } = deps;
  app.view(CALLBACK.denyModal, async ({ ack, body, view, client }) => {
    const reason = inputValue(view.state.values, DENY_BLOCK.reason);
    if (!reason) return void (await ack({ response_action: 'errors', errors: { [DENY_BLOCK.reason]: 'Say why you deny the request; the requester sees the reason.' } }));
    const meta = parseMetadata(view.private_metadata);
    if (!meta) return void (await ack({ response_action: 'errors', errors: { [DENY_BLOCK.reason]: 'This form lost track of its request; close it and press Deny again.' } }));
    await ack();
    if (!(await claimOnce(store, `view:${view.id}:${view.hash}`, logger))) return;
    const actor = { id: body.user.id, ...(body.user.name ? { name: body.user.name } : {}) };
    try {
      const outcome = await service.deny(meta.requestId, actor, reason);
      if (!outcome.changed && meta.channel) {
        const msg = infoMessage(outcome.message);
        await client.chat.postEphemeral({ channel: meta.channel, user: actor.id, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) }).catch(() => notifier.dm(actor.id, msg));
      }
    } catch (e) {
      logger.error(`deny ${meta.requestId} failed: ${errorText(e)}`);
      await notifier.dm(actor.id, infoMessage(`Denying ${meta.requestId} failed: ${errorText(e)}. Press Deny again.`));
    }
  });
}
