import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RedisServerHandle {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** Stop the server (SIGTERM, then SIGKILL after a grace period) and remove its directory unless kept. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
}

export interface RedisServerOptions {
  port?: number;
  /** Persist with AOF (appendfsync always) in `dir`, so a restart keeps every acknowledged write. */
  appendOnly?: boolean;
  dir?: string;
}

const INSTALL_HINT =
  'redis-server was not found on PATH. The tests start their own Redis. Install it with one of:\n' +
  '  Debian/Ubuntu: sudo apt-get install -y redis-server\n' +
  '  macOS:         brew install redis\n' +
  '  Docker:        docker run -d -p 6379:6379 redis:7 and then REDIS_URL=redis://127.0.0.1:6379/15 npm test\n' +
  'or point the tests at a Redis you own with REDIS_URL (it will be used, never flushed as a whole).';

export function redisServerBinary(): string {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const bin = found.stdout.trim();
  if (found.status !== 0 || !bin) throw new Error(INSTALL_HINT);
  return bin;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before it was ready`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.write('PING\r\n');
      });
      sock.once('data', (d) => {
        sock.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      sock.once('error', () => resolve(false));
      sock.setTimeout(500, () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on port ${port} was not ready within ${timeoutMs} ms`);
}

/** Start a private redis-server on loopback. The caller owns it and must stop it. */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const bin = redisServerBinary();
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'wid-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--maxmemory-policy', 'noeviction'];
  if (opts.appendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  const child = spawn(bin, args, { stdio: 'ignore', detached: false });
  child.unref();
  await waitForPort(port, child, 10_000);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const handle: RedisServerHandle = {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    dir,
    async stop(o = {}) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      if (!o.keepDir && !opts.dir) rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return handle;
}
