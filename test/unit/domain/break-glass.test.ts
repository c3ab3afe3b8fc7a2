/**
 * Break-glass in the domain: off unless the policy's role or namespace enables it, never for two-approver
 * roles unless the rule says so, the requester alone with a reason, the duration capped, the history marked.
 */
import { parsePolicy, PolicyError } from '../../../src/config/policy';
import { breakGlassDuration, breakGlassRule } from '../../../src/domain/break-glass';
import { applyAction, newRequest } from '../../../src/domain/lifecycle';
import type { WidRequest } from '../../../src/domain/types';
import { worldPolicyYaml } from '../../emulators/world';
import { testPlan } from '../../support/plans';

const alice = { id: 'U_ALICE' };
const T0 = new Date('2026-12-03T10:00:00.000Z');
const request = (o: { approvals?: 1 | 2; duration?: number; role?: string; ns?: string } = {}): WidRequest => {
  const r = newRequest({ id: 'wid-bgbgbgbgbg', plan: testPlan({ approvalsRequired: o.approvals ?? 1, ...(o.duration !== undefined ? { durationSeconds: o.duration } : {}) }), requester: alice, now: T0, policy: { requestTtlSeconds: 3600 } }).request;
  return { ...r, roleName: o.role ?? 'Key Vault Secrets User', namespace: o.ns ?? 'finance', ...(o.duration !== undefined ? { durationSeconds: o.duration } : {}) };
};

const withRule = (yaml: string) => parsePolicy(worldPolicyYaml({ breakGlass: yaml }), 'test');

describe('the policy', () => {
  test('off by default; on for a namespace or a role; the shorter cap wins', () => {
    const off = parsePolicy(worldPolicyYaml(), 'test');
    expect(breakGlassRule(off, request())).toBeUndefined();
    const ns = withRule('namespace: { maxDuration: 1h }');
    expect(breakGlassRule(ns, request())).toEqual({ maxDurationSeconds: 3600 });
    expect(breakGlassRule(ns, request({ ns: 'payments' }))).toBeUndefined();
    const both = withRule('namespace: { maxDuration: 1h }\nrole: { maxDuration: 30m }');
    expect(breakGlassRule(both, request())).toEqual({ maxDurationSeconds: 1800 });
  });

  test('never for two-approver roles unless the rule says so, never for revokes', () => {
    expect(breakGlassRule(withRule('namespace: { maxDuration: 1h }'), request({ approvals: 2 }))).toBeUndefined();
    expect(breakGlassRule(withRule('namespace: { maxDuration: 1h, twoApproverRoles: true }'), request({ approvals: 2 }))).toEqual({ maxDurationSeconds: 3600, twoApproverRoles: true });
    expect(breakGlassRule(withRule('namespace: { maxDuration: 1h }'), { ...request(), kind: 'revoke' })).toBeUndefined();
  });

  test('the shorter cap wins whichever rule it is on; a rule on one role is not another role\'s; roles and namespaces the policy lacks have none', () => {
    const nsShorter = withRule('namespace: { maxDuration: 30m }\nrole: { maxDuration: 2h }');
    expect(breakGlassRule(nsShorter, request())).toEqual({ maxDurationSeconds: 1800 });
    const roleOnly = withRule('role: { maxDuration: 1h }');
    expect(breakGlassRule(roleOnly, request())).toEqual({ maxDurationSeconds: 3600 });
    expect(breakGlassRule(roleOnly, request({ role: 'Storage Blob Data Reader' }))).toBeUndefined();
    expect(breakGlassRule(roleOnly, request({ role: 'key vault secrets user' }))).toEqual({ maxDurationSeconds: 3600 });
    expect(breakGlassRule(roleOnly, request({ role: 'No Such Role' }))).toBeUndefined();
    expect(breakGlassRule(withRule('namespace: { maxDuration: 1h }'), request({ ns: 'no-such-namespace' }))).toBeUndefined();
  });

  test('a bad rule is named with its field', () => {
    try {
      withRule('namespace: { maxDuration: soon }');
      throw new Error('expected a policy error');
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      expect(JSON.stringify((e as PolicyError).problems)).toContain('namespaces[0].breakGlass.maxDuration');
    }
  });

  test('the duration is what was asked, at most the cap', () => {
    expect(breakGlassDuration(undefined, { maxDurationSeconds: 3600 })).toBe(3600);
    expect(breakGlassDuration(600, { maxDurationSeconds: 3600 })).toBe(600);
    expect(breakGlassDuration(7200, { maxDurationSeconds: 3600 })).toBe(3600);
  });
});

describe('the transition', () => {
  const rule = { maxDurationSeconds: 3600 };
  const at = new Date(T0.getTime() + 1000);

  test('the requester with a reason: approved, capped, marked in the history', () => {
    const r = applyAction(request({ duration: 8 * 3600 }), { type: 'breakGlass', actor: alice, reason: ' prod is down ', rule }, at);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.request.state).toBe('approved');
    expect(r.value.request.durationSeconds).toBe(3600);
    expect(r.value.request.plan.durationSeconds).toBe(3600);
    expect(r.value.request.approvals.map((a) => a.actor.id)).toEqual([alice.id]);
    expect(r.value.request.breakGlass).toMatchObject({ reason: 'prod is down', maxDurationSeconds: 3600 });
    expect(r.value.event).toMatchObject({ from: 'pending', to: 'approved', reason: 'break-glass: prod is down' });
  });

  test('refused without the rule, for anyone but the requester, without a reason, once not pending', () => {
    const code = (x: ReturnType<typeof applyAction>) => (x.ok ? 'ok' : x.error.code);
    expect(code(applyAction(request(), { type: 'breakGlass', actor: alice, reason: 'x' }, at))).toBe('break-glass-off');
    expect(code(applyAction(request(), { type: 'breakGlass', actor: { id: 'U_BOB' }, reason: 'x', rule }, at))).toBe('not-the-requester');
    expect(code(applyAction(request(), { type: 'breakGlass', actor: alice, reason: '  ', rule }, at))).toBe('reason-required');
    expect(code(applyAction({ ...request(), state: 'approved' }, { type: 'breakGlass', actor: alice, reason: 'x', rule }, at))).toBe('illegal-transition');
    expect(code(applyAction(request(), { type: 'breakGlass', actor: alice, reason: 'x', rule }, new Date(T0.getTime() + 3600_000)))).toBe('request-expired');
  });
});
