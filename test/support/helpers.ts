/**
 * Small helpers several test files share.
 */
import { LogLevel, type Logger } from '@slack/web-api';
import { WidError } from '../../src/domain/errors';

/** The WidError a call fails with; fails the test if it succeeds or throws anything else. */
export async function caught(p: Promise<unknown>): Promise<WidError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WidError) return e;
    throw new Error(`expected a WidError, got ${String(e)}`);
  }
  throw new Error('expected the call to fail');
}

/** A Slack SDK logger that prints nothing: the refusals tests provoke would otherwise fill the output. */
export const quietSlackLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  setLevel: () => undefined,
  getLevel: () => LogLevel.ERROR,
  setName: () => undefined,
};
