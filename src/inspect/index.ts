/**
 * The inspection verbs — cluster, list, creds, audit, legacy — as one core for Slack and the CLI.
 */
import { WidError } from '../domain/errors';
import type { ViewScope } from '../domain/visibility';
import { createInspector, resolveCluster, type InspectorDeps } from './inspector';
import { renderSlack, renderSlackError, type SlackMessage } from './render/slack';
import { scopeResult } from './scope';
import type { InspectProgress, InspectResult, InspectVerb, ProgressCallback, Severity } from './types';

export { createInspector, resolveCluster, type Inspector, type InspectorDeps, type InspectArgs } from './inspector';
export { renderTable } from './render/table';
export { renderSlack, findingText, type SlackMessage } from './render/slack';
export { auditCluster, CREDENTIAL_LIMIT_WARNING_AT } from './audit';
export { inspectCluster } from './cluster';
export { inspectList } from './list';
export { inspectCreds } from './creds';
export { inspectLegacy } from './legacy';
export { DEFAULT_CONCURRENCY, withRetry, mapBounded, mapStreamBounded, type IdentityScope } from './gather';
export * from './types';
export { scopeResult, findingNamespace } from './scope';

export type SlackInspect = (
  verb: InspectVerb,
  args: { cluster?: string; namespace?: string },
  user: string,
  onProgress?: ProgressCallback,
) => Promise<SlackMessage[]>;

/**
 * What the Slack app calls for `/wid cluster|list|creds|audit|legacy`: the messages to post (the first
 * in the channel, the rest in its thread). A failure the user should read (unknown cluster, Azure or
 * Kubernetes refusing) comes back as a message too; only programming errors throw.
 */
export function inspectForSlack(deps: InspectorDeps): SlackInspect {
  const inspector = createInspector(deps);
  return async (verb, args, user, onProgress) => {
    try {
      const result = await inspector.run(verb, args, onProgress);
      return renderSlack(result, user);
    } catch (e) {
      if (e instanceof WidError) return renderSlackError(verb, e.message);
      throw e;
    }
  };
}

/** Who asks, and what of the answer they may see (src/domain/visibility.ts). */
export interface SlackViewer {
  id: string;
  scope: ViewScope;
}

export interface ScopedSlackAnswer {
  messages: SlackMessage[];
  /** Set when the answer reuses a scan finished this many milliseconds ago instead of scanning again. */
  reusedAgeMs?: number;
  /** `audit` scanned afresh: its counts per severity over everything (not only what the viewer sees), for the operators' home. */
  auditCounts?: Record<Severity, number>;
  /** The cluster the answer is about, as the policy names it. */
  cluster?: string;
}

/** A scan's progress as the Slack app sees it: the results so far come rendered and cut down to the viewer. */
export interface ScopedProgress extends Omit<InspectProgress, 'partial'> {
  /** The results so far (only what the rest of the scan cannot change), rendered for the viewer like the final answer: its summary, then its pages. */
  early?: () => SlackMessage[];
}

export type ScopedSlackInspect = (verb: InspectVerb, args: { cluster?: string; namespace?: string }, viewer: SlackViewer, onProgress?: (progress: ScopedProgress) => void) => Promise<ScopedSlackAnswer>;

/** The progress callback the inspector calls, forwarding to `onProgress` with the partial results rendered for `viewer`. */
function scopedProgress(onProgress: ((progress: ScopedProgress) => void) | undefined, viewer: SlackViewer): ProgressCallback | undefined {
  if (!onProgress) return undefined;
  return ({ partial, ...p }) => onProgress(partial ? { ...p, early: () => renderSlack(scopeResult(partial(), viewer.scope), viewer.id) } : p);
}

export interface ScopedSlackOptions {
  /** A scan of the same verb, cluster and namespace that finished less than this long ago is reused (default 10 000 ms; 0: always scan). */
  reuseMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** Default for `reuseMs`: a few seconds, so a burst of the same question costs one scan. */
export const DEFAULT_REUSE_MS = 10_000;

/**
 * `/wid cluster|list|creds|audit|legacy` for one viewer: the scan (or a fresh enough earlier one of the same
 * verb, cluster and namespace), cut down to what the viewer may see, rendered. A failure the user should read
 * comes back as a message; only programming errors throw.
 */
export function scopedInspectForSlack(deps: InspectorDeps, opts: ScopedSlackOptions = {}): ScopedSlackInspect {
  const inspector = createInspector(deps);
  const reuseMs = Math.max(0, opts.reuseMs ?? DEFAULT_REUSE_MS);
  const now = opts.now ?? Date.now;
  const recent = new Map<string, { at: number; result: InspectResult }>();
  return async (verb, args, viewer, onProgress) => {
    try {
      const cluster = resolveCluster(deps.policy, args.cluster).name;
      const key = JSON.stringify([verb, cluster, args.namespace ?? null]);
      const t = now();
      for (const [k, v] of recent) if (t - v.at >= reuseMs) recent.delete(k);
      const kept = recent.get(key);
      if (kept) return { messages: renderSlack(scopeResult(kept.result, viewer.scope), viewer.id), reusedAgeMs: Math.max(0, t - kept.at), cluster };
      const result = await inspector.run(verb, { ...args, cluster }, scopedProgress(onProgress, viewer));
      if (reuseMs > 0) recent.set(key, { at: now(), result });
      return { messages: renderSlack(scopeResult(result, viewer.scope), viewer.id), ...(result.verb === 'audit' ? { auditCounts: result.counts } : {}), cluster };
    } catch (e) {
      if (e instanceof WidError) return { messages: renderSlackError(verb, e.message) };
      throw e;
    }
  };
}
