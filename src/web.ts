/**
 * The web role: the Slack app. Bolt over HTTP (signed requests) or Socket Mode, the request store and
 * queues on Redis, the listeners, and the timers worker that expires requests and reminds approvers.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel, type CustomRoute } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { ClusterFacts, Policy, PolicyCluster, WidRequest } from './domain/types';
import { createQueues, createTimerWorker, type WidQueues, type WidWorker, type TimerJobData } from './queue';
import { RedisRequestStore } from './store';
import { ApprovalMessageGate } from './store/approval-gate';
import { registerApprovalActions } from './slack/actions/approval';
import { DEFAULT_SCAN_CONCURRENCY, registerWidCommand } from './slack/commands/wid';
import { registerFixActions } from './slack/actions/fix';
import type { PolicyCheckReport } from './app/policy-check';
import type { InspectHook } from './slack/inspect';
import { FollowUps } from './slack/follow-ups';
import { SlackConnection, type SlackIdentity } from './slack/connection';
import { errorText, silentLogger, type SlackLogger } from './slack/logger';
import { RequestService } from './app/requests';
import { SlackRequestNotifier } from './slack/request-notifier';
import { timerProcessor } from './slack/timers';
import { policyGroupIds, UserGroups } from './slack/usergroups';
import { registerDenyView } from './slack/views/deny';
import { registerGrantActions } from './slack/actions/grants';
import { GrantQueue } from './grants/queue';
import { GrantService } from './grants/service';
import { RedisGrantStore } from './grants/store';
import { registerRequestView } from './slack/views/request';
import { Migrations, type MigrationWorld } from './app/migrate';
import { Federations } from './app/federate';
import type { IdentityPort } from './domain/ports';
import { registerMigrateActions } from './slack/actions/migrate';
import { RefederateQueue, RefederateService } from './app/refederate';
import type { RefederatePlanDeps } from './app/refederate-plan';
import { RefederationStore } from './store/refederations';
import { registerRefederateActions, SlackRefederateNotifier } from './slack/refederate';
import { HomeService, type HomeServiceDeps } from './slack/home/service';
import { registerHome } from './slack/home/listeners';
import { registerBreakGlass } from './slack/views/break-glass';

export interface WebConfig {
  slack: {
    mode: 'http' | 'socket';
    botToken: string;
    /** Required in HTTP mode. */
    signingSecret?: string;
    /** `xapp-…`, required in Socket Mode. */
    appToken?: string;
    /** Web API base (SLACK_API_URL), e.g. GovSlack's or the emulator's; must end with `/api/`. */
    apiUrl?: string;
    /** HTTP port (default 3000; 0 = any free port). */
    port?: number;
  };
  redisUrl: string;
  /** Redis key prefix shared with the worker (default `wid`). */
  prefix?: string;
  policy: Policy;
  /** The cluster's OIDC issuer and workload-identity settings (the composition passes the Azure ClusterPort). */
  clusterFacts: (cluster: PolicyCluster) => Promise<ClusterFacts>;
  /** Approvals channel when the policy names none. */
  approvalsChannelFallback?: string;
  logger?: SlackLogger;
  /** `/wid cluster|list|creds|audit|legacy`; without it those verbs answer that inspection is not configured. */
  inspect?: InspectHook;
  /** `/wid migrate` and the Migrate/Finish buttons: Azure and Kubernetes as the web side reads them; without it migrate answers that it is not configured. */
  migrations?: MigrationWorld;
  /** `/wid federate`: the identities as the web side reads them (default: the migrations' adapter); without either federate answers that it is not configured. */
  federations?: { identities: IdentityPort };
  /** More routes on the same HTTP server, e.g. /healthz /readyz /metrics (HTTP mode only; Socket Mode has no server). */
  extraRoutes?: CustomRoute[];
  /** Run the expiry/reminder timers in this process (default true). */
  timers?: boolean;
  /** Slash-command work run at once after the acks (default 4); the rest waits its turn so acks stay fast under bursts. */
  followUpConcurrency?: number;
  /**
   * When to resolve: once Slack answered (true, the default), or once the first attempt ended either way
   * ('first-attempt'), then keep connecting in the background; `slack.check` says why not ready meanwhile.
   */
  awaitSlack?: true | 'first-attempt';
  /** Backoff between connection attempts (default 1 s doubling to 60 s). */
  slackRetry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** `/wid refederate`: what planning reads (identities, the cluster, its issuer history); without it the verb says it is not configured. */
  refederate?: RefederatePlanDeps;
  /** The App Home tab (default on): its views.publish pacing, or false to leave the Home tab alone. */
  home?: false | Pick<HomeServiceDeps, 'coalesceMs' | 'publishPerMinute' | 'publishBurst' | 'concurrency' | 'onPublished'>;
  /** `audit` of one cluster, its counts per severity: the operators' Run audit in the Home tab. */
  audit?: (cluster: string) => Promise<Record<string, number>>;
  /** `/wid policy check` (operators): the policy against Slack, Azure and the clusters. */
  policyCheck?: () => Promise<PolicyCheckReport>;
  /** Inspection scans run at once, in a lane of their own apart from the other commands' work (default 2). */
  scanConcurrency?: number;
}

