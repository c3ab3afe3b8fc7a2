/**
 * The terminal progress bar of the inspection verbs: the estimate of the time left, the line's width, and
 * how often it is redrawn. Time is passed in.
 */
import fc from 'fast-check';
import { estimateLeft, formatSeconds, renderBar, terminalProgress } from '../../../src/inspect/progress-bar';

describe('progress bar', () => {
  test('estimate from the pace so far: 500 of 2000 done in 20 s → 60 s left', () => {
    expect(estimateLeft({ done: 500, total: 2000, phase: 'credentials' }, 20_000)).toBe(60);
    expect(estimateLeft({ done: 0, total: 2000, phase: 'credentials' }, 20_000)).toBeUndefined();
  });

  test('the line: phase, bar, counts and the estimate', () => {
    expect(renderBar({ done: 500, total: 2000, phase: 'credentials' }, 20_000, 80)).toBe('credentials [########-------------------------] 500/2000  about 1 min 00 s left');
    expect(renderBar({ done: 0, total: 20, phase: 'credentials' }, 0, 80)).toContain('estimating…');
    expect(renderBar({ done: 20, total: 20, phase: 'credentials' }, 5000, 80)).toContain('done');
    // the scan's estimate from the read pace wins over the pace since the start (which the bucket's burst makes look fast)
    expect(renderBar({ done: 500, total: 2000, phase: 'credentials', remainingSeconds: 60 }, 2_000, 80)).toContain('about 1 min 00 s left');
    expect(formatSeconds(0.3)).toBe('under 1 s');
    expect(formatSeconds(12.4)).toBe('12 s');
  });

  test('property: the line never exceeds the terminal and the bar never overfills', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(10_000), fc.nat(600_000), fc.integer({ min: 20, max: 300 }), (a, b, ms, columns) => {
        const total = Math.max(a, b);
        const done = Math.min(a, b);
        const line = renderBar({ done, total, phase: 'credentials' }, ms, columns);
        expect(line.length).toBeLessThanOrEqual(columns - 1);
        const hashes = /\[(#*)-*\]/.exec(line)?.[1]?.length ?? 0;
        expect(hashes).toBeLessThanOrEqual(40);
      }),
    );
  });

  test('redrawn at most every 100 ms (the last state always), wiped at the end', () => {
    let now = 0;
    const written: string[] = [];
    const bar = terminalProgress({ write: (t) => written.push(t), columns: 80 }, () => now);
    for (let i = 0; i <= 100; i++) {
      now = i * 10;
      bar.onProgress({ done: i, total: 100, phase: 'credentials' });
    }
    bar.end();
    // t = 0, 100, …, 1000 ms: 11 draws, and the final 100/100 is one of them
    expect(written.filter((w) => w.startsWith('\r\x1b[Kcredentials')).length).toBe(11);
    expect(written[written.length - 2]).toContain('100/100');
    expect(written[written.length - 1]).toBe('\r\x1b[K');
  });
});
