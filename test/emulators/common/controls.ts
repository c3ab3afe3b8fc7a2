/**
 * Controls shared by every emulator: latency per call, fail the next N matching calls, a random
 * error rate, and a log of every request. Each emulator renders a fault in its own error shape.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: IncomingHttpHeaders;
  at: number;
}

export interface Match {
  method?: string;
  /** Substring of the path, or a regular expression tested against it. */
  path?: string | RegExp;
}

export interface Fault {
  status: number;
  code: string;
  message?: string;
  retryAfterSeconds?: number;
}

interface FaultRule extends Match, Fault {
  remaining: number;
}

interface RateRule extends Match, Fault {
  rate: number;
}

interface LatencyRule extends Match {
  min: number;
  max: number;
}

function matches(m: Match, method: string, path: string): boolean {
  if (m.method && m.method.toUpperCase() !== method.toUpperCase()) return false;
  if (m.path === undefined) return true;
  return typeof m.path === 'string' ? path.includes(m.path) : m.path.test(path);
}

export class EmulatorControls {
  readonly log: RequestLogEntry[] = [];
  private faults: FaultRule[] = [];
  private rates: RateRule[] = [];
  private latencies: LatencyRule[] = [];
  /** Deterministic randomness when seeded (tests), Math.random otherwise. */
  private random: () => number = Math.random;

  /** Delay matching calls by `ms`, or by a random value in [min, max]. The newest matching rule wins. */
  setLatency(ms: number | [number, number], match: Match = {}): this {
    const [min, max] = typeof ms === 'number' ? [ms, ms] : ms;
    this.latencies.unshift({ ...match, min, max });
    return this;
  }

  /** Fail the next `n` calls that match with this status and code. */
  failNext(n: number, fault: Fault & Match): this {
    this.faults.push({ ...fault, remaining: n });
    return this;
  }

  /** Fail a fraction (0..1) of the matching calls. */
  setErrorRate(rate: number, fault: Fault & Match): this {
    this.rates.push({ ...fault, rate });
    return this;
  }

  seed(seed: number): this {
    let s = seed >>> 0 || 1;
    this.random = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) / 0x1_0000_0000;
    };
    return this;
  }

  /** Forget faults, rates and latency (the log is kept unless `log` is true). */
  reset(opts: { log?: boolean } = {}): this {
    this.faults = [];
    this.rates = [];
    this.latencies = [];
    if (opts.log) this.log.length = 0;
    return this;
  }

  requests(match: Match = {}): RequestLogEntry[] {
    return this.log.filter((e) => matches(match, e.method, e.path));
  }

  /** Record the call, wait its latency, and return the fault to answer with, if any. */
  async intercept(entry: Omit<RequestLogEntry, 'at'>): Promise<Fault | undefined> {
    this.log.push({ ...entry, at: Date.now() });
    const lat = this.latencies.find((l) => matches(l, entry.method, entry.path));
    if (lat && lat.max > 0) {
      const ms = lat.min + (lat.max - lat.min) * this.random();
      await new Promise((r) => setTimeout(r, ms));
    }
    const rule = this.faults.find((f) => f.remaining > 0 && matches(f, entry.method, entry.path));
    if (rule) {
      rule.remaining -= 1;
      return { status: rule.status, code: rule.code, message: rule.message, retryAfterSeconds: rule.retryAfterSeconds };
    }
    const rate = this.rates.find((r) => matches(r, entry.method, entry.path));
    if (rate && this.random() < rate.rate) {
      return { status: rate.status, code: rate.code, message: rate.message, retryAfterSeconds: rate.retryAfterSeconds };
    }
    return undefined;
  }
}
