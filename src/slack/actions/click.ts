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

/** Where a clicker's answer goes when the click came from the App Home (no response_url there). */
export interface HomeNotices {
  notice(userId: string, text: string): void;
}

/**
 * The answer to a click: below the message for message clicks, at the top of the clicker's Home tab for
 * clicks in the Home tab (Slack sends those without a response_url).
 */
export function replyTo(body: BlockAction<ButtonAction>, respond: RespondFn | undefined, home?: HomeNotices): (text: string) => Promise<unknown> {
  const fromHome = body.container?.type === 'view' && body.view?.type === 'home';
  return async (text: string) => {
    if (fromHome || !respond || !body.response_url) {
      home?.notice(body.user.id, text);
      return;
    }
    return tellClicker(respond, text);
  };
}
