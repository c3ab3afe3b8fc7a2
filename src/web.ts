/**
 * The web role: the Slack app. Bolt over HTTP (signed requests) or Socket Mode, the request store and
 * queues on Redis, the listeners, and the timers worker that expires requests and reminds approvers.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, HTTPReceiver, LogLevel, type CustomRoute } from '@slack/bolt';
import type { ClusterFacts, Policy, PolicyCluster } from './domain/types';
import { createQueues, createTimerWorker, type WidQueues, type WidWorker, type TimerJobData } from './queue';
import { RedisRequestStore } from './store';
import { registerApprovalActions } from './slack/actions/approval';
import { registerWidCommand } from './slack/commands/wid';
import type { InspectHook } from './slack/inspect';
import { FollowUps } from './slack/follow-ups';
import { errorText, silentLogger, type SlackLogger } from './slack/logger';
import { RequestService } from './slack/requests-service';
import { timerProcessor } from './slack/timers';
import { policyGroupIds, UserGroups } from './slack/usergroups';
import { registerDenyView } from './slack/views/deny';
import { registerGrantActions } from './slack/actions/grants';
import { GrantQueue } from './grants/queue';
import { GrantService } from './grants/service';
import { RedisGrantStore } from './grants/store';
import { registerRequestView } from './slack/views/request';

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
  /** More routes on the same HTTP server, e.g. /healthz /readyz /metrics (HTTP mode). */
  extraRoutes?: CustomRoute[];
  /** Run the expiry/reminder timers in this process (default true). */
  timers?: boolean;
  /** Slash-command work run at once after the acks (default 4); the rest waits its turn so acks stay fast under bursts. */
  followUpConcurrency?: number;
}

export interface RunningWeb {
  /** The HTTP port Slack posts to (0 in Socket Mode). */
  port: number;
  app: App;
  close(): Promise<void>;
}

/** Starts the Slack app. Resolves once it is listening (HTTP) or connected (Socket Mode). */
export async function startWeb(config: WebConfig): Promise<RunningWeb> {
  const logger = config.logger ?? silentLogger;
  const { slack } = config;
  if (slack.mode === 'http' && !slack.signingSecret) throw new Error('startWeb: HTTP mode needs slack.signingSecret (SLACK_SIGNING_SECRET).');
  if (slack.mode === 'socket' && !slack.appToken) throw new Error('startWeb: Socket Mode needs slack.appToken (SLACK_APP_TOKEN, xapp-…).');

  const store = await RedisRequestStore.connect(config.redisUrl, config.prefix ? { prefix: config.prefix } : {});
  let queues: WidQueues | undefined;
  let timers: WidWorker<TimerJobData> | undefined;
  let grantQueue: GrantQueue | undefined;
  try {
    queues = await createQueues(config.redisUrl, config.prefix);
    const clientOptions = {
      ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
      // a handler must not hang for Slack's default half hour of retries
      retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    };
    const receiver =
      slack.mode === 'http'
        ? new HTTPReceiver({
            signingSecret: slack.signingSecret as string,
            processBeforeResponse: false,
            ...(config.extraRoutes?.length ? { customRoutes: config.extraRoutes } : {}),
            logLevel: LogLevel.ERROR,
          })
        : undefined;
    const app = new App({
      token: slack.botToken,
      ...(receiver ? { receiver } : { socketMode: true, appToken: slack.appToken as string, ...(config.extraRoutes?.length ? { customRoutes: config.extraRoutes } : {}) }),
      clientOptions,
      logLevel: LogLevel.ERROR,
    });
    app.error(async (e) => logger.error(`Slack listener error: ${errorText(e)}`));

    let teamUrl: string | undefined;
    const groups = new UserGroups(app.client, () => policyGroupIds(config.policy), logger);
    const service = new RequestService({
      store,
      queues,
      policy: config.policy,
      clusterFacts: config.clusterFacts,
      client: app.client,
      groups,
      ...(config.approvalsChannelFallback ? { approvalsChannelFallback: config.approvalsChannelFallback } : {}),
      teamUrl: () => teamUrl,
      logger,
    });
    const followUps = new FollowUps(logger, config.followUpConcurrency ?? 4);
    grantQueue = new GrantQueue(store.redis, config.prefix ?? 'wid');
    const grants = new GrantService({ grants: new RedisGrantStore(store.redis, store.keys), queue: grantQueue, policy: config.policy });
    const deps = { service, store, logger, followUps, grants, ...(config.inspect ? { inspect: config.inspect } : {}) };
    registerWidCommand(app, deps);
    registerApprovalActions(app, deps);
    registerRequestView(app, deps);
    registerDenyView(app, deps);
    registerGrantActions(app, deps);

    if (config.timers !== false) {
      timers = createTimerWorker(config.redisUrl, config.prefix, timerProcessor(service), {
        onError: (e) => logger.warn(`timers worker: ${e.message}`),
      });
      await timers.worker.waitUntilReady();
    }

    const started = (slack.mode === 'http' ? await app.start(slack.port ?? 3000) : await app.start()) as unknown;
    const port = slack.mode === 'http' ? ((started as Server).address() as AddressInfo).port : 0;
    app.client.auth
      .test()
      .then((r) => {
        teamUrl = typeof r.url === 'string' ? r.url : undefined;
      })
      .catch((e: unknown) => logger.warn(`auth.test failed: ${errorText(e)}`));
    logger.info(`wid-bot Slack app ${slack.mode === 'http' ? `listening on port ${port}` : 'connected over Socket Mode'}`);

    const q = queues;
    const t = timers;
    const gq = grantQueue;
    return {
      port,
      app,
      async close() {
        await app.stop().catch((e: unknown) => logger.warn(`stopping the Slack app: ${errorText(e)}`));
        await followUps.idle();
        await t?.close();
        await gq.close();
        await q.close();
        await store.close();
      },
    };
  } catch (e) {
    await timers?.close().catch(() => undefined);
    await grantQueue?.close().catch(() => undefined);
    await queues?.close().catch(() => undefined);
    await store.close();
    throw e;
  }
}

export type { InspectHook, InspectVerb, InspectArgs, InspectUser } from './slack/inspect';
export type { SlackMessage } from './slack/blocks/text';
export { createSlackProgressSink, SlackProgressSink } from './slack/progress';
