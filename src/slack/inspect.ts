/**
 * The hook the inspection verbs (/wid cluster|list|creds|audit|legacy) call. The composition root wires
 * it to src/inspect, whose Slack renderers return the messages to post.
 */
import type { SlackMessage } from './blocks/text';

export type InspectVerb = 'cluster' | 'list' | 'creds' | 'audit' | 'legacy';

export interface InspectArgs {
  cluster?: string;
  /** `/wid list <namespace>` only. */
  namespace?: string;
}

export interface InspectUser {
  id: string;
  name?: string;
}

/**
 * Runs one inspection and returns the messages to post: the first goes in the channel (or to the user
 * alone when the channel refuses the bot), the rest as replies in its thread. Throw a WidError to have its
 * message shown to the user.
 */
export interface InspectProgress {
  done: number;
  total: number;
  phase: string;
}

export type InspectHook = (verb: InspectVerb, args: InspectArgs, user: InspectUser, onProgress?: (p: InspectProgress) => void) => Promise<SlackMessage[]>;

export type { SlackMessage } from './blocks/text';
