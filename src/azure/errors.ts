/**
 * Translates whatever the Azure SDK throws (RestError, credential errors, network errors) into the
 * core's RetryableError / TerminalError. Messages are for people: what failed, what Azure said,
 * what to do.
 */
import { RetryableError, TerminalError, WidError } from '../domain/errors';

/** What wid-bot was doing when the call failed, for the message. */
export interface AzureCallContext {
  /** Human description, e.g. `create the managed identity 'x' in resource group 'rg'`. */
  what: string;
  /** ARM action the call needs, e.g. `Microsoft.ManagedIdentity/userAssignedIdentities/write`. */
  action?: string;
  /** ARM scope of the call. */
  scope?: string;
}

/** 409 RoleAssignmentExists: the engine counts it as done. */
export class RoleAssignmentExistsError extends TerminalError {
  constructor(
    message: string,
    /** The existing assignment's name (GUID, dashed) when ARM said which one it is. */
    readonly existingRoleAssignmentName?: string,
  ) {
    super(message, 'RoleAssignmentExists');
  }
}

/** The parts of a RestError (from @azure/core-rest-pipeline or any copy of it) this module reads. */
interface RestErrorLike {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
  response?: { status?: number; headers?: { get(name: string): string | undefined }; bodyAsText?: string | null };
  details?: unknown;
}

const NETWORK_CODES = new Set([
  'REQUEST_SEND_ERROR',
  'ECONNRESET',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ESOCKETTIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function asRestErrorLike(e: unknown): RestErrorLike | undefined {
  return typeof e === 'object' && e !== null ? (e as RestErrorLike) : undefined;
}

function statusOf(e: RestErrorLike): number | undefined {
  return e.statusCode ?? e.response?.status;
}

/** ARM's `{ error: { code, message } }` body, when the SDK did not already lift it onto the error. */
function armBody(e: RestErrorLike): { code?: string; message?: string } {
  const text = e.response?.bodyAsText;
  if (text) {
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown }; code?: unknown; message?: unknown };
      const inner = parsed.error ?? parsed;
      return {
        code: typeof inner.code === 'string' ? inner.code : undefined,
        message: typeof inner.message === 'string' ? inner.message : undefined,
      };
    } catch {
      // Not JSON (a proxy's HTML page, say): fall back to the error's own fields.
    }
  }
  return {};
}

/** Seconds from Retry-After (seconds or HTTP date), retry-after-ms or x-ms-retry-after-ms; undefined when absent. */
export function retryAfterSeconds(headers: { get(name: string): string | undefined } | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const v = headers.get(name);
    if (v !== undefined && v.trim() !== '' && Number.isFinite(Number(v))) return Math.max(0, Math.ceil(Number(v) / 1000));
  }
  const v = headers.get('retry-after');
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Math.max(0, Math.ceil(Number(v)));
  const date = Date.parse(v);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - now) / 1000)) : undefined;
}

