/**
 * /healthz (the process is alive), /readyz (Redis answers and Slack accepted the bot token) and
 * /metrics, shaped as Bolt HTTPReceiver `customRoutes` for the web role and served by a tiny http
 * server of their own for a worker-only process, which has no Bolt server.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics';

/** One readiness check: resolves when ready; rejects (or resolves false) with why not. */
export type ReadinessCheck = () => Promise<void | boolean>;
/** Named checks, e.g. { redis: …, slack: … }; the names appear in /readyz answers. */
export type ReadinessChecks = Record<string, ReadinessCheck>;

/** Structurally the same as Bolt's CustomRoute, so the web role passes these as `customRoutes`. */
export interface HealthRoute {
  path: string;
  method: string | string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface HealthOptions {
  /** How long one check may take before it counts as not ready (default 2000 ms). */
  checkTimeoutMs?: number;
}

const CONTENT_TYPE_JSON = 'application/json; charset=utf-8';
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': CONTENT_TYPE_JSON, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface ReadinessResult {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

/** The process's health: liveness, readiness from the injected checks, and the shutdown switch. */
export class Health {
  private shuttingDown = false;
  private readonly checkTimeoutMs: number;

  constructor(
    private readonly checks: ReadinessChecks,
    private readonly metrics?: Metrics,
    options: HealthOptions = {},
  ) {
    this.checkTimeoutMs = options.checkTimeoutMs ?? 2000;
  }

  /** From SIGTERM on, /readyz answers 503 so the load balancer stops sending work while running work finishes. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async readiness(): Promise<ReadinessResult> {
    const names = Object.keys(this.checks);
    const results = await Promise.all(
      names.map(async (name) => {
        try {
          const r = await withTimeout(Promise.resolve().then(this.checks[name]!), this.checkTimeoutMs, name);
          return r === false ? { ok: false, error: `${name} is not ready` } : { ok: true };
        } catch (e) {
          return { ok: false, error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    const checks: ReadinessResult['checks'] = {};
    names.forEach((n, i) => (checks[n] = results[i]!));
    if (this.shuttingDown) checks.shutdown = { ok: false, error: 'shutting down: finishing running work' };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }

  readonly healthz = (_req: IncomingMessage, res: ServerResponse): void => {
    sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
  };

  readonly readyz = (_req: IncomingMessage, res: ServerResponse): void => {
    this.readiness().then(
      (r) => {
        const notReady = Object.entries(r.checks).filter(([, c]) => !c.ok).map(([n]) => n);
        sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...(notReady.length ? { notReady } : {}), checks: r.checks });
      },
      (e: unknown) => sendJson(res, 503, { status: 'not ready', error: e instanceof Error ? e.message : String(e) }),
    );
  };

  readonly metricsHandler = (_req: IncomingMessage, res: ServerResponse): void => {
    if (!this.metrics) {
      sendJson(res, 404, { error: 'metrics are not enabled in this process' });
      return;
    }
    this.metrics.metricsText().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Cache-Control': 'no-store' });
        res.end(text);
      },
      (e: unknown) => sendJson(res, 500, { error: `could not collect metrics: ${e instanceof Error ? e.message : String(e)}` }),
    );
  };

  /** Bolt HTTPReceiver customRoutes: /healthz, /readyz and /metrics. */
  routes(): HealthRoute[] {
    return [
      { path: '/healthz', method: ['GET', 'HEAD'], handler: this.healthz },
      { path: '/readyz', method: ['GET', 'HEAD'], handler: this.readyz },
      { path: '/metrics', method: 'GET', handler: this.metricsHandler },
    ];
  }

  /** One request handler for a plain http server: the three routes, 404 otherwise. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const method = (req.method ?? 'GET').toUpperCase();
    const route = this.routes().find((r) => r.path === path);
    if (!route) {
      sendJson(res, 404, { error: `no route ${path}; try /healthz, /readyz or /metrics` });
      return;
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes(method)) {
      res.setHeader('Allow', methods.join(', '));
      sendJson(res, 405, { error: `${method} is not allowed on ${path}` });
      return;
    }
    route.handler(req, res);
  };
}

/** The routes for Bolt's customRoutes (the web role's extraRoutes). */
export function healthRoutes(checks: ReadinessChecks, metrics?: Metrics, options?: HealthOptions): HealthRoute[] {
  return new Health(checks, metrics, options).routes();
}

export interface HealthServer {
  server: Server;
  port: number;
  health: Health;
  close(): Promise<void>;
}

/** A standalone server for /healthz, /readyz and /metrics (the worker role). Port 0 picks a free one. */
export async function startHealthServer(
  port: number,
  checks: ReadinessChecks | Health,
  metrics?: Metrics,
  options: HealthOptions & { host?: string } = {},
): Promise<HealthServer> {
  const health = checks instanceof Health ? checks : new Health(checks, metrics, options);
  const server = http.createServer(health.handle);
  // Probes are short: do not let idle keep-alive sockets hold the process open at shutdown.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    health,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

// ───────────────────────────── ready-made checks ─────────────────────────────

/** Redis answers PING (any ioredis client, or anything with ping()). */
export function redisPingCheck(redis: { ping(): Promise<string> }): ReadinessCheck {
  return async () => {
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error(`Redis answered PING with ${JSON.stringify(pong)}`);
  };
}

/**
 * Slack accepted the bot token (auth.test). A success is remembered for `cacheMs` (default 60 s) so
 * probes every few seconds do not spend Slack's rate limit; failures are retried on the next probe.
 */
export function slackAuthCheck(client: { auth: { test(): Promise<{ ok?: boolean; error?: string }> } }, cacheMs = 60_000): ReadinessCheck {
  let okUntil = 0;
  return async () => {
    if (Date.now() < okUntil) return;
    const r = await client.auth.test();
    if (r.ok === false) throw new Error(`Slack auth.test failed: ${r.error ?? 'unknown error'}`);
    okUntil = Date.now() + cacheMs;
  };
}
