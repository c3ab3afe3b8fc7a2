/**
 * At most one update per key per interval: a burst of progress events becomes one immediate update
 * and one trailing update with the latest content. The last content submitted always lands.
 */

export type Send = () => Promise<void>;

interface Slot {
  /** When the last send started (ms). */
  lastSentAt: number;
  inFlight?: Promise<void>;
  pending?: Send;
  timer?: NodeJS.Timeout;
  /** Resolvers waiting for the pending send to land. */
  waiters: Array<() => void>;
}

export class Coalescer {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
    private readonly onError: (key: string, e: unknown) => void = () => {},
  ) {}

  /** Send `send` now if the key's interval has passed and nothing is in flight; otherwise keep it as the trailing update (replacing an older one). Resolves when this content (or newer) has been sent. */
  submit(key: string, send: Send): Promise<void> {
    const slot = this.slots.get(key) ?? { lastSentAt: -Infinity, waiters: [] };
    this.slots.set(key, slot);
    slot.pending = send;
    const done = new Promise<void>((resolve) => slot.waiters.push(resolve));
    this.pump(key, slot);
    return done;
  }

  /** Sends whatever is pending for `key` as soon as the interval allows and resolves once it landed; then forgets the key. */
  async flush(key: string): Promise<void> {
    const slot = this.slots.get(key);
    if (!slot) return;
    if (slot.pending) {
      await new Promise<void>((resolve) => {
        slot.waiters.push(resolve);
        this.pump(key, slot);
      });
    }
    await slot.inFlight;
    if (!slot.pending && !slot.inFlight) this.slots.delete(key);
  }

  /** Keys with an update still to send or in flight (for tests and shutdown). */
  get busy(): number {
    return [...this.slots.values()].filter((s) => s.pending || s.inFlight).length;
  }

  private pump(key: string, slot: Slot): void {
    if (!slot.pending || slot.inFlight || slot.timer) return;
    const wait = slot.lastSentAt + this.intervalMs - this.now();
    if (wait > 0) {
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        this.pump(key, slot);
      }, wait);
      return;
    }
    const send = slot.pending;
    const waiters = slot.waiters;
    slot.pending = undefined;
    slot.waiters = [];
    slot.lastSentAt = this.now();
    slot.inFlight = send()
      .catch((e: unknown) => this.onError(key, e))
      .finally(() => {
        slot.inFlight = undefined;
        for (const w of waiters) w();
        this.pump(key, slot);
      });
  }
}
