/**
 * Kubernetes name rules and the deterministic Azure names wid-bot derives, so a retry always finds
 * what the first attempt created instead of making a second one.
 */
import { createHash } from 'node:crypto';
import { ok, refuse, type Result } from './errors';
import { roleDefinitionGuid } from './roles';
import { show } from './text';
import { RESERVED_NAMESPACES } from './types';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a name breaks a DNS-1123 rule, in words. */
function whatIsWrong(value: string, max: number, dots: boolean): string {
  if (value === '') return 'it is empty';
  if (value.length > max) return `it is ${value.length} characters long`;
  const upper = /[A-Z]/.exec(value);
  if (upper) return `it contains the uppercase letter "${upper[0]}"`;
  const bad = dots ? /[^a-z0-9.-]/u.exec(value) : /[^a-z0-9-]/u.exec(value);
  if (bad) return `it contains ${show(bad[0])}`;
  if (!/^[a-z0-9]/.test(value)) return 'it does not start with a letter or digit';
  if (!/[a-z0-9]$/.test(value)) return 'it does not end with a letter or digit';
  return 'one of its dot-separated parts does not start and end with a letter or digit';
}

function checkLabel(what: string, field: 'namespace' | 'cluster', value: string): Result<string> {
  if (typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value)) return ok(value);
  const text = typeof value === 'string' ? value : String(value);
  return refuse(
    `invalid-${field}`,
    `${show(text, 70)} is not a valid ${what}: it must be a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters), but ${whatIsWrong(text, 63, false)}.`,
    field,
  );
}

/** A namespace is a DNS-1123 label; the reserved system namespaces are refused unless the policy allows them. */
export function validateNamespace(namespace: string, options: { allowReserved?: boolean } = {}): Result<string> {
  const label = checkLabel('Kubernetes namespace name', 'namespace', namespace);
  if (!label.ok) return label;
  if (!options.allowReserved && (RESERVED_NAMESPACES as readonly string[]).includes(namespace)) {
    return refuse(
      'reserved-namespace',
      `"${namespace}" is a reserved Kubernetes namespace; wid-bot does not grant Azure access there unless the policy sets allowReservedNamespaces: true.`,
      'namespace',
    );
  }
  return ok(namespace);
}

/** A ServiceAccount name is a DNS-1123 subdomain (≤ 253). */
export function validateServiceAccountName(name: string): Result<string> {
  if (typeof name === 'string' && name.length <= 253 && DNS_SUBDOMAIN.test(name)) return ok(name);
  const text = typeof name === 'string' ? name : String(name);
  return refuse(
    'invalid-serviceaccount',
    `${show(text, 70)} is not a valid Kubernetes ServiceAccount name: it must be a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", each dot-separated part starting and ending with a letter or digit, at most 253 characters), but ${whatIsWrong(text, 253, true)}.`,
    'serviceAccount',
  );
}

/** wid-bot's name for a cluster in the policy: a DNS-1123 label, so it reads well inside Azure names. */
export function validateClusterName(name: string): Result<string> {
  return checkLabel('cluster name', 'cluster', name);
}

export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

// ───────────────────────────── derived Azure names ─────────────────────────────

export const IDENTITY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$/;
export const FEDERATED_CREDENTIAL_NAME_PATTERN = /^[a-zA-Z0-9]{1}[a-zA-Z0-9-_]{2,119}$/;
const HASH_LENGTH = 12;

/** 12 hex characters of SHA-256 over the exact triple: the part of the name that makes it unique. */
function tripleHash(cluster: string, namespace: string, serviceAccount: string): string {
  return createHash('sha256').update(JSON.stringify([cluster, namespace, serviceAccount])).digest('hex').slice(0, HASH_LENGTH);
}

/**
 * Shorten parts fairly so their total fits the budget: short parts stay whole, long ones share the rest.
 * Parts that already fit come back whole (each part, shortest first, is at most its fair share of what is left).
 */
function fitParts(parts: string[], budget: number): string[] {
  const order = parts.map((p, i) => ({ i, len: p.length })).sort((a, b) => a.len - b.len);
  // Stryker disable next-line ArrayDeclaration: every index is assigned below, so the initial contents never matter
  const sizes = new Array<number>(parts.length).fill(0);
  let left = budget;
  order.forEach((o, k) => {
    const share = Math.max(1, Math.floor(left / (order.length - k)));
    sizes[o.i] = Math.min(o.len, share);
    left -= sizes[o.i] as number;
  });
  return parts.map((p, i) => p.slice(0, sizes[i]));
}

/**
 * `wid-<cluster>-<namespace>-<serviceaccount>-<hash>`: readable, and unique because the hash is over
 * the exact triple (the dashes alone would be ambiguous: `a-b`+`c` vs `a`+`b-c`). Parts are cut when
 * the whole would be longer than `max`; the hash always stays.
 */
function derivedName(max: number, cluster: string, namespace: string, serviceAccount: string): string {
  const clean = (s: string) => s.replace(/\./g, '_').replace(/[^A-Za-z0-9_-]/g, '-') || 'x';
  const hash = tripleHash(cluster, namespace, serviceAccount);
  const fixed = 'wid-'.length + 1 + hash.length + 2; // prefix, dash before the hash, two dashes between parts
  const parts = fitParts([clean(cluster), clean(namespace), clean(serviceAccount)], max - fixed);
  return `wid-${parts.join('-')}-${hash}`;
}

/** The user-assigned managed identity for one ServiceAccount on one cluster (3–128 characters). */
export function identityName(cluster: string, namespace: string, serviceAccount: string): string {
  return derivedName(128, cluster, namespace, serviceAccount);
}

/** The federated identity credential trusting one ServiceAccount on one cluster (3–120 characters). */
export function federatedCredentialName(cluster: string, namespace: string, serviceAccount: string): string {
  return derivedName(120, cluster, namespace, serviceAccount);
}

export function identityResourceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

/** An ARM scope in one spelling: lowercase, one leading slash, no doubled or trailing slashes. */
export function normaliseScope(scope: string): string {
  const segments = scope.trim().toLowerCase().split('/').filter((s) => s !== '');
  return `/${segments.join('/')}`;
}

// ───────────────────────────── role assignment names ─────────────────────────────

/** Fixed namespace for wid-bot's role-assignment names; never change it, or retries would create duplicates. */
export const ROLE_ASSIGNMENT_NAMESPACE = '5f2b8c1e-7d4a-4b9e-a3c6-0e8f1d2a7b64';

/** RFC 4122 version-5 (SHA-1, name-based) UUID. */
export function uuidv5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The role assignment's name (a GUID ARM requires): the same for the same scope, principal and role
 * however the scope is spelled, so a retried PUT finds the first assignment.
 */
export function roleAssignmentName(scope: string, principalId: string, roleDefinitionId: string): string {
  const role = roleDefinitionGuid(roleDefinitionId) ?? roleDefinitionId.trim().toLowerCase();
  return uuidv5(`${normaliseScope(scope)}|${principalId.trim().toLowerCase()}|${role}`, ROLE_ASSIGNMENT_NAMESPACE);
}
