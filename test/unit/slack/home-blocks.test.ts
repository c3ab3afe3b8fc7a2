/**
 * The App Home builders: whatever the lists hold (hundreds of grants, long names and reasons, any page number),
 * the view passes Slack's own checks (the emulator's validator), stays within 100 blocks, pages its lists, and
 * shows each persona only their parts.
 */
import fc from 'fast-check';
import type { Grant } from '../../../src/domain/grants';
import type { RequestState, WidRequest } from '../../../src/domain/types';
import { HOME_MAX_BLOCKS, homeView, PAGE_SIZE, paged, parsePageValue, type HomeData } from '../../../src/slack/home/blocks';
import { ACTION } from '../../../src/slack/ids';
import { validateHomeView } from '../../emulators/slack/blocks';
import { LONGEST_SA, request } from './fixtures';

const NOW = new Date('2026-12-03T12:00:00.000Z');
const base = request({ reason: 'x'.repeat(1400) });

function req(i: number, state: RequestState, sa = `sa-${i}`): WidRequest {
  return { ...base, id: `wid-${String(i).padStart(10, 'a').slice(-10)}`, state, serviceAccount: sa, ...(state === 'failed' ? { failure: { reason: 'boom '.repeat(400), step: 'roleAssignment', retryable: true } } : {}) };
}

function grant(i: number, sa = `sa-${i}`): Grant {
  return {
    id: `wid-g${String(i).padStart(9, '0')}`,
    clusterName: 'blue',
    namespace: 'finance',
    serviceAccount: sa,
    roleName: 'Storage Blob Data Reader',
    scope: '/subscriptions/s/resourcegroups/rg',
    requester: { id: 'U0ALICE001' },
    approvers: ['U0BOB00001'],
    approvedAt: NOW.toISOString(),
    startedAt: NOW.toISOString(),
    endsAt: new Date(NOW.getTime() + (i + 1) * 60_000).toISOString(),
    expiry: 'bot',
    state: i % 7 === 3 ? 'endFailed' : 'active',
    extensions: [],
    updatedAt: NOW.toISOString(),
  };
}

const data = (o: Partial<HomeData> = {}): HomeData => ({ userId: 'U0ALICE001', now: NOW, open: [], grants: [], recent: [], ...o });
const json = (x: unknown) => JSON.stringify(x);

test('a requester sees only their parts; Withdraw on pending requests, Retry on failures', () => {
  const failed = req(3, 'failed');
  const v = homeView(data({ open: [req(1, 'pending'), req(2, 'provisioning')], grants: [grant(1)], recent: [failed, req(4, 'denied')], retryable: [failed.id] }));
  expect(validateHomeView(v)).toEqual([]);
  const s = json(v);
  expect(s).toContain(ACTION.withdraw);
  expect(s.split(ACTION.withdraw)).toHaveLength(2); // the provisioning one cannot be withdrawn
  expect(s).toContain(ACTION.grantExtend);
  expect(s).toContain(ACTION.retry);
  expect(s).not.toContain('Waiting on me');
  expect(s).not.toContain('Operations');
  // Retry only where the viewer may retry
  const noRetry = json(homeView(data({ recent: [failed] })));
  expect(noRetry).not.toContain(ACTION.retry);
  expect(noRetry).toContain('An approver of the namespace can retry it');
});

test('approvers get what waits on them with the plan and Approve / Deny; operators their overview', () => {
  const v = homeView(
    data({
      waiting: [req(5, 'pending')],
      approvedLately: [req(6, 'succeeded')],
      operator: { clusters: [{ name: 'blue', ready: true, detail: 'OIDC issuer and workload identity on' }, { name: 'green', ready: false, detail: 'OIDC issuer off' }], queue: { waiting: 2, active: 1, failed: 3 }, endingToday: [grant(1)], lastAudit: { at: NOW.toISOString(), counts: { error: 1, warning: 4 } } },
    }),
  );
  expect(validateHomeView(v)).toEqual([]);
  const s = json(v);
  expect(s).toContain('Waiting on me (1)');
  expect(s).toContain(ACTION.approve);
  expect(s).toContain(ACTION.deny);
  expect(s).toContain('*Subject*');
  expect(s).toContain('I approved lately');
  expect(s).toContain('2 waiting · 1 active · 3 failed');
  expect(s).toContain(':x: not ready · OIDC issuer off');
  expect(s).toContain('1 error, 4 warning');
  expect(s).toContain('Grants ending today (1)');
});

