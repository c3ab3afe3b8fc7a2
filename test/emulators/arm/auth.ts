/**
 * ARM's front door: a bearer token is required (401 otherwise, with a WWW-Authenticate challenge),
 * optionally validated by the Entra emulator, and deny rules answer 403 AuthorizationFailed.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ArmError } from './errors';

const CHALLENGE_BASE = 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"';

export interface Caller {
  /** The token's `appid`/`azp` (client) or, failing that, its object id. */
  clientId: string;
  objectId: string;
}

const UNKNOWN_OBJECT_ID = '00000000-0000-0000-0000-000000000000';

function claimsOf(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const json: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Who is calling, from the token's claims when it is a JWT. */
export function callerOf(token: string): Caller {
  const claims = claimsOf(token) ?? {};
  const str = (k: string): string | undefined => (typeof claims[k] === 'string' ? (claims[k] as string) : undefined);
  const objectId = str('oid') ?? UNKNOWN_OBJECT_ID;
  return { clientId: str('appid') ?? str('azp') ?? objectId, objectId };
}

/** The bearer token of the request; throws 401 as ARM does when it is missing, malformed or refused. */
export function authenticate(headers: IncomingHttpHeaders, validator?: (token: string) => boolean): string {
  const header = headers.authorization;
  if (!header) {
    throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", {
      'www-authenticate': `${CHALLENGE_BASE}, error_description="The authentication failed because of missing 'Authorization' header."`,
    });
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m || !m[1]) {
    throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format.", {
      'www-authenticate': `${CHALLENGE_BASE}, error_description="The authentication failed because of the invalid format of the 'Authorization' header."`,
    });
  }
  const token = m[1];
  if (validator && !validator(token)) {
    throw new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', {
      'www-authenticate': `${CHALLENGE_BASE}, error_description="The access token is invalid."`,
    });
  }
  return token;
}

export interface DenyRule {
  method?: string;
  /** Substring of the path, or a regular expression tested against it. */
  path?: string | RegExp;
  /** An action such as `Microsoft.Authorization/roleAssignments/write`; `*` matches any run of characters. */
  action?: string;
}

function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*') + '$', 'i');
  return re.test(action);
}

export class DenyList {
  private rules: DenyRule[] = [];

  add(rule: DenyRule): void {
    this.rules.push(rule);
  }

  clear(): void {
    this.rules = [];
  }

  /** 403 AuthorizationFailed when a rule matches the call. */
  check(method: string, path: string, action: string, scope: string, token: string): void {
    const hit = this.rules.find(
      (r) =>
        (!r.method || r.method.toUpperCase() === method.toUpperCase()) &&
        (r.path === undefined || (typeof r.path === 'string' ? path.includes(r.path) : r.path.test(path))) &&
        (!r.action || actionMatches(r.action, action)),
    );
    if (!hit) return;
    const caller = callerOf(token);
    throw new ArmError(
      403,
      'AuthorizationFailed',
      `The client '${caller.clientId}' with object id '${caller.objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
  }
}
