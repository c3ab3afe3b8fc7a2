/**
 * The terminal progress bar of `wid creds|audit|list`: drawn on stderr only when stderr is a terminal (never
 * into the --json output on stdout, nothing when piped), redrawn at most every 100 ms, with an estimate of the
 * time left from the pace so far, and wiped when the scan ends.
 */
import type { InspectProgress, ProgressCallback } from './types';

/** `1 min 05 s`, `12 s`, `under 1 s`. */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 1) return 'under 1 s';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Seconds left at the pace so far; undefined before anything is done. */
export function estimateLeft(p: InspectProgress, elapsedMs: number): number | undefined {
  if (p.done <= 0 || p.total <= 0 || elapsedMs <= 0) return undefined;
  return ((Math.max(0, p.total - p.done) * elapsedMs) / p.done) / 1000;
}

/** One line: `credentials [#######-------------]  812/2000  about 48 s left`, at most `columns` wide. */
export function renderBar(p: InspectProgress, elapsedMs: number, columns = 80): string {
  const counts = `${p.done}/${p.total}`;
  // the scan's own estimate from the read pace of the last seconds, when it has one; else the pace since the start
  const left = p.remainingSeconds ?? estimateLeft(p, elapsedMs);
  const eta = p.done >= p.total && p.total > 0 ? 'done' : left === undefined ? 'estimating…' : `about ${formatSeconds(left)} left`;
  const fixed = `${p.phase} [] ${counts}  ${eta}`.length;
  const width = Math.max(10, Math.min(40, columns - 1 - fixed));
  const filled = p.total > 0 ? Math.min(width, Math.round((p.done / p.total) * width)) : 0;
  const line = `${p.phase} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${counts}  ${eta}`;
  return line.length > columns - 1 ? line.slice(0, Math.max(0, columns - 1)) : line;
}

export interface ProgressTerminal {
  write(text: string): void;
  /** Width of the terminal (default 80). */
  columns?: number;
}

/** A progress callback that draws on `terminal`, and `end()` that wipes the line. */
export function terminalProgress(terminal: ProgressTerminal, now: () => number = Date.now, minIntervalMs = 100): { onProgress: ProgressCallback; end(): void } {
  const started = now();
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    onProgress(p) {
      const t = now();
      const final = p.total > 0 && p.done >= p.total;
      if (!final && t - lastDraw < minIntervalMs) return;
      lastDraw = t;
      drawn = true;
      terminal.write(`\r\x1b[K${renderBar(p, t - started, terminal.columns ?? 80)}`);
    },
    end() {
      if (drawn) terminal.write('\r\x1b[K');
    },
  };
}
