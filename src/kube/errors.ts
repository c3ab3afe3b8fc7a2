/**
 * Translates @kubernetes/client-node failures (ApiException with an HTTP code and a Status body,
 * or a network error) into the core's RetryableError / TerminalError.
 */
import { RetryableError, TerminalError, WidError } from '../domain/errors';

/** What wid-bot was doing, for the message and the RBAC hint. */
export interface KubeCallContext {
  /** Kubernetes verb: get, list, create, patch, delete. */
  verb: string;
  /** Resource (plural), with subresource when any: `serviceaccounts`, `serviceaccounts/token`. */
  resource: string;
  /** API group; '' for the core group. */
  group?: string;
  namespace?: string;
  name?: string;
}

/** Node's certificate-verification failures: the API server answered, but its certificate is not trusted for this address. */
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The Kubernetes Status object (the body of every API error). */
export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; group?: string; retryAfterSeconds?: number; causes?: { reason?: string; message?: string; field?: string }[] };
}

interface ApiExceptionLike {
  code?: unknown;
  body?: unknown;
  headers?: Record<string, string>;
  message?: string;
  name?: string;
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/** The Status object of an ApiException (its body is a JSON string, or already parsed). */
export function kubeStatus(body: unknown): KubeStatus | undefined {
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as KubeStatus) : undefined;
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? (body as KubeStatus) : undefined;
}

/** HTTP status of an ApiException, or undefined for anything else. */
export function kubeHttpStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null || e instanceof WidError) return undefined;
  const c = (e as ApiExceptionLike).code;
  return typeof c === 'number' && c >= 100 && c < 600 && 'body' in e ? c : undefined;
}

function target(ctx: KubeCallContext): string {
  const what = `${ctx.resource}${ctx.name ? ` '${ctx.name}'` : ''}`;
  return ctx.namespace ? `${what} in namespace '${ctx.namespace}'` : `${what} in all namespaces`;
}

/** The RBAC rule wid-bot's ServiceAccount needs for the call. */
export function rbacHint(ctx: KubeCallContext): string {
  const scope = ctx.namespace ? `a Role in '${ctx.namespace}' (or a ClusterRole)` : 'a ClusterRole';
  return `Grant wid-bot ${scope} with apiGroups: ["${ctx.group ?? ''}"], resources: ["${ctx.resource}"], verbs: ["${ctx.verb}"].`;
}

function retryAfter(status: KubeStatus | undefined, headers: Record<string, string> | undefined): number | undefined {
  const fromStatus = status?.details?.retryAfterSeconds;
  if (typeof fromStatus === 'number' && fromStatus > 0) return fromStatus;
  const h = headers ? (headers['retry-after'] ?? headers['Retry-After']) : undefined;
  return h !== undefined && /^\d+$/.test(h.trim()) ? Number(h.trim()) : undefined;
}

export function translateKubeError(e: unknown, ctx: KubeCallContext): WidError {
  if (e instanceof WidError) return e;
  const x = (typeof e === 'object' && e !== null ? e : {}) as ApiExceptionLike;
  const http = kubeHttpStatus(e);
  const prefix = `Kubernetes: could not ${ctx.verb} ${target(ctx)}`;
  if (http === undefined) {
    const code = typeof x.code === 'string' ? x.code : undefined;
    const causeCode = (x as { cause?: { code?: unknown } }).cause?.code;
    const net = code ?? (typeof causeCode === 'string' ? causeCode : undefined);
    const said = x.message ?? String(e);
    if (net && TLS_TRUST_CODES.has(net)) {
      // Retrying cannot help: the kubeconfig must name the CA that signed the API server's certificate.
      return new TerminalError(
        `${prefix}: the API server's TLS certificate is not trusted (${net}). Set certificate-authority (a PEM file) or certificate-authority-data for this cluster in the kubeconfig; do not turn verification off.`,
        'KubeTlsUntrusted',
      );
    }
    if ((net && NETWORK_CODES.has(net)) || x.name === 'FetchError' || /fetch failed|socket hang up/i.test(said)) {
      return new RetryableError(`${prefix}: the API server could not be reached (${net ?? said}). Will retry.`, net ?? 'KubeUnreachable');
    }
    return new TerminalError(`${prefix}: ${said}`, net ?? 'KubeError');
  }
  const status = kubeStatus(x.body);
  const said = status?.message ?? (typeof x.body === 'string' && x.body ? x.body.slice(0, 300) : `HTTP ${http}`);
  const reason = status?.reason;

  if (http === 409 && reason === 'AlreadyExists') {
    return new TerminalError(`${prefix}: it already exists (${said}).`, 'AlreadyExists');
  }
  if (http === 409) {
    return new RetryableError(`${prefix}: it was changed concurrently (${said}). Will retry.`, reason ?? 'Conflict');
  }
  if (http === 429 || http >= 500) {
    return new RetryableError(`${prefix}: the API server answered ${http} (${said}). Will retry.`, reason ?? (http === 429 ? 'TooManyRequests' : `HTTP${http}`), retryAfter(status, x.headers));
  }
  if (http === 403) {
    return new TerminalError(`${prefix}: wid-bot is not allowed to (${said}). ${rbacHint(ctx)}`, 'Forbidden');
  }
  if (http === 401) {
    return new TerminalError(`${prefix}: the API server did not accept wid-bot's credentials (${said}). Check the kubeconfig or the in-cluster ServiceAccount token.`, 'Unauthorized');
  }
  if (http === 422) {
    return new TerminalError(`${prefix}: the API server rejected it as invalid: ${said}`, reason ?? 'Invalid');
  }
  if (http === 404) {
    return new TerminalError(`${prefix}: it does not exist (${said}).`, reason ?? 'NotFound');
  }
  return new TerminalError(`${prefix}: the API server answered ${http} (${said}).`, reason ?? `HTTP${http}`);
}
