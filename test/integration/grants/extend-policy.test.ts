/**
 * A grant's extension re-checks the policy as it is now: a role the namespace may no longer have is not kept
 * longer by an Extend click, and the refusal names the rule.
 */
import { parsePolicy } from '../../../src/config/policy';
import { newGrant } from '../../../src/domain/grants';
import type { Policy, WidRequest } from '../../../src/domain/types';
import { GrantQueue } from '../../../src/grants/queue';
import { GrantService } from '../../../src/grants/service';
import { RedisGrantStore } from '../../../src/grants/store';
import { RedisRequestStore } from '../../../src/store';
import { storageScope, worldPolicyYaml, WORLD } from '../../emulators/world';
import { testRedisUrl, uniquePrefix } from '../../support/redis';
import { testPlan } from '../../support/plans';

const ROLE = 'Storage Blob Data Reader';
let store: RedisRequestStore;
let queue: GrantQueue;
let policy: Policy;
let service: GrantService;

beforeAll(async () => {
  const prefix = uniquePrefix('extend');
  store = await RedisRequestStore.connect(testRedisUrl(), { prefix });
  queue = new GrantQueue(store.redis, prefix);
  policy = parsePolicy(worldPolicyYaml(), 'world policy');
  const role = policy.roles.find((r) => r.name === ROLE);
  if (!role) throw new Error('no role');
  role.selfExtend = true;
  service = new GrantService({ grants: new RedisGrantStore(store.redis, store.keys), queue, policy, groupsOf: async () => [] });
});
afterAll(async () => {
  await queue.close();
  await store.close();
});

async function activeGrant(sa: string): Promise<string> {
  const now = new Date();
  const r: WidRequest = {
    id: `wid-${sa}`.slice(0, 14),
    kind: 'grant',
    state: 'provisioning',
    requester: { id: WORLD.users.requester },
    clusterName: WORLD.clusterName,
    namespace: 'finance',
    serviceAccount: sa,
    roleName: ROLE,
    scope: storageScope(),
    durationSeconds: 3600,
    plan: testPlan(),
    approvals: [{ actor: { id: WORLD.users.approver }, at: now.toISOString() }],
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 86_400_000).toISOString(),
    resources: {},
    steps: [],
  };
  const g = newGrant({ request: r, now, maxDurationSeconds: 7 * 86_400 });
  if (!g.ok) throw new Error(g.error.message);
  expect(await service.store.create(g.value)).toBe(true);
  return g.value.id;
}

test('Extend works while the policy allows the role, and is refused with the rule once the namespace lost it', async () => {
  const id = await activeGrant('ext-a');
  const before = (await service.store.get(id))?.grant.endsAt as string;
  const first = await service.extend(id, { id: WORLD.users.requester }, 600);
  expect(first.ok).toBe(true);
  const extended = (await service.store.get(id))?.grant.endsAt as string;
  expect(Date.parse(extended)).toBe(Date.parse(before) + 600_000);

  const finance = policy.namespaces.find((n) => n.name === 'finance');
  if (!finance) throw new Error('no finance');
  const roles = [...finance.roles];
  finance.roles = roles.filter((r) => r !== ROLE);
  try {
    const refused = await service.extend(id, { id: WORLD.users.requester }, 600);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.message).toContain('refuses the extension of finance/ext-a');
      expect(refused.message).toContain('rule: namespaces.finance.roles');
      expect(refused.message).toContain('The grant keeps its current end');
    }
    expect((await service.store.get(id))?.grant.endsAt).toBe(extended);
  } finally {
    finance.roles = roles;
  }
});

test('Extend is refused when the scope is no longer allowed for the role', async () => {
  const id = await activeGrant('ext-b');
  const role = policy.roles.find((r) => r.name === ROLE);
  if (!role) throw new Error('no role');
  const scopes = [...role.scopes];
  role.scopes = [`/subscriptions/${WORLD.subscriptionId}/resourceGroups/rg-elsewhere/providers/Microsoft.Storage/storageAccounts/*`];
  try {
    const refused = await service.extend(id, { id: WORLD.users.requester }, 600);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.message).toContain(`rule: roles[${ROLE}].scopes`);
  } finally {
    role.scopes = scopes;
  }
});
