/**
 * Everything a policy names in the outside world, each with the field that names it (a path into the policy
 * file such as `approvers.users[0]` or `namespaces.finance.roles[1]`), for `wid policy check` to look up. Pure.
 */
import type { Policy, Principals } from './types';

export type PolicyReference =
  | { kind: 'user'; id: string; path: string }
  | { kind: 'usergroup'; id: string; path: string }
  | { kind: 'scope'; scope: string; path: string; pattern: boolean }
  | { kind: 'role'; roleName: string; scope: string; path: string }
  | { kind: 'cluster'; clusterName: string; path: string };

function principals(p: Principals, at: string): PolicyReference[] {
  return [...p.users.map((id, i) => ({ kind: 'user' as const, id, path: `${at}.users[${i}]` })), ...p.groups.map((id, i) => ({ kind: 'usergroup' as const, id, path: `${at}.groups[${i}]` }))];
}

/**
 * The part of a scope pattern that names one existing thing: up to the segment before the first wildcard,
 * cut back to a subscription, a resource group or a whole resource id.
 */
export function concreteScope(scope: string): string {
  const segs = scope.split('/').filter(Boolean);
  const firstWild = segs.findIndex((s) => s.includes('*'));
  const kept = firstWild === -1 ? segs : segs.slice(0, firstWild);
  // a resource id is /subscriptions/s/resourceGroups/g/providers/ns/type/name (8 segments), deeper ones in steps of 2
  const len = kept.length >= 8 ? 8 + Math.floor((kept.length - 8) / 2) * 2 : kept.length >= 4 ? 4 : kept.length >= 2 ? 2 : 0;
  return `/${kept.slice(0, len).join('/')}`;
}

export function policyReferences(policy: Policy): PolicyReference[] {
  const out: PolicyReference[] = [...principals(policy.approvers, 'approvers'), ...principals(policy.operators, 'operators')];
  policy.namespaces.forEach((n) => {
    const at = `namespaces.${n.name}`;
    out.push(...principals(n.requesters, `${at}.requesters`), ...principals(n.approvers, `${at}.approvers`));
    for (const [role, scope] of Object.entries(n.defaultScopes)) out.push({ kind: 'scope', scope, path: `${at}.defaultScopes[${JSON.stringify(role)}]`, pattern: false });
  });
  policy.roles.forEach((r, i) => {
    r.scopes.forEach((scope, j) => out.push({ kind: 'scope', scope, path: `roles[${i}].scopes[${j}]`, pattern: scope.includes('*') }));
    const first = r.scopes[0];
    if (first !== undefined) out.push({ kind: 'role', roleName: r.name, scope: concreteScope(first), path: `roles[${i}].name` });
  });
  policy.clusters.forEach((c, i) => out.push({ kind: 'cluster', clusterName: c.name, path: `clusters[${i}]` }));
  return out;
}
