/**
 * Fairness of the provision queue: a single interactive request never waits behind a batch. Each requester's
 * first few provision jobs within a window go at once, unprioritised (BullMQ takes those before any prioritised
 * job); the ones after them are a batch: prioritised by their position in the requester's line, so two
 * requesters' batches interleave instead of the first one running to its end. A batch job's ARM calls also wait
 * in the token buckets' batch lane, so its waiting writes never hold back an interactive request's.
 */

/** Where a job waits: interactive jobs ahead of every batch job, in the queue and in the ARM buckets. */
export type Lane = 'interactive' | 'batch';

export const FAIRNESS = {
  /** Provision jobs a requester may queue within the window that still count as interactive. */
  interactivePerRequester: 5,
  /** How far back a requester's jobs count (ms). */
  windowMs: 15 * 60_000,
  /** BullMQ's highest priority number (the lowest priority). */
  maxPriority: 2_097_151,
} as const;

export interface QueuePlacement {
  lane: Lane;
  /** BullMQ priority: 0 = unprioritised (taken first), else lower numbers first. */
  priority: number;
}

/**
 * Where the requester's job at `position` (1 = their oldest job still within the window, this one included)
 * goes. Throws RangeError on a position that is not a whole number ≥ 1.
 */
export function placement(position: number, limits: { interactivePerRequester: number } = FAIRNESS): QueuePlacement {
  if (!Number.isInteger(position) || position < 1) throw new RangeError(`A job's position in its requester's line must be a whole number ≥ 1, got ${position}.`);
  if (position <= limits.interactivePerRequester) return { lane: 'interactive', priority: 0 };
  return { lane: 'batch', priority: Math.min(FAIRNESS.maxPriority, position - limits.interactivePerRequester) };
}

/** The lane a job with this BullMQ priority runs in. */
export function laneOfPriority(priority: number | undefined): Lane {
  return priority !== undefined && priority > 0 ? 'batch' : 'interactive';
}
