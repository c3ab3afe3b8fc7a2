import fc from 'fast-check';
import { estimateText, readsPerSecond, remainingSeconds, secondsText, trimSamples } from '../../../src/domain/scan-estimate';

describe('the estimate of a scan\'s time left', () => {
  it('says the time left in seconds, then minutes and seconds', () => {
    expect(estimateText(48.4)).toBe('about 48 s left');
    expect(estimateText(65)).toBe('about 1 min 05 s left');
    expect(estimateText(3599.6)).toBe('about 60 min 00 s left');
    expect(estimateText(0.4)).toBe('finishing');
    expect(estimateText(undefined)).toBe('estimating the time left');
    expect(estimateText(Number.NaN)).toBe('estimating the time left');
    expect(secondsText(0)).toBe('under 1 s');
  });

  it('is the remaining reads over the refill pace: 1,750 reads at 25/s take 70 s', () => {
    expect(remainingSeconds(1750, 25)).toBe(70);
    expect(estimateText(remainingSeconds(1750, 25))).toBe('about 1 min 10 s left');
    expect(remainingSeconds(0, undefined)).toBe(0);
    expect(remainingSeconds(10, 0)).toBeUndefined();
    expect(remainingSeconds(10, undefined)).toBeUndefined();
  });

  it('measures the pace over the last seconds, not the burst at the start', () => {
    // 250 reads in the first 200 ms (the bucket's burst), then 25 per second
    const samples = [{ at: 0, done: 0 }, { at: 200, done: 250 }];
    for (let s = 1; s <= 20; s++) samples.push({ at: 200 + s * 1000, done: 250 + s * 25 });
    const kept = trimSamples(samples, 5000);
    expect(kept[0]?.at).toBeGreaterThan(200);
    expect(readsPerSecond(kept)).toBeCloseTo(25, 5);
    // over everything the burst would make the pace look 2× faster
    expect(readsPerSecond(samples)).toBeGreaterThan(35);
  });

  it('has no pace before two samples apart in time', () => {
    expect(readsPerSecond([])).toBeUndefined();
    expect(readsPerSecond([{ at: 5, done: 3 }])).toBeUndefined();
    expect(readsPerSecond([{ at: 5, done: 3 }, { at: 5, done: 9 }])).toBeUndefined();
  });

  it('keeps the newest sample and never more than the window plus one older sample', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 3000 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 10_000 }), (gaps, windowMs) => {
        let at = 0;
        const samples = gaps.map((g, i) => ({ at: (at += g), done: i }));
        const kept = trimSamples(samples, windowMs);
        const last = samples[samples.length - 1];
        expect(kept[kept.length - 1]).toEqual(last);
        expect(kept.slice(1).every((s) => (last as { at: number }).at - s.at <= windowMs)).toBe(true);
      }),
    );
  });
});

describe('the estimate at its boundaries', () => {
  it('keeps exactly the samples within the window of the newest, plus the one just before them', () => {
    const samples = Array.from({ length: 11 }, (_, i) => ({ at: i * 1000, done: i * 10 }));
    // 10 000 − 5 000 is still within a 5 s window, so 5 000 is kept, and 4 000 as the one older sample
    expect(trimSamples(samples, 5000).map((s) => s.at)).toEqual([4000, 5000, 6000, 7000, 8000, 9000, 10000]);
    expect(trimSamples(samples, 4999).map((s) => s.at)).toEqual([5000, 6000, 7000, 8000, 9000, 10000]);
    expect(trimSamples(samples.slice(0, 1), 5000)).toEqual([{ at: 0, done: 0 }]);
    expect(trimSamples([], 5000)).toEqual([]);
  });

  it('has no pace when the count went backwards, and a pace of 0 when it stood still', () => {
    expect(readsPerSecond([{ at: 0, done: 5 }, { at: 1000, done: 3 }])).toBeUndefined();
    expect(readsPerSecond([{ at: 0, done: 5 }, { at: 1000, done: 5 }])).toBe(0);
    expect(readsPerSecond([{ at: 0, done: 0 }, { at: 500, done: 1 }, { at: 2000, done: 50 }])).toBe(25);
  });

  it('gives no time for a pace that is not a finite positive number', () => {
    expect(remainingSeconds(10, Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(remainingSeconds(10, Number.NaN)).toBeUndefined();
    expect(remainingSeconds(10, -5)).toBeUndefined();
    expect(remainingSeconds(-3, 25)).toBe(0);
    expect(remainingSeconds(10, 4)).toBe(2.5);
  });

  it('switches from seconds to minutes at 60 s, and says "under 1 s" only below 1 s', () => {
    expect(secondsText(1)).toBe('1 s');
    expect(secondsText(0.99)).toBe('under 1 s');
    expect(secondsText(59.4)).toBe('59 s');
    expect(secondsText(59.6)).toBe('1 min 00 s');
    expect(secondsText(60)).toBe('1 min 00 s');
    expect(secondsText(Number.POSITIVE_INFINITY)).toBe('under 1 s');
  });

  it('says "finishing" from 0 to under 1 s, and does not guess at a negative time', () => {
    expect(estimateText(0)).toBe('finishing');
    expect(estimateText(0.999)).toBe('finishing');
    expect(estimateText(1)).toBe('about 1 s left');
    expect(estimateText(-1)).toBe('estimating the time left');
    expect(estimateText(Number.POSITIVE_INFINITY)).toBe('estimating the time left');
  });
});
