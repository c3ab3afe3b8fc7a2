/**
 * The hook the inspection verbs (/wid cluster|list|creds|audit|legacy) call. The composition root wires
 * it to src/inspect, whose Slack renderers return the messages to post.
 */
import type { ViewScope } from '../domain/visibility';
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
  /** What of the answer this person may see (src/domain/visibility.ts); the hook cuts the answer down to it. */
  scope: ViewScope;
}

/** A hook's answer with what the command says about it. */
export interface InspectAnswer {
  messages: SlackMessage[];
  /** The answer reuses a scan that finished this many milliseconds ago. */
  reusedAgeMs?: number;
  /** `audit` scanned afresh: its counts per severity over everything, for the operators' App Home. */
  auditCounts?: Record<string, number>;
  /** The policy cluster the answer is about. */
  cluster?: string;
}

export interface InspectProgress {
  done: number;
  total: number;
  phase: string;
  /** Seconds the rest of the scan will take at the read pace so far, once known. */
  remainingSeconds?: number;
  /** The results so far (what the rest of the scan cannot change), rendered for the user: a summary, then pages. */
  early?: () => SlackMessage[];
}

/**
 * Runs one inspection for `user` and returns the messages to show (cut down to `user.scope`): the first to the
 * user alone (or, with `--share`, in the channel), the rest after it (in its thread when shared). Throw a
 * WidError to have its message shown to the user.
 */
export type InspectHook = (verb: InspectVerb, args: InspectArgs, user: InspectUser, onProgress?: (p: InspectProgress) => void) => Promise<SlackMessage[] | InspectAnswer>;

export type { SlackMessage } from './blocks/text';
