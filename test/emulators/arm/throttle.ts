/**
 * ARM throttling as Azure documents it (2025): a token bucket per subscription (or tenant), per principal
 * and per kind of request — reads 250 tokens refilled at 25/s, writes 200 at 10/s, deletes 200 at 10/s — and,
 * on top, the Managed Identity provider's limit on creating user-assigned identities: 80 per 20 s per
 * subscription and region (a bucket of 80 refilled at 4/s). A request takes one token from its ARM bucket;
 * an identity create takes one more from the create bucket. Every answer says what is left of its ARM
 * bucket (`x-ms-ratelimit-remaining-subscription-reads|writes|deletes`); an empty bucket answers 429 with
 * `Retry-After` (seconds until a token is back).
 */

/** What ARM counts a request as: GET and HEAD are reads, DELETE a delete, everything else a write. */
export type RequestKind = 'read' | 'write' | 'delete';

/** The route's resource class (for per-class counters; `identityWrite` PUTs are where identity creates happen). */
export type OperationClass = 'identityWrite' | 'ficWrite' | 'roleAssignmentWrite' | 'read';

export interface BucketLimit {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: how many calls may pass back to back. */
  burst: number;
}

export type LimitName = RequestKind | 'identityCreate';

/** Per bucket: a limit, or `false` for none. Missing ones keep the documented defaults. */
export type ThrottleLimits = Partial<Record<LimitName, BucketLimit | false>>;

export const DEFAULT_THROTTLE_LIMITS: Readonly<Record<LimitName, BucketLimit>> = {
  read: { burst: 250, perSecond: 25 },
  write: { burst: 200, perSecond: 10 },
  delete: { burst: 200, perSecond: 10 },
  identityCreate: { burst: 80, perSecond: 4 },
};

/** Refill arithmetic in floating point: a token due exactly now must not be missed by rounding. */
const EPSILON = 1e-9;

const LIMIT_NAMES: LimitName[] = ['read', 'write', 'delete', 'identityCreate'];
const CLASSES: OperationClass[] = ['identityWrite', 'ficWrite', 'roleAssignmentWrite', 'read'];

/** The documented limits with every refill rate multiplied by `factor` (buckets unchanged): time runs `factor` times faster. */
export function scaledLimits(factor: number, base: Readonly<Record<LimitName, BucketLimit>> = DEFAULT_THROTTLE_LIMITS): Record<LimitName, BucketLimit> {
  if (!(factor > 0)) throw new RangeError(`scale factor must be > 0, got ${factor}`);
  return Object.fromEntries(LIMIT_NAMES.map((n) => [n, { burst: base[n].burst, perSecond: base[n].perSecond * factor }])) as Record<LimitName, BucketLimit>;
}

export function requestKind(method: string): RequestKind {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'read';
  if (m === 'DELETE') return 'delete';
  return 'write';
}

export interface OperationStats {
  allowed: number;
  throttled: number;
}

export interface ThrottleStats {
  /** 429s answered, all buckets. */
  throttled: number;
  /** By the route's resource class. */
  byOperation: Record<OperationClass, OperationStats>;
  /** By bucket: the ARM kinds and the identity-create limit. */
  byLimit: Record<LimitName, OperationStats>;
}

/** Who a request counts against. */
export interface ThrottleKey {
  /** Subscription id, or `tenant` for tenant-level requests. */
  subscriptionId: string;
  /** The caller's object id. */
  principal: string;
  /** The route's resource class, for the counters. */
  operation?: OperationClass;
  /** Set for the creation of a user-assigned identity: its region. */
  identityCreateRegion?: string;
}

export type TakeResult =
  | { ok: true; kind: RequestKind; remaining: number | undefined }
  | { ok: false; kind: RequestKind; remaining: number | undefined; retryAfterSeconds: number; limit: BucketLimit; by: LimitName };

interface Bucket {
  tokens: number;
  at: number;
}

function counters<K extends string>(names: K[]): Record<K, OperationStats> {
  return Object.fromEntries(names.map((c) => [c, { allowed: 0, throttled: 0 }])) as Record<K, OperationStats>;
}

export class Throttle {
  private limits: Record<LimitName, BucketLimit | false>;
  private readonly buckets = new Map<string, Bucket>();
  private byOperation = counters(CLASSES);
  private byLimit = counters(LIMIT_NAMES);
  private throttled = 0;

