/**
 * What every provisioning step works with: the ports to the outside systems, the Redis used for the
 * cross-process lock and the write limiter, where progress is recorded, and the limits that bound
 * in-step retries. One ProvisionRun per request run carries what earlier steps learned.
 */
import type { Redis } from 'ioredis';
import type { ReleasableLock } from '../queue/lock';
import type {
  AuthorizationPort,
  ClusterPort,
  FederatedCredential,
  IdentityPort,
  IdentityRef,
  KubePort,
  ManagedIdentity,
  ProgressSink,
  RoleAssignment,
  AssignmentSchedulePort,
  ServiceAccountInfo,
  TokenExchangePort,
} from '../domain/ports';
import type { ProvisionedResources, StepName, StepOutcome, StepRecord, WidRequest } from '../domain/types';
import type { StoreKeys } from '../store/keys';
import { AZURE_LIMITS, type RateBucket } from '../domain/azure-limits';
import type { Lane } from '../domain/fairness';

export type { RateBucket } from '../domain/azure-limits';

/** A minimal structured logger (pino fits). */
export interface ProvisionLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Where steps and resources are saved on the request (RedisRequestStore fits). */
export interface StepRecorder {
  recordStep(id: string, step: StepRecord): Promise<void>;
  recordResources(id: string, patch: { [K in keyof ProvisionedResources]?: ProvisionedResources[K] | null }): Promise<void>;
}

export interface ProvisionLimits {
  /** ARM's write bucket per subscription, shared by every worker: identity, role assignment and credential writes (default 200, 10/s). */
  armWrites?: RateBucket;
  /** ARM's delete bucket per subscription (default 200, 10/s). */
  armDeletes?: RateBucket;
  /** User-assigned identity creations per subscription and region (default 80, 4/s: 80 per 20 s). */
  identityCreates?: RateBucket;
  /** How long the role-assignment step keeps retrying PrincipalNotFound before handing back to the queue (default 60 s). */
  principalNotFoundMaxMs?: number;
  /** How long the federated-credential step retries ARM's concurrent-write 409 (default 20 s). */
  concurrentWriteMaxMs?: number;
  /** First pause of an in-step retry, doubled per try up to 5 s (default 500 ms). */
  retryBaseMs?: number;
  /** How long a federated-credential lock outlives a crashed holder (default 15 s; renewed while held). */
  lockTtlMs?: number;
}

export interface VerifySettings {
  /** Prove the identity works by exchanging a ServiceAccount token at Entra ID (default true). */
  enabled: boolean;
  /** How long to retry through the federated credential's propagation (default 120 s). */
  timeoutMs: number;
  /** Scope asked for in the exchange (default ARM's). */
  scope?: string;
  /** Least pause between two exchanges while Entra catches up (default 250 ms). */
  pollMinMs?: number;
  /** Most pause between two exchanges while Entra catches up (default 5 s). */
  pollMaxMs?: number;
}

export interface EngineDeps {
  identities: IdentityPort;
  authorization: AuthorizationPort;
  clusters: ClusterPort;
  kube: KubePort;
  tokenExchange?: TokenExchangePort;
  /** Shared Redis for the federated-credential lock and the identity-write limiter. */
  redis: Redis;
  keys: StoreKeys;
  recorder: StepRecorder;
  progress?: ProgressSink;
  limits?: ProvisionLimits;
  verify?: VerifySettings;
  logger?: ProvisionLogger;
  /** Called after each step ends (after its record is saved), for metrics. */
  onStep?: (step: StepName, outcome: StepOutcome, ms: number) => void | Promise<void>;
  /** Aborts in-step waits (worker closing). */
  signal?: AbortSignal;
  /** Which lane of the ARM buckets this run's calls wait in (default interactive; src/domain/fairness.ts). */
  lane?: Lane;
  /**
   * Grants (src/grants): the lock the role-assignment write holds (the one grant ends hold, so an end never
   * removes an assignment a new grant is writing) and the description it writes (the grant's end, for Azure to keep).
   */
  grantAssignment?: {
    lockName(request: WidRequest): string;
    description(request: WidRequest, existing: RoleAssignment | undefined): Promise<string | undefined>;
    /**
     * For a grant whose role the policy ends with Azure's own schedule (expiry: azure): how long, the end, the
     * justification, and the other live grants under Azure's schedule that share the assignment (same ServiceAccount,
     * role and scope): when one of them made it, this grant moves its end instead of making another.
     */
    azureSchedule?(request: WidRequest): Promise<AzureScheduleAsk | undefined>;
  };
  /** Azure's own assignment schedules (roleAssignmentScheduleRequests), for roles with `expiry: azure`. */
  schedules?: AssignmentSchedulePort;
  now?: () => Date;
}

/** What the role-assignment step asks Azure's schedule for (see grantAssignment.azureSchedule). */
export interface AzureScheduleAsk {
  durationSeconds: number;
  endsAt: string;
  justification: string;
  sharedWith: Array<{ id: string; endsAt?: string }>;
}

export interface ResolvedLimits {
  armWrites: RateBucket;
  armDeletes: RateBucket;
  identityCreates: RateBucket;
  principalNotFoundMaxMs: number;
  concurrentWriteMaxMs: number;
  retryBaseMs: number;
  lockTtlMs: number;
}

export function resolveLimits(l: ProvisionLimits = {}): ResolvedLimits {
  return {
    armWrites: l.armWrites ?? AZURE_LIMITS.writes,
    armDeletes: l.armDeletes ?? AZURE_LIMITS.deletes,
    identityCreates: l.identityCreates ?? AZURE_LIMITS.identityCreates,
    principalNotFoundMaxMs: l.principalNotFoundMaxMs ?? 60_000,
    concurrentWriteMaxMs: l.concurrentWriteMaxMs ?? 20_000,
    retryBaseMs: l.retryBaseMs ?? 500,
    lockTtlMs: l.lockTtlMs ?? 15_000,
  };
}

/** What the runner learned while checking preconditions, read-only, before any step changes anything. */
export interface Preflight {
  identity?: ManagedIdentity;
  /** The identity's credentials as read before any write; undefined when the identity did not exist. */
  federatedCredentials?: FederatedCredential[];
  serviceAccount?: ServiceAccountInfo;
  /** Full role definition id at the scope's subscription. */
  roleDefinitionId: string;
}

/** One run of the engine over one request. Steps read and extend it. */
export interface ProvisionRun {
  request: WidRequest;
  deps: EngineDeps;
  limits: ResolvedLimits;
  identityRef: IdentityRef;
  preflight: Preflight;
  /** What exists so far, as saved on the request. */
  resources: ProvisionedResources;
  /** Set by the identity step. */
  identity?: ManagedIdentity;
  /** A ServiceAccount token for verification, asked for as soon as the ServiceAccount exists (it does not depend on the annotations). */
  serviceAccountToken?: Promise<string>;
  /**
   * Says on the step's record (and so in the approval message) what a running step is waiting for, e.g. Entra ID
   * accepting a new credential; the same text twice in a row is reported once. Set by the runner.
   */
  waiting?: (step: StepName, text: string) => Promise<void>;
  /**
   * For an identity this run creates, the federated credential's one-writer lock and write token, taken by the runner
   * while the identity is being written (waiting for them is off the critical path; nothing is written sooner).
   */
  credentialAhead?: { lock: Promise<ReleasableLock>; turn: Promise<void>; key: string };
}

export function identityRefOf(request: WidRequest): IdentityRef {
  const i = request.plan.identity;
  return { subscriptionId: i.subscriptionId, resourceGroup: i.resourceGroup, name: i.name };
}
