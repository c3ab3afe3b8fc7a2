/**
 * How long the rest of a read-bound scan will take: the reads still to make over the pace at which Azure's
 * read bucket lets them through. The pace is measured over the last few seconds of completions, not since
 * the start: the bucket's burst answers the first reads at once, then the refill rate sets the pace.
 */

/** One observation: `done` reads finished by time `at` (ms). */
export interface PaceSample {
  at: number;
  done: number;
}

/** How far back the pace is measured (ms). */
export const PACE_WINDOW_MS = 5_000;

/** The samples kept for the pace: the newest within `windowMs` of the last one, and the one just before them. */
export function trimSamples(samples: readonly PaceSample[], windowMs: number = PACE_WINDOW_MS): PaceSample[] {
  const last = samples[samples.length - 1];
  if (!last) return [];
  let first = samples.length - 1;
  while (first > 0 && last.at - (samples[first - 1] as PaceSample).at <= windowMs) first--;
  // one older sample keeps a pace when reads are slower than one per window
  return samples.slice(Math.max(0, first - 1));
}

/** Reads per second over the samples; undefined until there are two samples apart in time. */
export function readsPerSecond(samples: readonly PaceSample[]): number | undefined {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.at <= first.at || last.done < first.done) return undefined;
  return ((last.done - first.done) * 1000) / (last.at - first.at);
}

/** Seconds the `remaining` reads take at `perSecond`; undefined when the pace is unknown. */
export function remainingSeconds(remaining: number, perSecond: number | undefined): number | undefined {
  if (remaining <= 0) return 0;
  if (perSecond === undefined || !Number.isFinite(perSecond) || perSecond <= 0) return undefined;
  return remaining / perSecond;
}

/** `12 s`, `1 min 05 s`, `under 1 s`. */
export function secondsText(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 1) return 'under 1 s';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}

/** What a progress message says about the rest: `about 48 s left`, `finishing`, or `estimating the time left`. */
export function estimateText(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return 'estimating the time left';
  if (seconds < 1) return 'finishing';
  return `about ${secondsText(seconds)} left`;
}
