/**
 * Entra ID's token-endpoint error shape: `{error, error_description, error_codes, timestamp, trace_id,
 * correlation_id, error_uri}`, the description ending in the trace lines Entra appends.
 */
import { randomUUID } from 'node:crypto';

export interface EntraErrorBody {
  error: string;
  error_description: string;
  error_codes: number[];
  timestamp: string;
  trace_id: string;
  correlation_id: string;
  error_uri: string;
}

/** `2022-10-27 23:39:22Z`, as Entra writes it. */
export function entraTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('T', ' ').replace('.000Z', 'Z');
}

export class EntraError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    /** The AADSTS number, or undefined for a fault without one. */
    readonly aadsts: number | undefined,
    /** The text after `AADSTSnnnn: `. */
    readonly text: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(aadsts !== undefined ? `AADSTS${aadsts}: ${text}` : text);
  }

  body(now: number, correlationId: string = randomUUID()): EntraErrorBody {
    const traceId = randomUUID();
    const ts = entraTimestamp(now);
    return {
      error: this.error,
      error_description: `${this.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${ts}`,
      error_codes: this.aadsts !== undefined ? [this.aadsts] : [],
      timestamp: ts,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${this.aadsts ?? 0}`,
    };
  }
}

export const FEDERATION_DOC = 'https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation';

export const entraErrors = {
  missingParameter: (name: string) => new EntraError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  unsupportedGrant: (grant: string) => new EntraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`),
  missingScope: () =>
    new EntraError(400, 'invalid_request', 90014, "The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request."),
  invalidScope: (scope: string) =>
    new EntraError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
  tenantNotFound: (tenant: string) =>
    new EntraError(
      400,
      'invalid_request',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),
  applicationNotFound: (clientId: string, tenant: string) =>
    new EntraError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  invalidSecret: (clientId: string) =>
    new EntraError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  missingCredential: () =>
    new EntraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  malformedAssertion: () => new EntraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.'),
  assertionTimeRange: (now: string, from: string, to: string) =>
    new EntraError(
      400,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${now}, assertion valid from ${from}, expiry time of assertion ${to}. Review the documentation at https://docs.microsoft.com/azure/active-directory/develop/active-directory-certificate-credentials .`,
    ),
  /** The text the provisioning engine parses: keep the exact wording and quoting. */
  noMatchingFederatedIdentity: (issuer: string, subject: string, audience: string) =>
    new EntraError(
      400,
      'invalid_request',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${subject}'. Assertion Audience: '${audience}'. ${FEDERATION_DOC}`,
    ),
  invalidInstance: () => new EntraError(400, 'invalid_instance', 50049, "Unknown or invalid instance."),
  oidcEndpointFailed: () => new EntraError(401, 'invalid_client', 50166, 'Request to External OIDC endpoint failed.'),
  signatureKeyNotFound: () => new EntraError(401, 'invalid_client', 50013, 'Assertion failed signature validation. [Reason - The key was not found.]'),
  signatureInvalid: () =>
    new EntraError(401, 'invalid_client', 50013, 'Assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed.]'),
};
