/**
 * A wid-bot worker in its own process, for crash tests: started with startWorker against the test
 * world named in the environment, and SIGKILLed by itself right after the step named in
 * WID_KILL_AFTER_STEP ends — exactly where a crash between two steps would leave things.
 *
 *   WID_REDIS_URL, WID_PREFIX, WID_ARM_URL, WID_KUBECONFIG, WID_ENTRA_URL, WID_POLICY_FILE,
 *   WID_KILL_AFTER_STEP (optional), WID_KILL_AT_END_POINT (optional: a grant end's point, see src/grants/context.ts),
 *   WID_LOCK_MS (queue lock, default 1000), WID_LOCK_TTL_MS (the engine's Redis locks, default 1500),
 *   WID_CLUSTER_KUBECONFIGS (optional: `name=path,…`, the other clusters' kubeconfigs)
 *
 * Prints `ready` on stdout once it takes jobs.
 */
import { readFileSync } from 'node:fs';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { loadPolicyFile } from '../../src/config/policy';
import { startWorker } from '../../src/worker';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`worker-child: ${name} is not set`);
  return v;
}

const anyToken: TokenCredential = {
  getToken: (): Promise<AccessToken> => Promise.resolve({ token: 'test-token', expiresOnTimestamp: Date.now() + 3600_000 }),
};

async function main(): Promise<void> {
  const killAfter = process.env.WID_KILL_AFTER_STEP;
  const lockMs = Number(process.env.WID_LOCK_MS ?? 1000);
  const kubeClusters = Object.fromEntries(
    (process.env.WID_CLUSTER_KUBECONFIGS ?? '')
      .split(',')
      .filter((p) => p.includes('='))
      .map((p) => [p.slice(0, p.indexOf('=')), { kubeconfigPath: p.slice(p.indexOf('=') + 1) }]),
  );
  await startWorker({
    redisUrl: need('WID_REDIS_URL'),
    prefix: need('WID_PREFIX'),
    policy: loadPolicyFile(need('WID_POLICY_FILE')),
    azure: {
      credential: anyToken,
      resourceManagerUrl: need('WID_ARM_URL'),
      audience: 'https://management.azure.com',
      retry: { maxRetries: 4, retryDelayMs: 20, maxRetryDelayMs: 200, maxRetryAfterSeconds: 2 },
    },
    kube: { kubeconfigYaml: readFileSync(need('WID_KUBECONFIG'), 'utf8') },
    ...(Object.keys(kubeClusters).length ? { kubeClusters } : {}),
    entraAuthorityHost: need('WID_ENTRA_URL'),
    verify: { enabled: true, timeoutMs: 10_000 },
    concurrency: 4,
    limits: { retryBaseMs: 50, lockTtlMs: Number(process.env.WID_LOCK_TTL_MS ?? 1500) },
    queue: { lockDurationMs: lockMs, stalledIntervalMs: Math.max(200, Math.floor(lockMs / 2)) },
    onStep(step, outcome) {
      if (step === killAfter && outcome !== 'failed') process.kill(process.pid, 'SIGKILL');
    },
    grants: {
      limits: { lockTtlMs: 1500, lockWaitMs: 3000 },
      backoffBaseMs: 100,
      onEndPoint(point) {
        if (point === process.env.WID_KILL_AT_END_POINT) process.kill(process.pid, 'SIGKILL');
      },
    },
  });
  process.stdout.write('ready\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`worker-child: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
