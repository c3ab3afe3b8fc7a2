/**
 * Footprint: cold start (process spawn → /readyz 200) and idle RSS of `wid serve` (web + worker in
 * one process, compiled JavaScript as shipped), of `serve --role web` and of `serve --role worker`,
 * measured beside a bare Bolt app that only acks, started the same way in the same run. Idle RSS is
 * VmRSS after 3 s without traffic, as `ps` or a container's memory metric shows it.
 * `--modules` also prints, per variant, the packages that add the most resident memory when first required.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startWorld } from '../test/emulators/world';
import { freePort, startRedisServer } from '../test/support/redis-server';

const ROOT = path.resolve(__dirname, '..');

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function startAndWait(cmd: string[], env: NodeJS.ProcessEnv, url: string): Promise<{ child: ChildProcess; ms: number }> {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, cmd, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${cmd.join(' ')} exited with ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.status === 200) break;
    } catch {
      /* not listening yet */
    }
    await sleep(10);
  }
  return { child, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** dist/ is what gets measured: rebuild it when it is missing or any file under src/ is newer. */
function distIsStale(): boolean {
  const built = path.join(ROOT, 'dist', 'cli.js');
  if (!existsSync(built)) return true;
  const at = statSync(built).mtimeMs;
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? newer(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs > at));
  return newer(path.join(ROOT, 'src'));
}

const BARE_BOLT = `
const { App, HTTPReceiver } = require('@slack/bolt');
const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET, customRoutes: [{ path: '/readyz', method: ['GET'], handler: (_q, s) => { s.writeHead(200); s.end('ok'); } }] });
const app = new App({ token: process.env.SLACK_BOT_TOKEN, receiver, clientOptions: { slackApiUrl: process.env.SLACK_API_URL } });
app.command('/wid', async ({ ack }) => { await ack(); });
app.start(Number(process.env.PORT));
`;

export async function run(opts: { quiet?: boolean; argv?: string[] } = {}): Promise<Record<string, Record<string, number>>> {
  const log = (s: string): void => {
    if (!opts.quiet) process.stdout.write(s + '\n');
  };
  if (distIsStale()) {
    log('building dist/ (npm run build): it is missing or older than src/…');
    const b = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('npm run build failed');
  }
  const redis = await startRedisServer();
  const world = await startWorld();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wid-bare-'));
  const bareFile = path.join(dir, 'bare.js');
  writeFileSync(bareFile, BARE_BOLT);
  try {
    const env = { ...process.env, ...world.env, REDIS_URL: redis.url, LOG_LEVEL: 'warn', NODE_PATH: path.join(ROOT, 'node_modules') };
    const samples: { wid: number[]; bare: number[]; widRss: number[]; bareRss: number[]; webRss: number[]; workerRss: number[] } = { wid: [], bare: [], widRss: [], bareRss: [], webRss: [], workerRss: [] };
    const rounds = 3;
    for (let i = 0; i < rounds; i++) {
      const p1 = await freePort();
      const wid = await startAndWait(['dist/cli.js', 'serve'], { ...env, PORT: String(p1) }, `http://127.0.0.1:${p1}/readyz`);
      const p2 = await freePort();
      const bare = await startAndWait([bareFile], { ...env, PORT: String(p2) }, `http://127.0.0.1:${p2}/readyz`);
      const p3 = await freePort();
      const web = await startAndWait(['dist/cli.js', 'serve', '--role', 'web'], { ...env, PORT: String(p3), WID_REDIS_PREFIX: 'wid-web' }, `http://127.0.0.1:${p3}/readyz`);
      const p4 = await freePort();
      const worker = await startAndWait(['dist/cli.js', 'serve', '--role', 'worker'], { ...env, PORT: String(p4), WID_REDIS_PREFIX: 'wid-worker' }, `http://127.0.0.1:${p4}/readyz`);
      await sleep(3000); // idle: timers, queue polling and GC settle
      samples.wid.push(wid.ms);
      samples.bare.push(bare.ms);
      samples.widRss.push(rssMb(wid.child.pid ?? 0));
      samples.bareRss.push(rssMb(bare.child.pid ?? 0));
      samples.webRss.push(rssMb(web.child.pid ?? 0));
      samples.workerRss.push(rssMb(worker.child.pid ?? 0));
      await stop(worker.child);
      await stop(web.child);
      await stop(wid.child);
      await stop(bare.child);
    }
    const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
    const r2 = (n: number): number => Math.round(n * 100) / 100;
    const footprint = {
      cold_start_s: r2(median(samples.wid) / 1000),
      cold_start_bare_bolt_s: r2(median(samples.bare) / 1000),
      cold_start_ratio_to_bare_bolt: r2(median(samples.wid) / median(samples.bare)),
      idle_rss_mb: r2(median(samples.widRss)),
      idle_rss_bare_bolt_mb: r2(median(samples.bareRss)),
      /** `serve --role web`: a web-only replica; it loads the ARM SDK clients on the first request and the Kubernetes client on the first inspection. */
      idle_rss_web_role_mb: r2(median(samples.webRss)),
      /** `serve --role worker`: it loads the Kubernetes client on the first job. */
      idle_rss_worker_role_mb: r2(median(samples.workerRss)),
      rounds,
    };
    if (opts.argv?.includes('--modules')) {
      // Which packages the idle RSS is made of, per variant (a require hook; separate processes, after the timed rounds).
      for (const [label, args] of [['serve', []], ['serve --role web', ['--role', 'web']], ['serve --role worker', ['--role', 'worker']]] as const) {
        const port = await freePort();
        const file = path.join(dir, `modules-${port}.json`);
        const hook = path.join(ROOT, 'bench', 'support', 'require-rss.cjs');
        const p = await startAndWait(['--expose-gc', '-r', hook, 'dist/cli.js', 'serve', ...args], { ...env, PORT: String(port), WID_REDIS_PREFIX: `wid-mod-${port}`, WID_REQUIRE_RSS_FILE: file }, `http://127.0.0.1:${port}/readyz`);
        await sleep(3000);
        await stop(p.child);
        const added = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { pkg: string; mb: number }[]) : [];
        log(`${label}: ${added.slice(0, 8).map((a) => `${a.pkg} +${a.mb} MB`).join(', ')}`);
      }
    }
    log(
      `cold start ${footprint.cold_start_s} s (bare Bolt ${footprint.cold_start_bare_bolt_s} s), idle RSS serve ${footprint.idle_rss_mb} MB, web role ${footprint.idle_rss_web_role_mb} MB, worker role ${footprint.idle_rss_worker_role_mb} MB (bare Bolt ${footprint.idle_rss_bare_bolt_mb} MB); goals ≤ 1.5 s, serve ≤ 150 MB, each role ≤ 120 MB`,
    );
    return { footprint };
  } finally {
    await world.close();
    await redis.stop();
  }
}

if (require.main === module) {
  const json = process.argv.includes('--json');
  run({ quiet: json, argv: process.argv.slice(2) }).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`footprint bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
