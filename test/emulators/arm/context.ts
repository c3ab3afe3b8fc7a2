/**
 * What every resource-provider handler gets: the state, the emulator's settings, and the call.
 */
import { ArmError } from './errors';
import type { ArmState } from './state';

export interface ArmContext {
  state: ArmState;
  /** `https://127.0.0.1:<port>`, for absolute nextLinks. */
  baseUrl: string;
  /** Items per list page (identities, role assignments; FIC lists default to it when `$top` is absent). */
  pageSize: number;
  /** How long one federated-credential write keeps its identity busy. */
  ficWriteMs: number;
  /** A principal younger than this is not yet visible to role assignments without `principalType`. */
  principalReplicationDelayMs: number;
  /** Identities with a federated-credential write in progress (lowercased identity ids). */
  ficBusy: Set<string>;
  /** The emulator's clock (epoch ms) for schedules' starts and ends; Date.now when unset. */
  clock?: () => number;
  /** The Entra login endpoint `GET /metadata/endpoints` names. */
  loginEndpoint?: string;
}

export interface ArmCall {
  method: string;
  /** Normalised path (duplicate slashes collapsed, segments decoded). */
  path: string;
  /** Query parameters with lowercased names (`api-version`, `$filter`, `$top`, `$skiptoken`). */
  query: Record<string, string>;
  body: unknown;
  /** Object id (`oid`) of the authenticated caller, once authenticated. */
  callerObjectId?: string;
}

/** The request body as an object; 400 when it is missing or not an object. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: the body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

export function propertiesOf(body: Record<string, unknown>): Record<string, unknown> {
  const p = body.properties;
  return typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
}

/** One page of `items` with an absolute `nextLink` carrying a `$skiptoken` when more remain. */
export function page<T>(ctx: ArmContext, call: ArmCall, items: T[], size: number, tokenParam = '$skiptoken'): { value: T[]; nextLink?: string } {
  const token = call.query['$skiptoken'];
  let offset = 0;
  if (token !== undefined) {
    offset = Number.parseInt(Buffer.from(token, 'base64url').toString('utf8'), 10);
    if (!Number.isInteger(offset) || offset < 0) throw new ArmError(400, 'InvalidSkipToken', `The skip token '${token}' is invalid.`);
  }
  const value = items.slice(offset, offset + size);
  if (offset + size >= items.length) return { value };
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(call.query)) if (k !== '$skiptoken') params.set(k, v);
  params.set(tokenParam, Buffer.from(String(offset + size)).toString('base64url'));
  // URLSearchParams escapes `$`; ARM's nextLinks carry it literally.
  const path = call.path.split('/').map(encodeURIComponent).join('/');
  return { value, nextLink: `${ctx.baseUrl}${path}?${params.toString().replace(/%24/g, '$')}` };
}
