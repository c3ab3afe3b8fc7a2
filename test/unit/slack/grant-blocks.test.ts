/**
 * Grant messages: the end shown in each reader's time zone (Slack's date token) with a countdown, the
 * honest note on issued tokens, Extend and I'm done on the reminder, and every builder within Slack's limits.
 */
import type { Grant } from '../../../src/domain/grants';
import { completeEnd } from '../../../src/domain/grants';
import { grantButtonValue, grantEndBlocks, grantEndedDm, grantEndFailedMessage, grantReminderDm, grantsListMessage, parseGrantButtonValue } from '../../../src/slack/blocks/grants';
import { ACTION } from '../../../src/slack/ids';
import { validateBlocks } from '../../emulators/slack/blocks';

const T0 = new Date('2026-11-30T08:00:00.000Z');
const g: Grant = {
  id: 'wid-aaaaaaaaaa',
  clusterName: 'blue',
  namespace: 'finance',
  serviceAccount: 'api',
  roleName: 'Contributor',
  scope: '/subscriptions/s/resourcegroups/rg',
  requester: { id: 'UALICE' },
  approvers: ['UBOB', 'UCAROL'],
  approvedAt: T0.toISOString(),
  startedAt: T0.toISOString(),
  endsAt: '2026-11-30T16:00:00.000Z',
  maxDurationSeconds: 8 * 3600,
  expiry: 'bot',
  state: 'active',
  extensions: [],
  updatedAt: T0.toISOString(),
};
const json = (x: unknown) => JSON.stringify(x);

test('the end is a Slack date token with an ISO fallback, a countdown, and the note on issued tokens', () => {
  const blocks = grantEndBlocks(g, new Date('2026-11-30T13:46:00.000Z'));
  const s = json(blocks);
  expect(s).toContain(`<!date^${Date.parse(g.endsAt as string) / 1000}^{date_short_pretty} {time}|2026-11-30T16:00:00.000Z>`);
  expect(s).toContain('2h 14m left');
  expect(s).toMatch(/up to about 24 h/);
  expect(validateBlocks(blocks, 'message')).toEqual([]);
  expect(grantEndBlocks({ ...g, endsAt: undefined } as unknown as Grant, T0)).toEqual([]);
});

test('the reminder carries Extend (naming the end it was shown with) and I\'m done', () => {
  const m = grantReminderDm(g, T0);
  expect(validateBlocks(m.blocks, 'message')).toEqual([]);
  const actions = (m.blocks ?? []).find((b) => b.type === 'actions') as { elements: { action_id: string; value: string }[] };
  expect(actions.elements.map((e) => e.action_id)).toEqual([ACTION.grantExtend, ACTION.grantDone]);
  expect(parseGrantButtonValue(actions.elements[0]?.value as string)).toEqual({ grantId: g.id, endsAt: g.endsAt });
  expect(parseGrantButtonValue(g.id)).toEqual({ grantId: g.id });
  expect(grantButtonValue(g)).toBe(`${g.id} ${Date.parse(g.endsAt as string)}`);
});

test('the end notice says by whom and why; the failure is loud and says what to do', () => {
  const ended = completeEnd({ ...g, state: 'ending', end: { reason: 'done', actor: { id: 'UALICE' }, requestedAt: T0.toISOString() } }, { now: T0, assignmentRemoved: true, notes: [] });
  const dm = grantEndedDm(ended);
  expect(json(dm.blocks)).toMatch(/<@UALICE>: the requester said they were done/);
  expect(json(dm.blocks)).toMatch(/role assignment was removed/);
  expect(validateBlocks(dm.blocks, 'message')).toEqual([]);
  const loud = grantEndFailedMessage(g, 'AuthorizationFailed: no permission to delete');
  expect(loud.text).toMatch(/^ALERT: grant wid-aaaaaaaaaa should have ended/);
  expect(json(loud.blocks)).toMatch(/remove the role assignment by hand/);
  expect(validateBlocks(loud.blocks, 'message')).toEqual([]);
});

test('/wid grants lists many grants within Slack\'s limits', () => {
  const many = Array.from({ length: 80 }, (_, i) => ({ ...g, id: `wid-${String(i).padStart(10, 'a')}`, serviceAccount: 'x'.repeat(200) }));
  const m = grantsListMessage(many, T0, 'finance');
  expect(validateBlocks(m.blocks, 'message')).toEqual([]);
  expect(json(m.blocks)).toMatch(/and \d+ more \(`wid grants --json` lists all\)/);
});