/** A 32-hex (or dashed) GUID as the dashed form role assignment names use. */
function dashedGuid(hex: string): string {
  const h = hex.replace(/-/g, '').toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** "The ID of the existing role assignment is <32 hex>." → the dashed GUID. */
export function existingRoleAssignmentName(message: string): string | undefined {
  const m = /existing role assignment is\s+([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})/i.exec(message);
  return m?.[1] ? dashedGuid(m[1]) : undefined;
}

/** The role that grants an ARM action, for the "what to do" part of a 403. */
export function permissionHint(action: string | undefined): string {
  const a = (action ?? '').toLowerCase();
  if (a.startsWith('microsoft.managedidentity/userassignedidentities/federatedidentitycredentials/'))
    return "Give wid-bot's identity 'Managed Identity Contributor' on the resource group that holds the identities.";
  if (a.startsWith('microsoft.managedidentity/userassignedidentities/') && a.endsWith('/read'))
    return "Give wid-bot's identity 'Reader' (or 'Managed Identity Operator') on the identities' subscription or resource group.";
  if (a.startsWith('microsoft.managedidentity/'))
    return "Give wid-bot's identity 'Managed Identity Contributor' on the resource group that holds the identities.";
  if (a.startsWith('microsoft.authorization/roleassignments/') && !a.endsWith('/read'))
    return "Give wid-bot's identity 'Role Based Access Control Administrator' (constrained to the roles the policy allows) or 'User Access Administrator' on that scope.";
  if (a.startsWith('microsoft.authorization/'))
    return "Give wid-bot's identity 'Reader' on that scope.";
  if (a.startsWith('microsoft.containerservice/'))
    return "Give wid-bot's identity 'Reader' (or 'Azure Kubernetes Service Cluster User Role') on the cluster.";
  return "Give wid-bot's identity a role that allows this action on that scope.";
}

/** True when the failure is ARM's 404 (the resource, or its resource group, does not exist). */
export function isAzureNotFound(e: unknown): boolean {
  const r = asRestErrorLike(e);
  return r !== undefined && !(e instanceof WidError) && statusOf(r) === 404;
}

function clip(s: string, max = 600): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Translate any error from an Azure SDK call into a WidError. A WidError passes through unchanged. */
export function translateAzureError(e: unknown, ctx: AzureCallContext): WidError {
  if (e instanceof WidError) return e;
  const r = asRestErrorLike(e) ?? {};
  const status = statusOf(r);
  const body = armBody(r);
  const code = body.code ?? (typeof r.code === 'string' ? r.code : undefined);
  const said = clip(body.message ?? r.message ?? String(e));
  const prefix = `Azure: could not ${ctx.what}`;

  // Credential failures surface from the bearer-token policy before any HTTP call.
  if (status === undefined && (r.name === 'CredentialUnavailableError' || r.name === 'AggregateAuthenticationError')) {
    return new TerminalError(
      `${prefix}: wid-bot has no usable Azure credential (${said}). Set AZURE_TENANT_ID and AZURE_CLIENT_ID with AZURE_FEDERATED_TOKEN_FILE (workload identity) or AZURE_CLIENT_SECRET.`,
      'AzureCredentialUnavailable',
    );
  }
  if (status === undefined && r.name === 'AuthenticationError') {
    return new TerminalError(`${prefix}: Entra ID refused wid-bot's own sign-in (${said}). Check AZURE_TENANT_ID, AZURE_CLIENT_ID and the credential.`, 'AzureAuthenticationFailed');
  }
  if (status === undefined) {
    if (code && NETWORK_CODES.has(code)) {
      return new RetryableError(`${prefix}: the Azure Resource Manager endpoint could not be reached (${code}: ${said}). Will retry.`, code);
    }
    if (r.name === 'AbortError') return new RetryableError(`${prefix}: the call was aborted (${said}).`, 'Aborted');
    return new TerminalError(`${prefix}: ${said}`, code ?? 'AzureError');
  }

  if (status === 429) {
    const after = retryAfterSeconds(r.response?.headers);
    return new RetryableError(
      `${prefix}: Azure is throttling requests (${code ?? 'TooManyRequests'}: ${said}).${after !== undefined ? ` Azure asked to wait ${after} s.` : ''} Will retry.`,
      'TooManyRequests',
      after,
    );
  }
  if (status >= 500 || status === 408) {
    return new RetryableError(
      `${prefix}: Azure answered ${status}${code ? ` ${code}` : ''} (${said}). Will retry.`,
      code ?? `HTTP${status}`,
      retryAfterSeconds(r.response?.headers),
    );
  }
  if (status === 409 && code === 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity') {
    return new RetryableError(`${prefix}: another write to this identity's federated credentials was in progress (${said}). Will retry.`, code);
  }
  if (status === 400 && code === 'PrincipalNotFound') {
    return new RetryableError(
      `${prefix}: the identity's service principal has not replicated in Entra ID yet (${said}). Will retry.`,
      code,
    );
  }
  if (status === 409 && code === 'RoleAssignmentExists') {
    const existing = existingRoleAssignmentName(said);
    return new RoleAssignmentExistsError(
      `${prefix}: the role assignment already exists${existing ? ` (existing assignment ${existing})` : ''}. Nothing to do.`,
      existing,
    );
  }
  if (status === 403) {
    const action = /perform action '([^']+)'/i.exec(said)?.[1] ?? ctx.action;
    const scope = /over scope '([^']+)'/i.exec(said)?.[1] ?? ctx.scope;
    if (code === 'AuthorizationFailed' || code === 'LinkedAuthorizationFailed' || code === undefined) {
      return new TerminalError(
        `${prefix}: wid-bot is not allowed to perform '${action ?? 'this action'}' on '${scope ?? 'this scope'}'. ${permissionHint(action)} Azure said: ${said}`,
        code ?? 'AuthorizationFailed',
      );
    }
    return new TerminalError(`${prefix}: Azure refused the call (${code}: ${said}).`, code);
  }
  if (status === 401) {
    return new TerminalError(
      `${prefix}: Azure did not accept wid-bot's credentials (${code ?? 'Unauthorized'}: ${said}). Check the tenant, client id and token audience (AZURE_RESOURCE_MANAGER_AUDIENCE).`,
      code ?? 'Unauthorized',
    );
  }
  if (status === 404) {
    return new TerminalError(`${prefix}: Azure says it does not exist (${code ?? 'NotFound'}: ${said}). Check the subscription, resource group and name in the policy.`, code ?? 'NotFound');
  }
  return new TerminalError(`${prefix}: Azure answered ${status} (${code ?? 'error'}: ${said}).`, code ?? `HTTP${status}`);
}
