import http from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import { Health, healthRoutes, redisPingCheck, slackAuthCheck, startHealthServer, type HealthServer } from '../../../src/observability/health';
import { Metrics } from '../../../src/observability/metrics';

async function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

describe('health server', () => {
  let server: HealthServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('/healthz answers 200 JSON while the process runs, whatever the checks say', async () => {
    server = await startHealthServer(0, { redis: async () => Promise.reject(new Error('down')) }, undefined, { host: '127.0.0.1' });
    const r = await get(server.port, '/healthz');
    expect(r.status).toBe(200);
    expect(r.type).toContain('application/json');
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ok' });
  });

  it('/readyz is 200 only when every check passes, and 503 naming what is not ready', async () => {
    let redisUp = true;
    let slackOk = true;
    server = await startHealthServer(
      0,
      {
        redis: redisPingCheck({ ping: async () => (redisUp ? 'PONG' : Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6390'))) }),
        slack: slackAuthCheck({ auth: { test: async () => (slackOk ? { ok: true } : { ok: false, error: 'invalid_auth' }) } }, 0),
      },
      undefined,
      { host: '127.0.0.1' },
    );
    let r = await get(server.port, '/readyz');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'ready', checks: { redis: { ok: true }, slack: { ok: true } } });

    redisUp = false;
    r = await get(server.port, '/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ status: 'not ready', notReady: ['redis'], checks: { redis: { ok: false, error: expect.stringContaining('ECONNREFUSED') }, slack: { ok: true } } });

    slackOk = false;
    r = await get(server.port, '/readyz');
    expect(JSON.parse(r.body).notReady).toEqual(['redis', 'slack']);
    expect(JSON.parse(r.body).checks.slack.error).toContain('invalid_auth');

    redisUp = true;
    slackOk = true;
    expect((await get(server.port, '/readyz')).status).toBe(200);
    server.health.markShuttingDown();
    r = await get(server.port, '/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).notReady).toEqual(['shutdown']);
  });

  it('a check that hangs counts as not ready after the timeout', async () => {
    server = await startHealthServer(0, { redis: () => new Promise(() => undefined) }, undefined, { host: '127.0.0.1', checkTimeoutMs: 100 });
    const r = await get(server.port, '/readyz');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body).checks.redis.error).toContain('did not answer within 100 ms');
  });

  it('/metrics serves the Prometheus text format', async () => {
    const metrics = new Metrics({ processMetrics: false });
    metrics.onAdapterCall({ system: 'entra', operation: 'token.exchange', outcome: 'terminal', ms: 12, code: 'AADSTS70021' });
    server = await startHealthServer(0, {}, metrics, { host: '127.0.0.1' });
    const r = await get(server.port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.body).toContain('wid_outside_calls_total{system="entra",operation="token.exchange",outcome="terminal"} 1');
  });

  it('unknown paths are 404 and wrong methods 405', async () => {
    server = await startHealthServer(0, {}, undefined, { host: '127.0.0.1' });
    expect((await get(server.port, '/slack/events')).status).toBe(404);
    expect((await get(server.port, '/healthz', 'POST')).status).toBe(405);
    expect((await get(server.port, '/metrics')).status).toBe(404);
  });

  it('slackAuthCheck remembers a success for the cache time', async () => {
    let calls = 0;
    const check = slackAuthCheck({ auth: { test: async () => (calls++, { ok: true }) } }, 60_000);
    await check();
    await check();
    expect(calls).toBe(1);
  });
});

describe('healthRoutes for Bolt customRoutes', () => {
  it('gives /healthz, /readyz and /metrics entries whose handlers answer on any http server', async () => {
    // Typed as Bolt's CustomRoute[]: the compiler checks they fit HTTPReceiver's customRoutes.
    const routes: CustomRoute[] = healthRoutes({ slack: async () => false }, new Metrics({ processMetrics: false }));
    expect(routes.map((r) => r.path)).toEqual(['/healthz', '/readyz', '/metrics']);
    // Serve them the way Bolt's HTTPReceiver does: match the path, call the handler.
    const server = http.createServer((req, res) => routes.find((r) => r.path === req.url)!.handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      expect((await get(port, '/healthz')).status).toBe(200);
      const ready = await get(port, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body).checks.slack).toEqual({ ok: false, error: 'slack is not ready' });
      expect((await get(port, '/metrics')).body).toContain('# TYPE wid_requests_total counter');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('Health.readiness reports each check', async () => {
    const h = new Health({ a: async () => undefined, b: async () => Promise.reject(new Error('nope')) });
    expect(await h.readiness()).toEqual({ ready: false, checks: { a: { ok: true }, b: { ok: false, error: 'nope' } } });
  });
});
