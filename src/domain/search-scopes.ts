/**
 * Where identities are searched besides the policy's identity resource group: a subscription, or one
 * resource group of it, written `<subscription id>`, `<subscription id>/<resource group>` or as an ARM id.
 */
import { ok, refuse, type Result } from './errors';
import { show } from './text';
import type { IdentitySearchScope } from './types';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * Azure resource group names: 1–90 of letters, digits, `_`, `-`, `.`, `(`, `)`, not ending in `.`. Letters and digits
 * as Azure counts them (Char.IsLetterOrDigit: any script's), not only ASCII.
 */
const RESOURCE_GROUP = /^[-\p{L}\p{N}_.()]{0,89}[-\p{L}\p{N}_()]$/u;

export function parseSearchScope(text: string): Result<IdentitySearchScope> {
  const t = text.trim().replace(/\/+$/, '');
  const arm = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+))?$/i.exec(t);
  const [sub, rg] = arm ? [arm[1] ?? '', arm[2]] : (t.split('/') as [string, string | undefined]);
  const extra = !arm && t.split('/').length > 2;
  if (extra || !GUID.test(sub)) {
    return refuse('bad-search-scope', `${show(text, 120)} is not a search scope: expected a subscription id, <subscription id>/<resource group>, or /subscriptions/<id>/resourceGroups/<group>.`);
  }
  if (rg !== undefined && !RESOURCE_GROUP.test(rg)) {
    return refuse('bad-search-scope', `${show(rg, 100)} in ${show(text, 120)} is not a resource group name (1–90 letters, digits, -, _, ., ( or ), not ending in a dot).`);
  }
  return ok({ subscriptionId: sub.toLowerCase(), ...(rg ? { resourceGroup: rg } : {}) });
}

export function searchScopeText(s: IdentitySearchScope): string {
  return s.resourceGroup ? `${s.subscriptionId}/${s.resourceGroup}` : s.subscriptionId;
}
