/**
 * Revoke: the grant's steps backwards, touching only what wid-bot made.
 *
 *   ServiceAccount annotations → (federated credential ∥ role assignment) → identity
 *
 * The annotations go only while they still name the identity; the credential and the assignment go by
 * their deterministic names; the identity goes only when wid-bot created it (managed-by tag) and no
 * other credential, ServiceAccount or role assignment still uses it.
 */
import { TerminalError } from '../domain/errors';
import { roleAssignmentName } from '../domain/names';
import type { ManagedIdentity, RoleAssignment, ServiceAccountInfo } from '../domain/ports';
import type { ProvisionedResources, WidRequest } from '../domain/types';
import { ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID } from '../domain/types';
import { identityRefOf, resolveLimits, type EngineDeps, type ProvisionRun } from './context';
import { federatedCredentialLockKey } from './federated-credential';
import { isManagedByWid } from './identity';
import { deleteTurn } from './pacing';
import { resolveRoleDefinitionId, runPhase } from './runner';
import { done, skipped, type StepResult } from './step';
import { withLock } from '../queue/lock';
import { scopeSubscription } from '../domain/scopes';

interface RevokeRun extends ProvisionRun {
  serviceAccount?: ServiceAccountInfo;
  /** What remains after the revoke, for the record. */
  kept: string[];
}

const annotationsStep = {
  name: 'serviceAccount' as const,
  async run(run: ProvisionRun): Promise<StepResult> {
    const r = run as RevokeRun;
    const { namespace, name } = run.request.plan.serviceAccount;
    const sa = r.serviceAccount;
    const clientId = run.identity?.clientId ?? run.request.resources.clientId;
    if (!sa) return skipped(`ServiceAccount ${namespace}/${name} does not exist`);
    const bound = sa.annotations[ANNOTATION_CLIENT_ID];
    if (bound === undefined) return skipped(`ServiceAccount ${namespace}/${name} has no ${ANNOTATION_CLIENT_ID} annotation`);
    if (!clientId || bound !== clientId) {
      r.kept.push(`ServiceAccount ${namespace}/${name} annotation (bound to ${bound}, not to this identity)`);
      return skipped(`ServiceAccount ${namespace}/${name} is bound to ${bound}, not to this identity: left as it is`);
    }
    const remove: Record<string, null> = { [ANNOTATION_CLIENT_ID]: null };
    const tenantId = run.request.plan.tenantId ?? run.identity?.tenantId ?? run.request.resources.tenantId;
    if (tenantId && sa.annotations[ANNOTATION_TENANT_ID] === tenantId) remove[ANNOTATION_TENANT_ID] = null;
    await run.deps.kube.patchServiceAccountAnnotations(namespace, name, remove);
    return done(`removed ${Object.keys(remove).join(' and ')} from ServiceAccount ${namespace}/${name}`);
  },
};

const credentialStep = {
  name: 'federatedCredential' as const,
  async run(run: ProvisionRun): Promise<StepResult> {
    const r = run as RevokeRun;
    const identity = run.identity;
    const fic = run.request.plan.federatedCredential;
    if (!identity) return skipped(`identity ${run.request.plan.identity.name} does not exist, so neither does its credential`);
    return withLock(run.deps.redis, federatedCredentialLockKey(run, identity.id), run.limits.lockTtlMs, async () => {
      const existing = await run.deps.identities.getFederatedCredential(run.identityRef, fic.name);
      if (!existing) return skipped(`federated credential '${fic.name}' does not exist`);
      if (existing.subject !== fic.subject) {
        r.kept.push(`federated credential ${existing.id} (subject ${existing.subject})`);
        return skipped(`federated credential '${fic.name}' trusts ${existing.subject}, not ${fic.subject}: left as it is`);
      }
      await deleteTurn(run, identity.subscriptionId);
      await run.deps.identities.deleteFederatedCredential(run.identityRef, fic.name);
      return done(`deleted federated credential ${existing.id}`);
    });
  },
};

/**
 * `/wid revoke <ns> <sa>` removes the ServiceAccount's access as a whole, and its identity can hold
 * several grants (one per role). So when no other ServiceAccount is federated to the identity, every
 * role assignment wid-bot made for it goes (recognised by their deterministic names; an assignment
 * granted by hand is left and reported). When the identity is shared, only this grant's assignment
 * goes: the others still serve the remaining ServiceAccounts.
 */
