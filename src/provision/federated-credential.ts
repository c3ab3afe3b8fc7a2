/**
 * Step 2b: the federated identity credential that lets the ServiceAccount's tokens sign in as the
 * identity. Read first: a credential with the same issuer and subject is reused. Writes under one
 * identity are serialised across every worker process (ARM refuses concurrent ones), and at most 20
 * credentials fit on an identity.
 */
import { TerminalError } from '../domain/errors';
import type { FederatedCredential } from '../domain/ports';
import { MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, WORKLOAD_IDENTITY_AUDIENCE } from '../domain/types';
import { acquireLock, type ReleasableLock } from '../queue/lock';
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
    // An identity that did not exist before this run gets its credential written for sure: its write token and the lock
    // were taken while the identity was written (the runner's credentialAhead), or are taken together now.
    const key = federatedCredentialLockKey(run, identity.id);
    const ahead = takeAhead(run, key);
    let booked = ahead?.turn ?? (run.preflight.identity ? undefined : writeTurn(run, identity.subscriptionId));
    booked?.catch(() => {
      // taken again below
    });
    const lock = ahead ? await ahead.lock : await acquireLock(run.deps.redis, key, run.limits.lockTtlMs);
    let credential: { credential: FederatedCredential; reused: boolean };
    try {
      // An identity that did not exist before this run has only what this run wrote: nothing to read.
      const list = run.preflight.identity ? await run.deps.identities.listFederatedCredentials(run.identityRef) : [];
      const found = matching(run, list);
      if (found) {
        credential = { credential: found, reused: true };
      } else {
        const refused = refusal(run, list);
        if (refused) throw refused;
        const written = await retryWhile(run, [CONCURRENT_FIC_WRITE], run.limits.concurrentWriteMaxMs, 'federated credential write', async () => {
          const turn = booked ?? writeTurn(run, identity.subscriptionId);
          booked = undefined;
          await turn;
          return run.deps.identities.putFederatedCredential(run.identityRef, fic.name, fic.issuer, fic.subject, fic.audiences);
        });
        credential = { credential: written, reused: false };
      }
    } finally {
      await lock.release();
    }
    run.resources.federatedCredentialId = credential.credential.id;
    return done(`${credential.reused ? 'reused' : 'wrote'} ${credential.credential.id} (issuer ${fic.issuer}, subject ${fic.subject})`, { federatedCredentialId: credential.credential.id });
  },
};

/**
 * For an identity this run creates (none in the preflight): takes the credential's lock and write token now, while the
 * identity step writes the identity, so the credential is written the moment the identity exists. Only waits for
 * Redis; nothing is written to Azure sooner. releaseCredentialAhead gives back what the step did not use.
 */
export function takeCredentialAhead(run: ProvisionRun): void {
  if (run.preflight.identity || run.credentialAhead) return;
  const key = federatedCredentialLockKey(run, run.request.plan.identity.resourceId);
  const lock = acquireLock(run.deps.redis, key, run.limits.lockTtlMs);
  const turn = writeTurn(run, run.request.plan.identity.subscriptionId);
  for (const p of [lock, turn]) {
    p.catch(() => {
      // surfaced by the credential step when it uses them
    });
  }
  run.credentialAhead = { lock, turn, key };
}

/** The lock taken ahead, when it guards `key` (the identity Azure made has the planned id); otherwise it is given back. */
function takeAhead(run: ProvisionRun, key: string): { lock: Promise<ReleasableLock>; turn: Promise<void> } | undefined {
  const ahead = run.credentialAhead;
  if (!ahead) return undefined;
  run.credentialAhead = undefined;
  if (ahead.key === key) return ahead;
  void ahead.lock.then((l) => l.release(), () => undefined);
  return undefined;
}

/** Gives back a lock taken ahead that the credential step never used (the identity step failed first). */
export async function releaseCredentialAhead(run: ProvisionRun): Promise<void> {
  const ahead = run.credentialAhead;
  if (!ahead) return;
  run.credentialAhead = undefined;
  const lock = await ahead.lock.catch(() => undefined);
  await lock?.release();
}
