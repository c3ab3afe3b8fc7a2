/**
 * Benchmarks that talk to the HTTPS test world run their measurement in a child process started with the world's
 * CA in NODE_EXTRA_CA_CERTS (Node reads it only at start). The child prints its figures as the last line of stdout.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createTls } from '../../test/emulators/common/tls';

const CA_READY = 'WID_BENCH_CA_READY';

/** Where the world's certificates live: the child is told, the parent makes them. */
export function benchCaDir(): string {
  return process.env.WID_TEST_TLS_DIR ?? path.join(__dirname, '..', '..', '.wid-world', 'tls');
}

/** True in the child, which measures; false in the parent, which must call runInTrustedChild. */
export function inTrustedChild(): boolean {
  return process.env[CA_READY] === '1';
}

/** Runs `file` again with `args` in a child that trusts the world's CA, and returns the JSON on its last line. */
export async function runInTrustedChild<T>(file: string, args: readonly string[], opts: { name: string; quiet?: boolean; caDir?: string }): Promise<T> {
  const dir = opts.caDir ?? benchCaDir();
  mkdirSync(dir, { recursive: true });
  const tls = await createTls(dir);
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', file, ...args], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.caFile, WID_TEST_TLS_DIR: dir, [CA_READY]: '1', ...(opts.quiet ? { WID_BENCH_QUIET: '1' } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${opts.name} bench exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as T;
}
