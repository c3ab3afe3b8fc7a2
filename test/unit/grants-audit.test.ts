/** The grants' audit findings and `wid grants`. */
import { assignmentDescription, type Grant } from '../../src/domain/grants';
import { auditGrants } from '../../src/grants/audit';
import { run } from '../../src/cli/grants';

const now = new Date('2026-11-30T12:00:00.000Z');
const grant = (id: string, endsAt: string | undefined, state: Grant['state'] = 'active'): Grant => ({
  id,
  clusterName: 'blue',
  namespace: 'finance',
  serviceAccount: 'api',
  roleName: 'Contributor',
  scope: '/subscriptions/s/resourcegroups/rg',
  requester: { id: 'UA' },
  approvers: ['UB'],
  approvedAt: '2026-11-30T00:00:00.000Z',
  startedAt: '2026-11-30T00:00:00.000Z',
  ...(endsAt ? { endsAt } : {}),
  expiry: 'bot',
  state,
  extensions: [],
  updatedAt: '2026-11-30T00:00:00.000Z',
});
const ra = (requestId: string, endsAt: string) => ({
  id: `/subscriptions/s/resourcegroups/rg/providers/Microsoft.Authorization/roleAssignments/${requestId}`,
  name: requestId,
  scope: '/subscriptions/s/resourcegroups/rg',
  roleDefinitionId: 'r',
  principalId: 'p',
  description: assignmentDescription(requestId, endsAt),
});

test('a grant past its end whose assignment still exists is an error with the az fix; one ending within a day is info', () => {
  const findings = auditGrants({
    open: [grant('soon', '2026-11-30T20:00:00.000Z'), grant('later', '2026-12-05T00:00:00.000Z'), grant('stuck', '2026-11-30T10:00:00.000Z', 'endFailed'), grant('extended', '2026-11-30T18:00:00.000Z')],
    assignments: [ra('lost', '2026-11-30T11:00:00.000Z'), ra('extended', '2026-11-30T11:00:00.000Z'), ra('future', '2026-12-01T00:00:00.000Z')],
    now,
  });
  const by = Object.fromEntries(findings.map((f) => [f.subject, f]));
  expect(by['grant/lost']).toMatchObject({ severity: 'error', code: 'grant-past-end' });
  expect(by['grant/lost']?.fix).toMatch(/az role assignment delete --ids \/subscriptions\/s\/.*\/lost/);
  expect(by['grant/stuck']).toMatchObject({ severity: 'error' });
  expect(by['grant/soon']).toMatchObject({ severity: 'info', code: 'grant-ending-soon' });
  expect(by['grant/extended']).toMatchObject({ severity: 'info' });
  expect(by['grant/later']).toBeUndefined();
  expect(by['grant/future']).toBeUndefined();
});

test('a break-glass grant still in place is a warning naming the requester, the reason and the way to end it', () => {
  const glass = { ...grant('glass', '2026-11-30T13:00:00.000Z'), breakGlass: { reason: 'payments down', at: '2026-11-30T11:00:00.000Z' } };
  const findings = auditGrants({ open: [glass, { ...grant('gone', undefined, 'ended'), breakGlass: { reason: 'x', at: '2026-11-30T10:00:00.000Z' } }], assignments: [], now });
  const marked = findings.filter((f) => f.code === 'grant-break-glass');
  expect(marked).toHaveLength(1);
  expect(marked[0]).toMatchObject({ severity: 'warning', subject: 'grant/glass' });
  expect(marked[0]?.message).toContain('UA under break-glass');
  expect(marked[0]?.message).toContain('payments down');
  expect(marked[0]?.fix).toContain('/wid revoke finance api');
  // it still gets its ending-soon note too
  expect(findings.some((f) => f.subject === 'grant/glass' && f.code === 'grant-ending-soon')).toBe(true);
});

test('wid grants prints a table or JSON, filtered by namespace, and says what it needs', async () => {
  const out: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t), env: {} };
  const open = async () => [grant('a', '2026-11-30T14:30:00.000Z'), { ...grant('b', undefined), namespace: 'payments' }];
  expect(await run([], io, { open, now: () => now })).toBe(0);
  expect(out[0]).toMatch(/^ID\s+SERVICEACCOUNT\s+ROLE/);
  expect(out[0]).toMatch(/a\s+finance\/api\s+Contributor.*2h 30m left/);
  out.length = 0;
  expect(await run(['--ns', 'payments', '--json'], io, { open })).toBe(0);
  expect(JSON.parse(out[0] as string).map((g: Grant) => g.id)).toEqual(['b']);
  await expect(run([], io)).rejects.toThrow(/set REDIS_URL/);
});

