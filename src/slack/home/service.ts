/**
 * Keeps each person's App Home current: published when they open it (app_home_opened) and again whenever
 * something changes for them — a request they made, one waiting on them, a grant of theirs, the operators'
 * overview — whichever process made the change (the stores announce every change on `<prefix>:changes`).
 *
 * Publishing is coalesced per person (a burst of changes becomes one publish with the latest state) and
 * paced by a token bucket at Slack's views.publish rate (Tier 4: 100 a minute, bursts of 100), so wid-bot
 * stays within the limit instead of collecting 429s. Only people who have opened the Home tab at least once
 * are kept current; the others get theirs when they open it.
 */
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { RequestService } from '../../app/requests';
import type { Grant } from '../../domain/grants';
import { findNamespace, isApprover, isOperator } from '../../domain/policy';
import type { ClusterFacts, Policy, PolicyCluster, Principals, WidRequest } from '../../domain/types';
import type { RedisGrantStore } from '../../grants/store';
import type { RedisRequestStore } from '../../store';
import { errorText, type SlackLogger } from '../logger';
import type { UserGroups } from '../usergroups';
import { homeView, type ClusterHealth, type HomeData, type HomeList, type HomePages, type HomeView, type OperatorView } from './blocks';

export interface HomeQueueCounts {
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

export interface HomeServiceDeps {
  client: WebClient;
  service: RequestService;
  store: RedisRequestStore;
  grants: RedisGrantStore;
  /** The provision queue, for the operators' queue health. */
  provisionQueue: HomeQueueCounts;
  policy: Policy;
  groups: UserGroups;
  clusterFacts?: (cluster: PolicyCluster) => Promise<ClusterFacts>;
  logger: SlackLogger;
  now?: () => Date;
  /** Changes within this window become one publish (default 100 ms). */
  coalesceMs?: number;
  /** views.publish budget: sustained per minute and burst (default Slack's Tier 4: 100 and 100). */
  publishPerMinute?: number;
  publishBurst?: number;
  /** Homes rendered and published at once (default 4). */
  concurrency?: number;
  /** Runs `audit` on one cluster and returns its counts per severity (the operators' Run audit). */
  audit?: (cluster: string) => Promise<Record<string, number>>;
  /** Called after each publish (tests, the benchmark). */
  onPublished?: (userId: string, at: number) => void;
}

const CLUSTER_FACTS_TTL_MS = 60_000;
const RECENT = 20;

export class HomeService {
  private readonly now: () => Date;
  private readonly pages = new Map<string, HomePages>();
  private readonly notices = new Map<string, string>();
  /** People whose home must be published, in arrival order. */
  private readonly dirty = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly again = new Set<string>();
  private seen = new Set<string>();
  private tokens: number;
  private tokensAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private subscriber: Redis | undefined;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];
  private clusterCache: { at: number; value: Promise<ClusterHealth[]> } | undefined;
  private auditRun: Promise<void> | undefined;

  constructor(private readonly deps: HomeServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.tokens = deps.publishBurst ?? 100;
  }

  /** Loads who has a home and starts following the change feed. */
  async start(): Promise<void> {
    const { store } = this.deps;
    this.seen = new Set(
      await store.redis.smembers(store.keys.homeSeen).catch((e: unknown) => {
        this.deps.logger.warn(`home: could not read who has a Home tab (${errorText(e)}); homes follow changes once people open them again`);
        return [] as string[];
      }),
    );
    // a connection of its own (a subscribed connection takes no other commands), queueing until it is up
    const sub = store.redis.duplicate({ enableOfflineQueue: true });
    this.subscriber = sub;
    sub.on('error', (e: Error) => this.deps.logger.warn(`home change feed: ${e.message}`));
    sub.on('message', (_channel: string, message: string) => {
      const [kind, id] = message.split(' ');
      if (!id) return;
      const work = kind === 'request' ? this.requestChanged(id) : kind === 'grant' ? this.grantChanged(id) : Promise.resolve();
      work.catch((e: unknown) => this.deps.logger.warn(`home refresh after ${message}: ${errorText(e)}`));
    });
    // homes still publish on open and on clicks without the feed; it resubscribes itself after a reconnect
    await sub.subscribe(store.keys.changes).catch((e: unknown) => this.deps.logger.warn(`home change feed: could not subscribe: ${errorText(e)}`));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.subscriber?.quit().catch(() => undefined);
  }

