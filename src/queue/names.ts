/**
 * The one source of truth for wid-bot's queues and what their jobs carry. Jobs carry ids only (never secrets
 * or plans): the worker reads everything else from the request store.
 */
import { TerminalError } from '../domain/errors';

export const PROVISION_QUEUE = 'wid-provision';
export const TIMERS_QUEUE = 'wid-timers';
/** Grant ends, reminders and description updates (src/grants/queue.ts). */
export const GRANTS_QUEUE = 'wid-grants';
/** `/wid refederate` batches: their writes and verification, and the removal of old credentials (src/app/refederate.ts). */
export const REFEDERATE_QUEUE = 'wid-refederate';
export type WidQueueName = typeof PROVISION_QUEUE | typeof TIMERS_QUEUE | typeof GRANTS_QUEUE | typeof REFEDERATE_QUEUE;

export type ProvisionAction = 'grant' | 'revoke' | 'migrate' | 'federate';
export interface ProvisionJobData {
  requestId: string;
  action: ProvisionAction;
}

export type TimerKind = 'expire' | 'remind';
export interface TimerJobData {
  requestId: string;
  kind: TimerKind;
}

/** BullMQ refuses custom job ids that are integers or contain `:`; request ids must satisfy that. */
function checkedId(requestId: string): string {
  if (!requestId || requestId.includes(':') || `${parseInt(requestId, 10)}` === requestId) {
    throw new TerminalError(`Request id ${JSON.stringify(requestId)} cannot be a job id: it must be non-empty, not an integer, and contain no ':'.`, 'BadJobId');
  }
  return requestId;
}

const RETRY_MARK = '-retry-';

/**
 * The provision job id: the request id for the first run, so approving twice queues one job.
 * BullMQ keeps a finished job (and refuses its id) until it is removed, so a retry after a failure
 * needs a fresh id: `<requestId>-retry-<n>` for the n-th retry (n ≥ 1).
 */
export function provisionJobId(requestId: string, retry = 0): string {
  checkedId(requestId);
  if (!Number.isInteger(retry) || retry < 0) throw new TerminalError(`Retry number must be a whole number ≥ 0, got ${retry}.`, 'BadJobId');
  return retry === 0 ? requestId : `${requestId}${RETRY_MARK}${retry}`;
}

/** The request id and retry number a provision job id stands for. */
export function parseProvisionJobId(jobId: string): { requestId: string; retry: number } {
  const i = jobId.lastIndexOf(RETRY_MARK);
  if (i > 0) {
    const n = Number(jobId.slice(i + RETRY_MARK.length));
    if (Number.isInteger(n) && n > 0) return { requestId: jobId.slice(0, i), retry: n };
  }
  return { requestId: jobId, retry: 0 };
}

/** Deterministic, so scheduling a timer twice is a no-op. */
export function timerJobId(requestId: string, kind: TimerKind): string {
  return `${kind}-${checkedId(requestId)}`;
}
