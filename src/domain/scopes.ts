/**
 * ARM scopes and the patterns a policy grants roles on: `*` stands for one path segment (or part of
 * one), `**` as the last segment for one or more further segments. Matching ignores case, as ARM does.
 */
import { ok, refuse, type Result } from './errors';
import { normaliseScope } from './names';
import { show } from './text';

/** Characters ARM ids use; anything else (spaces, `;`, `$`, quotes…) is refused before matching. */
const SEGMENT = /^[a-z0-9._()~:-]+$/;

/** Check that a requested scope is an ARM id and return it normalised. */
export function validateScope(scope: string): Result<string> {
  const hint = 'an ARM resource id such as /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.KeyVault/vaults/<name>';
  if (!scope.trim().startsWith('/')) {
    return refuse('invalid-scope', `${show(scope, 120)} is not an ARM scope: expected ${hint}.`, 'scope');
  }
  const normal = normaliseScope(scope);
  const segments = normal.split('/').slice(1);
  const bad = segments.find((s) => !SEGMENT.test(s) || s === '.' || s === '..');
  if (normal === '/' || bad !== undefined) {
    return refuse('invalid-scope', `${show(scope, 120)} is not an ARM scope${bad ? ` (the part ${show(bad, 40)} is not allowed)` : ''}: expected ${hint}.`, 'scope');
  }
  if (normal.length > 1024) return refuse('invalid-scope', `The scope is ${normal.length} characters long; ARM ids are at most 1024.`, 'scope');
  return ok(normal);
}

export function isScopePattern(pattern: string): boolean {
  return pattern.includes('*');
}

/** Check a policy scope pattern; returns why it is wrong, or undefined when it is fine. */
export function scopePatternProblem(pattern: string): string | undefined {
  if (!pattern.trim().startsWith('/')) return 'expected an ARM id or pattern starting with "/"';
  const segments = normaliseScope(pattern).split('/').slice(1);
  if (segments.length === 0 || segments[0] === '') return 'expected an ARM id or pattern below "/"';
  for (const [i, s] of segments.entries()) {
    if (s === '**') {
      if (i !== segments.length - 1) return '"**" may only be the last segment (it stands for everything below)';
      continue;
    }
    if (s.includes('**')) return '"**" must be a whole segment, e.g. /subscriptions/<id>/resourceGroups/rg-app/**';
    if (!SEGMENT.test(s.replace(/\*/g, ''))) {
      if (s.replace(/\*/g, '') !== '') return `the part ${show(s, 40)} has characters ARM ids do not use`;
    }
  }
  return undefined;
}

function segmentMatches(pattern: string, segment: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return pattern === segment;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return re.test(segment);
}

/** Whether a (normalised or not) scope is allowed by a pattern or exact id. */
export function scopeMatches(pattern: string, scope: string): boolean {
  const p = normaliseScope(pattern).split('/').slice(1);
  const s = normaliseScope(scope).split('/').slice(1);
  for (let i = 0; i < p.length; i++) {
    const part = p[i] as string;
    if (part === '**' && i === p.length - 1) return s.length > i;
    const seg = s[i];
    if (seg === undefined || !segmentMatches(part, seg)) return false;
  }
  return s.length === p.length;
}

export function scopeAllowed(patterns: readonly string[], scope: string): boolean {
  return patterns.some((p) => scopeMatches(p, scope));
}

/** The subscription an ARM scope lies in (`/subscriptions/<id>/…`), when it names one. */
export function scopeSubscription(scope: string): string | undefined {
  return /^\/?subscriptions\/([^/]+)/i.exec(scope)?.[1];
}
