/**
 * Gathering: everything the inspection verbs read from Azure and Kubernetes, through the ports.
 * Credential listing runs one call per identity under bounded parallelism and waits out throttling
 * (RetryableError with retryAfterSeconds) instead of failing the scan.
 */
import { isRetryable, WidError } from '../domain/errors';
import { searchScopeText } from '../domain/search-scopes';
import type { ClusterPort, FederatedCredential, IdentityPort, KubePort, LegacyPodIdentity, ManagedIdentity, PodInfo, ServiceAccountInfo } from '../domain/ports';
import type { ClusterFacts, Policy, PolicyCluster } from '../domain/types';
import { readsPerSecond, remainingSeconds, trimSamples, type PaceSample } from '../domain/scan-estimate';
import type { ProgressCallback, SearchedScopes } from './types';

/** Azure's 403 for the caller (AuthorizationFailed and its linked form). */
export function isForbidden(e: unknown): e is WidError {
  return e instanceof WidError && /^(Linked)?AuthorizationFailed$|^Forbidden$/i.test(e.code);
}

/** Credential listings in flight at once: enough to keep the CPU busy while ~20–100 ms ARM calls are in flight (throttled calls still wait their Retry-After). */
export const DEFAULT_CONCURRENCY = 48;

/** Where identities are listed: a subscription, or one resource group of it. */
export interface IdentityScope {
  subscriptionId: string;
  resourceGroup?: string;
}

export interface RetryOptions {
  /** Retries after the first attempt (default 6). */
  maxRetries?: number;
  /** First backoff when the error names no wait (default 250 ms), doubled per retry. */
  baseDelayMs?: number;
  /** Longest single wait (default 60 s). */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run `fn`, retrying RetryableErrors after the wait they ask for (or a doubling backoff). */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const maxRetries = options.maxRetries ?? 6;
  const base = options.baseDelayMs ?? 250;
  const cap = options.maxDelayMs ?? 60_000;
  const sleep = options.sleep ?? realSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isRetryable(e) || attempt >= maxRetries) throw e;
      const asked = e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : base * 2 ** attempt;
      await sleep(Math.min(cap, Math.max(0, asked)));
    }
  }
}

