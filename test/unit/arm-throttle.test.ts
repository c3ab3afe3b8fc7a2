/**
 * The ARM emulator's token buckets: Azure's documented limits, per subscription and principal, and the
 * identity-create limit per subscription and region. Time is passed in, so these run in microseconds.
 */
import fc from 'fast-check';
import { DEFAULT_THROTTLE_LIMITS, normaliseRegion, remainingHeader, requestKind, scaledLimits, Throttle } from '../emulators/arm/throttle';

const key = (over: Partial<{ subscriptionId: string; principal: string; identityCreateRegion: string }> = {}) => ({ subscriptionId: 'sub-a', principal: 'p-1', ...over });

describe('ARM throttle buckets', () => {
  test('the documented limits: reads 250/25 s⁻¹, writes 200/10, deletes 200/10, identity creates 80/4 (80 per 20 s)', () => {
    expect(DEFAULT_THROTTLE_LIMITS).toEqual({
      read: { burst: 250, perSecond: 25 },
      write: { burst: 200, perSecond: 10 },
      delete: { burst: 200, perSecond: 10 },
      identityCreate: { burst: 80, perSecond: 4 },
    });
  });

  test('kind from the method: GET and HEAD read, DELETE deletes, PUT, PATCH and POST write', () => {
    expect(['GET', 'head', 'DELETE', 'PUT', 'patch', 'POST'].map(requestKind)).toEqual(['read', 'read', 'delete', 'write', 'write', 'write']);
  });

  test('a full read bucket lets exactly 250 through at once, counting the remainder down, then 429 with Retry-After 1', () => {
    const t = new Throttle();
    const remaining: number[] = [];
    for (let i = 0; i < 250; i++) {
      const r = t.take('GET', key(), 1000);
      expect(r.ok).toBe(true);
      remaining.push(r.remaining ?? -1);
    }
    expect(remaining[0]).toBe(249);
    expect(remaining[249]).toBe(0);
    const refused = t.take('GET', key(), 1000);
    expect(refused).toMatchObject({ ok: false, kind: 'read', remaining: 0, retryAfterSeconds: 1, by: 'read' });
    // 40 ms later one token is back (25/s)
    expect(t.take('GET', key(), 1040).ok).toBe(true);
    expect(t.stats().byLimit.read).toEqual({ allowed: 251, throttled: 1 });
  });

  test('buckets are separate per kind, subscription and principal', () => {
    const t = new Throttle({ write: { burst: 1, perSecond: 1 } });
    expect(t.take('PUT', key(), 0).ok).toBe(true);
    expect(t.take('PUT', key(), 0).ok).toBe(false);
    expect(t.take('PUT', key({ principal: 'p-2' }), 0).ok).toBe(true);
    expect(t.take('PUT', key({ subscriptionId: 'sub-b' }), 0).ok).toBe(true);
    expect(t.take('DELETE', key(), 0).ok).toBe(true);
    expect(t.take('GET', key(), 0).ok).toBe(true);
    // case does not make a new bucket
    expect(t.take('PUT', key({ subscriptionId: 'SUB-A', principal: 'P-1' }), 0).ok).toBe(false);
  });

  test('identity creates: 80 per subscription and region at once, then 4/s; updates and other regions are not counted', () => {
    const t = new Throttle();
    for (let i = 0; i < 80; i++) expect(t.take('PUT', key({ identityCreateRegion: 'westeurope' }), 0).ok).toBe(true);
    const refused = t.take('PUT', key({ identityCreateRegion: 'westeurope' }), 0);
    expect(refused).toMatchObject({ ok: false, by: 'identityCreate', retryAfterSeconds: 1 });
    expect(t.take('PUT', key({ identityCreateRegion: 'eastus' }), 0).ok).toBe(true);
    expect(t.take('PUT', key({ principal: 'another', identityCreateRegion: 'westeurope' }), 0).ok).toBe(false);
    expect(t.take('PUT', key(), 0).ok).toBe(true); // an update
    expect(t.take('PUT', key({ identityCreateRegion: 'westeurope' }), 250).ok).toBe(true);
    expect(t.stats().byLimit.identityCreate).toEqual({ allowed: 82, throttled: 2 });
  });

  test('off: nothing is counted against a bucket and no remaining header value is given', () => {
    const t = new Throttle(false);
    for (let i = 0; i < 1000; i++) expect(t.take('PUT', key({ identityCreateRegion: 'westeurope' }), 0)).toEqual({ ok: true, kind: 'write', remaining: undefined });
    expect(t.stats().throttled).toBe(0);
  });

  test('scaled limits keep the buckets and multiply the refill', () => {
    expect(scaledLimits(10)).toEqual({
      read: { burst: 250, perSecond: 250 },
      write: { burst: 200, perSecond: 100 },
      delete: { burst: 200, perSecond: 100 },
      identityCreate: { burst: 80, perSecond: 40 },
    });
    expect(() => scaledLimits(0)).toThrow(RangeError);
    expect(() => new Throttle({ write: { burst: 0, perSecond: 1 } })).toThrow(RangeError);
  });

  test('header names: subscription or tenant, per kind', () => {
    expect(remainingHeader('read', 'sub-a')).toBe('x-ms-ratelimit-remaining-subscription-reads');
    expect(remainingHeader('write', 'sub-a')).toBe('x-ms-ratelimit-remaining-subscription-writes');
    expect(remainingHeader('delete', 'sub-a')).toBe('x-ms-ratelimit-remaining-subscription-deletes');
    expect(remainingHeader('read', 'tenant')).toBe('x-ms-ratelimit-remaining-tenant-reads');
    expect(normaliseRegion('West Europe')).toBe('westeurope');
  });

  test('property: over any schedule, what passes never exceeds burst + rate × elapsed, and a caller that waits Retry-After is let through', () => {
    fc.assert(
      fc.property(
        fc.record({ burst: fc.integer({ min: 1, max: 50 }), perSecond: fc.double({ min: 0.5, max: 50, noNaN: true }) }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 300 }),
        (limit, gaps) => {
          const t = new Throttle({ write: limit });
          let now = 0;
          let passed = 0;
          for (const gap of gaps) {
            now += gap;
            const r = t.take('PATCH', key(), now);
            if (r.ok) {
              passed += 1;
              expect(r.remaining).toBeGreaterThanOrEqual(0);
              expect(r.remaining).toBeLessThanOrEqual(limit.burst - 1);
            } else {
              expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(1);
              expect(t.take('PATCH', key(), now + r.retryAfterSeconds * 1000).ok).toBe(true);
              now += r.retryAfterSeconds * 1000;
              passed += 1;
            }
            expect(passed).toBeLessThanOrEqual(limit.burst + (now / 1000) * limit.perSecond + 1e-6);
          }
        },
      ),
    );
  });

  test('property: calls spaced at exactly 1/rate after the burst are never refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 400 }), (burst, perSecond, n) => {
        const t = new Throttle({ read: { burst, perSecond } });
        for (let i = 0; i < n; i++) {
          const at = i < burst ? 0 : ((i - burst + 1) * 1000) / perSecond;
          expect(t.take('GET', key(), at).ok).toBe(true);
        }
      }),
    );
  });
});
