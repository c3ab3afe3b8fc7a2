/**
 * Slash-command acks under load: 64 concurrent signed `/wid` commands against the real wid-bot Slack
 * app (startWeb: Bolt, Redis store and queues, timers worker, the full follow-up after each ack) and,
 * in the same run, against a bare Bolt app that only acks. Goal: ≥ 0.8 × the bare app's throughput and
 * a p99 ack latency ≤ 50 ms.
 *
 * The Slack emulator (which receives the follow-up answers) runs in a child process, so its work does
 * not count against wid-bot.
 *   npx tsx bench/ack.bench.ts [--json] [--requests N] [--concurrency N] [--text "status"]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Agent, request as httpRequest, type Server } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { parsePolicy } from '../src/config/policy';
import { startWeb } from '../src/web';
import { signSlackRequest } from '../test/emulators/slack/signing';
import { startSlackEmulator } from '../test/emulators/slack';
import { worldPolicyYaml, WORLD } from '../test/emulators/world';
import { startRedisServer } from '../test/support/redis-server';

export interface AckBenchOptions {
  quiet?: boolean;
  argv?: string[];
  requests?: number;
  concurrency?: number;
  /** The text after /wid (default `status`: Redis reads and an answer via response_url after the ack). */
  text?: string;
}

export interface AckBenchFigures {
  ack: {
    throughput_ratio: number;
    p99_ms: number;
    p50_ms: number;
    wid_rps: number;
    bare_rps: number;
    bare_p99_ms: number;
    bare_p50_ms: number;
    /** Longest wait, after a wid-bot round, until every follow-up answer had reached Slack. */
    drain_ms: number;
    requests: number;
    concurrency: number;
    failures: number;
  };
}

// ───────────────────────────── the emulator child ─────────────────────────────

async function serveEmulator(): Promise<void> {
  const slack = await startSlackEmulator({ rateLimits: false, responseUrl: { maxUses: 5, ttlMs: 3_600_000 } });
  process.on('message', (m: { mint?: number; count?: boolean }) => {
    if (m.mint) {
      const urls = Array.from({ length: m.mint }, () => slack.newResponseUrl(WORLD.requestsChannel, WORLD.users.requester));
      process.send?.({ urls });
    }
    if (m.count) process.send?.({ count: slack.ephemerals().length });
  });
  process.on('disconnect', () => {
    void slack.close().then(() => process.exit(0));
  });
  process.send?.({ ready: { apiUrl: slack.apiUrl } });
}

class EmulatorChild {
  private constructor(
    private readonly child: ChildProcess,
    readonly apiUrl: string,
  ) {}

  static async start(): Promise<EmulatorChild> {
    const child = fork(__filename, ['--serve-slack-emulator'], { execArgv: ['-r', 'tsx/cjs'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const apiUrl = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: { ready?: { apiUrl: string } }) => (m.ready ? resolve(m.ready.apiUrl) : reject(new Error('emulator child did not start'))));
      child.once('exit', (code) => reject(new Error(`emulator child exited with ${code}`)));
    });
    return new EmulatorChild(child, apiUrl);
  }

  private ask<T>(msg: object, key: string): Promise<T> {
    return new Promise((resolve) => {
      const on = (m: Record<string, unknown>) => {
        if (key in m) {
          this.child.off('message', on);
          resolve(m[key] as T);
        }
      };
      this.child.on('message', on);
      this.child.send(msg);
    });
  }

  mint(n: number): Promise<string[]> {
    return this.ask<string[]>({ mint: n }, 'urls');
  }

  answered(): Promise<number> {
    return this.ask<number>({ count: true }, 'count');
  }

  close(): void {
    this.child.disconnect();
  }
}

// ───────────────────────────── load ─────────────────────────────

