/**
 * The composition root: configuration → adapters → roles. `wid serve` runs the web side (the Slack
 * app) and the worker in one process; `--role web|worker` splits them so each scales on its own.
 * Nothing here decides anything: it wires what the other rooms provide.
 */
import os from 'node:os';
import { WebClient, LogLevel } from '@slack/web-api';
import { loadConfig, describeConfig, type Config, type Role } from './config/env';
import type { AzureAdapters, AzureConfig } from './azure';
import { credentialFromEnv, resourceManagerFromEnv } from './azure/credential';
import { onFirstCall } from './app/on-first-call';
import type { KubeAdapterConfig } from './kube';
import type { AuthorizationPort, ClusterPort, KubePort } from './domain/ports';
import { kubeByCluster, type KubeForCluster } from './kube/clusters';
import { createInspector, scopedInspectForSlack } from './inspect';
import { IssuerHistory, recordingIssuers } from './store/issuers';
import { SlackRefederateNotifier } from './slack/refederate';
import { createLogger, Metrics, bullmqQueueCounts, Health, startHealthServer, redisPingCheck, slackAuthCheck, type Logger, type HealthServer } from './observability';
import { followTransitions, type TransitionFeed } from './observability/transitions';
import type { RunningWeb } from './web';
import type { RunningWorker } from './worker';
import { createSlackProgressSink } from './slack/progress';
import { ApprovalMessageGate } from './store/approval-gate';
import { SlackGrantNotifier } from './slack/grants-notifier';
import { RedisGrantStore } from './grants/store';
import { checkPolicyLive, type PolicyCheckReport } from './app/policy-check';
import { slackDirectory } from './slack/directory';
import { grantFindings } from './grants/audit';

import { connectionFor, EntraRedisAuth, RedisRequestStore, useEntraAuthFor } from './store';
import { forgetRedisAuth } from './store/redis-auth';
import { createQueues } from './queue';
import type { KnownBlock } from '@slack/types';
import type { SlackLogger } from './slack/logger';
import type { AdapterCall } from './domain/ports';

/** The live policy check at start runs this long after the process is up (off the cold-start path). */
const START_CHECK_DELAY_MS = 3000;

export interface RunningBot {
  role: Role;
  port: number;
  close(): Promise<void>;
}

function slackLogger(logger: Logger): SlackLogger {
  return {
    debug: (m) => logger.debug(m),
    info: (m) => logger.info(m),
    warn: (m) => logger.warn(m),
    error: (m) => logger.error(m),
  };
}

function azureConfig(config: Config, env: NodeJS.ProcessEnv, onCall: (c: AdapterCall) => void): AzureConfig {
  const { resourceManagerUrl, scope } = resourceManagerFromEnv(env);
  return {
    credential: credentialFromEnv(env),
    resourceManagerUrl: config.azure.resourceManagerUrl ?? resourceManagerUrl,
    audience: config.azure.resourceManagerAudience ?? scope,
    readLimit: config.azure.limits.reads,
    onCall,
  };
}

function kubeConfig(config: Config, onCall: (c: AdapterCall) => void): KubeAdapterConfig {
  return { ...(config.kube.kubeconfig ? { kubeconfigPath: config.kube.kubeconfig } : {}), ...(config.kube.inCluster ? { inCluster: true } : {}), onCall };
}

