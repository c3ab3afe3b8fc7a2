import { Writable } from 'node:stream';
import { createLogger, requestLogger, scrubText, withLogContext } from '../../../src/observability/logger';

/** A destination that keeps every line pino writes. */
function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join(''), lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const SECRETS = [
  'xoxb-1000000001-2000000002-widbottesttoken',
  'xapp-1-A0000-1234-appleveltoken',
  '8f742231b10e8888abcd99yyyzzz85a5',
  'azure~client~secret~value',
  'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXZhbHVl',
  'redis-password-value',
];

describe('logger', () => {
  it('writes JSON lines with level, time, message and fields', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, base: { role: 'worker' } });
    log.info({ step: 'identity' }, 'step done');
    const [line] = out.lines();
    expect(line).toMatchObject({ level: 'info', msg: 'step done', step: 'identity', role: 'worker', service: 'wid-bot' });
    expect(typeof line!.time).toBe('string');
  });

  it('redacts secrets in fields, nested objects, headers, child bindings, errors and message text', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, level: 'trace' });
    const [botToken, appToken, signingSecret, clientSecret, jwt, redisPassword] = SECRETS as [string, string, string, string, string, string];
    log.info({ botToken, signingSecret, AZURE_CLIENT_SECRET: clientSecret }, 'config');
    log.info({ slack: { appToken, nested: { token: botToken } } }, 'nested');
    log.info({ req: { headers: { authorization: `Bearer ${jwt}`, 'x-slack-signature': `v0=${signingSecret}` } } }, 'http');
    log.info({ body: { client_assertion: jwt, grant_type: 'client_credentials' } }, 'token request');
    log.child({ clientSecret }).warn('child');
    log.error({ err: Object.assign(new Error(`auth failed for Bearer ${jwt}`), { token: botToken }) }, 'failed');
    log.info(`connecting to redis://:${redisPassword}@redis:6379 with ${botToken} and ${appToken}`);
    log.debug({ url: `https://login.example/token?client_secret=${clientSecret}&x=1` }, 'query');
    const text = out.text();
    for (const s of SECRETS) expect(text).not.toContain(s);
    expect(text).toContain('[redacted]');
    // What is not secret stays readable.
    expect(text).toContain('client_credentials');
    expect(text).toContain('auth failed for Bearer [redacted]');
    expect(out.lines()[5]).toMatchObject({ err: { type: 'Error', token: '[redacted]' } });
    expect(out.lines()).toHaveLength(8);
  });

  it('puts the request id on every line of a request\'s work', async () => {
    const out = capture();
    const log = createLogger({ destination: out.stream });
    const rlog = requestLogger(log, 'req-42', { namespace: 'finance' });
    rlog.info('accepted');
    rlog.child({ step: 'identity' }).info('created');
    await withLogContext({ requestId: 'req-43' }, async () => {
      log.info('root logger inside the context');
      await new Promise((r) => setTimeout(r, 5));
      log.info('after an await');
    });
    log.info('outside');
    const lines = out.lines();
    expect(lines.map((l) => l.requestId)).toEqual(['req-42', 'req-42', 'req-43', 'req-43', undefined]);
    expect(lines[1]).toMatchObject({ step: 'identity', namespace: 'finance' });
  });

  it('honours the level', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, level: 'warn' });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('scrubText masks token-shaped text only', () => {
    expect(scrubText('token xoxb-1-2-abc here')).toBe('token xox?-[redacted] here');
    expect(scrubText('plain words, wid-finance-api-1a2b')).toBe('plain words, wid-finance-api-1a2b');
  });
});