  constructor(limits: ThrottleLimits | false = {}) {
    this.limits = Throttle.resolve(limits);
  }

  private static resolve(limits: ThrottleLimits | false): Record<LimitName, BucketLimit | false> {
    if (limits === false) return { read: false, write: false, delete: false, identityCreate: false };
    for (const [name, l] of Object.entries(limits)) {
      if (l && (!(l.perSecond > 0) || !(l.burst >= 1))) throw new RangeError(`throttle limit ${name}: perSecond must be > 0 and burst ≥ 1, got ${JSON.stringify(l)}`);
    }
    return { ...DEFAULT_THROTTLE_LIMITS, ...limits };
  }

  /** Replace the limits (`false` turns throttling off) and start every bucket full. */
  setLimits(limits: ThrottleLimits | false): void {
    this.limits = Throttle.resolve(limits);
    this.buckets.clear();
  }

  currentLimits(): Readonly<Record<LimitName, BucketLimit | false>> {
    return { ...this.limits };
  }

  /** The bucket `key` refilled up to `now` (full when first seen). */
  private bucket(key: string, limit: BucketLimit, now: number): Bucket {
    const b = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    b.tokens = Math.min(limit.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * limit.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  private refuse(kind: RequestKind, remaining: number | undefined, b: Bucket, limit: LimitName, l: BucketLimit, op: OperationClass | undefined): TakeResult {
    this.throttled += 1;
    this.byLimit[limit].throttled += 1;
    if (op) this.byOperation[op].throttled += 1;
    const waitSeconds = (1 - b.tokens) / l.perSecond;
    return { ok: false, kind, remaining, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)), limit: l, by: limit };
  }

  /**
   * Counts one request: one token from the ARM bucket of its kind (subscription or tenant, principal), and for an
   * identity create one more from the create bucket (subscription, region). `remaining` is what the ARM bucket has
   * left, whole tokens (undefined when that kind is not throttled).
   */
  take(method: string, key: ThrottleKey, now = Date.now()): TakeResult {
    const kind = requestKind(method);
    const op = key.operation;
    const arm = this.limits[kind];
    let remaining: number | undefined;
    if (arm) {
      const b = this.bucket(`${kind}|${key.subscriptionId.toLowerCase()}|${key.principal.toLowerCase()}`, arm, now);
      if (b.tokens < 1 - EPSILON) return this.refuse(kind, 0, b, kind, arm, op);
      b.tokens -= 1;
      remaining = Math.max(0, Math.floor(b.tokens + EPSILON));
    }
    this.byLimit[kind].allowed += 1;
    const create = this.limits.identityCreate;
    if (key.identityCreateRegion !== undefined && create) {
      const b = this.bucket(`identityCreate|${key.subscriptionId.toLowerCase()}|${normaliseRegion(key.identityCreateRegion)}`, create, now);
      if (b.tokens < 1 - EPSILON) return this.refuse(kind, remaining, b, 'identityCreate', create, op);
      b.tokens -= 1;
      this.byLimit.identityCreate.allowed += 1;
    }
    if (op) this.byOperation[op].allowed += 1;
    return { ok: true, kind, remaining };
  }

  stats(): ThrottleStats {
    const copy = <K extends string>(r: Record<K, OperationStats>): Record<K, OperationStats> =>
      Object.fromEntries(Object.entries<OperationStats>(r).map(([k, v]) => [k, { ...v }])) as Record<K, OperationStats>;
    return { throttled: this.throttled, byOperation: copy(this.byOperation), byLimit: copy(this.byLimit) };
  }
}

/** `West Europe` and `westeurope` are one region. */
export function normaliseRegion(region: string): string {
  return region.toLowerCase().replace(/\s+/g, '');
}

/** The header that tells what is left: `x-ms-ratelimit-remaining-subscription-reads`, `…-tenant-writes`, … */
export function remainingHeader(kind: RequestKind, subscriptionId: string): string {
  return `x-ms-ratelimit-remaining-${subscriptionId === 'tenant' ? 'tenant' : 'subscription'}-${kind}s`;
}

/** `00:00:01` for one second, as ARM writes time intervals in throttling messages. */
export function interval(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}