export interface RunningWeb {
  /** The HTTP port Slack posts to (0 in Socket Mode). */
  port: number;
  app: App;
  /** The link to Slack: its `check` is the web role's Slack readiness until the first success. */
  slack: SlackConnection;
  /** Resolves when Slack first answered (and, in Socket Mode, the socket is open). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the Slack app. Slack being unreachable is not fatal: auth.test (and the Socket Mode connection) is retried
 * with backoff while the HTTP server already answers. Resolves when Slack answered, or with `awaitSlack: false` as
 * soon as the server listens.
 */
export async function startWeb(config: WebConfig): Promise<RunningWeb> {
  const logger = config.logger ?? silentLogger;
  const { slack } = config;
  if (slack.mode === 'http' && !slack.signingSecret) throw new Error('startWeb: HTTP mode needs slack.signingSecret (SLACK_SIGNING_SECRET).');
  if (slack.mode === 'socket' && !slack.appToken) throw new Error('startWeb: Socket Mode needs slack.appToken (SLACK_APP_TOKEN, xapp-…).');

  const store = await RedisRequestStore.connect(config.redisUrl, config.prefix ? { prefix: config.prefix } : {});
  let queues: WidQueues | undefined;
  let timers: WidWorker<TimerJobData> | undefined;
  let grantQueue: GrantQueue | undefined;
  let refederateQueue: RefederateQueue | undefined;
  let homeService: HomeService | undefined;
  try {
    queues = await createQueues(config.redisUrl, config.prefix);
    const clientOptions = {
      ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
      // a handler must not hang for Slack's default half hour of retries
      retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    };
    // Calls made outside a listener (timers, follow-ups, user groups) use this client with the bot token.
    const client = new WebClient(slack.botToken, { ...clientOptions, logLevel: LogLevel.ERROR });
    // Connection attempts are retried by SlackConnection with its own backoff: no retries inside one attempt.
    const probe = new WebClient(slack.botToken, { ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}), retryConfig: { retries: 0 }, timeout: 10_000, logLevel: LogLevel.ERROR });
    const receiver =
      slack.mode === 'http'
        ? new HTTPReceiver({
            signingSecret: slack.signingSecret as string,
            processBeforeResponse: false,
            ...(config.extraRoutes?.length ? { customRoutes: config.extraRoutes } : {}),
            logLevel: LogLevel.ERROR,
          })
        : undefined;
    let connection: SlackConnection | undefined;
    // `authorize` instead of `token`: Bolt would otherwise call auth.test in its constructor and crash the process
    // with an unhandled rejection when Slack is unreachable, and keep that failure for every later event.
    const authorize = async () => {
      const id: SlackIdentity | undefined = connection?.identity;
      return { botToken: slack.botToken, ...(id?.botId ? { botId: id.botId } : {}), ...(id?.botUserId ? { botUserId: id.botUserId } : {}), ...(id?.teamId ? { teamId: id.teamId } : {}) };
    };
    const app = new App({
      authorize,
      // Socket Mode: extraRoutes are not given to Bolt (it would open its own server on port 3000); the caller serves them.
      ...(receiver ? { receiver } : { socketMode: true, appToken: slack.appToken as string }),
      clientOptions,
      logLevel: LogLevel.ERROR,
    });
    app.error(async (e) => logger.error(`Slack listener error: ${errorText(e)}`));