/** Start wid-bot from the environment. Throws ConfigError (every problem listed) before touching anything. */
export async function startBot(env: NodeJS.ProcessEnv = process.env, opts: { role?: string; logger?: Logger } = {}): Promise<RunningBot> {
  const config = loadConfig(env, opts.role ? { role: opts.role } : {});
  const logger = opts.logger ?? createLogger({ level: config.log.level, base: { role: config.role } });
  logger.info({ config: describeConfig(config) }, 'wid-bot starting');
  const metricsHook: { onCall?: (c: AdapterCall) => void } = {};
  const azure = azureConfig(config, env, (c) => metricsHook.onCall?.(c));
  // Redis with Entra ID: the first token before any connection; every connection then stays authenticated.
  let redisAuth: EntraRedisAuth | undefined;
  if (config.redis.auth === 'entra') {
    redisAuth = new EntraRedisAuth(azure.credential, { logger: { info: (m) => logger.info(m), warn: (m) => logger.warn(m) } });
    try {
      await redisAuth.start();
    } catch (e) {
      throw new Error(`WID_REDIS_AUTH=entra: could not get a Microsoft Entra token for Redis (https://redis.azure.com/.default) with wid-bot's Azure identity: ${e instanceof Error ? e.message : String(e)}`);
    }
    useEntraAuthFor(config.redis.url, redisAuth);
    logger.info({ redisUser: redisAuth.credentials().username }, 'Redis: authenticating with Microsoft Entra ID as this object id');
  }
  // Queue depth is read at scrape time through producers of the same queues.
  const queues = await createQueues(config.redis.url, config.redis.prefix).catch((e: unknown) => {
    logger.warn({ err: e }, 'Redis is not reachable yet; queue depth metrics start once it is');
    return undefined;
  });
  const metrics = new Metrics(queues ? { queueCounts: bullmqQueueCounts([queues.provision, queues.timers]) } : {});
  const onCall = (c: AdapterCall): void => metrics.onAdapterCall(c);
  metricsHook.onCall = onCall;
  const kube = kubeConfig(config, onCall);
  const prefix = config.redis.prefix;
  const runWeb = config.role === 'all' || config.role === 'web';
  const runWorker = config.role === 'all' || config.role === 'worker';

  const closers: (() => Promise<void>)[] = [];
  if (redisAuth) {
    const auth = redisAuth;
    closers.push(async () => {
      auth.stop();
      forgetRedisAuth(config.redis.url);
    });
  }
  if (queues) closers.push(() => queues.close());
  const health = { redis: connectionFor(config.redis.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 }) };
  health.redis.on('error', () => {}); // readiness reports it; ioredis reconnects by itself
  await health.redis.connect().catch((e: unknown) => logger.warn({ err: e }, 'Redis is not reachable yet; /readyz will say so'));
  closers.push(async () => health.redis.disconnect());
  const slackClient = new WebClient(config.slack.botToken, {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    retryConfig: { retries: 1 },
    logLevel: LogLevel.ERROR,
  });
  const slackAuth = slackAuthCheck(slackClient);
  // Web roles: not ready until the Slack app's own connection succeeded (it retries with backoff), then auth.test.
  let web: RunningWeb | undefined;
  const slackCheck = runWeb
    ? async () => {
        if (!web) throw new Error('the Slack app is starting');
        await web.slack.check();
        await slackAuth();
      }
    : slackAuth;
  const checks = { redis: redisPingCheck(health.redis), slack: slackCheck };
  const healthRoutes = new Health(checks, metrics);

  // The ARM SDK clients, loaded on first use (a web-only replica may never need them).
  let azureLoaded: AzureAdapters | undefined;
  const azureAdapters = (): AzureAdapters => (azureLoaded ??= (require('./azure') as typeof import('./azure')).createAzureAdapters(azure));
  // The live policy check that runs once after start: in a process that runs the worker (it has the ARM clients
  // loaded anyway), so a web-only replica stays small; `/wid policy check` runs it on demand in any role.
  let startCheck: (() => Promise<PolicyCheckReport>) | undefined;
  const policyCheckWith =
    (clusters: ClusterPort, authorization: AuthorizationPort) => (): Promise<PolicyCheckReport> =>
      checkPolicyLive({ policy: config.policy.policy, file: config.policy.file, directory: slackDirectory(slackClient), scopes: onFirstCall('the scope reader', () => azureAdapters().scopes), authorization, clusters });
  let worker: RunningWorker | undefined;
  let healthServer: HealthServer | undefined;
  let feed: TransitionFeed | undefined;
  try {
    // One store connection for this process's own reads: the worker's progress renderer and the metrics feed.
    const store = await RedisRequestStore.connect(config.redis.url, { prefix });
    closers.push(() => store.close());
    if (runWorker) {
      // Loaded only in processes that run the worker: it brings @kubernetes/client-node (~70 MB resident).
      const { startWorker } = require('./worker') as typeof import('./worker');
      worker = await startWorker({
        redisUrl: config.redis.url,
        prefix,
        policy: config.policy.policy,
        azure,
        kube,
        ...(config.kube.clusters ? { kubeClusters: config.kube.clusters } : {}),
        ...(config.azure.authorityHost ? { entraAuthorityHost: config.azure.authorityHost } : {}),
        verify: { enabled: config.worker.verify, timeoutMs: config.worker.verifyTimeoutSeconds * 1000 },
        concurrency: config.worker.concurrency,
        limits: { armWrites: config.azure.limits.writes, armDeletes: config.azure.limits.deletes, identityCreates: config.azure.limits.identityCreates },
        progress: createSlackProgressSink({
          botToken: config.slack.botToken,
          ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
          store,
          logger: slackLogger(logger),
          grantOf: async (id) => (await new RedisGrantStore(store.redis, store.keys).get(id))?.grant,
          gate: new ApprovalMessageGate(store.redis, store.keys),
        }),
        grants: {
          notifier: new SlackGrantNotifier({ client: slackClient, store, policy: config.policy.policy, logger: slackLogger(logger) }),
          reconcileIntervalMs: config.worker.grantReconcileSeconds * 1000,
          onEnded: (g, lateness) => metrics.onGrantEnded(g.end?.reason ?? 'expired', g.end?.assignmentRemoved === true, lateness),
          onEndFailed: () => metrics.onGrantEndFailed(),
        },
        refederate: { notifier: new SlackRefederateNotifier(slackClient, slackLogger(logger)) },
        logger,
        onStep: (step, outcome, ms) => metrics.onStep(step, outcome, ms),
      });
    }
    // Socket Mode has no Bolt HTTP server: probes get their own, up before Slack is reached.
    if (!runWeb || config.slack.mode === 'socket') healthServer = await startHealthServer(config.http.port, healthRoutes);
    if (runWeb) {
      // A web-only replica loads Bolt here and the ARM SDK clients on the first request or inspection.
      const { startWeb } = require('./web') as typeof import('./web');
      const adapters = {
        clusters: onFirstCall('the AKS adapter', () => azureAdapters().clusters),
        identities: onFirstCall('the managed identity adapter', () => azureAdapters().identities),
        authorization: onFirstCall('the role assignment adapter', () => azureAdapters().authorization),
        schedules: onFirstCall('the role assignment schedule adapter', () => azureAdapters().schedules),
      };
      // The web side needs Kubernetes only for /wid list|audit|legacy: a web-only replica loads the client on first use.
      // Each policy cluster its own API (WID_KUBE_CONTEXTS / WID_KUBECONFIGS); clusters not named there share KUBECONFIG's.
      const kubeOnDemand: KubeForCluster = kubeByCluster(kube, config.kube.clusters ?? {}, (c) => onFirstCall<KubePort>('the Kubernetes adapter', () => (require('./kube') as typeof import('./kube')).createKubeAdapter(c)));
      const grantStore = new RedisGrantStore(store.redis, store.keys);
      // Every issuer the web side reads is recorded, so a recreated cluster's old issuer stays known.
      const issuers = new IssuerHistory(store.redis, prefix);
      const clusters = recordingIssuers(adapters.clusters, issuers, logger);
      const inspectorDeps = {
        policy: config.policy.policy,
        clusters,
        issuerHistory: (name: string) => issuers.history(name),
        identities: adapters.identities,
        kube: kubeOnDemand,
        grantFindings: () => grantFindings({ policy: config.policy.policy, identities: adapters.identities, authorization: adapters.authorization, schedules: adapters.schedules, grants: grantStore }),
      };
      const inspect = scopedInspectForSlack(inspectorDeps, { reuseMs: (config.inspect?.reuseSeconds ?? 10) * 1000 });
      // the operators' Run audit in the Home tab: the same audit, its counts only
      const auditor = createInspector(inspectorDeps);
      // the policy against Slack, Azure and the clusters as they are now (/wid policy check, and once at start)
      const policyCheck = policyCheckWith(clusters, adapters.authorization);
      if (runWorker) startCheck = policyCheck;
      web = await startWeb({
        policyCheck,
        slack: {
          mode: config.slack.mode,
          botToken: config.slack.botToken,
          ...(config.slack.signingSecret ? { signingSecret: config.slack.signingSecret } : {}),
          ...(config.slack.appToken ? { appToken: config.slack.appToken } : {}),
          ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
          port: config.http.port,
        },
        redisUrl: config.redis.url,
        prefix,
        policy: config.policy.policy,
        clusterFacts: (c) => clusters.getClusterFacts(c),
        refederate: { policy: config.policy.policy, clusters, identities: adapters.identities, kube: kubeOnDemand, issuerHistory: (name) => issuers.history(name) },
        ...(config.slack.approvalsChannel ? { approvalsChannelFallback: config.slack.approvalsChannel } : {}),
        logger: slackLogger(logger),
        inspect: async (verb, args, user, onProgress) => {
          const answer = await inspect(verb, args, { id: user.id, scope: user.scope }, onProgress && (({ early, ...p }) => onProgress({ ...p, ...(early ? { early: () => early().map((m) => ({ text: m.text, blocks: m.blocks as KnownBlock[] })) } : {}) })));
          // src/inspect renders Block Kit as plain data (its tests check it against Slack's limits).
          return { ...answer, messages: answer.messages.map((m) => ({ text: m.text, blocks: m.blocks as KnownBlock[] })) };
        },
        ...(config.inspect ? { scanConcurrency: config.inspect.concurrency } : {}),
        migrations: { identities: adapters.identities, authorization: adapters.authorization, kube: kubeOnDemand },
        audit: async (cluster) => (await auditor.audit({ cluster })).counts,
        extraRoutes: healthRoutes.routes(),
        // Slack unreachable at start is not fatal: the server answers /healthz and /readyz while it retries.
        awaitSlack: 'first-attempt',
      });
      // Time from Slack's delivery to the end of wid-bot's handling (listeners ack first, then work).
      web.app.use(async ({ body, next }) => {
        const t0 = process.hrtime.bigint();
        const b = body as { type?: string; command?: string };
        const kind = b.command ? 'command' : b.type === 'block_actions' ? 'action' : b.type === 'view_submission' ? 'view' : b.type === 'shortcut' ? 'shortcut' : 'event';
        try {
          await next();
          metrics.onSlackAck(kind, Number(process.hrtime.bigint() - t0) / 1e6);
        } catch (e) {
          metrics.onSlackAck(kind, Number(process.hrtime.bigint() - t0) / 1e6, 'error');
          throw e;
        }
      });
    }
    if (runWorker && !startCheck) startCheck = policyCheckWith(onFirstCall('the AKS adapter', () => azureAdapters().clusters), onFirstCall('the role assignment adapter', () => azureAdapters().authorization));
    // Warnings in the log, never a refusal to start: a deactivated approver or a missing scope must not take wid-bot
    // down. Run once the process is up, not during its start: the check loads the ARM clients (hundreds of ms of
    // module loading on the event loop) and would otherwise hold back /readyz.
    const check = startCheck;
    if (check) {
      setTimeout(() => {
        void check().then(
          (r) => {
            for (const p of r.problems) logger.warn({ policyProblem: p }, `policy check: ${p.file}: ${p.path}: ${p.problem}. Fix: ${p.fix}.`);
            logger.info({ checked: r.checked, problems: r.problems.length, skipped: r.skipped }, 'policy checked against Slack, Azure and the clusters');
          },
          (e: unknown) => logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'the policy check at start could not run'),
        );
      }, START_CHECK_DELAY_MS).unref();
    } else {
      logger.info('the policy check at start runs in the worker role; /wid policy check runs it here on demand');
    }
    // A blocking XREADGROUP needs a connection of its own.
    const feedRedis = connectionFor(config.redis.url, { maxRetriesPerRequest: null });
    feedRedis.on('error', () => {});
    closers.push(async () => feedRedis.disconnect());
    feed = await followTransitions(feedRedis, store.keys.audit, metrics, async (id) => (await store.get(id))?.createdAt, `${os.hostname()}-${process.pid}`, (e) =>
      logger.warn({ err: e }, 'reading the audit stream for metrics failed; retrying'),
    );
  } catch (e) {
    await Promise.allSettled([worker?.close(), web?.close(), healthServer?.close(), feed?.close(), ...closers.map((c) => c())]);
    throw e;
  }

  const port = web?.port || healthServer?.port || config.http.port;
  logger.info({ port }, 'wid-bot is running');
  let closing: Promise<void> | undefined;
  return {
    role: config.role,
    port,
    close() {
      closing ??= (async () => {
        healthRoutes.markShuttingDown();
        // Stop taking new Slack work first, then let running jobs finish.
        await web?.close();
        await worker?.close();
        await feed?.close();
        await healthServer?.close();
        await Promise.allSettled(closers.map((c) => c()));
        logger.info('wid-bot stopped');
      })();
      return closing;
    },
  };
}
