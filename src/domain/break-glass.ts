/**
 * Break-glass: when the policy enables it on the request's role or namespace, the requester may approve their
 * own request with a reason; the access is capped at the rule's duration. Never for roles that need two
 * approvers unless the rule says so, and never for revokes (taking access away has its own path).
 */
import { findNamespace } from './policy';
import type { Policy, PolicyBreakGlass, WidRequest } from './types';

/** The rule that lets this request break glass, or undefined when it may not. Both rules present: the shorter cap. */
export function breakGlassRule(policy: Policy, r: Pick<WidRequest, 'kind' | 'namespace' | 'roleName' | 'plan'>): PolicyBreakGlass | undefined {
  if (r.kind !== 'grant') return undefined;
  const role = policy.roles.find((x) => x.name.toLowerCase() === r.roleName.toLowerCase())?.breakGlass;
  const ns = findNamespace(policy, r.namespace)?.breakGlass;
  const rules = [role, ns].filter((x): x is PolicyBreakGlass => x !== undefined);
  if (rules.length === 0) return undefined;
  const needsTwo = r.plan.approvalsRequired > 1;
  const usable = rules.filter((x) => !needsTwo || x.twoApproverRoles === true);
  if (usable.length === 0) return undefined;
  return usable.reduce((a, b) => (b.maxDurationSeconds < a.maxDurationSeconds ? b : a));
}

/** The duration a break-glass approval grants: what was asked, at most the cap. */
export function breakGlassDuration(requested: number | undefined, rule: PolicyBreakGlass): number {
  return requested === undefined ? rule.maxDurationSeconds : Math.min(requested, rule.maxDurationSeconds);
}
