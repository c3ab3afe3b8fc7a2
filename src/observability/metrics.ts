/**
 * Prometheus metrics: requests by state, time to approval, step durations, calls to Azure, Kubernetes
 * and Entra by outcome, queue depth (read from BullMQ when scraped) and Slack acknowledgement times.
 * Each Metrics instance has its own registry, so several can live in one process (tests, role=all).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdapterCall } from '../domain/ports';
import type { RequestState, StepName, StepOutcome } from '../domain/types';

/** Job counts per queue and BullMQ state, e.g. { 'wid-provision': { waiting: 3, active: 1, delayed: 0, failed: 0 } }. */
export type QueueCounts = Record<string, Record<string, number>>;

export interface MetricsOptions {
  /** Read queue depth at scrape time, e.g. from Queue.getJobCounts(). */
  queueCounts?: () => Promise<QueueCounts>;
  /** Read how many requests are in each state now, at scrape time. */
  requestsByState?: () => Promise<Partial<Record<RequestState, number>>>;
  /** Node.js process metrics (event loop lag, heap, GC); on by default. */
  processMetrics?: boolean;
  /** Labels on every metric, e.g. { role: 'worker' }. */
  defaultLabels?: Record<string, string>;
}

export type SlackAckKind = 'command' | 'action' | 'view' | 'event' | 'shortcut';

const SECONDS = 1000;

export class Metrics {
  readonly registry = new Registry();
  readonly contentType: string;

  private readonly transitions: Counter<'state'>;
  private readonly transitionsFromTo: Counter<'from' | 'to'>;
  private readonly timeToApproval: Histogram<string>;
  private readonly stepDuration: Histogram<'step' | 'outcome'>;
  private readonly calls: Counter<'system' | 'operation' | 'outcome'>;
  private readonly callErrors: Counter<'system' | 'operation' | 'code'>;
  private readonly callDuration: Histogram<'system' | 'operation' | 'outcome'>;
  private readonly slackAcks: Counter<'kind' | 'outcome'>;
  private readonly slackAckDuration: Histogram<'kind'>;
  private readonly grantsEnded: Counter<'reason' | 'removed'>;
  private readonly grantEndLateness: Histogram<string>;
  private readonly grantEndFailures: Counter<string>;
  /** Labels seen by the scrape-time gauges, so a queue state that drops to nothing reports 0 instead of vanishing. */
  private readonly lastQueueLabels = new Set<string>();

  constructor(options: MetricsOptions = {}) {
    this.contentType = this.registry.contentType;
    if (options.defaultLabels) this.registry.setDefaultLabels(options.defaultLabels);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];

