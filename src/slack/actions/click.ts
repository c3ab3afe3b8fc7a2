/** What every button listener needs from a click: the button's value, who clicked, and the key that claims it once. */
import type { BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import { infoMessage } from '../blocks/messages';

export interface Click {
  value: string;
  actor: { id: string; name?: string };
  /** Claimed once (Slack redelivers a click it thinks was not acked). */
  key: string;
}

export function buttonClick(body: BlockAction<ButtonAction>): Click {
  const action = body.actions[0];
  return {
    value: action?.value ?? '',
    actor: { id: body.user.id, ...(body.user.name ? { name: body.user.name } : {}) },
    key: `act:${body.trigger_id}:${action?.action_ts ?? ''}`,
  };
}

/** Tells the clicker alone, below the message they clicked. */
export function tellClicker(respond: RespondFn, text: string): Promise<unknown> {
  const msg = infoMessage(text);
  return respond({ response_type: 'ephemeral', replace_original: false, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
}