function commandBody(text: string, responseUrl: string): string {
  return new URLSearchParams({
    token: 'bench',
    team_id: 'T0WIDBOT01',
    team_domain: 'wid-bot-test',
    channel_id: WORLD.requestsChannel,
    channel_name: 'wid-requests',
    user_id: WORLD.users.requester,
    user_name: 'alice',
    command: '/wid',
    text,
    api_app_id: 'A0WIDBOT01',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.${randomBytes(6).toString('hex')}`,
  }).toString();
}

interface LoadResult {
  rps: number;
  latencies: number[];
  failures: number;
}

/** One signed POST over a keep-alive agent (one socket per concurrent sender, as Slack's fleet reuses connections). */
function post(url: URL, agent: Agent, body: string): Promise<{ status: number; ms: number }> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          'x-slack-request-timestamp': timestamp,
          'x-slack-signature': signSlackRequest(WORLD.signingSecret, timestamp, body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One keep-alive pool per target, kept across runs, so the warm-up opens the connections the measurement reuses. */
const agents = new Map<string, Agent>();

async function load(url: string, bodies: string[], concurrency: number): Promise<LoadResult> {
  const target = new URL(url);
  let agent = agents.get(url);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: concurrency });
    agents.set(url, agent);
  }
  const pool = agent;
  const latencies: number[] = [];
  let failures = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= bodies.length) return;
        const res = await post(target, pool, bodies[i] as string).catch(() => undefined);
        if (!res || res.status !== 200) failures++;
        else latencies.push(res.ms);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rps: bodies.length / seconds, latencies, failures };
}

/** The load generator runs in its own process, so its event loop never delays the apps' acks (or the other way round). */
async function serveLoad(): Promise<void> {
  process.on('message', (m: { url: string; bodies: string[]; concurrency: number }) => {
    void load(m.url, m.bodies, m.concurrency).then((r) => process.send?.({ result: r }));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true });
}

class LoadChild {
  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<LoadChild> {
    const child = fork(__filename, ['--serve-load'], { execArgv: ['-r', 'tsx/cjs'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`load child exited with ${code}`)));
    });
    return new LoadChild(child);
  }

  run(url: string, bodies: string[], concurrency: number): Promise<LoadResult> {
    return new Promise((resolve) => {
      this.child.once('message', (m: { result: LoadResult }) => resolve(m.result));
      this.child.send({ url, bodies, concurrency });
    });
  }

  close(): void {
    this.child.disconnect();
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function startBare(apiUrl: string): Promise<{ port: number; close(): Promise<void> }> {
  const receiver = new HTTPReceiver({ signingSecret: WORLD.signingSecret, processBeforeResponse: false, logLevel: LogLevel.ERROR });
  const app = new App({ token: WORLD.botToken, receiver, clientOptions: { slackApiUrl: apiUrl }, logLevel: LogLevel.ERROR });
  app.command('/wid', async ({ ack }) => {
    await ack();
  });
  const server = (await app.start(0)) as Server;
  return { port: (server.address() as AddressInfo).port, close: async () => void (await app.stop()) };
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function run(opts: AckBenchOptions = {}): Promise<AckBenchFigures> {
  const argv = opts.argv ?? [];
  const requests = opts.requests ?? Number(arg(argv, '--requests') ?? 2000);
  const concurrency = opts.concurrency ?? Number(arg(argv, '--concurrency') ?? 64);
  const text = opts.text ?? arg(argv, '--text') ?? 'status';
  const warmup = Math.min(300, requests);
  const log = (s: string) => {
    if (!opts.quiet) process.stdout.write(`${s}\n`);
  };

  const redis = await startRedisServer();
  const emulator = await EmulatorChild.start();
  const web = await startWeb({
    slack: { mode: 'http', botToken: WORLD.botToken, signingSecret: WORLD.signingSecret, apiUrl: emulator.apiUrl, port: 0 },
    redisUrl: redis.url,
    prefix: `bench-${randomBytes(3).toString('hex')}`,
    policy: parsePolicy(worldPolicyYaml(), 'world policy'),
    clusterFacts: async (c) => ({ name: c.name, oidcIssuerEnabled: true, issuerUrl: 'https://oidc.example/', workloadIdentityEnabled: true }),
  });
  const bare = await startBare(emulator.apiUrl);
  const loader = await LoadChild.start();
  try {
    const widUrl = `http://127.0.0.1:${web.port}/slack/events`;
    const bareUrl = `http://127.0.0.1:${bare.port}/slack/events`;
    const urls = await emulator.mint(requests + warmup);
    const bodies = (from: number, n: number) => urls.slice(from, from + n).map((u) => commandBody(text, u));

    log(`ack bench: ${requests} signed "/wid ${text}" commands, ${concurrency} at a time, wid-bot vs a bare Bolt app`);
    await loader.run(bareUrl, bodies(0, warmup), concurrency);
    await loader.run(widUrl, bodies(0, warmup), concurrency);
    await new Promise((r) => setTimeout(r, 500));

    // Interleaved rounds, so both apps see the same background load on a shared machine. Each wid-bot round is
    // followed by waiting until its answers are delivered, so its deferred work never overlaps a bare round.
    const rounds = 4;
    const per = Math.ceil(requests / rounds);
    const b: LoadResult = { rps: 0, latencies: [], failures: 0 };
    const w: LoadResult = { rps: 0, latencies: [], failures: 0 };
    let bareSeconds = 0;
    let widSeconds = 0;
    let drainedMs = 0;
    let sent = warmup;
    for (let round = 0; round < rounds; round++) {
      const n = Math.min(per, requests - round * per);
      if (n <= 0) break;
      const chunk = bodies(warmup + round * per, n);
      const br = await loader.run(bareUrl, chunk, concurrency);
      bareSeconds += n / br.rps;
      b.latencies.push(...br.latencies);
      b.failures += br.failures;
      const wr = await loader.run(widUrl, chunk, concurrency);
      const ended = Date.now();
      widSeconds += n / wr.rps;
      w.latencies.push(...wr.latencies);
      w.failures += wr.failures;
      sent += n;
      const until = Date.now() + 30_000;
      while (Date.now() < until && (await emulator.answered()) < sent) await new Promise((r) => setTimeout(r, 20));
      drainedMs = Math.max(drainedMs, Date.now() - ended);
    }
    b.rps = requests / bareSeconds;
    w.rps = requests / widSeconds;
    const answered = await emulator.answered();

    const figures: AckBenchFigures = {
      ack: {
        throughput_ratio: round(w.rps / b.rps, 3),
        p99_ms: round(percentile(w.latencies, 99), 1),
        p50_ms: round(percentile(w.latencies, 50), 1),
        wid_rps: round(w.rps, 0),
        bare_rps: round(b.rps, 0),
        bare_p99_ms: round(percentile(b.latencies, 99), 1),
        bare_p50_ms: round(percentile(b.latencies, 50), 1),
        drain_ms: drainedMs,
        requests,
        concurrency,
        failures: w.failures + b.failures,
      },
    };
    const a = figures.ack;
    log(`  bare Bolt : ${a.bare_rps} req/s, p50 ${a.bare_p50_ms} ms, p99 ${a.bare_p99_ms} ms`);
    log(`  wid-bot   : ${a.wid_rps} req/s, p50 ${a.p50_ms} ms, p99 ${a.p99_ms} ms (${answered} follow-up answers delivered, all answered at most ${drainedMs} ms after a round ended)`);
    log(`  throughput ratio ${a.throughput_ratio} (goal ≥ 0.8) ${a.throughput_ratio >= 0.8 ? 'OK' : 'MISSED'}; p99 ${a.p99_ms} ms (goal ≤ 50) ${a.p99_ms <= 50 ? 'OK' : 'MISSED'}; failures ${a.failures}`);
    return figures;
  } finally {
    loader.close();
    await bare.close().catch(() => undefined);
    await web.close().catch(() => undefined);
    emulator.close();
    await redis.stop();
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

if (require.main === module) {
  if (process.argv.includes('--serve-slack-emulator')) {
    void serveEmulator();
  } else if (process.argv.includes('--serve-load')) {
    void serveLoad();
  } else {
    const json = process.argv.includes('--json');
    run({ quiet: json, argv: process.argv.slice(2) })
      .then((figures) => {
        if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
        process.exit(0);
      })
      .catch((e: unknown) => {
        process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(1);
      });
  }
}
