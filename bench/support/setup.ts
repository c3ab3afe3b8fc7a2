/**
 * What the provisioning benchmarks start the same way: a redis-server of their own, the world behind the
 * benchmark's CA, a store and queues under a fresh key prefix, the world's policy and ARM settings.
 *
 * The world runs in a child process of its own by default (bench/support/remote-world.ts), so the emulators' CPU
 * work does not share the event loop of the worker being measured; `--world-in-process` starts it in this process.
 */
import { randomBytes } from 'node:crypto';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import type { AzureConfig } from '../../src/azure';
import { loadPolicyFile } from '../../src/config/policy';
import type { ProgressSink } from '../../src/domain/ports';
import type { Policy, PolicyCluster } from '../../src/domain/types';
import type { WorkerConfig } from '../../src/worker';
import { createQueues, type WidQueues } from '../../src/queue';
import { RedisRequestStore } from '../../src/store';
import { createTls } from '../../test/emulators/common/tls';
import { startWorld, type WorldOptions } from '../../test/emulators/world';
import { startRedisServer, type RedisServerHandle } from '../../test/support/redis-server';
import { inProcessBenchWorld, startRemoteWorld, type BenchWorld } from './remote-world';
import { benchCaDir } from './trusted-child';

/** The emulators take any bearer token: the benchmarks measure wid-bot's calls, not sign-in. */
export const anyToken: TokenCredential = {
  getToken: (): Promise<AccessToken> => Promise.resolve({ token: 'bench-token', expiresOnTimestamp: Date.now() + 3600_000 }),
};

/** ARM settings for the world: the SDK's retries, with a 429's Retry-After capped at 2 s. */
export function benchAzureConfig(world: { arm: { url: string } }): AzureConfig {
  return { credential: anyToken, resourceManagerUrl: world.arm.url, audience: 'https://management.azure.com', retry: { maxRetryAfterSeconds: 2 } };
}

export interface BenchSetup {
  redis: RedisServerHandle;
  world: BenchWorld;
  prefix: string;
  store: RedisRequestStore;
  queues: WidQueues;
  policy: Policy;
  cluster: PolicyCluster;
  azureConfig: AzureConfig;
  /** Closes the queues, the store, the world and the redis-server (start your worker's close before). */
  close(): Promise<void>;
}

/** The flag that starts the world in the benchmark's own process, as before it had a process of its own. */
export const WORLD_IN_PROCESS_FLAG = '--world-in-process';

export interface BenchSetupOptions {
  /** Start the world in this process (sharing its event loop) instead of a child process of its own. */
  worldInProcess?: boolean;
}

export function benchSetupOptions(argv: readonly string[]): BenchSetupOptions {
  return { worldInProcess: argv.includes(WORLD_IN_PROCESS_FLAG) };
}

/** The world the benchmarks run against: the issuer's keys cached for the run. */
export async function startBenchWorld(opts: BenchSetupOptions = {}): Promise<BenchWorld> {
  const options: Omit<WorldOptions, 'tls'> = { entra: { jwksCacheMs: 3_600_000 } };
  if (!opts.worldInProcess) return startRemoteWorld(benchCaDir(), options);
  return inProcessBenchWorld(await startWorld({ ...options, tls: await createTls(benchCaDir()) }));
}

export async function startBenchSetup(tag: string, opts: BenchSetupOptions = {}): Promise<BenchSetup> {
  const redis = await startRedisServer();
  const world = await startBenchWorld(opts).catch(async (e: unknown) => {
    await redis.stop();
    throw e;
  });
  const prefix = `${tag}:${randomBytes(3).toString('hex')}`;
  const store = await RedisRequestStore.connect(redis.url, { prefix });
  const queues = await createQueues(redis.url, prefix, { provisionAttempts: 10 });
  const policy = loadPolicyFile(world.files.policy);
  const cluster = policy.clusters[0];
  if (!cluster) throw new Error('the world policy has no cluster');
  return {
    redis,
    world,
    prefix,
    store,
    queues,
    policy,
    cluster,
    azureConfig: benchAzureConfig(world),
    async close() {
      try {
        await queues.close();
        await store.close();
      } finally {
        await world.close();
        await redis.stop();
      }
    },
  };
}

/** The worker the throughput benchmarks run: in this process, 48 requests at once, verification on. */
export function benchWorkerConfig(s: BenchSetup, progress: ProgressSink): WorkerConfig {
  return {
    redisUrl: s.redis.url,
    prefix: s.prefix,
    policy: s.policy,
    azure: s.azureConfig,
    kube: { kubeconfigYaml: s.world.kube.kubeconfig() },
    entraAuthorityHost: s.world.entra.url,
    verify: { enabled: true, timeoutMs: 60_000 },
    concurrency: 48,
    progress,
  };
}
