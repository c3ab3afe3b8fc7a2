/**
 * The small interfaces the core declares and the adapters (src/azure, src/kube, src/entra,
 * src/store, src/queue, src/slack) implement. Arrows point inward: adapters import these, the core
 * never imports an adapter. Every method throws only WidError (RetryableError / TerminalError).
 */
import type { ClusterFacts, PolicyCluster, ProvisionedResources, RequestState, StepName, StepOutcome, TransitionEvent, WidRequest } from './types';

export interface ManagedIdentity {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  clientId: string;
  principalId: string;
  tenantId: string;
  tags: Record<string, string>;
}

export interface FederatedCredential {
  id: string;
  name: string;
  /** ARM id of the identity the credential belongs to. */
  identityId: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface RoleAssignment {
  id: string;
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType?: string;
  /** Free text ARM keeps with the assignment (wid-bot writes `wid-bot <request id>; ends <ISO time>` there). */
  description?: string;
}

export interface IdentityRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/** Microsoft.ManagedIdentity: identities and their federated credentials. */
export interface IdentityPort {
  getIdentity(ref: IdentityRef): Promise<ManagedIdentity | undefined>;
  /** PUT: create or update (tags merged by the caller). */
  putIdentity(ref: IdentityRef, location: string, tags: Record<string, string>): Promise<ManagedIdentity>;
  deleteIdentity(ref: IdentityRef): Promise<void>;
  /** Every identity in a subscription, or in one resource group of it, following nextLink. */
  listIdentities(subscriptionId: string, resourceGroup?: string): AsyncIterable<ManagedIdentity>;
  listFederatedCredentials(identity: IdentityRef): Promise<FederatedCredential[]>;
  getFederatedCredential(identity: IdentityRef, name: string): Promise<FederatedCredential | undefined>;
  putFederatedCredential(identity: IdentityRef, name: string, issuer: string, subject: string, audiences: string[]): Promise<FederatedCredential>;
  deleteFederatedCredential(identity: IdentityRef, name: string): Promise<void>;
}

/** Microsoft.Authorization: role definitions and assignments. */
export interface AuthorizationPort {
  /** Full role definition id (`/subscriptions/…/providers/Microsoft.Authorization/roleDefinitions/<guid>`) for a role name at a scope. */
  findRoleDefinitionId(scope: string, roleName: string): Promise<string | undefined>;
  getRoleAssignment(scope: string, name: string): Promise<RoleAssignment | undefined>;
  /** PUT with principalType ServicePrincipal. Throws TerminalError code RoleAssignmentExists / RetryableError code PrincipalNotFound as ARM says. */
  createRoleAssignment(scope: string, name: string, roleDefinitionId: string, principalId: string, description?: string): Promise<RoleAssignment>;
  deleteRoleAssignment(scope: string, name: string): Promise<void>;
  listRoleAssignments(scope: string, principalId?: string): Promise<RoleAssignment[]>;
  /** The display name of a role definition, by its full id; undefined when Azure has no such definition. */
  getRoleDefinitionName(roleDefinitionId: string): Promise<string | undefined>;
}

/** Microsoft.Resources: the subscriptions the caller may read (ARM `GET /subscriptions`). */
export interface SubscriptionPort {
  listSubscriptions(): Promise<Array<{ subscriptionId: string; displayName?: string }>>;
}

/** A roleAssignmentScheduleRequests request as Azure answers it. */
export interface ScheduleRequest {
  name: string;
  requestType: string;
  /** Provisioned, Revoked, Denied, PendingApproval, … */
  status: string;
  /** The schedule's end, when Azure said (start + duration). */
  endsAt?: string;
}

/**
 * Azure's own schedule (PIM for Azure resources; Entra ID P2): Azure removes the assignment at its end. Optional:
 * only policies with `expiry: azure` need it.
 */
export interface AssignmentSchedulePort {
  /** AdminAssign with AfterDuration (Azure's minimum 5 minutes). Throws TerminalError ActiveDurationTooShort / RoleAssignmentExists / RoleAssignmentRequestExists as Azure says. */
  assignWithSchedule(scope: string, requestName: string, roleDefinitionId: string, principalId: string, durationSeconds: number, justification?: string): Promise<ScheduleRequest>;
  /** AdminRemove: the active assignment goes now. Throws TerminalError RoleAssignmentDoesNotExist when there is none. */
  removeWithSchedule(scope: string, requestName: string, roleDefinitionId: string, principalId: string, justification?: string): Promise<ScheduleRequest>;
  getScheduleRequest(scope: string, requestName: string): Promise<ScheduleRequest | undefined>;
  /**
   * AdminUpdate: the schedule of the active assignment of that principal, role and scope now ends at `endsAt`
   * (AfterDateTime). A later grant sharing the assignment moves its end this way. Throws TerminalError
   * RoleAssignmentDoesNotExist when there is no such assignment.
   */
  updateSchedule(scope: string, requestName: string, roleDefinitionId: string, principalId: string, endsAt: string, justification?: string): Promise<ScheduleRequest>;
  /** The active assignments Azure's schedules hold at and below `scope` (roleAssignmentScheduleInstances), of one principal if given. */
  listScheduleInstances(scope: string, principalId?: string): Promise<ScheduleInstance[]>;
}

/** An active assignment under a schedule (a roleAssignmentScheduleInstances item). */
export interface ScheduleInstance {
  /** The role assignment it is (originRoleAssignmentId). */
  roleAssignmentId: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  startsAt?: string;
  /** Undefined for a schedule without an end. */
  endsAt?: string;
}

/** Microsoft.ContainerService: the AKS cluster read. */
export interface ClusterPort {
  getClusterFacts(cluster: PolicyCluster): Promise<ClusterFacts>;
}

export interface ServiceAccountInfo {
  namespace: string;
  name: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  resourceVersion?: string;
}

export interface PodInfo {
  namespace: string;
  name: string;
  serviceAccountName: string;
  labels: Record<string, string>;
  /** Env var AZURE_CLIENT_ID of the first container that sets it, if any. */
  azureClientIdEnv?: string;
  /** status.phase (Pending, Running, Succeeded, Failed, Unknown) when the API says. */
  phase?: string;
}

export interface LegacyPodIdentity {
  kind: 'AzureIdentity' | 'AzureIdentityBinding';
  namespace: string;
  name: string;
  /** AzureIdentity: spec.clientID / spec.resourceID; binding: spec.azureIdentity / spec.selector. */
  clientId?: string;
  resourceId?: string;
  azureIdentity?: string;
  selector?: string;
  /** AzureIdentity spec.type: 0 user-assigned identity, 1 service principal, 2 service principal certificate. */
  identityType?: number;
}

/** The Kubernetes API of one cluster. */
export interface KubePort {
  getServiceAccount(namespace: string, name: string): Promise<ServiceAccountInfo | undefined>;
  createServiceAccount(namespace: string, name: string, annotations: Record<string, string>, labels?: Record<string, string>): Promise<ServiceAccountInfo>;
  /** Merge-patch: annotations set to a string are set, to null are removed; nothing else is touched. */
  patchServiceAccountAnnotations(namespace: string, name: string, annotations: Record<string, string | null>): Promise<ServiceAccountInfo>;
  deleteServiceAccount(namespace: string, name: string): Promise<void>;
  listServiceAccounts(namespace?: string): Promise<ServiceAccountInfo[]>;
  listPods(namespace?: string): Promise<PodInfo[]>;
  /** TokenRequest for a ServiceAccount; returns the JWT. */
  requestServiceAccountToken(namespace: string, name: string, audience: string, expirationSeconds?: number): Promise<string>;
  /** aad-pod-identity objects in every namespace; [] when the CRDs are not installed. */
  listLegacyPodIdentities(): Promise<LegacyPodIdentity[]>;
  /** Deletes one aad-pod-identity object; one already gone is not an error. */
  deleteLegacyPodIdentity(kind: LegacyPodIdentity['kind'], namespace: string, name: string): Promise<void>;
}

/** Entra ID: exchange a ServiceAccount token for an access token as the identity (the pod's own path). */
export interface TokenExchangePort {
  /** Resolves when Entra issues a token; throws WidError with the AADSTS code otherwise. */
  exchange(tenantId: string, clientId: string, serviceAccountToken: string, scope: string): Promise<{ expiresOn?: number }>;
}

/** Progress the worker publishes for the Slack side to render. */
export interface ProgressEvent {
  requestId: string;
  step: StepName;
  outcome: StepOutcome;
  at: string;
  detail?: string;
  resources?: ProvisionedResources;
  /** Set when the step ran on another cluster of the request (a multi-cluster part): it belongs to resources.clusters[cluster], not to the request's own steps. */
  cluster?: string;
}

/** Requests and their append-only history, with atomic state transitions. */
export interface RequestStore {
  create(request: WidRequest, event: TransitionEvent): Promise<void>;
  get(id: string): Promise<WidRequest | undefined>;
  /**
   * Atomically replace the request iff its state and version are still what the caller read;
   * appends `event` to the history in the same step. Returns false when someone else won the race.
   */
  compareAndSet(expected: { id: string; state: RequestState; updatedAt: string }, next: WidRequest, event?: TransitionEvent): Promise<boolean>;
  history(id: string): Promise<TransitionEvent[]>;
}

/**
 * Where the worker reports a request's progress and outcome (the Slack side renders it: the approval
 * message updated in place, coalesced; the result thread and DM). Implementations must not throw for
 * delivery problems: progress is best-effort, the request record is the source of truth.
 */
export interface ProgressSink {
  progress(request: WidRequest, event: ProgressEvent): Promise<void>;
  /** The request reached succeeded or failed (request.state says which). */
  finished(request: WidRequest): Promise<void>;
}

/** One call an adapter made to an outside system, reported for metrics. */
export interface AdapterCall {
  system: 'azure' | 'kubernetes' | 'entra';
  /** e.g. `identities.put`, `serviceAccounts.patch`, `token.exchange`. */
  operation: string;
  outcome: 'ok' | 'retryable' | 'terminal';
  ms: number;
  /** The WidError code when the call failed. */
  code?: string;
}

export type AdapterCallHook = (call: AdapterCall) => void;
