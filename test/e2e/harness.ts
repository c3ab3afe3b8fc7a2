/**
 * The whole product against the local world: the test world's emulators, a test Redis, the real Slack
 * app (startWeb) and the real worker (startWorker), with Slack's signing client acting as Slack.
 */
import { ClientSecretCredential } from '@azure/identity';
import type { KnownBlock } from '@slack/types';
import { scopedInspectForSlack } from '../../src/inspect';
import { createKubeAdapter } from '../../src/kube';
import { createAzureAdapters, type AzureConfig } from '../../src/azure';
import { parsePolicy } from '../../src/config/policy';
import type { Policy, WidRequest } from '../../src/domain/types';
import { createQueues, type WidQueues } from '../../src/queue';
import { createSlackProgressSink } from '../../src/slack/progress';
import { RedisRequestStore } from '../../src/store';
import { startWeb, type RunningWeb, type WebConfig } from '../../src/web';
import { startWorker, type RunningWorker } from '../../src/worker';
import { SlackSigningClient } from '../emulators/slack/client';
import type { StoredMessage } from '../emulators/slack';
import { startWorld, WORLD, type World, type WorldOptions } from '../emulators/world';
import { readFileSync } from 'node:fs';
import { kubeByCluster, type KubeClusterOverride } from '../../src/kube/clusters';
import { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { SlackRefederateNotifier } from '../../src/slack/refederate';
import { connectProducer } from '../../src/store/connection';
import { IssuerHistory, recordingIssuers } from '../../src/store/issuers';
import { ApprovalMessageGate } from '../../src/store/approval-gate';
import { testRedisUrl, uniquePrefix } from '../support/redis';

export interface Harness {
  world: World;
  policy: Policy;
  web: RunningWeb;
  worker?: RunningWorker;
  slack: SlackSigningClient;
  store: RedisRequestStore;
  queues: WidQueues;
  prefix: string;
  /** Sends `/wid <text>` as this user. */
  wid(userId: string, text: string): ReturnType<SlackSigningClient['slashCommand']>;
  /** The approval message of a request, as the emulator holds it. */
  approvalMessage(requestId: string): StoredMessage;
  /** Clicks a button of the request's approval message. */
  click(userId: string, actionId: string, requestId: string): ReturnType<SlackSigningClient['blockAction']>;
  /** Polls the store until the request satisfies `ok`. */
  waitForRequest(id: string, ok: (r: WidRequest) => boolean, timeoutMs?: number): Promise<WidRequest>;
  /** Provision jobs in any state. */
  provisionJobs(): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  world?: WorldOptions;
  worker?: boolean;
  web?: Partial<WebConfig>;
  /** Another Redis than the test run's (e.g. one with TLS and ACL users). */
  redisUrl?: string;
  /** Runs once the world is up, before anything connects to Redis. */
  beforeConnect?: (world: World) => Promise<void>;
  /** Wire `/wid migrate` and the inspection verbs (`/wid legacy` with its Migrate buttons) to the world, as src/main.ts does. */
  migrate?: boolean;
  /** `/wid refederate`: the web side plans (recording every issuer it reads) and the worker keeps the batch message up to date. */
  refederate?: boolean;
  /** With `migrate`: how old an inspection scan may be and still be reused (default 0: every command scans). */
  inspectReuseMs?: number;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const world = await startWorld(opts.world);
  // The world writes the policy it matches (with every cluster it runs).
  const policy = parsePolicy(readFileSync(world.files.policy, 'utf8'), 'world policy');
  // Each cluster its own Kubernetes API, as WID_KUBECONFIGS configures wid-bot.
  const kubeClusters: Record<string, KubeClusterOverride> = Object.fromEntries(
    Object.entries(world.files.kubeconfigs).filter(([name]) => name !== WORLD.clusterName).map(([name, file]) => [name, { kubeconfigPath: file }]),
  );
  const kubeFor = kubeByCluster({ kubeconfigPath: world.files.kubeconfig }, kubeClusters, (c) => createKubeAdapter(c));
  const prefix = uniquePrefix('e2e');
  const redisUrl = opts.redisUrl ?? testRedisUrl();
  await opts.beforeConnect?.(world);
  const azure: AzureConfig = {
    credential: new ClientSecretCredential(WORLD.tenantId, WORLD.botClientId, WORLD.botClientSecret, { authorityHost: world.entra.url, disableInstanceDiscovery: true }),
    resourceManagerUrl: world.arm.url,
    retry: { maxRetries: 1, retryDelayMs: 50, maxRetryDelayMs: 200 },
  };
  const adapters = createAzureAdapters(azure);
  let clusters = adapters.clusters;
  let refederateRedis: Redis | undefined;
  let refederate: WebConfig['refederate'];
  if (opts.refederate) {
    refederateRedis = await connectProducer(redisUrl);
    const issuers = new IssuerHistory(refederateRedis, prefix);
    clusters = recordingIssuers(adapters.clusters, issuers);
    refederate = { policy, clusters, identities: adapters.identities, kube: kubeFor, issuerHistory: (c) => issuers.history(c) };
  }
  const inspect = opts.migrate ? scopedInspectForSlack({ policy, clusters, identities: adapters.identities, kube: kubeFor }, { reuseMs: opts.inspectReuseMs ?? 0 }) : undefined;
  const web = await startWeb({
    ...(refederate ? { refederate } : {}),
    slack: { mode: 'http', botToken: WORLD.botToken, signingSecret: WORLD.signingSecret, apiUrl: world.slack.apiUrl, port: 0 },
    redisUrl,
    prefix,
    policy,
    clusterFacts: (c) => clusters.getClusterFacts(c),
    federations: { identities: adapters.identities },
    ...(inspect
      ? {
          migrations: { identities: adapters.identities, authorization: adapters.authorization, kube: kubeFor },
          inspect: async (verb, args, user, onProgress) => {
            const answer = await inspect(verb, args, { id: user.id, scope: user.scope }, onProgress && (({ early, ...p }) => onProgress({ ...p, ...(early ? { early: () => early().map((m) => ({ text: m.text, blocks: m.blocks as KnownBlock[] })) } : {}) })));
            return { ...answer, messages: answer.messages.map((m) => ({ text: m.text, blocks: m.blocks as KnownBlock[] })) };
          },
        }
      : {}),
    ...opts.web,
  });
  const store = await RedisRequestStore.connect(redisUrl, { prefix });
  const queues = await createQueues(redisUrl, prefix);
  let worker: RunningWorker | undefined;
  if (opts.worker) {
    worker = await startWorker({
      redisUrl,
      prefix,
      policy,
      azure,
      kube: { kubeconfigPath: world.files.kubeconfig },
      ...(Object.keys(kubeClusters).length ? { kubeClusters } : {}),
      entraAuthorityHost: world.env.AZURE_AUTHORITY_HOST as string,
      verify: { enabled: true, timeoutMs: 15_000 },
      concurrency: 2,
      progress: createSlackProgressSink({ botToken: WORLD.botToken, apiUrl: world.slack.apiUrl, store, intervalMs: 1000, gate: new ApprovalMessageGate(store.redis, store.keys) }),
      queue: { backoffBaseMs: 200 },
      ...(opts.refederate ? { refederate: { notifier: new SlackRefederateNotifier(new WebClient(WORLD.botToken, { slackApiUrl: world.slack.apiUrl })) } } : {}),
    });
  }
  const slack = new SlackSigningClient({ botUrl: `http://127.0.0.1:${web.port}/slack/events`, signingSecret: WORLD.signingSecret, emulator: world.slack });

  const h: Harness = {
    world,
    policy,
    web,
    ...(worker ? { worker } : {}),
    slack,
    store,
    queues,
    prefix,
    wid: (userId, text) => slack.slashCommand({ userId, text, channelId: WORLD.requestsChannel }),
    approvalMessage(requestId) {
      const m = world.slack.messages(WORLD.approvalsChannel).find((x) => x.text.startsWith(`${requestId}:`) || JSON.stringify(x.blocks ?? []).includes(requestId));
      if (!m) throw new Error(`no approval message for ${requestId} in ${WORLD.approvalsChannel}`);
      return m;
    },
    click(userId, actionId, requestId) {
      const m = h.approvalMessage(requestId);
      return slack.blockAction({ userId, actionId, message: { channel: m.channel, ts: m.ts } });
    },
    async waitForRequest(id, ok, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      let last: WidRequest | undefined;
      while (Date.now() < until) {
        last = await store.get(id);
        if (last && ok(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`request ${id} did not reach the expected state in ${timeoutMs} ms; last: ${last?.state} ${JSON.stringify(last?.failure ?? '')}`);
    },
    async provisionJobs() {
      const counts = await queues.provision.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      await worker?.close();
      await web.close();
      await queues.close();
      await store.close();
      await refederateRedis?.quit();
      await world.close();
    },
  };
  return h;
}

/** The request id in an ephemeral confirmation or any text. */
export function requestIdIn(text: string): string | undefined {
  return /wid-[a-z2-7]{10}/.exec(text)?.[0];
}

/** Waits until the emulator has an ephemeral for `userId` whose text matches, and returns it. */
export async function waitForEphemeral(world: World, userId: string, match: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const e = world.slack.ephemerals(userId).find((x) => match(`${x.text}\n${JSON.stringify(x.blocks ?? [])}`));
    if (e) return `${e.text}\n${JSON.stringify(e.blocks ?? [])}`;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no matching ephemeral for ${userId}; got: ${world.slack.ephemerals(userId).map((e) => e.text).join(' | ')}`);
}

/**
 * `/wid <text>` as `userId`, answered: the first ephemeral that arrives after the command (not an earlier one), as
 * text and blocks. Commands are spaced 1.1 s apart, since Slack takes about one message per second per channel and
 * every request posts in the approvals channel.
 */
export function commandAnswers(h: Pick<Harness, 'world' | 'wid'>, userId: string): (text: string, timeoutMs?: number) => Promise<string> {
  let lastCommandAt = 0;
  return async (text, timeoutMs = 10_000) => {
    await new Promise((r) => setTimeout(r, Math.max(0, lastCommandAt + 1100 - Date.now())));
    lastCommandAt = Date.now();
    const before = h.world.slack.ephemerals(userId).length;
    await h.wid(userId, text);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const e = h.world.slack.ephemerals(userId)[before];
      if (e) return `${e.text}\n${JSON.stringify(e.blocks ?? [])}`;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no answer to /wid ${text}`);
  };
}
