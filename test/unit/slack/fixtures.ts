import { parsePolicy } from '../../../src/config/policy';
import { newRequest } from '../../../src/domain/lifecycle';
import { buildPlan } from '../../../src/domain/plan';
import { evaluateRequest } from '../../../src/domain/policy';
import type { TransitionEvent, WidRequest } from '../../../src/domain/types';
import { keyVaultScope, worldPolicyYaml, WORLD } from '../../emulators/world';

export const policy = parsePolicy(worldPolicyYaml(), 'world policy');

/** A valid 253-character ServiceAccount name (DNS subdomain: labels of at most 63). */
export const LONGEST_SA = [...Array(4)].map((_, i) => String.fromCharCode(97 + i).repeat(63)).join('.').slice(0, 253);

export function request(opts: { sa?: string; reason?: string; role?: string; scope?: string } = {}): WidRequest {
  const decision = evaluateRequest(policy, {
    requester: { id: WORLD.users.requester },
    requesterGroups: [],
    command: { verb: 'request', namespace: 'finance', serviceAccount: opts.sa ?? 'backend-sa', roleName: opts.role ?? 'Key Vault Secrets User', scope: opts.scope ?? keyVaultScope(), ...(opts.reason ? { reason: opts.reason } : {}) },
  });
  if (!decision.ok) throw new Error(decision.error.message);
  const plan = buildPlan({
    policy,
    decision: decision.value,
    clusterFacts: { name: 'blue', oidcIssuerEnabled: true, issuerUrl: 'https://oidc.example/abc/', workloadIdentityEnabled: true },
    requestId: 'wid-abcdefghij',
    requester: { id: WORLD.users.requester },
    kind: 'grant',
  });
  if (!plan.ok) throw new Error(plan.error.message);
  const { request: r } = newRequest({ id: 'wid-abcdefghij', plan: plan.value, requester: { id: WORLD.users.requester, name: 'alice' }, ...(opts.reason ? { reason: opts.reason } : {}), now: new Date('2026-01-01T10:00:00Z'), policy });
  return { ...r, slack: { channel: WORLD.approvalsChannel, ts: '1767261600.000100' } };
}

export function history(n: number, reasonLength = 300): TransitionEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    requestId: 'wid-abcdefghij',
    actor: { id: i % 2 ? WORLD.users.approver : 'system' },
    from: i === 0 ? null : 'pending',
    to: 'pending',
    reason: `step ${i} ${'r'.repeat(reasonLength)}`,
    at: new Date(Date.UTC(2026, 0, 1, 10, 0, i)).toISOString(),
  }));
}
