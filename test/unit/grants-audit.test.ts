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
