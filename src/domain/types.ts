/**
 * The vocabulary of wid-bot. Pure data: no I/O, no SDK types. Every other room speaks in these terms.
 */
import type { MigrationPlan } from './migrate';

export const WORKLOAD_IDENTITY_AUDIENCE = 'api://AzureADTokenExchange';
export const ANNOTATION_CLIENT_ID = 'azure.workload.identity/client-id';
export const ANNOTATION_TENANT_ID = 'azure.workload.identity/tenant-id';
export const LABEL_USE = 'azure.workload.identity/use';
export const MAX_FEDERATED_CREDENTIALS_PER_IDENTITY = 20;
export const RESERVED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'] as const;
/** Tag keys wid-bot writes on the identities it creates. */
export const TAG_MANAGED_BY = 'managed-by';
export const TAG_MANAGED_BY_VALUE = 'wid-bot';

// ───────────────────────────── policy ─────────────────────────────

/** Who may do something: Slack user ids, Slack user-group ids (S…), or anyone. */
export interface Principals {
  users: string[];
  groups: string[];
  anyone: boolean;
}

export interface PolicyCluster {
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  aksName: string;
  /** Issuer URL for offline use (the CLI's dry run); normally read from the cluster. */
  issuerUrl?: string;
}

export interface PolicyIdentityPlacement {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tags: Record<string, string>;
}

export interface PolicyRole {
  /** The built-in or custom role's display name, e.g. "Key Vault Secrets User". */
  name: string;
  /** Role definition GUID when known (built-ins are known). */
  roleDefinitionId?: string;
  /** Exact ARM ids or glob patterns (`*` = one path segment, `**` = any rest) the role may be granted on. */
  scopes: string[];
  approvals: 1 | 2;
  /** Longest grant in seconds, when the role is time-bound. */
  maxDurationSeconds?: number;
  /** True for Owner, Contributor, User Access Administrator, RBAC Administrator: named explicitly, two approvals. */
  privileged: boolean;
  /** The requester may extend a grant within maxDuration (from the approval) without a new approval. */
  selfExtend?: boolean;
  /** Who removes the assignment at the end: wid-bot (default) or Azure's own schedule (Entra ID P2 / ID Governance). */
  expiry?: 'bot' | 'azure';
  /** Break-glass: the requester may approve their own request of this role (off when absent). */
  breakGlass?: PolicyBreakGlass;
}

/** The policy's break-glass rule on a role or a namespace. */
export interface PolicyBreakGlass {
  /** Longest access a self-approved request gets, in seconds. */
  maxDurationSeconds: number;
  /** Also for roles that need two approvers (default false: never). */
  twoApproverRoles?: boolean;
}

export interface PolicyNamespace {
  name: string;
  requesters: Principals;
  approvers: Principals;
  /** Role names this namespace may request. */
  roles: string[];
  /** Default scope per role name when the request gives none. */
  defaultScopes: Record<string, string>;
  /** Slack channel id for this namespace's approvals; falls back to the global one. */
  approvalsChannel?: string;
  /** Break-glass: requesters here may approve their own requests (off when absent). */
  breakGlass?: PolicyBreakGlass;
}

export interface Policy {
  /** Where the policy came from, for error messages. */
  source: string;
  tenantId?: string;
  clusters: PolicyCluster[];
  defaultCluster: string;
  identities: PolicyIdentityPlacement;
  roles: PolicyRole[];
  namespaces: PolicyNamespace[];
  approvers: Principals;
  /** Who runs wid-bot: they see every namespace's answers, every request's status, and the operator home. */
  operators: Principals;
  approvalsChannel?: string;
  allowReservedNamespaces: boolean;
  /** Pending requests expire after this many seconds (default 24 h). */
  requestTtlSeconds: number;
  /** Remind approvers after this many seconds of waiting; 0 = never. */
  reminderAfterSeconds: number;
  /** Remind a grant's requester this long before its end (or at 10 % of the duration when shorter); 0 = never; default 30 min. */
  grantReminderSeconds?: number;
  /** `/wid refederate` keeps the credentials for a recreated cluster's old issuer instead of offering their removal. */
  refederateKeepOldCredentials?: boolean;
  /** Where the Slack inspection verbs and `/wid migrate` also look for identities: subscriptions or subscription/resource group. */
  identitySearchScopes?: IdentitySearchScope[];
}

/** A subscription, or one resource group of it, searched for identities. */
export interface IdentitySearchScope {
  subscriptionId: string;
  resourceGroup?: string;
}

// ───────────────────────────── cluster facts ─────────────────────────────

export interface ClusterFacts {
  name: string;
  oidcIssuerEnabled: boolean;
  /** Verbatim from the cluster (AKS ends it with a slash); empty when OIDC is off. */
  issuerUrl: string;
  workloadIdentityEnabled: boolean;
  identityType?: string;
  podIdentityEnabled?: boolean;
}

// ───────────────────────────── the plan ─────────────────────────────

export interface PlannedIdentity {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  /** ARM resource id of the identity. */
  resourceId: string;
}

export interface PlannedRoleAssignment {
  roleName: string;
  /** Role definition GUID when the policy knows it; resolved by name at provisioning otherwise. */
  roleDefinitionId?: string;
  /** Normalised ARM scope. */
  scope: string;
}

