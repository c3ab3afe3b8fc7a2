/**
 * ARM throttling: a token bucket per subscription per operation class. The documented limit the
 * emulator reproduces is user-assigned identity create/update, 2 per second per subscription.
 */

export type OperationClass = 'identityWrite' | 'ficWrite' | 'roleAssignmentWrite' | 'read';

export interface BucketLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many calls may pass back to back. */
  burst: number;
}

/** Per class: a limit, or `false` for none. Missing classes keep their defaults. */
export type ThrottleLimits = Partial<Record<OperationClass, BucketLimit | false>>;

export const DEFAULT_THROTTLE_LIMITS: Readonly<Record<OperationClass, BucketLimit | false>> = {
  identityWrite: { perSecond: 2, burst: 2 },
  ficWrite: { perSecond: 20, burst: 20 },
  roleAssignmentWrite: { perSecond: 20, burst: 20 },
  read: false,
};

export interface OperationStats {
  allowed: number;
  throttled: number;
}

export interface ThrottleStats {
  throttled: number;
  byOperation: Record<OperationClass, OperationStats>;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterSeconds: number; limit: BucketLimit };

interface Bucket {
  tokens: number;
  at: number;
}

const CLASSES: OperationClass[] = ['identityWrite', 'ficWrite', 'roleAssignmentWrite', 'read'];

export class Throttle {
  private limits: Record<OperationClass, BucketLimit | false>;
  private readonly buckets = new Map<string, Bucket>();
  private readonly counters = Object.fromEntries(CLASSES.map((c) => [c, { allowed: 0, throttled: 0 }])) as Record<OperationClass, OperationStats>;

  constructor(limits: ThrottleLimits | false = {}) {
    this.limits = Throttle.resolve(limits);
  }

  private static resolve(limits: ThrottleLimits | false): Record<OperationClass, BucketLimit | false> {
    if (limits === false) return { identityWrite: false, ficWrite: false, roleAssignmentWrite: false, read: false };
    return { ...DEFAULT_THROTTLE_LIMITS, ...limits };
  }

  /** Replace the limits (`false` turns throttling off) and start every bucket full. */
  setLimits(limits: ThrottleLimits | false): void {
    this.limits = Throttle.resolve(limits);
    this.buckets.clear();
  }

  take(op: OperationClass, subscriptionId: string, now = Date.now()): TakeResult {
    const limit = this.limits[op];
    const counter = this.counters[op];
    if (!limit) {
      counter.allowed += 1;
      return { ok: true };
    }
    const key = `${op}|${subscriptionId.toLowerCase()}`;
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + ((now - b.at) / 1000) * limit.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      counter.allowed += 1;
      return { ok: true };
    }
    counter.throttled += 1;
    const waitSeconds = (1 - b.tokens) / limit.perSecond;
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)), limit };
  }

  stats(): ThrottleStats {
    const byOperation = Object.fromEntries(CLASSES.map((c) => [c, { ...this.counters[c] }])) as Record<OperationClass, OperationStats>;
    return { throttled: CLASSES.reduce((n, c) => n + this.counters[c].throttled, 0), byOperation };
  }
}

/** `00:00:01` for one second, as ARM writes time intervals in throttling messages. */
export function interval(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}
