/**
 * A `/wid refederate` batch and its life: one approval covers every item; the worker runs it; old credentials go
 * in a second, separately confirmed step (or stay, when the policy says so). Pure transitions: the store applies
 * them by compare-and-set, so two clicks or two workers never both win.
 *
 *   pending ─approve→ approved ─start→ running ─ran→ verified ─confirmRemoval→ removing ─removed→ finished
 *      └─deny→ denied      (ran → finished when nothing is left to remove or the policy keeps old credentials)
 *   verified|finished ─retry (failed items)→ running
 */
import { ok, refuse, type Result } from './errors';
import type { RefederatePlan } from './refederate';
import type { Actor } from './types';

export type BatchState = 'pending' | 'approved' | 'running' | 'verified' | 'removing' | 'finished' | 'denied' | 'expired';

/** What happened to one item in the worker: the line the result shows. */
export interface ItemResult {
  key: string;
  identity: string;
  subject: string;
  outcome: 'done' | 'skipped' | 'failed';
  detail: string;
  /** Failed items: whether trying again may help. */
  retryable?: boolean;
  /** The credential that now trusts the current issuer. */
  credential?: string;
  verified?: boolean;
}

export interface RemovalResult {
  key: string;
  identity: string;
  removed: string[];
  outcome: 'done' | 'failed' | 'kept';
  detail: string;
  retryable?: boolean;
}

export interface RefederationBatch {
  id: string;
  cluster: string;
  state: BatchState;
  requester: Actor;
  approver?: Actor;
  plan: RefederatePlan;
  /** The policy keeps old credentials: there is no second step. */
  keepOldCredentials: boolean;
  results: ItemResult[];
  removal: RemovalResult[];
  /** Item keys the running pass works on (all, or the failed ones on a retry). */
  runKeys?: string[];
  reason?: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  /** Incremented by every transition: the compare-and-set version. */
  version: number;
  slack?: { channel: string; ts?: string };
}

export type BatchAction =
  | { type: 'approve'; actor: Actor; actorMayApprove: boolean }
  | { type: 'deny'; actor: Actor; actorMayApprove: boolean; reason?: string }
  | { type: 'start' }
  | { type: 'ran'; results: ItemResult[] }
  | { type: 'confirmRemoval'; actor: Actor; actorMayConfirm: boolean }
  | { type: 'removed'; removal: RemovalResult[] }
  | { type: 'retry'; actor: Actor; actorMayConfirm: boolean }
  | { type: 'expire' };

/** Items whose new credential verified and whose old credentials are still to be removed. */
export function removableKeys(batch: RefederationBatch): string[] {
  const removed = new Set(batch.removal.filter((r) => r.outcome === 'done').map((r) => r.key));
  const withOld = new Set(batch.plan.items.filter((i) => i.oldCredentials.length > 0).map((i) => i.key));
  return batch.results.filter((r) => r.outcome === 'done' && r.verified && withOld.has(r.key) && !removed.has(r.key)).map((r) => r.key);
}

export function failedKeys(batch: RefederationBatch): string[] {
  return batch.results.filter((r) => r.outcome === 'failed').map((r) => r.key);
}

/** The states in which the batch holds its cluster: a second refederate of the cluster is refused meanwhile. */
export const CLAIMING_STATES: readonly BatchState[] = ['pending', 'approved', 'running', 'removing'];

function merge(prev: ItemResult[], next: ItemResult[]): ItemResult[] {
  const byKey = new Map(prev.map((r) => [r.key, r]));
  for (const r of next) byKey.set(r.key, r);
  return [...byKey.values()];
}

function wrongState(batch: RefederationBatch, what: string): Result<never> {
  return refuse('wrong-state', `Refederate ${batch.id} of cluster ${batch.cluster} is ${batch.state}, so it cannot be ${what} now.`);
}

export function applyBatchAction(batch: RefederationBatch, action: BatchAction, now: Date): Result<RefederationBatch> {
  const at = now.toISOString();
  const next = (patch: Partial<RefederationBatch>): Result<RefederationBatch> => ok({ ...batch, ...patch, updatedAt: at, version: batch.version + 1 });
  switch (action.type) {
    case 'approve':
      if (batch.state !== 'pending') return wrongState(batch, 'approved');
      if (Date.parse(batch.expiresAt) <= now.getTime()) return refuse('expired', `Refederate ${batch.id} expired at ${batch.expiresAt}; run /wid refederate ${batch.cluster} again.`);
      if (action.actor.id === batch.requester.id) return refuse('self-approval', `You asked for refederate ${batch.id} yourself; another approver must approve it.`);
      if (!action.actorMayApprove) return refuse('not-approver', `Only an approver of every namespace in refederate ${batch.id} (${namespacesOf(batch).join(', ')}) may approve it.`);
      return next({ state: 'approved', approver: action.actor });
    case 'deny':
      if (batch.state !== 'pending') return wrongState(batch, 'denied');
      if (!action.actorMayApprove && action.actor.id !== batch.requester.id) return refuse('not-approver', `Only an approver or the requester may deny refederate ${batch.id}.`);
      return next({ state: 'denied', ...(action.reason ? { reason: action.reason } : {}) });
    case 'expire':
      if (batch.state !== 'pending') return wrongState(batch, 'expired');
      return next({ state: 'expired' });
    case 'start':
      if (batch.state !== 'approved') return wrongState(batch, 'started');
      return next({ state: 'running', runKeys: batch.plan.items.map((i) => i.key) });
    case 'ran': {
      if (batch.state !== 'running') return wrongState(batch, 'finished');
      const results = merge(batch.results, action.results);
      const ran: RefederationBatch = { ...batch, results };
      const waiting = !batch.keepOldCredentials && removableKeys(ran).length > 0;
      return next({ state: waiting ? 'verified' : 'finished', results });
    }
    case 'confirmRemoval':
      if (batch.state !== 'verified') return wrongState(batch, 'told to remove the old credentials');
      if (!action.actorMayConfirm) return refuse('not-approver', `Only the requester or an approver of refederate ${batch.id} may remove the old credentials.`);
      if (removableKeys(batch).length === 0) return refuse('nothing-to-remove', `No item of refederate ${batch.id} has verified old credentials left to remove.`);
      return next({ state: 'removing' });
    case 'removed': {
      if (batch.state !== 'removing') return wrongState(batch, 'marked removed');
      const byKey = new Map(batch.removal.map((r) => [r.key, r]));
      for (const r of action.removal) if (r.outcome !== 'kept') byKey.set(r.key, r);
      const removal = [...byKey.values()];
      const left = removableKeys({ ...batch, removal }).length > 0;
      return next({ state: left ? 'verified' : 'finished', removal });
    }
    case 'retry': {
      if (batch.state !== 'verified' && batch.state !== 'finished') return wrongState(batch, 'retried');
      if (!action.actorMayConfirm) return refuse('not-approver', `Only the requester or an approver of refederate ${batch.id} may retry it.`);
      const failed = failedKeys(batch);
      if (failed.length === 0) return refuse('nothing-to-retry', `No item of refederate ${batch.id} failed, so there is nothing to retry.`);
      return next({ state: 'running', runKeys: failed });
    }
  }
}

/** The namespaces a batch touches. */
export function namespacesOf(batch: Pick<RefederationBatch, 'plan'>): string[] {
  return [...new Set(batch.plan.items.map((i) => i.namespace))].sort();
}