test('paging: clamped pages, Previous / Next only where there is a page to go to', () => {
  const items = Array.from({ length: 500 }, (_, i) => i);
  const first = paged('grants', items, 0);
  expect(first.items).toEqual(items.slice(0, PAGE_SIZE.grants));
  expect(json(first.nav)).not.toContain(ACTION.homePageBack);
  const last = paged('grants', items, 10_000);
  expect(last.page).toBe(Math.ceil(500 / PAGE_SIZE.grants) - 1);
  expect(json(last.nav)).not.toContain(`"${ACTION.homePage}"`);
  expect(paged('grants', items.slice(0, 3), 5).nav).toBeUndefined();
  expect(paged('grants', items, -4).page).toBe(0);
  expect(parsePageValue('grants:3')).toEqual({ list: 'grants', page: 3 });
  expect(parsePageValue('grants:-1')).toBeUndefined();
  expect(parsePageValue('other:1')).toBeUndefined();
});

const STATES: RequestState[] = ['pending', 'approved', 'provisioning', 'succeeded', 'failed', 'denied', 'expired', 'cancelled'];

test('any home is a valid Home view of at most 100 blocks (fast-check)', () => {
  fc.assert(
    fc.property(
      fc.record({
        open: fc.integer({ min: 0, max: 60 }),
        grants: fc.integer({ min: 0, max: 600 }),
        recent: fc.integer({ min: 0, max: 40 }),
        waiting: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
        operator: fc.boolean(),
        clusters: fc.integer({ min: 0, max: 30 }),
        ending: fc.integer({ min: 0, max: 300 }),
        longNames: fc.boolean(),
        notice: fc.option(fc.string({ maxLength: 4000 }), { nil: undefined }),
        pages: fc.record({ open: fc.integer({ min: -3, max: 100 }), grants: fc.integer({ min: -3, max: 100 }), recent: fc.integer({ min: 0, max: 20 }), waiting: fc.integer({ min: 0, max: 60 }) }),
      }),
      (o) => {
        const sa = (i: number) => (o.longNames ? `${LONGEST_SA.slice(0, 240)}${i}` : `sa-${i}`);
        const d = data({
          open: Array.from({ length: o.open }, (_, i) => req(i, STATES[i % 3] as RequestState, sa(i))),
          grants: Array.from({ length: o.grants }, (_, i) => grant(i, sa(i))),
          recent: Array.from({ length: o.recent }, (_, i) => req(1000 + i, STATES[3 + (i % 5)] as RequestState, sa(i))),
          ...(o.waiting !== undefined ? { waiting: Array.from({ length: o.waiting }, (_, i) => req(2000 + i, 'pending', sa(i))), approvedLately: Array.from({ length: 12 }, (_, i) => req(3000 + i, 'succeeded', sa(i))) } : {}),
          ...(o.operator
            ? { operator: { clusters: Array.from({ length: o.clusters }, (_, i) => ({ name: `cluster-${i}`, ready: i % 2 === 0, detail: 'd'.repeat(300) })), queue: { waiting: 1, active: 2, failed: 3 }, endingToday: Array.from({ length: o.ending }, (_, i) => grant(i, sa(i))) } }
            : {}),
          ...(o.notice !== undefined ? { notice: o.notice } : {}),
          pages: o.pages,
        });
        const v = homeView(d);
        expect(v.blocks.length).toBeLessThanOrEqual(HOME_MAX_BLOCKS);
        expect(validateHomeView(v)).toEqual([]);
        // every block id is unique, as Slack requires
        const ids = v.blocks.map((b) => b.block_id).filter((x): x is string => x !== undefined);
        expect(new Set(ids).size).toBe(ids.length);
        if (o.grants > PAGE_SIZE.grants) expect(json(v)).toContain('nav:grants');
      },
    ),
    { numRuns: 150 },
  );
});
