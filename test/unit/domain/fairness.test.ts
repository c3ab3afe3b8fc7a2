import fc from 'fast-check';
import { FAIRNESS, laneOfPriority, placement } from '../../../src/domain/fairness';

describe('provision queue placement', () => {
  test('a requester’s first jobs are interactive (unprioritised); the ones after are a batch, in line order', () => {
    for (let p = 1; p <= FAIRNESS.interactivePerRequester; p++) expect(placement(p)).toEqual({ lane: 'interactive', priority: 0 });
    expect(placement(FAIRNESS.interactivePerRequester + 1)).toEqual({ lane: 'batch', priority: 1 });
    expect(placement(FAIRNESS.interactivePerRequester + 500)).toEqual({ lane: 'batch', priority: 500 });
    expect(placement(10_000_000).priority).toBe(FAIRNESS.maxPriority);
  });

  test('priorities never decrease along a line, stay within BullMQ’s range, and give back the lane', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5_000_000 }), fc.integer({ min: 0, max: 1000 }), (p, d) => {
        const a = placement(p);
        const b = placement(p + d);
        expect(b.priority).toBeGreaterThanOrEqual(a.priority);
        expect(a.priority).toBeGreaterThanOrEqual(0);
        expect(a.priority).toBeLessThanOrEqual(FAIRNESS.maxPriority);
        expect(laneOfPriority(a.priority)).toBe(a.lane);
      }),
    );
  });

  test('two requesters’ batches interleave: equal positions get equal priorities', () => {
    expect(placement(40)).toEqual(placement(40));
  });

  test('a position that is not a whole number ≥ 1 is refused, saying what is expected', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => placement(bad)).toThrow(/whole number ≥ 1/);
  });

  test('no priority, or 0, is interactive', () => {
    expect(laneOfPriority(undefined)).toBe('interactive');
    expect(laneOfPriority(0)).toBe('interactive');
    expect(laneOfPriority(3)).toBe('batch');
  });
});