const assignmentStep = {
  name: 'roleAssignment' as const,
  async run(run: ProvisionRun): Promise<StepResult> {
    const r = run as RevokeRun;
    const principalId = run.identity?.principalId ?? run.request.resources.principalId;
    const { scope, roleName } = run.request.plan.roleAssignment;
    if (!principalId) return skipped(`no identity, so no role assignment of '${roleName}' on ${scope}`);
    const planned = roleAssignmentName(scope, principalId, run.preflight.roleDefinitionId);
    const plannedExisting = await run.deps.authorization.getRoleAssignment(scope, planned);
    const ficName = run.request.plan.federatedCredential.name;
    const others = run.identity ? (await run.deps.identities.listFederatedCredentials(run.identityRef)).filter((f) => f.name !== ficName) : [];
    // Blue/green: the same ServiceAccount on another cluster still signs in as this identity with these roles.
    const subject = run.request.plan.federatedCredential.subject;
    const otherClusters = others.filter((f) => f.subject === subject);
    if (otherClusters.length > 0) {
      const names = otherClusters.map((f) => `'${f.name}'`).join(', ');
      r.kept.push(`role assignments of the identity (${subject} on other clusters still uses them through ${names})`);
      return skipped(`role assignments kept: ${subject} on another cluster still signs in as this identity (federated credential ${names})`);
    }
    const shared = others.length > 0;
    if (shared) {
      if (!plannedExisting) return skipped(`role assignment '${roleName}' on ${scope} does not exist`);
      await deleteTurn(run, scopeSubscription(scope) ?? run.request.plan.identity.subscriptionId);
      await run.deps.authorization.deleteRoleAssignment(scope, planned);
      return done(`deleted role assignment ${plannedExisting.id} (the identity's other assignments still serve other ServiceAccounts)`);
    }
    const subscriptions = new Set([scopeSubscription(scope), run.identity?.subscriptionId].filter((x): x is string => !!x).map((x) => x.toLowerCase()));
    const listed = (await Promise.all([...subscriptions].map((sub) => run.deps.authorization.listRoleAssignments(`/subscriptions/${sub}`, principalId)))).flat();
    const mine = new Map<string, RoleAssignment>();
    for (const a of listed) {
      if (a.principalId.toLowerCase() !== principalId.toLowerCase()) continue;
      if (a.name.toLowerCase() === roleAssignmentName(a.scope, principalId, a.roleDefinitionId)) mine.set(a.id.toLowerCase(), a);
      else r.kept.push(`role assignment ${a.id} (not made by wid-bot)`);
    }
    // The plan's own assignment even if the listing has not caught up with it yet.
    if (plannedExisting) mine.set(plannedExisting.id.toLowerCase(), plannedExisting);
    if (mine.size === 0) return skipped(`no role assignment made by wid-bot for this identity (looked for '${roleName}' on ${scope})`);
    await Promise.all(
      [...mine.values()].map(async (a) => {
        await deleteTurn(run, scopeSubscription(a.scope) ?? run.request.plan.identity.subscriptionId);
        await run.deps.authorization.deleteRoleAssignment(a.scope, a.name);
      }),
    );
    return done(`deleted ${[...mine.values()].map((a) => `role assignment ${a.id}`).join(', ')}`);
  },
};

const identityRemovalStep = {
  name: 'identity' as const,
  async run(run: ProvisionRun): Promise<StepResult> {
    const r = run as RevokeRun;
    const identity = run.identity;
    const planned = run.request.plan.identity;
    if (!identity) return skipped(`identity ${planned.resourceId} does not exist`);
    if (!isManagedByWid(identity.tags)) {
      r.kept.push(`identity ${identity.id} (not created by wid-bot)`);
      return skipped(`identity ${identity.id} was not created by wid-bot: left as it is`);
    }
    const users = await stillUsedBy(run, identity);
    if (users.length > 0) {
      r.kept.push(`identity ${identity.id} (still used by ${users.join(', ')})`);
      return skipped(`identity ${identity.id} kept: still used by ${users.join(', ')}`);
    }
    await deleteTurn(run, identity.subscriptionId);
    await run.deps.identities.deleteIdentity(run.identityRef);
    return done(`deleted identity ${identity.id}`);
  },
};