    this.transitions = new Counter({
      name: 'wid_requests_total',
      help: 'Requests that entered each state (pending counts new requests).',
      labelNames: ['state'],
      registers,
    });
    this.grantsEnded = new Counter({ name: 'wid_grants_ended_total', help: 'Grants that ended, by reason and whether their end removed the role assignment.', labelNames: ['reason', 'removed'], registers });
    this.grantEndLateness = new Histogram({
      name: 'wid_grant_end_lateness_seconds',
      help: 'How long after its endsAt an expired grant finished ending.',
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers,
    });
    this.grantEndFailures = new Counter({ name: 'wid_grant_end_failures_total', help: 'Grant ends that kept failing after their retries (alert on any increase).', registers });
    this.transitionsFromTo = new Counter({
      name: 'wid_request_transitions_total',
      help: 'Request state transitions, by from and to state (from="none" for new requests).',
      labelNames: ['from', 'to'],
      registers,
    });
    this.timeToApproval = new Histogram({
      name: 'wid_time_to_approval_seconds',
      help: 'Time from a request to its final approval.',
      buckets: [30, 60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 3 * 24 * 3600],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'wid_step_duration_seconds',
      help: 'Duration of provisioning steps (identity, roleAssignment, federatedCredential, serviceAccount, verify) by outcome.',
      labelNames: ['step', 'outcome'],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.calls = new Counter({
      name: 'wid_outside_calls_total',
      help: 'Calls to Azure, Kubernetes and Entra ID by system, operation and outcome (ok, retryable, terminal).',
      labelNames: ['system', 'operation', 'outcome'],
      registers,
    });
    this.callErrors = new Counter({
      name: 'wid_outside_call_errors_total',
      help: 'Failed calls to Azure, Kubernetes and Entra ID by error code.',
      labelNames: ['system', 'operation', 'code'],
      registers,
    });
    this.callDuration = new Histogram({
      name: 'wid_outside_call_duration_seconds',
      help: 'Duration of calls to Azure, Kubernetes and Entra ID.',
      labelNames: ['system', 'operation', 'outcome'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.slackAcks = new Counter({
      name: 'wid_slack_acks_total',
      help: 'Slack commands, actions and views acknowledged, by outcome (ok, error, late: after 3 s).',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.slackAckDuration = new Histogram({
      name: 'wid_slack_ack_duration_seconds',
      help: 'Time from receiving a Slack request to acknowledging it (Slack gives up after 3 s).',
      labelNames: ['kind'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5],
      registers,
    });

    if (options.queueCounts) {
      const read = options.queueCounts;
      const seen = this.lastQueueLabels;
      new Gauge({
        name: 'wid_queue_jobs',
        help: 'Jobs in each queue by BullMQ state (waiting, active, delayed, failed…), read when scraped.',
        labelNames: ['queue', 'state'],
        registers,
        async collect() {
          this.reset();
          let counts: QueueCounts;
          try {
            counts = await read();
          } catch {
            // Redis down: leave the gauge empty rather than fail the whole scrape; /readyz reports Redis.
            return;
          }
          for (const key of seen) {
            const [queue, state] = key.split('\u0000') as [string, string];
            this.set({ queue, state }, 0);
          }
          for (const [queue, states] of Object.entries(counts)) {
            for (const [state, n] of Object.entries(states)) {
              this.set({ queue, state }, n);
              seen.add(`${queue}\u0000${state}`);
            }
          }
        },
      });
    }
    if (options.requestsByState) {
      const read = options.requestsByState;
      new Gauge({
        name: 'wid_requests',
        help: 'Requests now in each state, read when scraped.',
        labelNames: ['state'],
        registers,
        async collect() {
          this.reset();
          try {
            for (const [state, n] of Object.entries(await read())) this.set({ state }, n ?? 0);
          } catch {
            // As for queue depth: an unreadable store leaves the gauge empty for this scrape.
          }
        },
      });
    }
  }

  /** The adapters' onCall hook (AdapterCallHook); bound, so `onCall: metrics.onAdapterCall` works. */
  readonly onAdapterCall = (call: AdapterCall): void => {
    const labels = { system: call.system, operation: call.operation, outcome: call.outcome };
    this.calls.inc(labels);
    this.callDuration.observe(labels, call.ms / SECONDS);
    if (call.outcome !== 'ok') this.callErrors.inc({ system: call.system, operation: call.operation, code: call.code ?? 'unknown' });
  };

  /** A provisioning step finished (or was skipped / failed) after `ms`. */
  readonly onStep = (step: StepName, outcome: StepOutcome, ms: number): void => {
    this.stepDuration.observe({ step, outcome }, ms / SECONDS);
  };

  /** A grant ended; `latenessMs` after its endsAt when it expired. */
  readonly onGrantEnded = (reason: string, removed: boolean, latenessMs: number | undefined): void => {
    this.grantsEnded.inc({ reason, removed: String(removed) });
    if (latenessMs !== undefined) this.grantEndLateness.observe(Math.max(0, latenessMs) / SECONDS);
  };

  /** A grant's end failed for good (it is shown loudly, and retried by the reconciler). */
  readonly onGrantEndFailed = (): void => {
    this.grantEndFailures.inc();
  };

  /** A request moved from one state to another; `from` null for a new request. */
  readonly onTransition = (from: RequestState | null, to: RequestState): void => {
    this.transitions.inc({ state: to });
    this.transitionsFromTo.inc({ from: from ?? 'none', to });
  };

  /** A request got its final approval `ms` after it was made. */
  readonly observeTimeToApproval = (ms: number): void => {
    this.timeToApproval.observe(ms / SECONDS);
  };

  /** The web side acknowledged a Slack request after `ms`. */
  readonly onSlackAck = (kind: SlackAckKind, ms: number, outcome: 'ok' | 'error' = 'ok'): void => {
    this.slackAcks.inc({ kind, outcome: outcome === 'ok' && ms > 3 * SECONDS ? 'late' : outcome });
    this.slackAckDuration.observe({ kind }, ms / SECONDS);
  };

  /** The Prometheus text exposition (format 0.0.4). */
  readonly metricsText = (): Promise<string> => this.registry.metrics();
}

/** A BullMQ queue, as far as queue depth needs it (bullmq's Queue fits). */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed', 'paused'];

/** The queueCounts option for BullMQ queues, e.g. `bullmqQueueCounts([queues.provision, queues.timers])`. */
export function bullmqQueueCounts(queues: readonly CountableQueue[]): () => Promise<QueueCounts> {
  return async () => {
    const entries = await Promise.all(queues.map(async (q) => [q.name, await q.getJobCounts(...QUEUE_STATES)] as const));
    return Object.fromEntries(entries);
  };
}
