/**
 * Migration from aad-pod-identity, pure: which identity an AzureIdentityBinding uses, whether wid-bot may
 * adopt it, the frozen plan (a federated credential and a ServiceAccount for the identity that already
 * exists, with the roles it already holds), which pods the binding's selector covers, and when the
 * pod-identity objects may go. No I/O: src/app/migrate.ts reads the world and hands it here.
 */
import { ok, refuse, type Result } from './errors';
import type { FederatedCredential, LegacyPodIdentity, ManagedIdentity, PodInfo, ServiceAccountInfo } from './ports';
import { federatedCredentialName, serviceAccountSubject, validateNamespace, validateServiceAccountName } from './names';
import { CLIENT_ID_PLACEHOLDER, enableWorkloadIdentityCommand } from './plan';
import type { MigrateCommand } from './grammar';
import { describePrincipals, findCluster, findNamespace, isApprover, principalsInclude } from './policy';
import { isPrivilegedRole } from './roles';
import { searchScopeText } from './search-scopes';
import { listOf } from './text';
import {
  ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID, LABEL_USE, MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, WORKLOAD_IDENTITY_AUDIENCE,
  type ClusterFacts, type IdentitySearchScope, type Plan, type Policy, type PolicyCluster, type PolicyNamespace,
} from './types';

/** The pod label aad-pod-identity matches against a binding's selector. */
export const LABEL_POD_IDENTITY_BINDING = 'aadpodidbinding';

/** AzureIdentity spec.type values (aad-pod-identity): only a user-assigned identity can carry federated credentials. */
export const AZURE_IDENTITY_TYPES: Record<number, string> = {
  0: 'user-assigned managed identity',
  1: 'service principal',
  2: 'service principal with a certificate',
};

/** A role the adopted identity already holds, read from Azure. */
export interface ExistingRole {
  roleName: string;
  roleDefinitionId: string;
  scope: string;
  assignmentId: string;
}

/** What a migrate plan carries besides the usual credential and ServiceAccount. */
export interface MigrationPlan {
  binding: { namespace: string; name: string; selector: string };
  azureIdentity: { namespace: string; name: string; resourceId: string; clientId: string };
  /** The roles the identity holds at planning time: what the ServiceAccount will get. wid-bot adds none. */
  existingRoles: ExistingRole[];
  /** Federated credentials on the identity when planned (Azure allows 20). */
  credentialsAtPlan: number;
}

/** Everything src/app/migrate.ts read for one binding. */
export interface MigrationFacts {
  /** The binding by name in the namespace; undefined when there is none. */
  binding?: LegacyPodIdentity;
  /** The AzureIdentity the binding names, in the same namespace. */
  azureIdentity?: LegacyPodIdentity;
  /** The identity read from ARM at the AzureIdentity's resourceID; undefined when Azure has none. */
  identity?: ManagedIdentity;
  roles: ExistingRole[];
  credentials: FederatedCredential[];
  serviceAccount?: ServiceAccountInfo;
}

