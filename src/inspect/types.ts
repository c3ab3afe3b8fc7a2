/**
 * What the inspection verbs (cluster, list, creds, legacy, audit) answer: plain typed data that the
 * CLI prints as a table or JSON and the Slack app renders as Block Kit.
 */
import type { LegacyPodIdentity } from '../domain/ports';

export type InspectVerb = 'cluster' | 'list' | 'creds' | 'audit' | 'legacy';
export const INSPECT_VERBS: readonly InspectVerb[] = ['cluster', 'list', 'creds', 'audit', 'legacy'];

/** A long scan's progress: `done` of `total` units in `phase` (e.g. `credentials`). */
export interface InspectProgress {
  done: number;
  total: number;
  phase: string;
  /** Seconds the rest of the scan will take at the read pace of the last seconds (src/domain/scan-estimate.ts), once known. */
  remainingSeconds?: number;
  /**
   * The results so far (`creds` and `audit`): only what the rest of the scan cannot change — the credential rows
   * and findings of the identities already read. Computed when called; the final result still comes at the end.
   */
  partial?: () => InspectResult;
}
export type ProgressCallback = (progress: InspectProgress) => void;

/** The cluster a result is about. */
export interface ClusterRef {
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  aksName: string;
}

export interface ClusterResult {
  verb: 'cluster';
  cluster: ClusterRef;
  oidcIssuerEnabled: boolean;
  issuerUrl: string;
  workloadIdentityEnabled: boolean;
  identityType?: string;
  podIdentityEnabled: boolean;
  /** What is off, in words; empty when the cluster is ready for workload identity. */
  problems: string[];
  /** The exact `az aks update …` command that turns on what is off. */
  fixCommand?: string;
  /** Advice that is not a problem (e.g. the legacy pod-identity add-on is still on). */
  notes: string[];
}

export interface ServiceAccountRow {
  namespace: string;
  name: string;
  /** The `azure.workload.identity/client-id` annotation, when set. */
  clientId?: string;
  /** The `azure.workload.identity/use` label is "true". */
  useLabel: boolean;
  /** The managed identity with that client id, when wid-bot can see one; `trustsClusters`: the policy clusters its credentials trust. */
  identity?: { name: string; resourceGroup: string; subscriptionId: string; trustsClusters?: string[] };
}

/** Where identities were looked for, and where Azure refused to list them (403): named, not fatal. */
export interface SearchedScopes {
  /** `<subscription>` or `<subscription>/<resource group>`, in search order. */
  searched: string[];
  unreadable: Array<{ scope: string; reason: string }>;
  /** A scope whose 403 fails the search (the one with the policy's own identities); not serialised. */
  required?: (scope: { subscriptionId: string; resourceGroup?: string }) => boolean;
}

export interface ListResult {
  verb: 'list';
  cluster: ClusterRef;
  namespace?: string;
  serviceAccounts: ServiceAccountRow[];
  /** How many identities were searched for the client ids. */
  identitiesSearched: number;
  scopes?: SearchedScopes;
}

export interface CredentialRow {
  identity: string;
  identityResourceGroup: string;
  identityClientId: string;
  credential: string;
  subject: string;
  issuer: string;
  /** Every policy cluster the credential's identity trusts (one credential per cluster issuer), when the other clusters were read. */
  identityTrustsClusters?: string[];
}

export interface CredsResult {
  verb: 'creds';
  cluster: ClusterRef;
  issuerUrl: string;
  oidcIssuerEnabled: boolean;
  credentials: CredentialRow[];
  identitiesSearched: number;
  credentialsSearched: number;
  scopes?: SearchedScopes;
}

export interface LegacyItem {
  kind: LegacyPodIdentity['kind'] | 'PodIdentityProfile';
  namespace?: string;
  name: string;
  clientId?: string;
  resourceId?: string;
  azureIdentity?: string;
  selector?: string;
  /** The `/wid request …` line that moves this to workload identity. */
  request: string;
  /** Bindings: the `/wid migrate …` line that moves them keeping the identity they use. */
  migrate?: string;
  /** What else to do, e.g. switch the add-on off once nothing uses it. */
  note?: string;
}

