/**
 * What ending a grant works with: the provisioning engine's ports (Azure, Kubernetes, Redis), the grant and
 * request stores, where loud failures go, and the limits that pace removals under ARM's throttles.
 */
import type { Grant } from '../domain/grants';
import { serviceAccountKey } from '../domain/grants';
import type { WidRequest } from '../domain/types';
import type { KubePort } from '../domain/ports';
import type { EngineDeps } from '../provision';
import type { RedisRequestStore } from '../store';
import type { RedisGrantStore } from './store';
import { AZURE_LIMITS, type RateBucket } from '../domain/azure-limits';

/** Where a grant's life is told to people (the Slack side implements it); must not throw for delivery problems. */
export interface GrantNotifier {
  /** The grant ended: update the approval message (by whom, why) and tell the requester. */
  ended(grant: Grant): Promise<void>;
  /** The end kept failing: DM the requester and the approvers, post in the approvals channel. */
  endFailed(grant: Grant, message: string): Promise<void>;
  /** The reminder before the end, with Extend and I'm done. */
  remind(grant: Grant): Promise<void>;
}

export interface GrantLimits {
  /** ARM's delete bucket per subscription, the same one revocations take from (default: Azure's documented 200 burst, 10/s). */
  armDeletes?: RateBucket;
  /** How long a grant's locks outlive a crashed holder (default 15 s). */
  lockTtlMs?: number;
  /** How long an end waits for its request's provisioning to let go before retrying later (default 5 s). */
  lockWaitMs?: number;
  /** expiry: azure — how long after endsAt wid-bot leaves the removal to Azure's schedule before it checks and removes it itself (default 5 min). */
  azureGraceMs?: number;
}

/** ending: asked for and recorded; removing: about to send the delete; removed: sent, not yet recorded; ended: recorded. */
export type EndPoint = 'ending' | 'removing' | 'removed' | 'ended';

export interface GrantDeps {
  engine: EngineDeps;
  grants: RedisGrantStore;
  requests: Pick<RedisRequestStore, 'get'>;
  notifier?: GrantNotifier;
  limits?: GrantLimits;
  /** Called when an end fails for good (metrics). */
  onEndFailed?: (grant: Grant) => void;
  /** Called when an end completes, with how late it was after endsAt (metrics). */
  onEnded?: (grant: Grant, latenessMs: number | undefined) => void;
  /** Called once each point of an end is recorded (metrics; crash drills kill the process here). */
  onEndPoint?: (point: EndPoint, grant: Grant) => void | Promise<void>;
  /** expiry: azure — the end came before Azure's grace was over: queue wid-bot's check at `atMs`. */
  onCheckDue?: (grant: Grant, atMs: number) => Promise<void>;
  /** The end left no other grant of the ServiceAccount: queue the release of its identity (src/grants/queue.ts). */
  onReleaseDue?: (grant: Grant) => Promise<void>;
  now?: () => Date;
  /** Each policy cluster's Kubernetes API, for a grant on another cluster than the default and a multi-cluster grant's other clusters. */
  kubeFor?: (clusterName: string) => KubePort;
}

export function resolveGrantLimits(l: GrantLimits = {}): Required<GrantLimits> {
  return { armDeletes: l.armDeletes ?? AZURE_LIMITS.deletes, lockTtlMs: l.lockTtlMs ?? 15_000, lockWaitMs: l.lockWaitMs ?? 5_000, azureGraceMs: l.azureGraceMs ?? 5 * 60_000 };
}

/** The lock every decision about a ServiceAccount's role assignments holds (grant ends and the provisioning's role-assignment write). */
export function serviceAccountLockName(g: { clusterName: string; namespace: string; serviceAccount: string }): string {
  return `grant-sa:${serviceAccountKey(g)}`;
}

/** The request lock the provisioning worker holds (src/worker.ts), so an end never runs beside its grant's provisioning. */
export function requestLockName(requestId: string): string {
  return `request:${requestId}`;
}

/** What an end step works with; steps read and extend it. */
export interface EndRun {
  grant: Grant;
  request: WidRequest;
  deps: GrantDeps;
  /** Other open grants of the same ServiceAccount, read under the lock. */
  others: Grant[];
  principalId?: string;
  roleDefinitionId?: string;
  assignmentName?: string;
  assignmentRemoved: boolean;
  /** expiry: azure — who took the assignment away. */
  removedBy?: 'azure' | 'wid-bot';
  notes: string[];
  /** A multi-cluster grant's end on its other clusters, per cluster (src/grants/end-clusters.ts). */
  clusters?: Array<{ cluster: string; lines: string[]; error?: Error }>;
  /** What the end did on the other clusters, for the grant's record. */
  clusterEnd?: { removed: string[]; kept: string[] };
}
