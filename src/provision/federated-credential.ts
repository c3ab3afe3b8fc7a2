/**
 * Step 2b: the federated identity credential that lets the ServiceAccount's tokens sign in as the
 * identity. Read first: a credential with the same issuer and subject is reused. Writes under one
 * identity are serialised across every worker process (ARM refuses concurrent ones), and at most 20
 * credentials fit on an identity.
 */
import { TerminalError } from '../domain/errors';
import type { FederatedCredential } from '../domain/ports';
import { MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, WORKLOAD_IDENTITY_AUDIENCE } from '../domain/types';
import { withLock } from '../queue/lock';
import type { ProvisionRun } from './context';
import { retryWhile, writeTurn } from './pacing';
import { done, type Step } from './step';

export const CONCURRENT_FIC_WRITE = 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity';

/** The lock that serialises credential writes under one identity. */
export function federatedCredentialLockKey(run: ProvisionRun, identityId: string): string {
  return identityCredentialLockKey(run.deps.keys, identityId);
}

/** The one-writer lock of an identity's credentials, for writers outside a provisioning run (grant ends). */
export function identityCredentialLockKey(keys: { lock(name: string): string }, identityId: string): string {
  return keys.lock(`fic:${identityId.toLowerCase()}`);
}

function matching(run: ProvisionRun, list: FederatedCredential[]): FederatedCredential | undefined {
  const fic = run.request.plan.federatedCredential;
  return list.find((f) => f.issuer === fic.issuer && f.subject === fic.subject && f.audiences.includes(WORKLOAD_IDENTITY_AUDIENCE));
}

function limitError(run: ProvisionRun, count: number): TerminalError {
  const i = run.request.plan.identity;
  return new TerminalError(
    `The managed identity '${i.name}' already has ${count} federated credentials, the most Azure allows (${MAX_FEDERATED_CREDENTIALS_PER_IDENTITY}), and none of them trusts ${run.request.plan.federatedCredential.subject}. Remove an unused credential from the identity (az identity federated-credential delete --identity-name ${i.name} --resource-group ${i.resourceGroup} --name <name>) and retry.`,
    'FederatedCredentialLimit',
  );
}

/** Where the credential list would refuse the plan's credential; undefined when it fits. */
function refusal(run: ProvisionRun, list: FederatedCredential[]): TerminalError | undefined {
  const name = run.request.plan.federatedCredential.name.toLowerCase();
  if (matching(run, list) || list.some((f) => f.name.toLowerCase() === name)) return undefined;
  return list.length >= MAX_FEDERATED_CREDENTIALS_PER_IDENTITY ? limitError(run, list.length) : undefined;
}

export const federatedCredentialStep: Step = {
  name: 'federatedCredential',
  validate(run) {
    const list = run.preflight.federatedCredentials;
    const e = list ? refusal(run, list) : undefined;
    if (e) throw e;
  },
  async run(run) {
    const identity = run.identity;
    if (!identity) throw new TerminalError('The federated credential step ran before the identity existed.', 'StepOrder');
    const fic = run.request.plan.federatedCredential;
    // An identity that did not exist before this run gets its credential written for sure: its write token is booked
    // while the lock is taken, not after.
    let booked = run.preflight.identity ? undefined : writeTurn(run, identity.subscriptionId);
    booked?.catch(() => {
      // taken again below
    });
    const credential = await withLock(run.deps.redis, federatedCredentialLockKey(run, identity.id), run.limits.lockTtlMs, async () => {
      // An identity that did not exist before this run has only what this run wrote: nothing to read.
      const list = run.preflight.identity ? await run.deps.identities.listFederatedCredentials(run.identityRef) : [];
      const found = matching(run, list);
      if (found) return { credential: found, reused: true };
      const refused = refusal(run, list);
      if (refused) throw refused;
      const written = await retryWhile(run, [CONCURRENT_FIC_WRITE], run.limits.concurrentWriteMaxMs, 'federated credential write', async () => {
        const turn = booked ?? writeTurn(run, identity.subscriptionId);
        booked = undefined;
        await turn;
        return run.deps.identities.putFederatedCredential(run.identityRef, fic.name, fic.issuer, fic.subject, fic.audiences);
      });
      return { credential: written, reused: false };
    });
    await run.deps.recorder.recordResources(run.request.id, { federatedCredentialId: credential.credential.id });
    run.resources.federatedCredentialId = credential.credential.id;
    return done(`${credential.reused ? 'reused' : 'wrote'} ${credential.credential.id} (issuer ${fic.issuer}, subject ${fic.subject})`);
  },
};
