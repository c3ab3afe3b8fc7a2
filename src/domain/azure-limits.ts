/**
 * Azure's documented request limits (2025), which wid-bot keeps to by default: Azure Resource Manager's token
 * buckets per subscription (or tenant) and principal, and Managed Identity's limit on creating user-assigned
 * identities per subscription and region (80 per 20 s, a bucket of 80 refilled at 4/s).
 */

/** A token bucket: `burst` calls back to back, then `perSecond`. */
export interface RateBucket {
  burst: number;
  perSecond: number;
}

export interface AzureLimits {
  reads: RateBucket;
  writes: RateBucket;
  deletes: RateBucket;
  identityCreates: RateBucket;
}

/** Frozen, buckets too: they are shared by every pacer, so none may loosen them for the others. */
export const AZURE_LIMITS: Readonly<AzureLimits> = Object.freeze({
  reads: Object.freeze({ burst: 250, perSecond: 25 }),
  writes: Object.freeze({ burst: 200, perSecond: 10 }),
  deletes: Object.freeze({ burst: 200, perSecond: 10 }),
  identityCreates: Object.freeze({ burst: 80, perSecond: 4 }),
});
