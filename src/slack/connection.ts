/**
 * The web role's link to Slack: `auth.test` (and, in Socket Mode, opening the socket) tried until Slack
 * answers, with exponential backoff and one log line per attempt. Until then the process stays up:
 * /healthz answers 200 and /readyz 503 with the reason this class gives.
 */
import { errorText, type SlackLogger } from './logger';

/** What auth.test says about the bot; kept for Bolt's authorize and for links to the workspace. */
export interface SlackIdentity {
  teamId?: string;
  teamUrl?: string;
  botId?: string;
  botUserId?: string;
}

export interface SlackConnectionOptions {
  /** One attempt: resolves with the bot's identity, rejects with why Slack could not be reached. */
  attempt: () => Promise<SlackIdentity>;
  logger: SlackLogger;
  /** First wait after a failure (default 1 s); doubled per failure up to maxDelayMs (default 60 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** What is being connected, for the log lines (default "Slack"). */
  what?: string;
}

/** Slack's answers that no retry will change without the operator: say which setting to look at. */
const TOKEN_ERRORS: Record<string, string> = {
  invalid_auth: 'Slack refused the bot token: check SLACK_BOT_TOKEN (OAuth & Permissions page)',
  not_authed: 'Slack received no bot token: set SLACK_BOT_TOKEN',
  token_revoked: 'the bot token was revoked: reinstall the app and update SLACK_BOT_TOKEN',
  account_inactive: 'the bot token belongs to a deleted app or workspace: update SLACK_BOT_TOKEN',
  invalid_app_token: 'Slack refused the app-level token: check SLACK_APP_TOKEN (Basic Information → App-Level Tokens)',
};

/** A Web API failure in words an operator acts on: the Slack error code's meaning, or the network error. */
export function slackFailureText(e: unknown): string {
  const data = (e as { data?: { error?: unknown } } | undefined)?.data;
  const code = typeof data?.error === 'string' ? data.error : undefined;
  if (code && TOKEN_ERRORS[code]) return `${TOKEN_ERRORS[code]} (${code})`;
  const original = (e as { original?: unknown } | undefined)?.original;
  if (isErrorLike(original)) return `Slack cannot be reached: ${rootCause(original)}`;
  return errorText(e);
}

type ErrorLike = { message: string; code?: unknown; cause?: unknown; errors?: unknown };

/** Duck-typed: errors from Node's built-in fetch come from another realm under some runners, so instanceof fails. */
function isErrorLike(v: unknown): v is ErrorLike {
  return typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string';
}

/** fetch wraps the network error ("fetch failed"): the innermost cause says what happened (ENOTFOUND, ECONNREFUSED…). */
function rootCause(e: ErrorLike): string {
  let cur: ErrorLike = e;
  for (let i = 0; i < 5 && isErrorLike(cur.cause); i++) cur = cur.cause;
  // AggregateError (one error per address tried) has an empty message
  if (!cur.message && Array.isArray(cur.errors) && isErrorLike(cur.errors[0])) cur = cur.errors[0];
  return cur.message || (typeof cur.code === 'string' ? cur.code : '') || e.message;
}

export class SlackConnection {
  private connected?: SlackIdentity;
  private attempts = 0;
  private lastError = 'not tried yet';
  private nextAttemptAt?: number;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private running?: Promise<SlackIdentity | undefined>;
  private firstDone?: () => void;
  /** Settles when the first attempt has ended, whether it succeeded or not. */
  readonly firstAttempt: Promise<void> = new Promise((resolve) => (this.firstDone = resolve));
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly what: string;

  constructor(private readonly options: SlackConnectionOptions) {
    this.initialDelayMs = options.initialDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.what = options.what ?? 'Slack';
  }

  /** The bot's identity once an attempt succeeded. */
  get identity(): SlackIdentity | undefined {
    return this.connected;
  }

  get isConnected(): boolean {
    return this.connected !== undefined;
  }

  /**
   * Starts the attempts (once); resolves with the identity when one succeeds, or undefined when stopped first.
   * Never rejects: every failure is logged and retried.
   */
  start(): Promise<SlackIdentity | undefined> {
    this.running ??= this.loop();
    return this.running;
  }

  /** For /readyz: throws the reason while not connected. */
  readonly check = async (): Promise<void> => {
    if (this.connected) return;
    const next = this.nextAttemptAt !== undefined ? `; next attempt in ${Math.max(0, Math.ceil((this.nextAttemptAt - Date.now()) / 1000))} s` : '';
    throw new Error(`${this.what} not connected after ${this.attempts} attempt${this.attempts === 1 ? '' : 's'}: ${this.lastError}${next}`);
  };

  /** Stops retrying (shutdown); a running attempt is left to finish on its own. */
  stop(): void {
    this.stopped = true;
    this.firstDone?.();
    clearTimeout(this.timer);
    this.wake?.();
  }

  private async loop(): Promise<SlackIdentity | undefined> {
    const { logger } = this.options;
    while (!this.stopped) {
      this.attempts += 1;
      this.nextAttemptAt = undefined;
      try {
        const identity = await this.options.attempt();
        if (this.stopped) return undefined;
        this.connected = identity;
        this.lastError = '';
        this.firstDone?.();
        logger.info(`${this.what}: connected${identity.teamUrl ? ` to ${identity.teamUrl}` : ''}${identity.botUserId ? ` as ${identity.botUserId}` : ''} (attempt ${this.attempts})`);
        return identity;
      } catch (e) {
        if (this.stopped) return undefined;
        this.lastError = slackFailureText(e);
        const delay = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** Math.min(this.attempts - 1, 30));
        this.nextAttemptAt = Date.now() + delay;
        logger.warn(`${this.what}: attempt ${this.attempts} failed: ${this.lastError}; next attempt in ${formatDelay(delay)}`);
        this.firstDone?.();
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, delay);
        });
      }
    }
    return undefined;
  }
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