export interface PlannedFederatedCredential {
  name: string;
  /** Copied verbatim from the cluster. */
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface PlannedServiceAccount {
  namespace: string;
  name: string;
  /** Annotations wid-bot sets; the client id is filled in once the identity exists. */
  annotations: Record<string, string>;
}

export interface Plan {
  /**
   * `migrate` adopts an aad-pod-identity identity (plan.migration says which); its revoke keeps `migration`.
   * `federate` gives the identity already serving the ServiceAccount on another cluster a credential for this
   * cluster (plan.federation says where from); its revoke keeps `federation`.
   */
  kind: 'grant' | 'revoke' | 'migrate' | 'federate';
  cluster: { name: string; subscriptionId: string; resourceGroup: string; aksName: string };
  tenantId?: string;
  identity: PlannedIdentity;
  roleAssignment: PlannedRoleAssignment;
  federatedCredential: PlannedFederatedCredential;
  serviceAccount: PlannedServiceAccount;
  approvalsRequired: 1 | 2;
  durationSeconds?: number;
  /** Set on migrate plans (and on their revokes): the binding, the adopted identity and the roles it already holds. */
  migration?: MigrationPlan;
  /** Set on federate plans (and on their revokes): the cluster whose grant made the identity, and what the identity trusts. */
  federation?: FederationInfo;
  /** `/wid request … --cluster a,b`: the clusters after the first, each with its own credential and ServiceAccount (one identity, one role assignment). */
  alsoClusters?: PlannedExtraCluster[];
  /** `/wid revoke … --cluster all`: every cluster's part, each a revoke plan, in the order they run (src/domain/revoke-all.ts). */
  revokeAll?: RevokeAllPlan;
}

/** One approval, every cluster: per identity, the other clusters' credentials and annotations first, then the identity's own revoke. */
export interface RevokeAllPlan {
  /** The revoke plan of each cluster's part, in the order they run. */
  parts: Plan[];
  /** Each policy cluster looked at, with what serves the ServiceAccount there (for the message). */
  clusters: string[];
}

/** One more cluster of a multi-cluster grant: the identity trusts its issuer, and its ServiceAccount is annotated. */
export interface PlannedExtraCluster {
  cluster: { name: string; subscriptionId: string; resourceGroup: string; aksName: string };
  federatedCredential: PlannedFederatedCredential;
}

/** Where a federated cluster's identity comes from. */
export interface FederationInfo {
  /** The cluster whose request made (or migrated) the identity. */
  sourceCluster: string;
  /** That request's id. */
  sourceRequestId: string;
  /** The clusters the identity trusted when this was planned (names wid-bot knows, from the credentials' issuers). */
  trustedClusters: string[];
  /** Federated credentials on the identity when planned (Azure allows 20). */
  credentialCount: number;
}

// ───────────────────────────── requests ─────────────────────────────

export type RequestState =
  | 'pending'
  | 'approved'
  | 'provisioning'
  | 'succeeded'
  | 'failed'
  | 'denied'
  | 'expired'
  | 'cancelled';

export const OPEN_STATES: readonly RequestState[] = ['pending', 'approved', 'provisioning', 'failed'];

export interface Actor {
  /** Slack user id, or `system` / `cli:<user>`. */
  id: string;
  name?: string;
}

export interface Approval {
  actor: Actor;
  at: string;
}

export type StepName = 'identity' | 'roleAssignment' | 'federatedCredential' | 'serviceAccount' | 'verify';
export type StepOutcome = 'running' | 'done' | 'skipped' | 'failed';

export interface StepRecord {
  step: StepName;
  outcome: StepOutcome;
  startedAt: string;
  endedAt?: string;
  detail?: string;
}

/** What exists in Azure and Kubernetes for a request, by id. */
export interface ProvisionedResources {
  identityId?: string;
  clientId?: string;
  principalId?: string;
  tenantId?: string;
  roleAssignmentId?: string;
  federatedCredentialId?: string;
  serviceAccount?: string;
  verified?: boolean;
  /** True when wid-bot created the identity (revoke deletes only those). */
  identityCreatedByWid?: boolean;
  /** Migrate: the running pods the AzureIdentityBinding's selector covered when the ServiceAccount was bound. */
  migratedPods?: string[];
  /** A multi-cluster grant's other clusters, by name: their credential, ServiceAccount and verification. */
  clusters?: Record<string, ClusterPart>;
}

/** One cluster's part of a multi-cluster grant or of `revoke --cluster all`, as far as the worker got. */
export interface ClusterPart {
  federatedCredentialId?: string;
  serviceAccount?: string;
  verified?: boolean;
  /** Each step's outcome on that cluster, as it runs (the approval message and the App Home show them). */
  steps?: Partial<Record<StepName, StepOutcome>>;
  /** `revoke --cluster all`: this cluster's part is gone. */
  revoked?: boolean;
  /** The last run stopped on this cluster (also before its first step). */
  failed?: boolean;
}

export interface WidRequest {
  id: string;
  kind: 'grant' | 'revoke' | 'migrate' | 'federate';
  state: RequestState;
  requester: Actor;
  clusterName: string;
  namespace: string;
  serviceAccount: string;
  roleName: string;
  scope: string;
  reason?: string;
  durationSeconds?: number;
  plan: Plan;
  approvals: Approval[];
  createdAt: string;
  updatedAt: string;
  /** When a pending request expires. */
  expiresAt: string;
  resources: ProvisionedResources;
  steps: StepRecord[];
  failure?: { reason: string; step?: StepName; retryable: boolean };
  /** Where the approval message lives in Slack. */
  slack?: { channel: string; ts?: string };
  /** Set when the requester approved it themselves under the policy's break-glass rule. */
  breakGlass?: { reason: string; at: string; maxDurationSeconds: number };
}

/** One append-only entry of a request's history. */
export interface TransitionEvent {
  requestId: string;
  actor: Actor;
  from: RequestState | null;
  to: RequestState;
  reason?: string;
  at: string;
}
