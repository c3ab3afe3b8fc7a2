/**
 * The approval message is updated by two processes: the web side renders "approved" when a grant is approved, and
 * the worker then renders its progress and the result. The job is queued while the "approved" update is still on its
 * way to Slack (one round trip less before provisioning starts), so the two could cross: a late "approved" landing
 * over the worker's progress, or over the result. The gate keeps them in order. The web side marks the update as under
 * way before it queues the job and clears the mark once Slack answered; the worker's progress renderer waits for the
 * mark to clear before its first update of that message. A web process that dies mid-update leaves a mark that
 * expires on its own (ttlMs), so the worker never waits longer than that.
 *
 *   <p>:showing:<id>   string  the approval message of <id> is being updated to "approved" (PX ttlMs)
 */
import type { Redis } from 'ioredis';
import type { StoreKeys } from './keys';

/** How long a mark lives at most: longer than a Slack update with its retries normally takes. */
export const APPROVAL_GATE_TTL_MS = 10_000;
const POLL_MS = 25;

export interface ApprovalGateOptions {
  ttlMs?: number;
  pollMs?: number;
}

export class ApprovalMessageGate {
  private readonly ttlMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Pick<StoreKeys, 'prefix'>,
    opts: ApprovalGateOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? APPROVAL_GATE_TTL_MS;
    this.pollMs = opts.pollMs ?? POLL_MS;
  }

  key(requestId: string): string {
    return `${this.keys.prefix}:showing:${requestId}`;
  }

  /** Marks the approval message of `requestId` as being updated (before the job that will update it next is queued). */
  async hold(requestId: string): Promise<void> {
    await this.redis.set(this.key(requestId), '1', 'PX', this.ttlMs);
  }

  /**
   * The update landed (or failed for good): the worker may render. Resolves with whether the mark was still there;
   * false when it had expired (the worker may have rendered before this update landed) or Redis could not say.
   * Never throws; the mark expires anyway.
   */
  async release(requestId: string): Promise<boolean> {
    const removed = await this.redis.del(this.key(requestId)).catch(() => 0);
    return removed === 1;
  }

  /**
   * Resolves once no update of `requestId`'s approval message is under way: at once when none is marked, when the mark
   * is cleared or expires, or when Redis cannot say (rendering is best effort, never blocked by it).
   */
  async whenShown(requestId: string): Promise<void> {
    const deadline = Date.now() + this.ttlMs;
    for (;;) {
      const marked = await this.redis.exists(this.key(requestId)).catch(() => 0);
      if (marked === 0 || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, Math.min(this.pollMs, Math.max(1, deadline - Date.now()))));
    }
  }
}