/** Other credentials, ServiceAccounts and role assignments that still rely on the identity. */
async function stillUsedBy(run: ProvisionRun, identity: ManagedIdentity): Promise<string[]> {
  const sub = scopeSubscription(run.request.plan.roleAssignment.scope) ?? identity.subscriptionId;
  const [credentials, serviceAccounts, assignments] = await Promise.all([
    run.deps.identities.listFederatedCredentials(run.identityRef),
    run.deps.kube.listServiceAccounts(),
    run.deps.authorization.listRoleAssignments(`/subscriptions/${sub}`, identity.principalId),
  ]);
  const { namespace, name } = run.request.plan.serviceAccount;
  return [
    ...credentials.map((f) => `federated credential '${f.name}' (${f.subject})`),
    ...serviceAccounts
      .filter((sa) => sa.annotations[ANNOTATION_CLIENT_ID] === identity.clientId && !(sa.namespace === namespace && sa.name === name))
      .map((sa) => `ServiceAccount ${sa.namespace}/${sa.name}`),
    ...assignments.filter((a) => a.principalId.toLowerCase() === identity.principalId.toLowerCase()).map((a) => `role assignment ${a.id}`),
  ];
}

export const REVOKE_PHASES = [[annotationsStep], [credentialStep, assignmentStep], [identityRemovalStep]] as const;

/** A migrated ServiceAccount's revoke: only the annotation and the credential wid-bot added go; the adopted identity and its roles stay. */
export const MIGRATION_REVOKE_PHASES = [[annotationsStep], [credentialStep]] as const;

/** Revokes a migration (the plan carries `migration`) or a federation (`federation`): never deletes the identity, never touches its role assignments. */
async function revokeMigration(request: WidRequest, deps: EngineDeps): Promise<ProvisionedResources> {
  const ref = identityRefOf(request);
  const { namespace, name } = request.plan.serviceAccount;
  const [identity, serviceAccount] = await Promise.all([deps.identities.getIdentity(ref), deps.kube.getServiceAccount(namespace, name)]);
  const run: RevokeRun = {
    request: { ...request, steps: [...request.steps] },
    deps,
    limits: resolveLimits(deps.limits),
    identityRef: ref,
    preflight: { ...(identity ? { identity } : {}), ...(serviceAccount ? { serviceAccount } : {}), roleDefinitionId: '' },
    resources: {},
    ...(identity ? { identity } : {}),
    ...(serviceAccount ? { serviceAccount } : {}),
    kept: [
      request.plan.federation
        ? `identity ${request.plan.identity.resourceId} and its role assignments (they serve ${namespace}/${name} on ${request.plan.federation.sourceCluster}; only ${request.plan.cluster.name}'s credential and annotation go)`
        : `identity ${request.plan.identity.resourceId} and its role assignments (adopted from aad-pod-identity, not created by wid-bot)`,
    ],
  };
  for (const phase of MIGRATION_REVOKE_PHASES) await runPhase(run, phase);
  deps.logger?.info({ requestId: request.id, kept: run.kept }, request.plan.federation ? "revoke of one cluster's federation left the identity alone" : 'revoke of a migration left the adopted identity alone');
  return run.resources;
}

/**
 * Revokes what a grant made, using the grant's plan (kind 'revoke'). Resolves with what remains for the record
 * (empty when everything wid-bot made is gone); rejects with a StepError like provisionGrant.
 */
export async function provisionRevoke(request: WidRequest, deps: EngineDeps): Promise<ProvisionedResources> {
  if (request.kind !== 'revoke') throw new TerminalError(`Request ${request.id} is a ${request.kind}, not a revoke.`, 'WrongKind');
  if (request.plan.migration || request.plan.federation) return revokeMigration(request, deps);
  const ref = identityRefOf(request);
  const { namespace, name } = request.plan.serviceAccount;
  const [identity, serviceAccount, roleDefinitionId] = await Promise.all([
    deps.identities.getIdentity(ref),
    deps.kube.getServiceAccount(namespace, name),
    resolveRoleDefinitionId(request, deps),
  ]);
  const run: RevokeRun = {
    request: { ...request, steps: [...request.steps] },
    deps,
    limits: resolveLimits(deps.limits),
    identityRef: ref,
    preflight: { ...(identity ? { identity } : {}), ...(serviceAccount ? { serviceAccount } : {}), roleDefinitionId },
    resources: {},
    ...(identity ? { identity } : {}),
    ...(serviceAccount ? { serviceAccount } : {}),
    kept: [],
  };
  for (const phase of REVOKE_PHASES) await runPhase(run, phase);
  if (run.kept.length) deps.logger?.info({ requestId: request.id, kept: run.kept }, 'revoke left alone what wid-bot does not own');
  return run.resources;
}
