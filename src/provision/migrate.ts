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
import type { EngineDeps, Preflight } from './context';
import { federatedCredentialStep } from './federated-credential';
import { existingIdentityPreflight, existingIdentityStep, runPhase, startRun } from './runner';
import { serviceAccountStep } from './service-account';
import type { Step } from './step';
import { prefetchVerifyToken, verifyStep } from './verify';

/** Azure refused wid-bot (403): the message says where it lacks permission. */
function lacksPermission(e: unknown): e is WidError {
  return e instanceof WidError && /AuthorizationFailed|Forbidden/i.test(e.code);
}

/** The identity as it is: recorded, never written. */
export const adoptIdentityStep: Step = existingIdentityStep(
  (id) => ({ message: `The identity ${id} does not exist any more, so there is nothing to adopt.`, code: 'AdoptedIdentityGone' }),
  (_run, identity) => `adopted ${identity.id} as it is (client id ${identity.clientId}; not created by wid-bot, its roles unchanged)`,
);

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

function migratePreflight(request: WidRequest, deps: EngineDeps): Promise<Preflight> {
  const plan = request.plan;
  return existingIdentityPreflight(
    request,
    deps,
    'migration',
    { message: `The identity ${plan.identity.resourceId} that this migration adopts no longer exists in Azure. Nothing was changed.`, code: 'AdoptedIdentityGone' },
    (identity) => {
      const expected = plan.migration?.azureIdentity.clientId;
      if (expected && identity.clientId.toLowerCase() !== expected.toLowerCase()) {
        throw new TerminalError(`The identity ${plan.identity.resourceId} now has client id ${identity.clientId}, not ${expected} as planned (it was recreated). Nothing was changed; ask again.`, 'AdoptedIdentityChanged');
      }
    },
  );
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
