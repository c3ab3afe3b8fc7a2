/**
 * One wid-bot worker process for the scale-out benchmark: startWorker against the world named in the
 * environment, with the product's defaults (concurrency WID_WORKER_CONCURRENCY, default 4; 30 s queue locks).
 * Started by bench/scaleout.bench.ts from its trusted child, so it trusts the world's CA too.
 *
 *   WID_BENCH_REDIS_URL, WID_BENCH_PREFIX, WID_BENCH_ARM_URL, WID_BENCH_KUBECONFIG, WID_BENCH_ENTRA_URL, WID_BENCH_POLICY_FILE
 *
 * Prints `ready` once it takes jobs; on SIGTERM lets running jobs finish and exits.
 */
import { readFileSync } from 'node:fs';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { loadPolicyFile } from '../../src/config/policy';
import { startWorker } from '../../src/worker';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`worker-process: ${name} is not set`);
  return v;
}

const anyToken: TokenCredential = {
  getToken: (): Promise<AccessToken> => Promise.resolve({ token: 'bench-token', expiresOnTimestamp: Date.now() + 3600_000 }),
};

async function main(): Promise<void> {
  const concurrency = Number(process.env.WID_WORKER_CONCURRENCY ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`WID_WORKER_CONCURRENCY must be a whole number ≥ 1, got ${process.env.WID_WORKER_CONCURRENCY}`);
  const worker = await startWorker({
    redisUrl: need('WID_BENCH_REDIS_URL'),
    prefix: need('WID_BENCH_PREFIX'),
    policy: loadPolicyFile(need('WID_BENCH_POLICY_FILE')),
    azure: { credential: anyToken, resourceManagerUrl: need('WID_BENCH_ARM_URL'), audience: 'https://management.azure.com', retry: { maxRetryAfterSeconds: 2 } },
    kube: { kubeconfigYaml: readFileSync(need('WID_BENCH_KUBECONFIG'), 'utf8') },
    entraAuthorityHost: need('WID_BENCH_ENTRA_URL'),
    verify: { enabled: true, timeoutMs: 60_000 },
    concurrency,
  });
  process.once('SIGTERM', () => {
    worker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  process.stdout.write('ready\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`worker-process: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