  /** The person opened the Home tab: remember them and publish theirs at once. */
  async opened(userId: string): Promise<void> {
    if (!this.seen.has(userId)) {
      this.seen.add(userId);
      await this.deps.store.redis.sadd(this.deps.store.keys.homeSeen, userId).catch(() => undefined);
    }
    this.schedule([userId]);
  }

  /** A one-line answer to the person's last click, shown at the top of their home. */
  notice(userId: string, text: string): void {
    this.notices.set(userId, text);
    this.schedule([userId], true);
  }

  /** Previous / Next on one of the person's lists. */
  turnPage(userId: string, list: HomeList, page: number): void {
    this.pages.set(userId, { ...this.pages.get(userId), [list]: page });
    this.schedule([userId], true);
  }

  /**
   * An operator pressed Run audit: one audit per cluster (one run at a time, whoever asks), its counts kept in
   * Redis with the time, and every operator's home republished.
   */
  async runAudit(userId: string): Promise<void> {
    const { policy, store, service } = this.deps;
    if (!isOperator(policy, userId, await service.groupsOf(userId))) return this.notice(userId, 'Only the policy’s operators can run the audit from here; `/wid audit` shows what you may see.');
    const audit = this.deps.audit;
    if (!audit) return this.notice(userId, 'Audits are not configured on this wid-bot.');
    if (this.auditRun) return this.notice(userId, 'An audit is already running; its counts show here when it ends.');
    const operators = await this.members(policy.operators);
    this.auditRun = (async () => {
      const at = this.now().toISOString();
      const counts: Record<string, number> = {};
      const clusters: Record<string, { at: string; counts: Record<string, number> }> = {};
      const failed: string[] = [];
      for (const c of policy.clusters) {
        try {
          const one = await audit(c.name);
          clusters[c.name] = { at, counts: one };
          for (const [k, v] of Object.entries(one)) counts[k] = (counts[k] ?? 0) + v;
        } catch (e) {
          failed.push(`${c.name}: ${errorText(e).slice(0, 200)}`);
        }
      }
      if (failed.length) counts['clusters not audited'] = failed.length;
      await store.redis.set(store.keys.homeAudit, JSON.stringify({ at, counts, clusters }));
      if (failed.length) this.notice(userId, `The audit could not read ${failed.join('; ')}.`);
    })().finally(() => {
      this.auditRun = undefined;
      this.schedule(operators, true);
    });
    this.schedule(operators, true);
  }

  /**
   * A `/wid audit` typed in Slack finished a fresh scan of one cluster: its counts replace that cluster's in the
   * last audit (the other clusters keep theirs from their own last audit), and every operator's home republishes.
   */
  async auditFinished(cluster: string, counts: Record<string, number>, _userId: string): Promise<void> {
    const { policy, store } = this.deps;
    const raw = await store.redis.get(store.keys.homeAudit).catch(() => null);
    let clusters: Record<string, { at: string; counts: Record<string, number> }> = {};
    try {
      const parsed = raw ? (JSON.parse(raw) as { clusters?: unknown }) : undefined;
      if (parsed && typeof parsed.clusters === 'object' && parsed.clusters) clusters = parsed.clusters as typeof clusters;
    } catch {
      // an unreadable record is replaced
    }
    const at = this.now().toISOString();
    clusters[cluster] = { at, counts };
    const total: Record<string, number> = {};
    const kept: typeof clusters = {};
    for (const c of policy.clusters) {
      const one = clusters[c.name];
      if (!one) continue;
      kept[c.name] = one;
      for (const [k, v] of Object.entries(one.counts)) if (typeof v === 'number') total[k] = (total[k] ?? 0) + v;
    }
    await store.redis.set(store.keys.homeAudit, JSON.stringify({ at, counts: total, clusters: kept }));
    this.schedule(await this.members(policy.operators), true);
  }

