/**
 * The worker's view into Slack: the approval message updated in place as steps start and end
 * (coalesced to about one chat.update per second per message), then the result in its thread and a
 * DM to the requester. Delivery problems are logged, never thrown: the request record is the truth.
 */
import { LogLevel, WebClient } from '@slack/web-api';
import type { ProgressEvent, ProgressSink } from '../domain/ports';
import type { StepRecord, WidRequest } from '../domain/types';
import type { RedisRequestStore } from '../store';
import { approvalMessage } from './blocks/approval';
import { resultDm, resultReply } from './blocks/result';
import type { SlackMessage } from './blocks/text';
import { Coalescer } from './coalescer';
import { grantEndBlocks } from './blocks/grants';
import type { Grant } from '../domain/grants';
import { errorText, silentLogger, type SlackLogger } from './logger';

export interface SlackProgressSinkOptions {
  client: WebClient;
  /** Used to read the freshest copy of a request before rendering (steps recorded by other processes). */
  store?: Pick<RedisRequestStore, 'get'>;
  logger?: SlackLogger;
  /** Least time between two updates of one message (default 1000 ms). */
  intervalMs?: number;
  /** Link builder for the DM (workspace URL known to the caller). */
  link?: (r: WidRequest) => string | undefined;
  now?: () => number;
  /** The grant a request started, so the result shows its end (src/grants). */
  grantOf?: (requestId: string) => Promise<Grant | undefined>;
  /** Says when the web side's "approved" update of a message has landed; the first update here waits for it (src/store/approval-gate.ts). */
  gate?: { whenShown(requestId: string): Promise<void> };
}

/** Merge an event into the request's step list (the newest record of a step wins). */
export function withEvent(request: WidRequest, event: ProgressEvent): WidRequest {
  // a step on another cluster of the request: it lives in resources.clusters, which the event carries whole
  if (event.cluster) return { ...request, resources: { ...request.resources, ...(event.resources ?? {}) } };
  const steps = new Map<string, StepRecord>(request.steps.map((s) => [s.step, s]));
  const prev = steps.get(event.step);
  const startedAt = prev && event.outcome !== 'running' ? prev.startedAt : event.at;
  steps.set(event.step, {
    step: event.step,
    outcome: event.outcome,
    startedAt,
    ...(event.outcome !== 'running' ? { endedAt: event.at } : {}),
    ...(event.detail ? { detail: event.detail } : {}),
  });
  return { ...request, steps: [...steps.values()], resources: { ...request.resources, ...(event.resources ?? {}) } };
}

export class SlackProgressSink implements ProgressSink {
  private readonly coalescer: Coalescer;
  private readonly logger: SlackLogger;
  /** The latest rendering input per request, so events arriving out of a stale copy accumulate. */
  private readonly latest = new Map<string, WidRequest>();
  /** Requests whose "approved" update is known to have landed (the gate need not be asked again). */
  private readonly shown = new Set<string>();

  constructor(private readonly opts: SlackProgressSinkOptions) {
    this.logger = opts.logger ?? silentLogger;
    this.coalescer = new Coalescer(opts.intervalMs ?? 1000, opts.now ?? Date.now, (key, e) => this.logger.warn(`could not update the approval message of ${key}: ${errorText(e)}`));
  }

  async progress(request: WidRequest, event: ProgressEvent): Promise<void> {
    if (!request.slack?.ts) return;
    const base = this.latest.get(request.id) ?? request;
    const merged = withEvent({ ...request, steps: mergeSteps(base.steps, request.steps), resources: { ...base.resources, ...request.resources } }, event);
    this.latest.set(request.id, merged);
    // not awaited: the engine must not wait for Slack's pacing
    void this.coalescer.submit(request.id, () => this.update(merged));
  }