export interface LegacyResult {
  verb: 'legacy';
  cluster: ClusterRef;
  podIdentityProfileEnabled: boolean;
  items: LegacyItem[];
}

export type Severity = 'error' | 'warning' | 'info';

export const FINDING_CODES = {
  /** An SA's client-id annotation matches no managed identity wid-bot can see. */
  saUnknownClientId: 'sa-unknown-client-id',
  /** An SA's identity has no federated credential for this issuer and subject (AADSTS70021). */
  saMissingCredential: 'sa-missing-credential',
  /** A credential for this issuer names a ServiceAccount that does not exist. */
  credentialOrphaned: 'credential-orphaned',
  /** A credential's issuer matches no known cluster (stale after a cluster was recreated). */
  credentialStaleIssuer: 'credential-stale-issuer',
  /** A credential's issuer differs from a cluster's only by a trailing slash or letter case. */
  credentialIssuerMismatch: 'credential-issuer-mismatch',
  /** A pod uses a workload-identity SA without the `azure.workload.identity/use: "true"` label. */
  podMissingUseLabel: 'pod-missing-use-label',
  /** A pod's AZURE_CLIENT_ID differs from its SA's annotation (restart needed). */
  podClientIdDrift: 'pod-client-id-drift',
  /** An identity uses 18 or more of its 20 federated credentials. */
  identityCredentialsNearLimit: 'identity-credentials-near-limit',
  /** The cluster's OIDC issuer is off. */
  clusterOidcDisabled: 'cluster-oidc-disabled',
  /** The cluster's workload identity is off. */
  clusterWorkloadIdentityDisabled: 'cluster-workload-identity-disabled',
  /** Another policy cluster could not be read, so its issuer is unknown to the stale-issuer check. */
  clusterUnreadable: 'cluster-unreadable',
  /** A time-bound grant is past its end and its role assignment still exists (src/grants/audit.ts). */
  grantPastEnd: 'grant-past-end',
  /** An active grant ends within the next day. */
  grantEndingSoon: 'grant-ending-soon',
  /** A credential trusts an issuer a policy cluster had before it was recreated, for a ServiceAccount that still exists there (`/wid refederate`). */
  credentialIssuerChanged: 'credential-issuer-changed',
  /** A credential trusts a recreated cluster's previous issuer, for a ServiceAccount that no longer exists there. */
  credentialIssuerChangedGone: 'credential-issuer-changed-sa-gone',
  /** An active grant its requester approved themselves under break-glass (review it). */
  grantBreakGlass: 'grant-break-glass',
  /** Azure's role assignment schedules (expiry: azure) could not be listed, so the audit could not judge them. */
  grantSchedulesUnreadable: 'grant-schedules-unreadable',
} as const;
export type FindingCode = (typeof FINDING_CODES)[keyof typeof FINDING_CODES];

export interface Finding {
  severity: Severity;
  code: FindingCode;
  /** What the finding is about: `cluster/<name>`, `serviceaccount/<ns>/<name>`, `pod/<ns>/<name>`, `identity/<rg>/<name>`, `credential/<identity>/<name>`. */
  subject: string;
  message: string;
  /** What to do about it: a command or a `/wid` line when there is one. */
  fix: string;
  /** The Kubernetes namespace the finding is about, when it is about one (who may see it in Slack depends on it). */
  namespace?: string;
  /** When wid-bot can repair it through the usual approval: the flow to open (a Request or a Revoke button in Slack). */
  repair?: FindingRepair;
}

/** The flow that repairs a finding: a request for the ServiceAccount, or a revoke of what wid-bot granted it (by ServiceAccount or by the grant's request id). */
export interface FindingRepair {
  action: 'request' | 'revoke';
  namespace?: string;
  serviceAccount?: string;
  /** The grant request a revoke undoes, when the finding names a grant. */
  requestId?: string;
}

export interface AuditResult {
  verb: 'audit';
  cluster: ClusterRef;
  issuerUrl: string;
  findings: Finding[];
  counts: Record<Severity, number>;
  scanned: { identities: number; credentials: number; serviceAccounts: number; pods: number };
  scopes?: SearchedScopes;
}

export type InspectResult = ClusterResult | ListResult | CredsResult | LegacyResult | AuditResult;