  /** Everyone a change of this request concerns: the requester, its approvers, the operators. */
  async requestChanged(id: string): Promise<void> {
    const r = await this.deps.store.get(id);
    if (!r) return;
    this.schedule(await this.concerned(r.requester.id, r.namespace, r.approvals.map((a) => a.actor.id)));
  }

  async grantChanged(id: string): Promise<void> {
    const g = (await this.deps.grants.get(id))?.grant;
    if (!g) return;
    this.schedule(await this.concerned(g.requester.id, undefined, []));
  }

  /** Resolves when nothing waits to be published (tests, shutdown). */
  idle(): Promise<void> {
    if (this.dirty.size === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async concerned(requester: string, namespace: string | undefined, approvedBy: string[]): Promise<string[]> {
    const p = this.deps.policy;
    const people = new Set<string>([requester, ...approvedBy, ...(await this.members(p.operators))]);
    if (namespace !== undefined) {
      for (const u of await this.members(p.approvers)) people.add(u);
      const ns = findNamespace(p, namespace);
      if (ns) for (const u of await this.members(ns.approvers)) people.add(u);
    }
    return [...people];
  }

  private async members(pr: Principals): Promise<string[]> {
    const out = [...pr.users];
    for (const g of pr.groups) out.push(...(await this.deps.groups.membersOf(g)));
    return out;
  }

  /** Marks homes to publish (only of people who have a home, unless `force`) and pumps after the coalescing window. */
  private schedule(userIds: readonly string[], force = false): void {
    if (this.closed) return;
    for (const u of userIds) {
      if (!force && !this.seen.has(u)) continue;
      if (this.inFlight.has(u)) this.again.add(u);
      else this.dirty.add(u);
    }
    this.arm(this.deps.coalesceMs ?? 100);
  }

  private arm(delayMs: number): void {
    if (this.timer || this.closed || this.dirty.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delayMs);
  }

  private refill(): void {
    const t = Date.now();
    const perMs = (this.deps.publishPerMinute ?? 100) / 60_000;
    this.tokens = Math.min(this.deps.publishBurst ?? 100, this.tokens + (t - this.tokensAt) * perMs);
    this.tokensAt = t;
  }

  private pump(): void {
    const limit = this.deps.concurrency ?? 4;
    this.refill();
    for (const u of [...this.dirty]) {
      if (this.inFlight.size >= limit) break;
      if (this.tokens < 1) {
        const perMs = (this.deps.publishPerMinute ?? 100) / 60_000;
        this.arm(Math.ceil((1 - this.tokens) / perMs));
        return;
      }
      this.tokens -= 1;
      this.dirty.delete(u);
      this.inFlight.add(u);
      void this.publish(u).finally(() => {
        this.inFlight.delete(u);
        if (this.again.delete(u)) this.dirty.add(u);
        if (this.dirty.size > 0) this.arm(0);
        else if (this.inFlight.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async publish(userId: string): Promise<void> {
    try {
      const view = await this.render(userId);
      await this.deps.client.views.publish({ user_id: userId, view });
      this.deps.onPublished?.(userId, Date.now());
    } catch (e) {
      this.deps.logger.warn(`could not publish the home of ${userId}: ${errorText(e)}`);
    }
  }

  /** The person's home as it is now. */
  async render(userId: string): Promise<HomeView> {
    return homeView(await this.gather(userId));
  }

  async gather(userId: string): Promise<HomeData> {
    const { store, grants, service, policy } = this.deps;
    const now = this.now();
    const groups = await service.groupsOf(userId);
    const approver = await service.isAnyApprover(userId);
    const operator = isOperator(policy, userId, groups);
    const [mine, open] = await Promise.all([store.listByRequester(userId, 200), grants.open()]);
    const notice = this.notices.get(userId);
    this.notices.delete(userId);
    const data: HomeData = {
      userId,
      now,
      open: mine.filter((r) => r.state === 'pending' || r.state === 'approved' || r.state === 'provisioning'),
      grants: open.filter((g) => g.requester.id === userId).sort(byEnd),
      recent: mine.filter((r) => !['pending', 'approved', 'provisioning'].includes(r.state)).slice(0, RECENT),
      pages: this.pages.get(userId) ?? {},
      ...(notice ? { notice } : {}),
    };
    const failed = data.recent.filter((r) => r.state === 'failed');
    if (failed.length) data.retryable = failed.filter((r) => isApprover(policy, r.namespace, userId, groups)).map((r) => r.id);
    const glass = data.open.filter((r) => service.mayBreakGlass(r)).map((r) => r.id);
    if (glass.length) data.breakGlass = glass;
    if (approver) {
      data.waiting = (await service.overview(userId)).waitingOnMe ?? [];
      data.approvedLately = await this.approvedBy(userId);
    }
    if (operator) data.operator = await this.operatorView(open, now);
    return data;
  }

  /** What this person approved lately, from the newest part of the audit stream. */
  private async approvedBy(userId: string): Promise<WidRequest[]> {
    const { store } = this.deps;
    const rows = await store.redis.xrevrange(store.keys.audit, '+', '-', 'COUNT', 500).catch(() => [] as Array<[string, string[]]>);
    const ids: string[] = [];
    for (const [, fields] of rows) {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
      if (f.actor === userId && f.reason?.startsWith('approval ') && f.requestId && !ids.includes(f.requestId)) ids.push(f.requestId);
      if (ids.length >= 10) break;
    }
    const found = await Promise.all(ids.map((id) => store.get(id)));
    return found.filter((r): r is WidRequest => r !== undefined);
  }

  private async operatorView(open: Grant[], now: Date): Promise<OperatorView> {
    const counts = await this.deps.provisionQueue.getJobCounts('waiting', 'active', 'failed', 'delayed', 'prioritized').catch(() => ({}) as Record<string, number>);
    const endOfDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    const endingToday = open.filter((g) => g.state === 'active' && g.endsAt !== undefined && Date.parse(g.endsAt) < endOfDay).sort(byEnd);
    const last = await this.deps.store.redis.get(this.deps.store.keys.homeAudit).catch(() => null);
    let lastAudit: OperatorView['lastAudit'];
    try {
      const parsed = last ? (JSON.parse(last) as { at?: unknown; counts?: unknown }) : undefined;
      if (parsed && typeof parsed.at === 'string' && typeof parsed.counts === 'object' && parsed.counts) lastAudit = { at: parsed.at, counts: parsed.counts as Record<string, number> };
    } catch {
      lastAudit = undefined;
    }
    return {
      ...(lastAudit ? { lastAudit } : {}),
      canRunAudit: this.deps.audit !== undefined,
      auditRunning: this.auditRun !== undefined,
      clusters: await this.clusters(),
      queue: { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, failed: counts.failed ?? 0, delayed: counts.delayed ?? 0 },
      endingToday,
    };
  }

  /** Readiness per cluster (OIDC issuer and workload identity on), as `cluster` reports it; cached a minute. */
  private clusters(): Promise<ClusterHealth[]> {
    const facts = this.deps.clusterFacts;
    if (!facts) return Promise.resolve([]);
    const t = Date.now();
    if (this.clusterCache && t - this.clusterCache.at < CLUSTER_FACTS_TTL_MS) return this.clusterCache.value;
    const value = Promise.all(
      this.deps.policy.clusters.map(async (c): Promise<ClusterHealth> => {
        try {
          const f = await facts(c);
          const ready = f.oidcIssuerEnabled && f.workloadIdentityEnabled && f.issuerUrl !== '';
          const detail = ready ? 'OIDC issuer and workload identity on' : [!f.oidcIssuerEnabled ? 'OIDC issuer off' : '', !f.workloadIdentityEnabled ? 'workload identity off' : ''].filter(Boolean).join(', ');
          return { name: c.name, ready, detail };
        } catch (e) {
          return { name: c.name, ready: false, detail: `unreachable: ${errorText(e).slice(0, 200)}` };
        }
      }),
    );
    this.clusterCache = { at: t, value };
    return value;
  }
}

function byEnd(a: Grant, b: Grant): number {
  return (a.endsAt ? Date.parse(a.endsAt) : Infinity) - (b.endsAt ? Date.parse(b.endsAt) : Infinity);
}

