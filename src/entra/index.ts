/**
 * Entra ID token exchange: a ServiceAccount token presented as a client assertion for a managed
 * identity — exactly what a pod's workload identity does. Proves the federated credential works.
 */
import { RetryableError, TerminalError, type WidError } from '../domain/errors';
import type { AdapterCallHook, TokenExchangePort } from '../domain/ports';

export interface TokenExchangeConfig {
  /** Entra authority host (AZURE_AUTHORITY_HOST); default the public cloud. */
  authorityHost?: string;
  /** Give up on one exchange after this long (default 15 s); the verify step retries. */
  timeoutMs?: number;
  onCall?: AdapterCallHook;
}

export interface AadstsError {
  /** e.g. `AADSTS70021`. */
  code: string;
  description: string;
  /** What Entra saw in the assertion, when it said (the federated-credential mismatch errors do). */
  assertion?: { issuer?: string; subject?: string; audience?: string };
}

/** Codes that mean "no federated credential matches this assertion (yet)". */
const NO_MATCHING_FIC = new Set(['AADSTS70021', 'AADSTS700211', 'AADSTS700212', 'AADSTS700213']);
/** Codes Entra documents as transient or replication-related. */
const TRANSIENT = new Set(['AADSTS700016', 'AADSTS90033', 'AADSTS50196']);

/** Find the AADSTS code and, when present, the assertion's issuer/subject/audience in an Entra error message. */
export function parseAadsts(message: string): AadstsError | undefined {
  const m = /\b(AADSTS\d+)\b:?\s*([\s\S]*)/.exec(message);
  if (!m?.[1]) return undefined;
  const code = m[1];
  // The description ends at Entra's trace block, if the message carries one.
  const description = (m[2] ?? '').split(/\s*(?:\r?\n|Trace ID:)/)[0]?.trim() ?? '';
  const field = (name: string): string | undefined => new RegExp(`Assertion ${name}: '([^']*)'`, 'i').exec(message)?.[1];
  const issuer = field('Issuer');
  const subject = field('Subject');
  const audience = field('Audience');
  const assertion = issuer !== undefined || subject !== undefined || audience !== undefined ? { issuer, subject, audience } : undefined;
  return { code, description, ...(assertion ? { assertion } : {}) };
}

/** Text of an error and its causes (credential errors wrap MSAL's). */
function errorText(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 5; depth++) {
    if (typeof cur === 'object') {
      const o = cur as { message?: unknown; errorResponse?: { errorDescription?: unknown }; cause?: unknown };
      if (typeof o.message === 'string') parts.push(o.message);
      if (typeof o.errorResponse?.errorDescription === 'string') parts.push(o.errorResponse.errorDescription);
      cur = o.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join('\n');
}

function fmtAssertion(a: AadstsError['assertion']): string {
  if (!a) return '';
  return ` Entra saw issuer '${a.issuer ?? '?'}', subject '${a.subject ?? '?'}', audience '${a.audience ?? '?'}'; a federated credential on the identity must match all three exactly.`;
}

/** Translate an Entra sign-in failure into a WidError. */
export function translateEntraError(e: unknown, clientId: string): WidError {
  const text = errorText(e);
  const parsed = parseAadsts(text);
  const prefix = `Entra ID: the token exchange as client '${clientId}' failed`;
  if (parsed) {
    if (NO_MATCHING_FIC.has(parsed.code)) {
      return new RetryableError(`${prefix}: ${parsed.code} no federated credential matches the ServiceAccount token.${fmtAssertion(parsed.assertion)} (A new credential can take a minute to propagate.)`, parsed.code);
    }
    if (parsed.code === 'AADSTS700016') {
      return new RetryableError(`${prefix}: ${parsed.code} Entra does not know this client id yet (a new identity can take a minute to replicate). ${parsed.description}`, parsed.code);
    }
    if (TRANSIENT.has(parsed.code)) return new RetryableError(`${prefix}: ${parsed.code} ${parsed.description}`, parsed.code);
    return new TerminalError(`${prefix}: ${parsed.code} ${parsed.description}`, parsed.code);
  }
  const name = typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined;
  if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|network|socket hang up|fetch failed/i.test(text) || name === 'CredentialUnavailableError') {
    return new RetryableError(`${prefix}: the authority could not be reached (${text.split('\n')[0]}). Will retry.`, 'EntraUnavailable');
  }
  return new TerminalError(`${prefix}: ${text.split('\n')[0]}`, 'EntraError');
}

const PUBLIC_AUTHORITY_HOST = 'https://login.microsoftonline.com';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * The exchange is the OAuth 2.0 client-credentials request with a JWT client assertion that a pod's
 * Azure SDK sends (one POST to the tenant's token endpoint). It is made directly rather than through
 * MSAL, which would first fetch the authority's metadata on every fresh credential: one round trip
 * more on the provisioning critical path, and a token cache we must not use here anyway (a cached
 * token would hide a broken credential).
 */
export function createTokenExchange(config: TokenExchangeConfig = {}): TokenExchangePort {
  const authorityHost = (config.authorityHost ?? process.env.AZURE_AUTHORITY_HOST ?? PUBLIC_AUTHORITY_HOST).replace(/\/+$/, '');
  const timeoutMs = config.timeoutMs ?? 15_000;
  return {
    async exchange(tenantId, clientId, serviceAccountToken, scope) {
      const started = Date.now();
      const done = (outcome: 'ok' | 'retryable' | 'terminal', code?: string): void =>
        config.onCall?.({ system: 'entra', operation: 'token.exchange', outcome, ms: Date.now() - started, ...(code ? { code } : {}) });
      const url = `${authorityHost}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
      const body = new URLSearchParams({ client_id: clientId, scope, grant_type: 'client_credentials', client_assertion_type: JWT_BEARER, client_assertion: serviceAccountToken });
      let status: number;
      let payload: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown };
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
        status = res.status;
        const text = await res.text();
        try {
          payload = JSON.parse(text) as typeof payload;
        } catch {
          payload = { error: `HTTP ${status}`, error_description: text.slice(0, 300) };
        }
      } catch (e) {
        const err = translateEntraError(e, clientId);
        done(err.kind, err.code);
        throw err;
      }
      if (status === 200 && typeof payload.access_token === 'string') {
        done('ok');
        const expiresIn = typeof payload.expires_in === 'number' ? payload.expires_in : Number(payload.expires_in);
        return Number.isFinite(expiresIn) ? { expiresOn: Date.now() + expiresIn * 1000 } : {};
      }
      const description = typeof payload.error_description === 'string' ? payload.error_description : '';
      const err =
        status === 429 || status >= 500
          ? new RetryableError(`Entra ID: the token exchange as client '${clientId}' failed with HTTP ${status} (${description.split('\n')[0] || String(payload.error)}). Will retry.`, 'EntraUnavailable')
          : translateEntraError(new Error(description || `${String(payload.error ?? 'error')} (HTTP ${status})`), clientId);
      done(err.kind, err.code);
      throw err;
    },
  };
}