describe('assignments Azure\'s schedule holds (expiry: azure)', () => {
  const sa = { clusterName: 'blue', namespace: 'finance', serviceAccount: 'api' };
  const azureGrant = (id: string, endsAt: string, state: Grant['state'] = 'active'): Grant => ({ ...grant(id, endsAt, state), expiry: 'azure' });
  const sched = (id: string, endsAt: string, o: { serviceAccount?: typeof sa; roleName?: string; scope?: string } = { serviceAccount: sa, roleName: 'Contributor' }) => ({
    roleAssignmentId: `/subscriptions/s/resourcegroups/rg/providers/Microsoft.Authorization/roleAssignments/${id}`,
    scope: o.scope ?? '/subscriptions/s/resourceGroups/rg',
    endsAt,
    ...(o.roleName ? { roleName: o.roleName } : {}),
    ...(o.serviceAccount ? { serviceAccount: o.serviceAccount } : {}),
  });

  test('past its end and still listed: an error on the grant it stands for, once, with the az fix', () => {
    const findings = auditGrants({ open: [azureGrant('g1', '2026-11-30T11:00:00.000Z')], assignments: [], scheduled: [sched('a1', '2026-11-30T11:00:00.000Z')], now });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error', code: 'grant-past-end', subject: 'grant/g1' });
    expect(findings[0]?.message).toContain("Azure's own schedule for 'Contributor' on /subscriptions/s/resourceGroups/rg for finance/api on blue (grant g1) ended at 2026-11-30T11:00:00.000Z");
    expect(findings[0]?.fix).toContain('az role assignment delete --ids /subscriptions/s/resourcegroups/rg/providers/Microsoft.Authorization/roleAssignments/a1');
  });

  test('past its end with no grant in the store: an error on the schedule itself; exactly at the end counts as past', () => {
    const findings = auditGrants({ open: [], assignments: [], scheduled: [sched('a2', now.toISOString(), { serviceAccount: sa })], now });
    expect(findings.map((f) => [f.severity, f.subject])).toEqual([['error', 'schedule//subscriptions/s/resourcegroups/rg/providers/Microsoft.Authorization/roleAssignments/a2']]);
    expect(findings[0]?.message).toContain("'its role' on");
  });

  test('ending within a day: info only when no live grant of the store stands for it (the grant reports its own end)', () => {
    const soon = '2026-11-30T20:00:00.000Z';
    const alone = auditGrants({ open: [], assignments: [], scheduled: [sched('a3', soon)], now });
    expect(alone).toHaveLength(1);
    expect(alone[0]).toMatchObject({ severity: 'info', code: 'grant-ending-soon' });
    expect(alone[0]?.message).toContain(`at ${soon}`);
    const withGrant = auditGrants({ open: [azureGrant('g3', soon)], assignments: [], scheduled: [sched('a3', soon)], now });
    expect(withGrant.map((f) => f.subject)).toEqual(['grant/g3']);
    // exactly a day ahead is still within a day; a second more is not
    expect(auditGrants({ open: [], assignments: [], scheduled: [sched('a4', new Date(now.getTime() + 24 * 3600_000).toISOString())], now })).toHaveLength(1);
    expect(auditGrants({ open: [], assignments: [], scheduled: [sched('a5', new Date(now.getTime() + 24 * 3600_000 + 1000).toISOString())], now })).toEqual([]);
  });

  test('a schedule stands for the store\'s azure grants of the same ServiceAccount, scope (any case) and role only', () => {
    const soon = '2026-11-30T20:00:00.000Z';
    const count = (open: Grant[], o?: Parameters<typeof sched>[2]) => auditGrants({ open, assignments: [], scheduled: [sched('a6', soon, o)], now }).filter((f) => f.subject.startsWith('schedule/')).length;
    expect(count([azureGrant('g6', soon)], { serviceAccount: sa, roleName: 'contributor', scope: '/SUBSCRIPTIONS/s/resourcegroups/RG/' })).toBe(0);
    expect(count([{ ...azureGrant('g6', soon), expiry: 'bot' }])).toBe(1);
    expect(count([azureGrant('g6', soon)], { serviceAccount: { ...sa, serviceAccount: 'other' }, roleName: 'Contributor' })).toBe(1);
    expect(count([azureGrant('g6', soon)], { serviceAccount: sa, roleName: 'Reader' })).toBe(1);
    expect(count([azureGrant('g6', soon)], { serviceAccount: sa, roleName: 'Contributor', scope: '/subscriptions/s/resourceGroups/rg2' })).toBe(1);
    expect(count([azureGrant('g6', soon)], {})).toBe(1);
    expect(count([azureGrant('g6', soon, 'ended')])).toBe(1);
  });

  test('a schedule ending later than a day says nothing', () => {
    expect(auditGrants({ open: [], assignments: [], scheduled: [sched('a7', '2026-12-05T00:00:00.000Z')], now })).toEqual([]);
  });
});