export interface UserAssignedIdentityId {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

const UAMI_ID = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.managedidentity\/userassignedidentities\/([^/]+)\/?$/i;

/** The parts of a user-assigned identity's ARM id; undefined for anything else. */
export function parseUserAssignedIdentityId(resourceId: string): UserAssignedIdentityId | undefined {
  const m = UAMI_ID.exec(resourceId.trim());
  if (!m) return undefined;
  return { subscriptionId: (m[1] as string).toLowerCase(), resourceGroup: m[2] as string, name: m[3] as string };
}

/** The scopes wid-bot may adopt identities from: the policy's identity resource group and its identitySearchScopes. */
export function adoptableScopes(policy: Policy): IdentitySearchScope[] {
  return [{ subscriptionId: policy.identities.subscriptionId, resourceGroup: policy.identities.resourceGroup }, ...(policy.identitySearchScopes ?? [])];
}


export function inScopes(scopes: readonly IdentitySearchScope[], id: UserAssignedIdentityId): boolean {
  return scopes.some(
    (s) => s.subscriptionId.toLowerCase() === id.subscriptionId.toLowerCase() && (!s.resourceGroup || s.resourceGroup.toLowerCase() === id.resourceGroup.toLowerCase()),
  );
}

/** The ServiceAccount a migration binds: the one asked for, else the binding's selector when it is a valid name, else the AzureIdentity's. */
export function migrationServiceAccount(binding: LegacyPodIdentity, requested: string | undefined): Result<string> {
  if (requested !== undefined) return validateServiceAccountName(requested);
  for (const candidate of [binding.selector, binding.azureIdentity]) {
    if (candidate && validateServiceAccountName(candidate).ok) return ok(candidate);
  }
  return refuse(
    'serviceaccount-needed',
    `The binding "${binding.name}" has no selector or AzureIdentity name that is a valid ServiceAccount name; name the ServiceAccount: /wid migrate ${binding.namespace} ${binding.name} <serviceaccount>.`,
    'serviceAccount',
  );
}

export interface MigrateDecision {
  cluster: PolicyCluster;
  namespace: PolicyNamespace;
}

/**
 * Whether this person may migrate (or finish migrating) a binding in the namespace: the namespace's
 * requesters may, as for `/wid request`; Finish also lets its approvers.
 */
export function evaluateMigrate(
  policy: Policy,
  input: { requester: { id: string }; requesterGroups: readonly string[]; command: MigrateCommand; /** The CLI's dry run without --as. */ skipRequesterCheck?: boolean },
): Result<MigrateDecision> {
  const { command } = input;
  const nsName = validateNamespace(command.namespace, { allowReserved: policy.allowReservedNamespaces });
  if (!nsName.ok) return nsName;
  const cluster = findCluster(policy, command.cluster);
  if (!cluster.ok) return cluster;
  const namespace = findNamespace(policy, command.namespace);
  if (!namespace) {
    return refuse(
      'namespace-not-in-policy',
      `The namespace "${command.namespace}" is not in the policy, so nobody can move its pods to workload identity through wid-bot. Namespaces in the policy: ${listOf(policy.namespaces.map((n) => n.name))}.`,
      'namespace',
    );
  }
  const mayRequest = principalsInclude(namespace.requesters, input.requester.id, input.requesterGroups);
  const mayFinish = command.finish && isApprover(policy, namespace.name, input.requester.id, input.requesterGroups);
  if (!mayRequest && !mayFinish && !input.skipRequesterCheck) {
    return refuse(
      'requester-not-allowed',
      `You may not migrate bindings in "${namespace.name}": the policy lets ${describePrincipals(namespace.requesters)} request there${command.finish ? ', and its approvers finish migrations' : ''}.`,
      'namespace',
    );
  }
  return ok({ cluster: cluster.value, namespace });
}

export interface MigrationPlanInput {
  policy: Policy;
  cluster: PolicyCluster;
  namespace: PolicyNamespace;
  bindingName: string;
  /** The ServiceAccount named in the command, if any. */
  serviceAccount?: string;
  clusterFacts: ClusterFacts;
  facts: MigrationFacts;
  requestId: string;
}

function credentialMatches(f: FederatedCredential, issuer: string, subject: string): boolean {
  return f.issuer === issuer && f.subject === subject && f.audiences.includes(WORKLOAD_IDENTITY_AUDIENCE);
}

/**
 * The migrate plan, or why not. The requester's right to ask for the namespace is checked before
 * (evaluateMigrate); this checks the binding, its AzureIdentity, the identity in Azure, the cluster,
 * the credential limit and the ServiceAccount.
 */
export function planMigration(input: MigrationPlanInput): Result<Plan> {
  const { policy, cluster, namespace, bindingName, clusterFacts: cf, facts, requestId } = input;
  const ns = namespace.name;
  const where = `in namespace "${ns}" on ${cluster.name}`;
  const binding = facts.binding;
  if (!binding || binding.kind !== 'AzureIdentityBinding') {
    return refuse('binding-not-found', `There is no AzureIdentityBinding "${bindingName}" ${where}. \`/wid legacy\` lists the bindings the cluster has.`, 'binding');
  }
  if (!binding.azureIdentity) {
    return refuse('binding-names-no-identity', `The AzureIdentityBinding "${bindingName}" ${where} names no AzureIdentity (spec.azureIdentity is empty), so there is no identity to adopt.`, 'binding');
  }
  if (!binding.selector || binding.selector.startsWith('{')) {
    return refuse(
      'binding-selector-unsupported',
      `The AzureIdentityBinding "${bindingName}" ${where} has ${binding.selector ? `the selector ${binding.selector}` : 'no selector'}; wid-bot migrates bindings whose spec.selector is a plain value of the pod label ${LABEL_POD_IDENTITY_BINDING}.`,
      'binding',
    );
  }
  const ai = facts.azureIdentity;
  if (!ai || ai.kind !== 'AzureIdentity') {
    return refuse(
      'azureidentity-missing',
      `The AzureIdentityBinding "${bindingName}" ${where} names the AzureIdentity "${binding.azureIdentity}", which does not exist in "${ns}". Its pods get no Azure identity today; use /wid request for a new identity instead.`,
      'binding',
    );
  }
  const type = ai.identityType ?? 0;
  if (type !== 0) {
    const known = AZURE_IDENTITY_TYPES[type];
    const what = known ? `a ${known}` : 'an unknown kind of identity';
    return refuse(
      'azureidentity-not-user-assigned',
      `The AzureIdentity "${ai.name}" ${where} is ${what} (spec.type ${type}), not a user-assigned managed identity: federated credentials for workload identity can be added only to a user-assigned identity${type === 1 || type === 2 ? " or an app registration, which wid-bot does not manage" : ''}. Use /wid request for a new identity and grant it the roles this one has.`,
      'binding',
    );
  }
  const parsed = ai.resourceId ? parseUserAssignedIdentityId(ai.resourceId) : undefined;
  if (!parsed) {
    return refuse(
      'azureidentity-unknown-resource',
      `The AzureIdentity "${ai.name}" ${where} has ${ai.resourceId ? `the resourceID '${ai.resourceId}', which is not the id of a user-assigned managed identity` : 'no resourceID'} (expected /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>).`,
      'binding',
    );
  }
  const allowed = adoptableScopes(policy);
  if (!inScopes(allowed, parsed)) {
    return refuse(
      'identity-outside-policy',
      `The identity '${parsed.name}' is in subscription ${parsed.subscriptionId}, resource group ${parsed.resourceGroup}, which the policy does not let wid-bot adopt from. Allowed: ${allowed.map(searchScopeText).join(', ')}. Ask the platform team to add the scope to identitySearchScopes.`,
      'binding',
    );
  }
  const identity = facts.identity;
  if (!identity) {
    return refuse(
      'identity-not-found',
      `The AzureIdentity "${ai.name}" ${where} names the identity '${ai.resourceId}', which Azure does not have (deleted, or a typo). Nothing to adopt; use /wid request for a new identity.`,
      'binding',
    );
  }
  if (ai.clientId && ai.clientId.toLowerCase() !== identity.clientId.toLowerCase()) {
    return refuse(
      'azureidentity-client-id-mismatch',
      `The AzureIdentity "${ai.name}" ${where} says client id ${ai.clientId}, but the identity '${identity.name}' in Azure has client id ${identity.clientId} (it was probably recreated). Fix spec.clientID first, so the migration adopts the identity the pods really use.`,
      'binding',
    );
  }
  const fix = enableWorkloadIdentityCommand(cluster.resourceGroup, cluster.aksName);
  if (!cf.oidcIssuerEnabled || cf.issuerUrl.trim() === '') {
    return refuse('oidc-issuer-off', `The cluster "${cluster.name}" (${cluster.aksName}) has no OIDC issuer, so Entra cannot trust its ServiceAccount tokens. Turn it on with: ${fix}`, 'cluster');
  }
  if (!cf.workloadIdentityEnabled) {
    return refuse('workload-identity-off', `The cluster "${cluster.name}" (${cluster.aksName}) does not run the workload identity webhook, so pods would not get Azure tokens. Turn it on with: ${fix}`, 'cluster');
  }
  const sa = migrationServiceAccount(binding, input.serviceAccount);
  if (!sa.ok) return sa;
  const subject = serviceAccountSubject(ns, sa.value);
  const ficName = federatedCredentialName(cluster.name, ns, sa.value);
  const existing = facts.credentials.find((f) => credentialMatches(f, cf.issuerUrl, subject) || f.name.toLowerCase() === ficName.toLowerCase());
  if (!existing && facts.credentials.length >= MAX_FEDERATED_CREDENTIALS_PER_IDENTITY) {
    return refuse(
      'credential-limit',
      `The identity '${identity.name}' already has ${facts.credentials.length} federated credentials, the most Azure allows (${MAX_FEDERATED_CREDENTIALS_PER_IDENTITY}), so it cannot also trust ${subject}. Remove an unused one (az identity federated-credential list --identity-name ${identity.name} --resource-group ${identity.resourceGroup}), then ask again.`,
      'binding',
    );
  }
  const bound = facts.serviceAccount?.annotations[ANNOTATION_CLIENT_ID]?.trim();
  if (bound && bound.toLowerCase() !== identity.clientId.toLowerCase()) {
    return refuse(
      'serviceaccount-bound-elsewhere',
      `The ServiceAccount ${ns}/${sa.value} is already bound to another workload identity (${ANNOTATION_CLIENT_ID}: ${bound}); wid-bot never rebinds a ServiceAccount. Name another one: /wid migrate ${ns} ${bindingName} <serviceaccount>.`,
      'serviceAccount',
    );
  }
  if (requestId.trim() === '') return refuse('missing-request-id', 'A plan needs the id of its request.');

  const annotations: Record<string, string> = { [ANNOTATION_CLIENT_ID]: CLIENT_ID_PLACEHOLDER };
  if (policy.tenantId) annotations[ANNOTATION_TENANT_ID] = policy.tenantId;
  const roles = [...facts.roles].sort((a, b) => a.scope.localeCompare(b.scope) || a.roleName.localeCompare(b.roleName));
  const plan: Plan = {
    kind: 'migrate',
    cluster: { name: cluster.name, subscriptionId: cluster.subscriptionId, resourceGroup: cluster.resourceGroup, aksName: cluster.aksName },
    ...(policy.tenantId ? { tenantId: policy.tenantId } : {}),
    identity: {
      subscriptionId: identity.subscriptionId.toLowerCase(),
      resourceGroup: identity.resourceGroup,
      name: identity.name,
      location: identity.location,
      // Adopted as it is: wid-bot never retags an identity it did not create.
      tags: { ...identity.tags },
      resourceId: identity.id,
    },
    // Shown only: a migration writes no role assignment; the roles it brings are migration.existingRoles.
    roleAssignment: { roleName: migrationRoleName(binding.name), scope: identity.id },
    federatedCredential: { name: ficName, issuer: cf.issuerUrl, subject, audiences: [WORKLOAD_IDENTITY_AUDIENCE] },
    serviceAccount: { namespace: ns, name: sa.value, annotations },
    // The ServiceAccount gets every role the identity holds: a privileged one needs two approvers, as a request would.
    approvalsRequired: roles.some((r) => isPrivilegedRole(r.roleDefinitionId) || isPrivilegedRole(r.roleName)) ? 2 : 1,
    migration: {
      binding: { namespace: binding.namespace, name: binding.name, selector: binding.selector },
      azureIdentity: { namespace: ai.namespace, name: ai.name, resourceId: identity.id, clientId: identity.clientId },
      existingRoles: roles,
      credentialsAtPlan: facts.credentials.length,
    },
  };
  return ok(plan);
}

/** The request's role line for a migration (its open-request key and the lists show it). */
export function migrationRoleName(bindingName: string): string {
  return `migrate ${bindingName}`;
}

/** Running pods in the binding's namespace whose aadpodidbinding label matches its selector. */
export function podsCoveredByBinding(pods: readonly PodInfo[], binding: { namespace: string; selector: string }): PodInfo[] {
  return pods
    .filter((p) => p.namespace === binding.namespace && p.labels[LABEL_POD_IDENTITY_BINDING] === binding.selector && isRunning(p))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function isRunning(p: PodInfo): boolean {
  return p.phase === undefined || p.phase === 'Running' || p.phase === 'Pending';
}

/** Why a covered pod does not use the new ServiceAccount yet; undefined when it does. */
export function podNotMoved(p: PodInfo, serviceAccount: string): string | undefined {
  const why: string[] = [];
  if (p.serviceAccountName !== serviceAccount) why.push(`runs as ServiceAccount ${p.serviceAccountName}, not ${serviceAccount}`);
  if (p.labels[LABEL_USE] !== 'true') why.push(`has no label ${LABEL_USE}: "true"`);
  return why.length ? `${p.namespace}/${p.name} ${why.join(' and ')}` : undefined;
}

export type FinishDecision =
  | { ok: true; covered: string[] }
  | { ok: false; waiting: string[] };

/** Finish may remove the binding and its AzureIdentity once every running pod its selector covers uses the new ServiceAccount. */
export function decideFinish(pods: readonly PodInfo[], plan: MigrationPlan, serviceAccount: string): FinishDecision {
  const covered = podsCoveredByBinding(pods, plan.binding);
  const waiting = covered.map((p) => podNotMoved(p, serviceAccount)).filter((x): x is string => x !== undefined);
  return waiting.length ? { ok: false, waiting } : { ok: true, covered: covered.map((p) => `${p.namespace}/${p.name}`) };
}

/**
 * Whether another binding or pod still uses the AzureIdentity: it is removed with the binding only when
 * no other binding names it.
 */
export function otherBindingsOf(objects: readonly LegacyPodIdentity[], azureIdentity: { namespace: string; name: string }, except: string): string[] {
  return objects
    .filter((o) => o.kind === 'AzureIdentityBinding' && o.namespace === azureIdentity.namespace && o.azureIdentity === azureIdentity.name && o.name !== except)
    .map((o) => `${o.namespace}/${o.name}`);
}

/** The Deployment change that moves pods from the binding to workload identity (pod template only). */
export function deploymentPatch(serviceAccount: string): string {
  return ['spec:', '  template:', '    metadata:', '      labels:', `        ${LABEL_USE}: "true"`, '    spec:', `      serviceAccountName: ${serviceAccount}`].join('\n');
}

/** The same change as one kubectl command. */
export function deploymentPatchCommand(namespace: string, serviceAccount: string): string {
  const patch = JSON.stringify({ spec: { template: { metadata: { labels: { [LABEL_USE]: 'true' } }, spec: { serviceAccountName: serviceAccount } } } });
  return `kubectl -n ${namespace} patch deployment <name> --patch '${patch}'`;
}