  async finished(request: WidRequest): Promise<void> {
    try {
      const stored = (await this.opts.store?.get(request.id).catch(() => undefined)) ?? request;
      const seen = this.latest.get(request.id);
      this.latest.delete(request.id);
      const fresh: WidRequest = { ...stored, steps: mergeSteps(seen?.steps ?? [], stored.steps), resources: { ...(seen?.resources ?? {}), ...stored.resources } };
      if (fresh.slack?.ts) {
        const final = { ...fresh };
        // the final state always lands, after any trailing progress update and within the pacing
        await this.coalescer.submit(fresh.id, () => this.update(final));
        await this.coalescer.flush(fresh.id);
      }
      this.shown.delete(request.id);
      const grant = fresh.state === 'succeeded' && fresh.kind === 'grant' ? await this.opts.grantOf?.(fresh.id).catch(() => undefined) : undefined;
      const withEnd = (m: SlackMessage): SlackMessage => (grant ? { ...m, blocks: [...(m.blocks ?? []), ...grantEndBlocks(grant, new Date())] } : m);
      if (fresh.slack?.ts) await this.post({ channel: fresh.slack.channel, thread_ts: fresh.slack.ts }, withEnd(resultReply(fresh)));
      await this.dm(fresh.requester.id, withEnd(resultDm(fresh, this.opts.link?.(fresh))));
    } catch (e) {
      this.logger.warn(`could not report the result of ${request.id}: ${errorText(e)}`);
    }
  }

  private async update(r: WidRequest): Promise<void> {
    if (!r.slack?.ts) return;
    if (this.opts.gate && !this.shown.has(r.id)) {
      // the web side's "approved" update may still be on its way: never land before it (it would cover this one)
      await this.opts.gate.whenShown(r.id);
      this.shown.add(r.id);
    }
    const msg = approvalMessage(r);
    await this.opts.client.chat.update({ channel: r.slack.channel, ts: r.slack.ts, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}) });
  }

  private async post(where: { channel: string; thread_ts?: string }, msg: SlackMessage): Promise<void> {
    try {
      await this.opts.client.chat.postMessage({ ...where, text: msg.text, ...(msg.blocks ? { blocks: msg.blocks } : {}), unfurl_links: false });
    } catch (e) {
      this.logger.warn(`could not post in ${where.channel}: ${errorText(e)}`);
    }
  }

  private async dm(userId: string, msg: SlackMessage): Promise<void> {
    try {
      const opened = await this.opts.client.conversations.open({ users: userId });
      if (opened.channel?.id) await this.post({ channel: opened.channel.id }, msg);
    } catch (e) {
      this.logger.warn(`could not send a direct message to ${userId}: ${errorText(e)}`);
    }
  }
}

function mergeSteps(a: readonly StepRecord[], b: readonly StepRecord[]): StepRecord[] {
  const m = new Map<string, StepRecord>(a.map((s) => [s.step, s]));
  for (const s of b) {
    const prev = m.get(s.step);
    // a finished record is never replaced by an older running one
    if (!prev || prev.outcome === 'running' || s.outcome !== 'running') m.set(s.step, s);
  }
  return [...m.values()];
}

export interface CreateSlackProgressSinkOptions {
  botToken: string;
  /** Web API base (SLACK_API_URL), e.g. the emulator's or GovSlack's. */
  apiUrl?: string;
  store?: Pick<RedisRequestStore, 'get'>;
  logger?: SlackLogger;
  intervalMs?: number;
  grantOf?: (requestId: string) => Promise<Grant | undefined>;
  gate?: SlackProgressSinkOptions['gate'];
}

/** The worker process's progress sink, with its own Web API client (few retries: the worker must not hang on Slack). */
export function createSlackProgressSink(opts: CreateSlackProgressSinkOptions): SlackProgressSink {
  const client = new WebClient(opts.botToken, {
    ...(opts.apiUrl ? { slackApiUrl: opts.apiUrl } : {}),
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
    rejectRateLimitedCalls: false,
    logLevel: LogLevel.ERROR,
  });
  return new SlackProgressSink({
    client,
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
    ...(opts.grantOf ? { grantOf: opts.grantOf } : {}),
    ...(opts.gate ? { gate: opts.gate } : {}),
  });
}
