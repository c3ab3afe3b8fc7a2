import fc from 'fast-check';
import { POLL_FRACTION, propagationPause } from '../../../src/provision/pacing';

const pacing = { minMs: 250, maxMs: 5000 };

/** The moments of the tries, from 0, for a wait that never ends, up to `untilMs`. */
function tries(untilMs: number): number[] {
  const at = [0];
  for (let t = 0; t < untilMs; ) {
    t += propagationPause(t, pacing);
    at.push(t);
  }
  return at;
}

describe('propagationPause: the pause between two looks at a wait that ends on its own', () => {
  test('stays within [min, max] and is 5 % of the time waited in between', () => {
    expect(propagationPause(0, pacing)).toBe(250);
    expect(propagationPause(20_000, pacing)).toBe(1000);
    expect(propagationPause(600_000, pacing)).toBe(5000);
    expect(propagationPause(-5, pacing)).toBe(250);
  });

  test('whenever the wait ends, the next try comes at most max(min, 5 % of it) later, capped at max', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300_000 }), (endsAt) => {
        const next = tries(endsAt + 10_000).find((t) => t >= endsAt) as number;
        const allowed = Math.min(pacing.maxMs, Math.max(pacing.minMs, (endsAt + pacing.maxMs) * POLL_FRACTION));
        expect(next - endsAt).toBeLessThanOrEqual(allowed + 1e-6);
      }),
    );
  });

  test('a two-minute wait costs fewer than 100 tries, and a 6 s wait is overshot by at most 300 ms', () => {
    expect(tries(120_000).length).toBeLessThan(100);
    const afterSix = tries(6000).find((t) => t >= 6000) as number;
    expect(afterSix - 6000).toBeLessThanOrEqual(300);
  });

  test('a minimum above the maximum wins (a misconfiguration never polls faster than asked)', () => {
    expect(propagationPause(1_000_000, { minMs: 800, maxMs: 100 })).toBe(800);
  });
});
