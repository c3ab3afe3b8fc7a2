/**
 * What the request lifecycle needs from the chat it talks through: the port the service declares and
 * src/slack/request-notifier.ts implements. The service decides what happened; the notifier only says it.
 * Everything except postApproval is best effort: it never throws (the request record is the truth).
 */
import type { TransitionEvent, WidRequest } from '../domain/types';

/** Who decided a closed request, and why (shown on the approval message). */
export interface Decision {
  actorId: string;
  reason?: string;
}

/** What the requester is told directly. */
export type RequesterNews =
  | { kind: 'approved' }
  | { kind: 'denied'; approverId: string; reason: string }
  | { kind: 'expired' }
  | { kind: 'break-glass'; reason: string };

/** The approvers a reminder or an alert speaks to. */
export interface Audience {
  users: string[];
  groups: string[];
}

export interface RequestNotifier {
  /** Posts the approval message of a new request in `channel`; throws when it cannot (the request is then not created). */
  postApproval(channel: string, r: WidRequest): Promise<{ channel: string; ts: string }>;
  /** Re-renders the approval message from the request. */
  refreshApproval(r: WidRequest, decision?: Decision): Promise<void>;
  /** Tells the requester what happened to their request. */
  tellRequester(r: WidRequest, news: RequesterNews): Promise<void>;
  /** Pings the approvers under the approval message. */
  remindApprovers(r: WidRequest, who: Audience): Promise<void>;
  /** A self-approved (break-glass) request: the approvers hear at once, with a way to take it back. */
  breakGlassUsed(r: WidRequest, who: Audience): Promise<void>;
  /** A link to the approval message, when the chat has one. */
  linkTo(r: Pick<WidRequest, 'slack'>): string | undefined;
}

/** Someone's view of the requests changed (the App Home listens); called after every transition, never throws. */
export type ChangeListener = (after: WidRequest, event: TransitionEvent) => void;

/** Which policy user groups a person is in (Slack user groups behind it). */
export interface GroupDirectory {
  groupsOf(userId: string): Promise<string[]>;
}

/** The logging the service needs; pino loggers and `console` both fit. */
export interface ServiceLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}
