/**
 * Who may see what wid-bot knows: one request's status, and the inspection answers (cluster, list, creds,
 * audit, legacy) namespace by namespace. Pure: the caller passes the person's Slack user groups.
 */
import { findNamespace, isApprover, isOperator, principalsInclude } from './policy';
import type { Policy } from './types';

/** What one person may see of the inspection answers. */
export type ViewScope =
  /** The policy's operators: everything, including items in no namespace (identities, the add-on, cluster-wide findings). */
  | { all: true }
  /** Everyone else: the namespaces the policy lets them request for or approve in (possibly none). */
  | { all: false; namespaces: readonly string[] };

/** The parts of a request its visibility depends on. */
export interface RequestAudience {
  requester: { id: string };
  namespace: string;
  approvals: ReadonlyArray<{ actor: { id: string } }>;
}

/**
 * Whether this person may read the request (`/wid status <id>`): its requester, whoever approved it, the policy's
 * approvers for its namespace (global or the namespace's own, users or user groups) and the operators.
 */
export function mayViewRequest(policy: Policy, request: RequestAudience, viewerId: string, viewerGroups: readonly string[]): boolean {
  if (viewerId === '') return false;
  if (request.requester.id === viewerId) return true;
  if (request.approvals.some((a) => a.actor.id === viewerId)) return true;
  return isApprover(policy, request.namespace, viewerId, viewerGroups) || isOperator(policy, viewerId, viewerGroups);
}

/** The namespaces this person may see in inspection answers: all for operators; else those they may request for or approve in. */
export function viewScope(policy: Policy, viewerId: string, viewerGroups: readonly string[]): ViewScope {
  if (viewerId !== '' && isOperator(policy, viewerId, viewerGroups)) return { all: true };
  if (viewerId === '') return { all: false, namespaces: [] };
  const namespaces = policy.namespaces
    .filter((n) => principalsInclude(n.requesters, viewerId, viewerGroups) || isApprover(policy, n.name, viewerId, viewerGroups))
    .map((n) => n.name);
  return { all: false, namespaces };
}

/** Whether an item in this namespace shows; an item in no namespace (undefined) shows to operators only. */
export function seesNamespace(scope: ViewScope, namespace: string | undefined): boolean {
  if (scope.all) return true;
  if (namespace === undefined) return false;
  return scope.namespaces.includes(namespace);
}

/** Whether the person sees anything at all (a member of the policy in some way). */
export function seesAnything(scope: ViewScope): boolean {
  return scope.all || scope.namespaces.length > 0;
}

/** In words, for the answers: what this person may see. */
export function describeScope(policy: Policy, scope: ViewScope): string {
  if (scope.all) return 'everything (you are one of the policy’s operators)';
  if (scope.namespaces.length === 0) {
    return 'nothing: the policy names you as requester or approver of no namespace. Ask one of its operators to add you to a namespace.';
  }
  const known = scope.namespaces.filter((n) => findNamespace(policy, n) !== undefined);
  return `only the namespaces you may request for or approve in: ${known.join(', ')}`;
}
