/**
 * What the fairness and scale-out benchmarks share: approved grant requests made the way the Slack side makes
 * them, and the count of ARM writes per resource that shows whether anything was written twice.
 */
import { randomBytes } from 'node:crypto';
import { applyAction, newRequest } from '../../src/domain/lifecycle';
import { buildPlan } from '../../src/domain/plan';
import { evaluateRequest } from '../../src/domain/policy';
import type { ClusterFacts, Policy, WidRequest } from '../../src/domain/types';
import type { RedisRequestStore } from '../../src/store';
import type { RequestLogEntry } from '../../test/emulators/common/controls';
import { WORLD } from '../../test/emulators/world';

/** An approved grant request by `requester` for finance/<serviceAccount>, stored. */
export async function approvedGrant(store: RedisRequestStore, policy: Policy, facts: ClusterFacts, serviceAccount: string, requester: string): Promise<WidRequest> {
  const decision = evaluateRequest(policy, {
    requester: { id: requester },
    requesterGroups: [],
    command: { verb: 'request', namespace: 'finance', serviceAccount, roleName: 'Key Vault Secrets User' },
  });
  if (!decision.ok) throw new Error(decision.error.message);
  const id = `wid-${randomBytes(6).toString('hex')}`;
  const plan = buildPlan({ policy, decision: decision.value, clusterFacts: facts, requestId: id, requester: { id: requester }, kind: 'grant' });
  if (!plan.ok) throw new Error(plan.error.message);
  const { request, event } = newRequest({ id, plan: plan.value, requester: { id: requester }, now: new Date(), policy });
  await store.create(request, event);
  const approved = applyAction(request, { type: 'approve', actor: { id: WORLD.users.approver }, actorIsApprover: true }, new Date());
  if (!approved.ok) throw new Error(approved.error.message);
  if (!(await store.compareAndSet(request, approved.value.request, approved.value.event))) throw new Error('approve lost a race');
  return approved.value.request;
}

export interface WriteCounts {
  identities: number;
  roleAssignments: number;
  federatedCredentials: number;
  /** Resources that got more than one PUT with the same body: a write made twice. */
  repeatedWrites: number;
  /** PUTs beyond the first to a resource, whatever their body. */
  extraPuts: number;
}

/** PUTs per resource in an ARM log (since index `from`). */
export function countWrites(log: readonly RequestLogEntry[], from = 0): WriteCounts {
  const puts = new Map<string, string[]>();
  for (const e of log.slice(from)) {
    if (e.method !== 'PUT') continue;
    const p = e.path.toLowerCase();
    const list = puts.get(p) ?? [];
    list.push(JSON.stringify(e.body));
    puts.set(p, list);
  }
  const kinds = { identities: /\/userassignedidentities\/[^/]+$/, roleAssignments: /\/roleassignments\/[^/]+$/, federatedCredentials: /\/federatedidentitycredentials\/[^/]+$/ };
  const count = (re: RegExp): number => [...puts.keys()].filter((p) => re.test(p)).length;
  let repeatedWrites = 0;
  let extraPuts = 0;
  for (const bodies of puts.values()) {
    extraPuts += bodies.length - 1;
    if (new Set(bodies).size < bodies.length) repeatedWrites += 1;
  }
  return { identities: count(kinds.identities), roleAssignments: count(kinds.roleAssignments), federatedCredentials: count(kinds.federatedCredentials), repeatedWrites, extraPuts };
}
