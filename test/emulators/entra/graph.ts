/**
 * The sliver of Microsoft Graph the Azure CLI reads while listing role assignments:
 * `POST /graph/v1.0/directoryObjects/getByIds`, which turns principal ids into directory objects
 * (for a managed identity, its service principal: appId = client id, servicePrincipalNames starting with it).
 * Served by the Entra emulator under `/graph/`; callers need an access token this Entra issued.
 * Nothing else of Graph exists here (`az role assignment create --assignee` still needs `--assignee-object-id`).
 */
import { EntraError } from './errors';

/** A directory object the Graph answers with (a service principal or a user). */
export interface DirectoryObject {
  id: string;
  type: 'servicePrincipal' | 'user';
  displayName: string;
  /** Service principals: the application (client) id. */
  appId?: string;
  /** Users: the sign-in name. */
  userPrincipalName?: string;
  /** Service principals of managed identities: ManagedIdentity. */
  servicePrincipalType?: 'ManagedIdentity' | 'Application';
  /** Managed identities: the ARM id, as Graph lists it among the service principal names. */
  resourceId?: string;
}

export type DirectoryLookup = (objectId: string) => DirectoryObject | undefined;

export const GRAPH_PREFIX = '/graph/';

function graphError(status: number, code: string, message: string): EntraError {
  return new EntraError(status, code, undefined, message);
}

/** Graph's error shape: `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`. */
export function graphErrorBody(code: string, message: string, requestId: string, now: number): unknown {
  return { error: { code, message, innerError: { date: new Date(now).toISOString().replace(/\.\d{3}Z$/, ''), 'request-id': requestId, 'client-request-id': requestId } } };
}

function graphObject(o: DirectoryObject): Record<string, unknown> {
  if (o.type === 'user') {
    return { '@odata.type': '#microsoft.graph.user', id: o.id, displayName: o.displayName, userPrincipalName: o.userPrincipalName ?? o.displayName };
  }
  return {
    '@odata.type': '#microsoft.graph.servicePrincipal',
    id: o.id,
    appId: o.appId ?? null,
    displayName: o.displayName,
    servicePrincipalType: o.servicePrincipalType ?? 'Application',
    servicePrincipalNames: [o.appId, o.resourceId].filter((n): n is string => typeof n === 'string'),
  };
}

/**
 * Answer a Graph call. `path` is what follows `/graph`; `authorized` says whether the bearer token is one this
 * Entra issued for the Graph audience.
 */
export function graphAnswer(method: string, path: string, body: unknown, authorized: boolean, lookup: DirectoryLookup | undefined, baseUrl: string): unknown {
  if (!authorized) throw graphError(401, 'InvalidAuthenticationToken', 'Access token is empty or invalid.');
  if (method !== 'POST' || path !== '/v1.0/directoryObjects/getByIds') {
    throw graphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').filter(Boolean).pop() ?? ''}'.`);
  }
  const ids = typeof body === 'object' && body !== null ? (body as { ids?: unknown }).ids : undefined;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || !ids.every((i) => typeof i === 'string')) {
    throw graphError(400, 'Request_BadRequest', "The request must name 1 to 1000 object ids in 'ids'.");
  }
  const types = (body as { types?: unknown }).types;
  const wanted = Array.isArray(types) ? types.map((t) => String(t).toLowerCase()) : undefined;
  const value = (ids as string[])
    .map((id) => lookup?.(id))
    .filter((o): o is DirectoryObject => o !== undefined && (wanted === undefined || wanted.includes(o.type.toLowerCase())))
    .map(graphObject);
  return { '@odata.context': `${baseUrl}${GRAPH_PREFIX}v1.0/$metadata#directoryObjects`, value };
}
