/**
 * Migrate: the grant's steps for an identity that already exists and that wid-bot did not create.
 *
 *   adopt identity (read only) → (federated credential ∥ ServiceAccount) → verify → pods the binding covers
 *
 * No identity is created or retagged and no role assignment is written: the ServiceAccount gets exactly the
 * roles the identity already holds. The AzureIdentity and AzureIdentityBinding stay (Finish removes them).
 * The credential step is the grant's: one writer per identity, at most 20 credentials.
 */
import { TerminalError, WidError } from '../domain/errors';
import { podsCoveredByBinding } from '../domain/migrate';
import type { ProvisionedResources, WidRequest } from '../domain/types';
import { identityRefOf, type EngineDeps, type Preflight } from './context';
import { federatedCredentialStep } from './federated-credential';
import { runPhase, startRun } from './runner';
import { serviceAccountStep } from './service-account';
import { done, type Step } from './step';
import { prefetchVerifyToken, verifyStep } from './verify';

/** Azure refused wid-bot (403): the message says where it lacks permission. */
function lacksPermission(e: unknown): e is WidError {
  return e instanceof WidError && /AuthorizationFailed|Forbidden/i.test(e.code);
}

/** The identity as it is: recorded, never written. */
export const adoptIdentityStep: Step = {
  name: 'identity',
  async run(run) {
    const identity = run.preflight.identity;
    if (!identity) throw new TerminalError(`The identity ${run.request.plan.identity.resourceId} does not exist any more, so there is nothing to adopt.`, 'AdoptedIdentityGone');
    run.identity = identity;
    const patch = { identityId: identity.id, clientId: identity.clientId, principalId: identity.principalId, tenantId: identity.tenantId, identityCreatedByWid: false };
    await run.deps.recorder.recordResources(run.request.id, patch);
    Object.assign(run.resources, patch);
    return done(`adopted ${identity.id} as it is (client id ${identity.clientId}; not created by wid-bot, its roles unchanged)`);
  },
};

/** The write steps, with the 403 turned into what wid-bot lacks and where. */
function withPermissionHint(step: Step): Step {
  return {
    ...step,
    async run(run) {
      try {
        return await step.run(run);
      } catch (e) {
        if (!lacksPermission(e)) throw e;
        const i = run.request.plan.identity;
        throw new TerminalError(
          `${e.message} wid-bot may read the identity '${i.name}' but not change it: give wid-bot's identity Managed Identity Contributor on resource group ${i.resourceGroup} of subscription ${i.subscriptionId}, then retry.`,
          e.code,
        );
      }
    },
  };
}

export const MIGRATE_PHASES: readonly (readonly Step[])[] = [[adoptIdentityStep], [withPermissionHint(federatedCredentialStep), serviceAccountStep], [verifyStep]];

async function migratePreflight(request: WidRequest, deps: EngineDeps): Promise<Preflight> {
  const plan = request.plan;
  const ref = identityRefOf(request);
  const { namespace, name } = plan.serviceAccount;
  const [facts, identity, serviceAccount] = await Promise.all([
    deps.clusters.getClusterFacts({ name: plan.cluster.name, subscriptionId: plan.cluster.subscriptionId, resourceGroup: plan.cluster.resourceGroup, aksName: plan.cluster.aksName }),
    deps.identities.getIdentity(ref),
    deps.kube.getServiceAccount(namespace, name),
  ]);
  const cluster = `${plan.cluster.name} (${plan.cluster.aksName})`;
  if (!facts.oidcIssuerEnabled || facts.issuerUrl === '') {
    throw new TerminalError(`The cluster ${cluster} no longer has an OIDC issuer, so Entra cannot trust its ServiceAccount tokens. Turn it on (az aks update --enable-oidc-issuer --enable-workload-identity) and retry.`, 'OidcIssuerOff');
  }
  if (!facts.workloadIdentityEnabled) {
    throw new TerminalError(`The cluster ${cluster} no longer runs the workload identity webhook, so pods would not get Azure tokens. Turn it on (az aks update --enable-workload-identity) and retry.`, 'WorkloadIdentityOff');
  }
  if (facts.issuerUrl !== plan.federatedCredential.issuer) {
    throw new TerminalError(
      `The cluster ${cluster} has a different OIDC issuer than when this migration was planned and approved: planned '${plan.federatedCredential.issuer}', the cluster now says '${facts.issuerUrl}'. Nothing was changed; ask again so the plan and its approval name the new issuer.`,
      'IssuerChanged',
    );
  }
  if (!identity) {
    throw new TerminalError(`The identity ${plan.identity.resourceId} that this migration adopts no longer exists in Azure. Nothing was changed.`, 'AdoptedIdentityGone');
  }
  const expected = plan.migration?.azureIdentity.clientId;
  if (expected && identity.clientId.toLowerCase() !== expected.toLowerCase()) {
    throw new TerminalError(`The identity ${plan.identity.resourceId} now has client id ${identity.clientId}, not ${expected} as planned (it was recreated). Nothing was changed; ask again.`, 'AdoptedIdentityChanged');
  }
  const federatedCredentials = await deps.identities.listFederatedCredentials(ref);
  return { identity, federatedCredentials, ...(serviceAccount ? { serviceAccount } : {}), roleDefinitionId: '' };
}

/**
 * Provisions a migrate request. Resolves with the resources (migratedPods: the running pods the binding's
 * selector covers); rejects with a StepError like provisionGrant.
 */
export async function provisionMigration(request: WidRequest, deps: EngineDeps): Promise<ProvisionedResources> {
  const migration = request.plan.migration;
  if (request.kind !== 'migrate' || request.plan.kind !== 'migrate' || !migration) {
    throw new TerminalError(`Request ${request.id} is a ${request.kind}, not a migration.`, 'WrongKind');
  }
  const preflight = await migratePreflight(request, deps);
  const run = startRun(request, deps, preflight, MIGRATE_PHASES);
  if (preflight.serviceAccount) prefetchVerifyToken(run);
  for (const phase of MIGRATE_PHASES) await runPhase(run, phase);
  const pods = podsCoveredByBinding(await deps.kube.listPods(migration.binding.namespace), migration.binding).map((p) => `${p.namespace}/${p.name}`);
  await deps.recorder.recordResources(request.id, { migratedPods: pods });
  run.resources.migratedPods = pods;
  return run.resources;
}
