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
