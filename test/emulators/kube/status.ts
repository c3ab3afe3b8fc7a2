/**
 * Kubernetes `Status` failure bodies, worded as the API server words them.
 */

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A failure the router throws; the server answers with its Status body. */
export class KubeStatusError extends Error {
  readonly body: StatusBody;
  constructor(
    readonly code: number,
    reason: string | undefined,
    message: string,
    details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.body = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      ...(reason ? { reason } : {}),
      ...(details ? { details } : {}),
      code,
    };
  }
}

/** How a resource is named in messages: `serviceaccounts` or `azureidentities.aadpodidentity.k8s.io`. */
export interface ResourceRef {
  resource: string;
  group: string;
}

function qualified(r: ResourceRef): string {
  return r.group ? `${r.resource}.${r.group}` : r.resource;
}

function details(r: ResourceRef, name?: string): StatusDetails {
  return { ...(name !== undefined ? { name } : {}), ...(r.group ? { group: r.group } : {}), kind: r.resource };
}

export function notFound(r: ResourceRef, name: string): KubeStatusError {
  return new KubeStatusError(404, 'NotFound', `${qualified(r)} "${name}" not found`, details(r, name));
}

export function alreadyExists(r: ResourceRef, name: string): KubeStatusError {
  return new KubeStatusError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, details(r, name));
}

export const CONFLICT_TEXT = 'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(r: ResourceRef, name: string, why = CONFLICT_TEXT): KubeStatusError {
  return new KubeStatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, details(r, name));
}

/** 422 Invalid; `kind` is the object kind (`ServiceAccount`), qualified by group for custom resources. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): KubeStatusError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new KubeStatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes,
  });
}

export function forbidden(r: ResourceRef, user: string, verb: string, resourceWithSub: string, namespace: string | undefined, name?: string): KubeStatusError {
  const subject = name !== undefined ? `${qualified(r)} "${name}"` : qualified(r);
  const where = namespace !== undefined ? `in the namespace "${namespace}"` : 'at the cluster scope';
  return new KubeStatusError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resourceWithSub}" in API group "${r.group}" ${where}`,
    details(r, name),
  );
}

export function badRequest(message: string): KubeStatusError {
  return new KubeStatusError(400, 'BadRequest', message);
}

/** What the API server answers for a group, version or resource it does not serve. */
export function resourceNotServed(): KubeStatusError {
  return new KubeStatusError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function unauthorized(): KubeStatusError {
  return new KubeStatusError(401, 'Unauthorized', 'Unauthorized');
}

export function methodNotAllowed(): KubeStatusError {
  return new KubeStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
}
