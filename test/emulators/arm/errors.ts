/**
 * ARM's error shape: every failure travels as `{ "error": { "code", "message" } }` with an HTTP status.
 */

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ArmError';
  }
}

export interface ArmErrorBody {
  error: { code: string; message: string };
}

export function armErrorBody(code: string, message: string): ArmErrorBody {
  return { error: { code, message } };
}

/** What a handler answers: a status, an optional JSON body and extra headers. */
export interface ArmResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function notFound(resourceType: string, name: string, resourceGroup: string): ArmError {
  return new ArmError(
    404,
    'ResourceNotFound',
    `The Resource '${resourceType}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

export function badRequest(code: string, message: string): ArmError {
  return new ArmError(400, code, message);
}

/** Default messages for injected faults that carry only a status and code. */
export function defaultFaultMessage(status: number, code: string): string {
  if (status === 429) return 'The request was throttled. Please try again later.';
  if (status >= 500) return `The server encountered an internal error (${code}). Please retry the request.`;
  return `The request failed with ${code}.`;
}