/** Map `items` through `fn` with at most `limit` calls in flight; results keep the input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, i);
    }
  });
  await Promise.all(workers);
  return out;
}

/** The policy's identity placement plus any extra scopes, without duplicates (a subscription-wide scope covers its groups). */
export function identityScopes(policy: Policy, extra: readonly IdentityScope[] = []): IdentityScope[] {
  const all: IdentityScope[] = [{ subscriptionId: policy.identities.subscriptionId, resourceGroup: policy.identities.resourceGroup }, ...extra];
  const wholeSubs = new Set(all.filter((s) => !s.resourceGroup).map((s) => s.subscriptionId.toLowerCase()));
  const seen = new Set<string>();
  const out: IdentityScope[] = [];
  for (const s of all) {
    const sub = s.subscriptionId.toLowerCase();
    if (s.resourceGroup && wholeSubs.has(sub)) continue;
    const key = `${sub}/${(s.resourceGroup ?? '').toLowerCase()}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(s);
  }
  return out;
}

/**
 * Every identity in the scopes, each once (ARM ids compare case-insensitively), yielded as the pages
 * arrive so credential listing can start before the last page. A throttled or failed page restarts
 * that scope's listing after the wait; identities already yielded are skipped.
 */
export async function* streamIdentities(identities: IdentityPort, scopes: readonly IdentityScope[], retry: RetryOptions = {}, report?: SearchedScopes): AsyncGenerator<ManagedIdentity> {
  const seen = new Set<string>();
  for (const s of scopes) {
    let attempt = 0;
    report?.searched.push(searchScopeText(s));
    for (;;) {
      try {
        for await (const i of identities.listIdentities(s.subscriptionId, s.resourceGroup)) {
          const key = i.id.toLowerCase();
          if (seen.has(key)) continue;
          seen.add(key);
          yield i;
        }
        break;
      } catch (e) {
        // An extra scope the caller may not read is reported and skipped: the others still answer. The scope
        // holding the policy's own identities is not optional: wid-bot cannot work without reading it.
        if (report && isForbidden(e) && !report.required?.(s)) {
          report.unreadable.push({ scope: searchScopeText(s), reason: e.message });
          break;
        }
        if (!isRetryable(e) || attempt >= (retry.maxRetries ?? 6)) throw e;
        const wait = e.retryAfterSeconds !== undefined ? e.retryAfterSeconds * 1000 : (retry.baseDelayMs ?? 250) * 2 ** attempt;
        attempt++;
        await (retry.sleep ?? realSleep)(Math.min(retry.maxDelayMs ?? 60_000, wait));
      }
    }
  }
}

/** Every identity in the scopes, each once. */
export async function gatherIdentities(identities: IdentityPort, scopes: readonly IdentityScope[], retry: RetryOptions = {}, report?: SearchedScopes): Promise<ManagedIdentity[]> {
  const out: ManagedIdentity[] = [];
  for await (const i of streamIdentities(identities, scopes, retry, report)) out.push(i);
  return out;
}

/** Map an async source through `fn` with at most `limit` calls in flight, pulling only as fast as they finish; results keep the source order. */
export async function mapStreamBounded<T, R>(source: AsyncIterable<T> | Iterable<T>, limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  const running = new Set<Promise<void>>();
  let index = 0;
  for await (const item of source) {
    const i = index++;
    const p: Promise<void> = fn(item, i).then((r) => {
      results[i] = r;
      running.delete(p);
    });
    // The first failure surfaces through race/all below; the others must not be unhandled rejections.
    p.catch(() => undefined);
    running.add(p);
    if (running.size >= Math.max(1, limit)) await Promise.race(running);
  }
  await Promise.all(running);
  return results;
}

/**
 * Yields what `source` yields, while pulling it as fast as it gives (not as fast as the consumer takes):
 * `onItem` for each item pulled, `onEnd` when the source is exhausted. A failure of the source surfaces
 * at the consumer's next pull after the items before it.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, onItem: () => void = () => undefined, onEnd: () => void = () => undefined): AsyncGenerator<T> {
  const buffer: T[] = [];
  let finished = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const pump = (async () => {
    try {
      for await (const item of source) {
        buffer.push(item);
        onItem();
        wake?.();
      }
      onEnd();
    } catch (e) {
      failure = { error: e };
    } finally {
      finished = true;
      wake?.();
    }
  })();
  let next = 0;
  for (;;) {
    if (next < buffer.length) {
      const item = buffer[next] as T;
      buffer[next++] = undefined as T;
      yield item;
      continue;
    }
    if (failure) throw failure.error;
    if (finished) break;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
  await pump;
}

export interface IdentityCredentials {
  identity: ManagedIdentity;
  credentials: FederatedCredential[];
}

/**
 * Each identity's federated credentials, `concurrency` identities at a time, reporting progress
 * (`total` grows while identities are still being listed).
 */
export async function gatherCredentials(
  identities: IdentityPort,
  list: readonly ManagedIdentity[] | AsyncIterable<ManagedIdentity>,
  options: { concurrency?: number; onProgress?: ProgressCallback; retry?: RetryOptions; onRead?: (read: IdentityCredentials) => void; now?: () => number } = {},
): Promise<IdentityCredentials[]> {
  let total = Array.isArray(list) ? list.length : 0;
  let done = 0;
  let lastReported = -1;
  const now = options.now ?? Date.now;
  let pace: PaceSample[] = [{ at: now(), done: 0 }];
  const report = (force: boolean): void => {
    // About every 2 % (or every 20 while the total is unknown) so a Slack progress message is not updated thousands of times.
    const step = Math.max(1, Math.floor(total / 50), Array.isArray(list) ? 1 : 20);
    if (force || done - lastReported >= step) {
      lastReported = done;
      pace = trimSamples([...pace, { at: now(), done }]);
      // one read per credential listing still to make, at the pace the read bucket allowed over the last seconds
      const left = remainingSeconds(Math.max(0, total - done), readsPerSecond(pace));
      options.onProgress?.({ done, total, phase: 'credentials', ...(left !== undefined && done > 0 && listed ? { remainingSeconds: left } : {}) });
    }
  };
  report(true);
  // The identity pages are read ahead of the credential listings (a few reads), so the total — and the time left — is known early.
  let listed = Array.isArray(list);
  const counted: AsyncIterable<ManagedIdentity> | readonly ManagedIdentity[] = Array.isArray(list)
    ? list
    : readAhead(list as AsyncIterable<ManagedIdentity>, () => total++, () => (listed = true));
  const out = await mapStreamBounded(counted, options.concurrency ?? DEFAULT_CONCURRENCY, async (identity) => {
    const ref = { subscriptionId: identity.subscriptionId, resourceGroup: identity.resourceGroup, name: identity.name };
    const credentials = await withRetry(() => identities.listFederatedCredentials(ref), options.retry);
    done++;
    options.onRead?.({ identity, credentials });
    report(false);
    return { identity, credentials };
  });
  if (lastReported !== done) report(true);
  return out;
}

/** Facts of one policy cluster, or the error that kept us from reading them. */
export interface KnownCluster {
  cluster: PolicyCluster;
  facts?: ClusterFacts;
  error?: string;
}

export async function gatherClusterFacts(clusters: ClusterPort, cluster: PolicyCluster, retry: RetryOptions = {}): Promise<ClusterFacts> {
  return withRetry(() => clusters.getClusterFacts(cluster), retry);
}

/** Facts of every policy cluster, for telling a stale issuer from another cluster's. */
export async function gatherAllClusterFacts(clusters: ClusterPort, policy: Policy, retry: RetryOptions = {}): Promise<KnownCluster[]> {
  return Promise.all(
    policy.clusters.map(async (cluster): Promise<KnownCluster> => {
      try {
        return { cluster, facts: await gatherClusterFacts(clusters, cluster, retry) };
      } catch (e) {
        return { cluster, error: e instanceof Error ? e.message : String(e) };
      }
    }),
  );
}

export interface KubeView {
  serviceAccounts: ServiceAccountInfo[];
  pods: PodInfo[];
  legacy: LegacyPodIdentity[];
}

/** ServiceAccounts, pods and aad-pod-identity objects of one cluster, read in parallel. */
export async function gatherKube(kube: KubePort, want: { serviceAccounts?: boolean; pods?: boolean; legacy?: boolean; namespace?: string }, retry: RetryOptions = {}): Promise<KubeView> {
  const [serviceAccounts, pods, legacy] = await Promise.all([
    want.serviceAccounts ? withRetry(() => kube.listServiceAccounts(want.namespace), retry) : Promise.resolve([]),
    want.pods ? withRetry(() => kube.listPods(want.namespace), retry) : Promise.resolve([]),
    want.legacy ? withRetry(() => kube.listLegacyPodIdentities(), retry) : Promise.resolve([]),
  ]);
  return { serviceAccounts, pods, legacy };
}
