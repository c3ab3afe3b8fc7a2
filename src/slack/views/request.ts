/**
 * The request modal's submission: fields are checked before the ack so problems come back as field
 * errors in the modal; the request itself is made after the ack and confirmed to the user alone.
 */
import type { App, ViewOutput } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { parseDuration, type RequestCommand } from '../../domain/grammar';
import type { RequestModalMetadata } from '../blocks/modals';
import type { SlackMessage } from '../blocks/text';
import { submitAnswer } from '../commands/wid';
import { claimOnce } from '../deliveries';
import { CALLBACK, INPUT_ACTION, REQUEST_BLOCK } from '../ids';
import { errorText, type SlackLogger } from '../logger';
import type { RequestService } from '../../app/requests';
import type { RedisRequestStore } from '../../store';
import type { SlackRequestNotifier } from '../request-notifier';

export interface RequestViewDeps {
  service: RequestService;
  notifier: SlackRequestNotifier;
  store: RedisRequestStore;
  logger: SlackLogger;
}

type Values = ViewOutput['state']['values'];

/** The value of one input block, whatever its element (text input or select). */
export function inputValue(values: Values, blockId: string): string | undefined {
  const el = values[blockId]?.[INPUT_ACTION];
  const v = el?.selected_option?.value ?? el?.value ?? undefined;
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

/** Which modal block a refusal's field belongs to. */
const FIELD_BLOCK: Record<string, string> = {
  namespace: REQUEST_BLOCK.namespace,
  serviceAccount: REQUEST_BLOCK.serviceAccount,
  roleName: REQUEST_BLOCK.role,
  scope: REQUEST_BLOCK.scope,
  durationSeconds: REQUEST_BLOCK.duration,
  reason: REQUEST_BLOCK.reason,
};

/** Read the form into a command, or field errors keyed by block id. */
export function readRequestForm(values: Values): { ok: true; command: RequestCommand } | { ok: false; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const namespace = inputValue(values, REQUEST_BLOCK.namespace);
  const serviceAccount = inputValue(values, REQUEST_BLOCK.serviceAccount);
  const roleName = inputValue(values, REQUEST_BLOCK.role);
  const scope = inputValue(values, REQUEST_BLOCK.scope);
  const durationText = inputValue(values, REQUEST_BLOCK.duration);
  const reason = inputValue(values, REQUEST_BLOCK.reason);
  if (!namespace) errors[REQUEST_BLOCK.namespace] = 'Choose a namespace.';
  if (!serviceAccount) errors[REQUEST_BLOCK.serviceAccount] = 'Give the ServiceAccount your pods run as.';
  if (!roleName) errors[REQUEST_BLOCK.role] = 'Choose a role.';
  if (!reason) errors[REQUEST_BLOCK.reason] = 'Say why you need it; approvers read this.';
  let durationSeconds: number | undefined;
  if (durationText) {
    const d = parseDuration(durationText);
    if (d.ok) durationSeconds = d.value;
    else errors[REQUEST_BLOCK.duration] = d.error.message;
  }
  if (Object.keys(errors).length > 0 || !namespace || !serviceAccount || !roleName) return { ok: false, errors };
  return {
    ok: true,
    command: {
      verb: 'request',
      namespace,
      serviceAccount,
      roleName,
      ...(scope ? { scope } : {}),
      ...(reason ? { reason } : {}),
      ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    },
  };
}

function parseMetadata(text: string): RequestModalMetadata | undefined {
  try {
    const m = JSON.parse(text) as Partial<RequestModalMetadata>;
    return typeof m.channel === 'string' ? { channel: m.channel } : undefined;
  } catch {
    return undefined;
  }
}

async function tellUser(client: WebClient, notifier: SlackRequestNotifier, channel: string | undefined, userId: string, msg: SlackMessage): Promise<void> {
  if (channel) {
    try {
      await client.chat.postEphemeral({ channel, user: userId, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
      return;
    } catch {
      // the channel may not take ephemerals from the bot: fall back to a DM
    }
  }
  await notifier.dm(userId, msg);
}

export function registerRequestView(app: App, deps: RequestViewDeps): void {
  const { service, notifier, store, logger } = deps;
  app.view(CALLBACK.requestModal, async ({ ack, body, view, client }) => {
    const form = readRequestForm(view.state.values);
    const user = { id: body.user.id, ...(body.user.name ? { name: body.user.name } : {}) };
    if (!form.ok) return void (await ack({ response_action: 'errors', errors: form.errors }));
    let refusal;
    try {
      refusal = await service.check(user, form.command);
    } catch (e) {
      return void (await ack({ response_action: 'errors', errors: { [REQUEST_BLOCK.reason]: `wid-bot could not check the request: ${errorText(e)}` } }));
    }
    if (refusal) {
      const block = (refusal.field && FIELD_BLOCK[refusal.field]) || REQUEST_BLOCK.namespace;
      const present = JSON.stringify(view.blocks).includes(`"${block}"`) ? block : REQUEST_BLOCK.namespace;
      return void (await ack({ response_action: 'errors', errors: { [present]: refusal.message.slice(0, 2000) } }));
    }
    await ack();
    if (!(await claimOnce(store, `view:${view.id}:${view.hash}`, logger))) return;
    const meta = parseMetadata(view.private_metadata);
    const outcome = await service.submit(user, form.command);
    await tellUser(client, notifier, meta?.channel, user.id, submitAnswer(outcome, 'request'));
  });
}
