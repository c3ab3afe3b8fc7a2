/**
 * Errors the core understands. Adapters translate every SDK error into one of these, so nothing
 * above an adapter sees an SDK type. A WidError's message is shown to people: it says what was
 * wrong, what was expected and what to do next.
 */
export type ErrorKind = 'retryable' | 'terminal';

export class WidError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
    /** Stable machine code, e.g. the upstream ARM/Kubernetes code or a wid-bot code. */
    readonly code: string,
    /** Seconds the upstream asked us to wait (Retry-After), when it did. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = kind === 'retryable' ? 'RetryableError' : 'TerminalError';
  }
}

export class RetryableError extends WidError {
  constructor(message: string, code = 'Retryable', retryAfterSeconds?: number) {
    super(message, 'retryable', code, retryAfterSeconds);
  }
}

export class TerminalError extends WidError {
  constructor(message: string, code = 'Terminal') {
    super(message, 'terminal', code);
  }
}

export function isRetryable(e: unknown): e is WidError {
  return e instanceof WidError && e.kind === 'retryable';
}

/** A result type for pure decisions that can refuse with a reason. */
export type Result<T, E = DomainRefusal> = { ok: true; value: T } | { ok: false; error: E };

export interface DomainRefusal {
  /** Stable code, e.g. `reserved-namespace`, `role-not-allowed`, `self-approval`. */
  code: string;
  /** What was wrong, what is expected, what to do. */
  message: string;
  /** Dotted field path (for modal field errors), when the refusal is about one field. */
  field?: string;
}

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const refuse = (code: string, message: string, field?: string): Result<never> => ({
  ok: false,
  error: { code, message, ...(field ? { field } : {}) },
});