    let teamUrl: string | undefined;
    const groups = new UserGroups(client, () => policyGroupIds(config.policy), logger);
    const migrations = config.migrations ? new Migrations({ ...config.migrations, policy: config.policy, clusterFacts: config.clusterFacts }) : undefined;
    const federationIdentities = config.federations?.identities ?? config.migrations?.identities;
    const federations = federationIdentities ? new Federations({ policy: config.policy, clusterFacts: config.clusterFacts, identities: federationIdentities }) : undefined;
    const notifier = new SlackRequestNotifier({ client, logger, teamUrl: () => teamUrl });
    const service = new RequestService({
      store,
      queues,
      policy: config.policy,
      clusterFacts: config.clusterFacts,
      notifier,
      groups,
      ...(config.approvalsChannelFallback ? { approvalsChannelFallback: config.approvalsChannelFallback } : {}),
      logger,
      ...(migrations ? { migrations } : {}),
      grants: new RedisGrantStore(store.redis, store.keys),
      ...(federations ? { federations } : {}),
      // the job is queued while the approval message is updated; the worker's progress waits for that update
      approvalGate: new ApprovalMessageGate(store.redis, store.keys),
    });
    const followUps = new FollowUps(logger, config.followUpConcurrency ?? 4);
    const scans = new FollowUps(logger, config.scanConcurrency ?? DEFAULT_SCAN_CONCURRENCY);
    grantQueue = new GrantQueue(store.redis, config.prefix ?? 'wid');
    const grants = new GrantService({ grants: new RedisGrantStore(store.redis, store.keys), queue: grantQueue, policy: config.policy, groupsOf: (id) => groups.groupsOf(id) });
    let refederate: RefederateService | undefined;
    if (config.refederate) {
      refederateQueue = new RefederateQueue(store.redis, config.prefix ?? 'wid');
      refederate = new RefederateService({
        store: new RefederationStore(store.redis, config.prefix ?? 'wid'),
        queue: refederateQueue,
        policy: config.policy,
        plan: config.refederate,
        notifier: new SlackRefederateNotifier(client, logger),
        groupsOf: (u) => groups.groupsOf(u),
        ...(config.approvalsChannelFallback ? { approvalsChannelFallback: config.approvalsChannelFallback } : {}),
      });
    }
        const home =
      config.home === false
        ? undefined
        : new HomeService({ client, service, store, grants: grants.store, provisionQueue: queues.provision, policy: config.policy, groups, clusterFacts: config.clusterFacts, logger, ...(config.audit ? { audit: config.audit } : {}), ...config.home });
    await home?.start();
    homeService = home;
    const deps = { service, notifier, store, logger, followUps, grants, ...(home ? { home } : {}), ...(config.inspect ? { inspect: config.inspect } : {}), ...(migrations ? { migrations } : {}), ...(refederate ? { refederate } : {}), ...(config.policyCheck ? { policyCheck: config.policyCheck } : {}) };
    registerWidCommand(app, { ...deps, scans });
    registerApprovalActions(app, deps);
    registerRequestView(app, deps);
    registerDenyView(app, deps);
    registerGrantActions(app, deps);
    registerMigrateActions(app, deps);
    registerFixActions(app, deps);
    registerRefederateActions(app, deps);
    if (home) registerHome(app, { ...deps, home });
    registerBreakGlass(app, deps);

    if (config.timers !== false) {
      timers = createTimerWorker(config.redisUrl, config.prefix, timerProcessor(service), {
        onError: (e) => logger.warn(`timers worker: ${e.message}`),
      });
      await timers.worker.waitUntilReady();
    }

    let port = 0;
    if (slack.mode === 'http') {
      const started = (await app.start(slack.port ?? 3000)) as unknown;
      // Behind an ingress or load balancer (nginx keeps upstream connections 60 s, Azure's LB 4 min idle), the app
      // keeps idle connections longer than the proxy, so the proxy never sends on a socket the app is closing
      // (a reset, a 502 for a Slack delivery). Shutdown still closes idle sockets at once.
      (started as Server).keepAliveTimeout = 65_000;
      (started as Server).headersTimeout = 66_000;
      port = ((started as Server).address() as AddressInfo).port;
      logger.info(`wid-bot Slack app listening on port ${port}`);
    }
    const authTest = async (): Promise<SlackIdentity> => {
      const r = await probe.auth.test();
      return {
        ...(typeof r.team_id === 'string' ? { teamId: r.team_id } : {}),
        ...(typeof r.url === 'string' ? { teamUrl: r.url } : {}),
        ...(typeof r.bot_id === 'string' ? { botId: r.bot_id } : {}),
        ...(typeof r.user_id === 'string' ? { botUserId: r.user_id } : {}),
      };
    };
    connection = new SlackConnection({
      logger,
      ...config.slackRetry,
      attempt: async () => {
        const identity = await authTest();
        if (slack.mode === 'socket') {
          try {
            await app.start();
          } catch (e) {
            // leave no half-open socket client behind before the next attempt
            await app.stop().catch(() => undefined);
            throw e;
          }
        }
        return identity;
      },
    });
    const slackConnection = connection;
    const ready = slackConnection.start().then((id) => {
      teamUrl = id?.teamUrl;
      if (id && slack.mode === 'socket') logger.info('wid-bot Slack app connected over Socket Mode');
    });
    await (config.awaitSlack === 'first-attempt' ? slackConnection.firstAttempt : ready);

    const q = queues;
    const t = timers;
    const gq = grantQueue;
    const rq = refederateQueue;
    return {
      port,
      app,
      slack: slackConnection,
      ready,
      async close() {
        slackConnection.stop();
        await app.stop().catch((e: unknown) => logger.warn(`stopping the Slack app: ${errorText(e)}`));
        await followUps.idle();
        await scans.idle();
        await homeService?.close();
        await t?.close();
        await gq.close();
        await rq?.close();
        await q.close();
        await store.close();
      },
    };
  } catch (e) {
    await homeService?.close().catch(() => undefined);
    await timers?.close().catch(() => undefined);
    await grantQueue?.close().catch(() => undefined);
    await refederateQueue?.close().catch(() => undefined);
    await queues?.close().catch(() => undefined);
    await store.close();
    throw e;
  }
}

export type { InspectHook, InspectVerb, InspectArgs, InspectUser } from './slack/inspect';
export type { SlackMessage } from './slack/blocks/text';
export { createSlackProgressSink, SlackProgressSink } from './slack/progress';
