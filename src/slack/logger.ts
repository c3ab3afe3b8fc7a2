/** The logging the Slack side needs; pino loggers and `console` both fit. */
export interface SlackLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const silentLogger: SlackLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
