/**
 * Step 3: proof that a pod will get tokens. A ServiceAccount token for api://AzureADTokenExchange is
 * exchanged at Entra ID as the new identity, exactly as the pod's SDK will. Retried through the
 * federated credential's propagation up to a bound; a lasting failure names what did not match.
 */
import { RetryableError, TerminalError, WidError } from '../domain/errors';
import { WORKLOAD_IDENTITY_AUDIENCE } from '../domain/types';
import type { ProvisionRun } from './context';
import { retryWhile } from './pacing';
import { done, skipped, type Step } from './step';

/** Entra's answers while a new credential or identity propagates. */
export const PROPAGATION_CODES = ['AADSTS70021', 'AADSTS700211', 'AADSTS700212', 'AADSTS700213', 'AADSTS700016'] as const;
export const DEFAULT_VERIFY_SCOPE = 'https://management.azure.com/.default';

/** What a step says it is waiting for while a new identity replicates (shown on the approval message). */
export const WAITING_FOR_IDENTITY = 'waiting for the new identity to reach Entra ID — usually under a minute';
/** What the verify step says while Entra ID does not yet accept the new federated credential. */
export const WAITING_FOR_CREDENTIAL = 'waiting for Entra ID to accept the new credential — usually under 2 minutes';

/** The waiting text for one of Entra's propagation answers. */
export function waitingText(code: string): string {
  return code === 'AADSTS700016' ? WAITING_FOR_IDENTITY : WAITING_FOR_CREDENTIAL;
}

interface Seen {
  issuer: string;
  subject: string;
  audience: string;
}

/** What Entra saw in the assertion, from the token-exchange error's message. */
export function seenInAssertion(message: string): Seen | undefined {
  const m = /saw issuer '([^']*)', subject '([^']*)', audience '([^']*)'/.exec(message);
  return m ? { issuer: m[1] ?? '', subject: m[2] ?? '', audience: m[3] ?? '' } : undefined;
}

/** A ServiceAccount token for the exchange, valid for the whole verification window. */
export function requestVerifyToken(run: ProvisionRun): Promise<string> {
  const { namespace, name } = run.request.plan.serviceAccount;
  const timeoutMs = run.deps.verify?.timeoutMs ?? 0;
  return run.deps.kube.requestServiceAccountToken(namespace, name, WORKLOAD_IDENTITY_AUDIENCE, Math.max(600, Math.ceil(timeoutMs / 1000) + 600));
}

/** Starts the token request ahead of the verify step; its failure is handled when verify uses it. */
export function prefetchVerifyToken(run: ProvisionRun): void {
  if (!run.deps.verify?.enabled || run.serviceAccountToken) return;
  const pending = requestVerifyToken(run);
  pending.catch(() => {
    // verify asks again
  });
  run.serviceAccountToken = pending;
}

export const verifyStep: Step = {
  name: 'verify',
  async run(run) {
    const settings = run.deps.verify;
    if (!settings?.enabled) return skipped('verification switched off');
    const exchange = run.deps.tokenExchange;
    if (!exchange) throw new TerminalError('Verification is on but no Entra token exchange is configured.', 'VerifyMisconfigured');
    const identity = run.identity;
    if (!identity) throw new TerminalError('The verify step ran before the identity existed.', 'StepOrder');
    const { namespace, name } = run.request.plan.serviceAccount;
    const fic = run.request.plan.federatedCredential;
    const tenantId = run.request.plan.tenantId ?? identity.tenantId;
    // The token asked for early is used when it came; if that request failed, ask once more here.
    const token = await (run.serviceAccountToken ?? Promise.reject(new Error('not prefetched'))).catch(() => requestVerifyToken(run));
    try {
      // Polled, not backed off: the exchange that sees the credential accepted comes soon after Entra accepts it.
      await retryWhile(run, PROPAGATION_CODES, settings.timeoutMs, 'token exchange', () => exchange.exchange(tenantId, identity.clientId, token, settings.scope ?? DEFAULT_VERIFY_SCOPE), {
        poll: { minMs: settings.pollMinMs ?? 250, maxMs: settings.pollMaxMs ?? 5000 },
        onWait: (err) => run.waiting?.('verify', waitingText(err.code)),
      });
    } catch (e) {
      if (!(e instanceof WidError) || !(PROPAGATION_CODES as readonly string[]).includes(e.code)) throw e;
      const expected: Seen = { issuer: fic.issuer, subject: fic.subject, audience: WORKLOAD_IDENTITY_AUDIENCE };
      const seen = seenInAssertion(e.message);
      const expectedText = `expected issuer '${expected.issuer}', subject '${expected.subject}', audience '${expected.audience}'`;
      if (seen) {
        const differs = (['issuer', 'subject', 'audience'] as const).filter((k) => seen[k] !== expected[k]);
        const seenText = `Entra saw issuer '${seen.issuer}', subject '${seen.subject}', audience '${seen.audience}'`;
        if (differs.length > 0) {
          throw new TerminalError(
            `Verification failed: Entra ID refused the ServiceAccount token of ${namespace}/${name} for client id ${identity.clientId} (${e.code}). ${seenText}; the federated credential '${fic.name}' has ${expectedText}. Mismatch in: ${differs.join(', ')}.`,
            'VerifyMismatch',
          );
        }
        throw new RetryableError(
          `Verification not yet possible: the federated credential '${fic.name}' matches (${expectedText}) but Entra ID still refuses it (${e.code}), so it has not propagated yet after ${Math.round(settings.timeoutMs / 1000)} s. Will retry.`,
          e.code,
        );
      }
      throw new RetryableError(`Verification failed for ${namespace}/${name} as client id ${identity.clientId} after ${Math.round(settings.timeoutMs / 1000)} s (${expectedText}): ${e.message}`, e.code);
    }
    run.resources.verified = true;
    return done(`Entra ID issued a token to ${namespace}/${name} as client id ${identity.clientId}`, { verified: true });
  },
};
