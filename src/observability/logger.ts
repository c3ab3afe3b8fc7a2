/**
 * JSON logs (pino) with no secrets: known secret fields are redacted by path, any field whose name
 * looks secret is redacted at any depth, and token-shaped text inside messages is masked. The request
 * id rides on every line of a request's work, through a child logger or the async request context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';

export type { Logger } from 'pino';

export const REDACTED = '[redacted]';

/** Field names that hold secrets wherever they appear (matched case-insensitively against the whole name or its parts). */
const SECRET_KEY = /(token|secret|password|passwd|authorization|assertion|cookie|signature|api[-_]?key|private[-_]?key)/i;

/** Exact names, redacted by pino's path redaction before anything else sees them (cheap, and covers top-level bindings). */
const SECRET_FIELDS = [
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'idToken',
  'botToken',
  'appToken',
  'userToken',
  'signingSecret',
  'clientSecret',
  'client_secret',
  'client_assertion',
  'clientAssertion',
  'assertion',
  'secret',
  'password',
  'authorization',
  'Authorization',
  'cookie',
  'AZURE_CLIENT_SECRET',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
];

/** pino redact paths: each secret name at the top and up to three levels down, plus HTTP headers. */
export const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]),
  'headers.authorization',
  'headers.cookie',
  'headers["x-slack-signature"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-slack-signature"]',
];

/** Token-shaped text: Slack tokens, bearer values, JWTs, URL passwords. */
const SECRET_TEXT: [RegExp, string][] = [
  [/\bxox[abposr]-[A-Za-z0-9-]+/g, `xox?-${REDACTED}`],
  [/\bxapp-[A-Za-z0-9-]+/g, `xapp-${REDACTED}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, `jwt:${REDACTED}`],
  [/(\/\/[^:@/\s]*):[^@/\s]+@/g, `$1:${REDACTED}@`],
  [/((?:client_secret|client_assertion|password)=)[^&\s]+/gi, `$1${REDACTED}`],
];

/** Mask token-shaped text inside a string. */
export function scrubText(text: string): string {
  let out = text;
  for (const [re, replacement] of SECRET_TEXT) out = out.replace(re, replacement);
  return out;
}

/** A copy of `value` with secret-named fields redacted and secret-shaped text masked, at any depth. */
export function scrub(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value) || depth > 8) return '[…]';
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown; cause?: unknown };
    const out: Record<string, unknown> = { type: e.name, message: scrubText(e.message) };
    if (e.stack) out.stack = scrubText(e.stack);
    if (e.code !== undefined) out.code = e.code;
    for (const [k, v] of Object.entries(e)) if (!(k in out)) out[k] = SECRET_KEY.test(k) ? REDACTED : scrub(v, depth + 1, seen);
    if (e.cause !== undefined) out.cause = scrub(e.cause, depth + 1, seen);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, seen));
  if (value instanceof Date || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null ? REDACTED : scrub(v, depth + 1, seen);
  return out;
}

// ───────────────────────────── request context ─────────────────────────────

export interface LogContext {
  requestId?: string;
  [key: string]: unknown;
}

const context = new AsyncLocalStorage<LogContext>();

/** Run `fn` so that every log line written during it (by any logger from createLogger) carries `ctx`, e.g. the request id. */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...ctx }, fn);
}

export function currentLogContext(): LogContext | undefined {
  return context.getStore();
}

// ───────────────────────────── the logger ─────────────────────────────

export interface CreateLoggerOptions {
  /** pino level (default info). */
  level?: string;
  /** Where lines go (default stdout). Tests pass a stream to read them. */
  destination?: DestinationStream;
  /** Fields on every line, e.g. { role: 'worker' }. */
  base?: Record<string, unknown>;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const opts: PinoOptions = {
    level: options.level ?? 'info',
    base: { service: 'wid-bot', ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    // Errors arrive here already scrubbed into plain objects (formatters.log runs first); keep their type.
    serializers: { err: (e: unknown) => (e instanceof Error ? scrub(e) : e) },
    formatters: {
      level: (label) => ({ level: label }),
      // Bindings (child loggers) and each line's fields both pass through the scrubber.
      bindings: (b) => scrub(b) as Record<string, unknown>,
      log: (obj) => scrub(obj) as Record<string, unknown>,
    },
    mixin: () => context.getStore() ?? {},
    hooks: {
      // The message text itself (pino leaves it alone): mask token-shaped parts.
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a)) as Parameters<typeof method>;
        method.apply(this, scrubbed);
      },
    },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** A child logger for one request's work: the request id is on every line it writes. */
export function requestLogger(logger: Logger, requestId: string, fields: Record<string, unknown> = {}): Logger {
  return logger.child({ requestId, ...fields });
}
