/**
 * Small parts of the Slack app: user-group membership caching, the request form reader, request ids,
 * the follow-up queue and start-up configuration checks.
 */
import type { WebClient } from '@slack/web-api';
import { FollowUps } from '../../../src/slack/follow-ups';
import { INPUT_ACTION, REQUEST_BLOCK } from '../../../src/slack/ids';
import { silentLogger } from '../../../src/slack/logger';
import { newRequestId, REQUEST_ID_PATTERN } from '../../../src/app/requests';
import { policyGroupIds, UserGroups } from '../../../src/slack/usergroups';
import { readRequestForm } from '../../../src/slack/views/request';
import { startWeb } from '../../../src/web';
import { policy } from './fixtures';

function groupsClient(members: Record<string, string[]>) {
  const calls: string[] = [];
  const client = {
    usergroups: {
      users: {
        list: async ({ usergroup }: { usergroup: string }) => {
          calls.push(usergroup);
          if (!members[usergroup]) throw new Error('no_such_subteam');
          return { ok: true, users: members[usergroup] };
        },
      },
    },
  } as unknown as WebClient;
  return { client, calls };
}

describe('UserGroups', () => {
  test('asks Slack once per group within the cache time, and again after it', async () => {
    let now = 0;
    const { client, calls } = groupsClient({ S1: ['U1', 'U2'], S2: ['U3'] });
    const groups = new UserGroups(client, () => ['S1', 'S2'], silentLogger, 60_000, () => now);
    expect(await groups.groupsOf('U1')).toEqual(['S1']);
    expect(await groups.groupsOf('U3')).toEqual(['S2']);
    expect(await Promise.all([groups.groupsOf('U2'), groups.groupsOf('U9')])).toEqual([['S1'], []]);
    expect(calls).toEqual(['S1', 'S2']);
    now = 60_001;
    await groups.groupsOf('U1');
    expect(calls).toEqual(['S1', 'S2', 'S1', 'S2']);
  });

  test('a group Slack cannot list counts as empty', async () => {
    const { client } = groupsClient({ S1: ['U1'] });
    const groups = new UserGroups(client, () => ['S1', 'SGONE'], silentLogger);
    expect(await groups.groupsOf('U1')).toEqual(['S1']);
  });

  test('the groups asked about are the ones the policy names', () => {
    expect(policyGroupIds(policy)).toEqual(['S0PLATFORM1']);
  });
});

describe('request form', () => {
  type FormValues = Parameters<typeof readRequestForm>[0];
  const values = (v: Partial<Record<keyof typeof REQUEST_BLOCK, string>>): FormValues =>
    Object.fromEntries(
      Object.entries(REQUEST_BLOCK).map(([k, block]) => {
        const value = v[k as keyof typeof REQUEST_BLOCK];
        const el = k === 'namespace' || k === 'role' ? { type: 'static_select', selected_option: value ? { value, text: { type: 'plain_text', text: value } } : null } : { type: 'plain_text_input', value: value ?? null };
        return [block, { [INPUT_ACTION]: el }];
      }),
    ) as FormValues;

  test('reads a complete form into a request command', () => {
    expect(readRequestForm(values({ namespace: 'finance', serviceAccount: ' sa ', role: 'Contributor', scope: '/subscriptions/x', duration: '1h30m', reason: 'why' }))).toEqual({
      ok: true,
      command: { verb: 'request', namespace: 'finance', serviceAccount: 'sa', roleName: 'Contributor', scope: '/subscriptions/x', durationSeconds: 5400, reason: 'why' },
    });
  });

  test('names every missing or malformed field by its block', () => {
    const r = readRequestForm(values({ duration: 'soon' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(Object.keys(r.errors).sort()).toEqual([REQUEST_BLOCK.duration, REQUEST_BLOCK.namespace, REQUEST_BLOCK.reason, REQUEST_BLOCK.role, REQUEST_BLOCK.serviceAccount].sort());
    expect(r.errors[REQUEST_BLOCK.duration]).toContain('not a duration');
  });
});

test('request ids are wid- and 10 base32 characters, and differ', () => {
  const ids = new Set(Array.from({ length: 1000 }, newRequestId));
  expect(ids.size).toBe(1000);
  for (const id of ids) expect(id).toMatch(REQUEST_ID_PATTERN);
});

test('follow-ups run a few at a time and all of them run', async () => {
  const f = new FollowUps(silentLogger, 2);
  let running = 0;
  let peak = 0;
  let done = 0;
  for (let i = 0; i < 10; i++) {
    f.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      done++;
      if (i === 3) throw new Error('one task failing does not stop the others');
    });
  }
  expect(f.pending).toBe(10);
  await f.idle();
  expect(done).toBe(10);
  expect(peak).toBe(2);
});

describe('startWeb configuration', () => {
  const base = { redisUrl: 'redis://127.0.0.1:1', policy, clusterFacts: async () => ({ name: 'blue', oidcIssuerEnabled: true, issuerUrl: 'x', workloadIdentityEnabled: true }) };
  test('HTTP mode needs the signing secret and Socket Mode the app token, before anything connects', async () => {
    await expect(startWeb({ ...base, slack: { mode: 'http', botToken: 'xoxb-1' } })).rejects.toThrow('signingSecret');
    await expect(startWeb({ ...base, slack: { mode: 'socket', botToken: 'xoxb-1' } })).rejects.toThrow('appToken');
  });
});
