import { SlackConnection, slackFailureText } from '../../../src/slack/connection';

function recorder() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('SlackConnection', () => {
  it('retries with doubling waits up to the cap, one warning per attempt, then one info line', async () => {
    const { lines, logger } = recorder();
    let calls = 0;
    const c = new SlackConnection({
      logger,
      initialDelayMs: 10,
      maxDelayMs: 40,
      attempt: async () => {
        calls += 1;
        if (calls < 5) throw Object.assign(new Error('An API error occurred: invalid_auth'), { data: { ok: false, error: 'invalid_auth' } });
        return { teamUrl: 'https://t.slack.com/', botUserId: 'U1' };
      },
    });
    await expect(c.check()).rejects.toThrow('not tried yet');
    const started = c.start();
    await c.firstAttempt;
    await expect(c.check()).rejects.toThrow(/^Slack not connected after 1 attempt: Slack refused the bot token: check SLACK_BOT_TOKEN .*\(invalid_auth\); next attempt in \d+ s$/);
    expect(await started).toEqual({ teamUrl: 'https://t.slack.com/', botUserId: 'U1' });
    await expect(c.check()).resolves.toBeUndefined();
    expect(lines.map((l) => `${l.level} ${l.msg.replace(/: Slack refused.*;/, ':…;')}`)).toEqual([
      'warn Slack: attempt 1 failed:…; next attempt in 10 ms',
      'warn Slack: attempt 2 failed:…; next attempt in 20 ms',
      'warn Slack: attempt 3 failed:…; next attempt in 40 ms',
      'warn Slack: attempt 4 failed:…; next attempt in 40 ms',
      'info Slack: connected to https://t.slack.com/ as U1 (attempt 5)',
    ]);
  });

  it('stop() ends the waiting at once and start() resolves undefined', async () => {
    const { logger } = recorder();
    const c = new SlackConnection({ logger, initialDelayMs: 60_000, attempt: async () => Promise.reject(new Error('down')) });
    const started = c.start();
    await c.firstAttempt;
    c.stop();
    await expect(started).resolves.toBeUndefined();
    expect(c.isConnected).toBe(false);
  });

  it('names the network error under fetch\'s "fetch failed"', () => {
    const cause = Object.assign(new Error('getaddrinfo ENOTFOUND slack.com'), { code: 'ENOTFOUND' });
    const e = Object.assign(new Error('A request error occurred: fetch failed'), { original: new TypeError('fetch failed', { cause }) });
    expect(slackFailureText(e)).toBe('Slack cannot be reached: getaddrinfo ENOTFOUND slack.com');
  });
});
