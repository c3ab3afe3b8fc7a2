/**
 * ARM resource ids and scopes: how the emulator spells them in responses and compares them
 * (case-insensitively, as ARM does).
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(s: string): boolean {
  return GUID.test(s);
}

/** Collapse duplicate slashes (the SDK sends `//subscriptions/…` for a scope that starts with `/`) and drop a trailing one. */
export function normalisePath(path: string): string {
  const collapsed = ('/' + path).replace(/\/{2,}/g, '/');
  return collapsed.length > 1 ? collapsed.replace(/\/$/, '') : collapsed;
}

/** A scope as stored and returned: leading slash, no trailing slash, `/` for the root. */
export function normaliseScope(scope: string): string {
  return normalisePath(scope);
}

export function sameScope(a: string, b: string): boolean {
  return normaliseScope(a).toLowerCase() === normaliseScope(b).toLowerCase();
}

/** True when `ancestor` is `scope` itself or contains it. */
export function scopeContains(ancestor: string, scope: string): boolean {
  const a = normaliseScope(ancestor).toLowerCase();
  const s = normaliseScope(scope).toLowerCase();
  return a === '/' || s === a || s.startsWith(a + '/');
}

/** The subscription a scope lies in, if any. */
export function subscriptionOf(scope: string): string | undefined {
  const m = /^\/subscriptions\/([^/]+)/i.exec(normaliseScope(scope));
  return m?.[1];
}

/** Managed Identity ids use a lowercase `resourcegroups` segment (as the service returns them). */
export function identityId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

export function federatedCredentialId(identity: string, name: string): string {
  return `${identity}/federatedIdentityCredentials/${name}`;
}

export function roleAssignmentId(scope: string, name: string): string {
  const s = normaliseScope(scope);
  return `${s === '/' ? '' : s}/providers/Microsoft.Authorization/roleAssignments/${name}`;
}

/** Parse `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}` (any casing). */
export function parseIdentityId(id: string): { subscriptionId: string; resourceGroup: string; name: string } | undefined {
  const m = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.managedidentity\/userassignedidentities\/([^/]+)$/i.exec(
    normalisePath(id),
  );
  if (!m || !m[1] || !m[2] || !m[3]) return undefined;
  return { subscriptionId: m[1], resourceGroup: m[2], name: m[3] };
}

/** The GUID at the end of a role definition id, or the value itself when it is a bare GUID. */
export function roleDefinitionGuid(roleDefinitionId: string): string | undefined {
  const last = normalisePath(roleDefinitionId).split('/').pop() ?? '';
  return isGuid(last) ? last.toLowerCase() : undefined;
}
