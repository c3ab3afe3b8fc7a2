/**
 * Early results of a long `/wid creds|audit`: the first page of what the scan has found so far goes to the
 * asker while the scan goes on — as soon as a page is full, or after EARLY_AFTER_MS with whatever is
 * ready — and says how long the rest will take. The final answer still comes whole at the end; a first page
 * it would repeat unchanged is not posted twice.
 */
import { estimateText } from '../domain/scan-estimate';
import type { SlackMessage } from './blocks/text';
import type { InspectProgress } from './inspect';

/** After this long, the first page goes out with whatever is ready, full or not. */
export const EARLY_AFTER_MS = 1_500;

/** What the progress message says: `credentials 812 of 2000, about 48 s left`. */
export function progressText(verb: string, p: Pick<InspectProgress, 'phase' | 'done' | 'total' | 'remainingSeconds'>): string {
  return `:mag: /wid ${verb}: ${p.phase} ${p.done} of ${p.total}, ${estimateText(p.remainingSeconds)}…`;
}

/** The note on top of the early page. */
export function earlyNote(verb: string, p: Pick<InspectProgress, 'done' | 'total' | 'remainingSeconds'>): string {
  return `:hourglass_flowing_sand: Early results of /wid ${verb} while the scan goes on: ${p.done} of ${p.total} identities read so far, ${estimateText(p.remainingSeconds)}. These are only what the rest of the scan cannot change; the full answer follows when it ends.`;
}

/** The first page of a rendered answer (its summary when it fits in one message), and whether that page is full. */
export function firstPage(messages: readonly SlackMessage[]): { page: SlackMessage; full: boolean } | undefined {
  const [summary, page1, page2] = messages;
  if (!summary) return undefined;
  // a paged answer: summary, then pages; a further page means the first is full
  if (page1) return { page: page1, full: page2 !== undefined };
  return { page: summary, full: false };
}

export interface EarlyResultsOptions {
  verb: string;
  /** Posts a message to the asker alone; resolves once Slack has it. */
  post(m: SlackMessage, note: string): Promise<void>;
  now?: () => number;
  afterMs?: number;
  onError?: (e: unknown) => void;
}

/**
 * Watches a scan's progress and posts its first page once. Call `progress` with every report, `settled()`
 * when the scan ends (waits for a post in flight and stops the timer); `posted` is the page sent, if any.
 */
export class EarlyResults {
  private readonly started: number;
  private readonly now: () => number;
  private latest: InspectProgress | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> | undefined;
  private over = false;
  posted: SlackMessage | undefined;

  constructor(private readonly opts: EarlyResultsOptions) {
    this.now = opts.now ?? Date.now;
    this.started = this.now();
    this.timer = setTimeout(() => this.consider(true), opts.afterMs ?? EARLY_AFTER_MS);
    this.timer.unref?.();
  }

  progress(p: InspectProgress): void {
    if (p.early) this.latest = p;
    this.consider(this.now() - this.started >= (this.opts.afterMs ?? EARLY_AFTER_MS));
  }

  private consider(late: boolean): void {
    const p = this.latest;
    if (this.over || this.posted || this.inFlight || !p?.early || p.done >= p.total) return;
    const first = firstPage(p.early());
    if (!first || (!first.full && !late)) return;
    this.posted = first.page;
    this.stopTimer();
    this.inFlight = this.opts.post(first.page, earlyNote(this.opts.verb, p)).catch((e: unknown) => {
      this.posted = undefined;
      this.opts.onError?.(e);
    });
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async settled(): Promise<void> {
    this.over = true;
    this.stopTimer();
    await this.inFlight;
  }
}

/** The final pages without the first one when the early post already showed it unchanged. */
export function pagesAfterEarly(rest: readonly SlackMessage[], early: SlackMessage | undefined): SlackMessage[] {
  const [first, ...others] = rest;
  if (early && first && JSON.stringify(first) === JSON.stringify(early)) return others;
  return [...rest];
}
