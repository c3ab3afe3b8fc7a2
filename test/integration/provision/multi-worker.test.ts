/**
 * Scale-out: three worker processes share the queue, the Redis buckets and the world. Thirty grants from one
 * requester (a batch after the first five) each run once: one provisioning per request, and one PUT per
 * resource in ARM (identity, role assignment, federated credential) — nothing is written twice.
 */
import type { ChildProcess } from 'node:child_process';
import type { WidQueues } from '../../../src/queue';
import { WORLD, queuesFor, worldFor, startHarness, startWorkerChild, waitFor, type Harness } from './harness';

let h: Harness;
let queues: WidQueues;
const children: ChildProcess[] = [];

beforeAll(async () => {
  h = await startHarness();
  queues = await queuesFor(h);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await queues?.close();
  await h?.close();
});

test('30 grants over 3 worker processes: each provisioned once, each resource written once', async () => {
  // the product's lock timings (the crash tests shorten them): on a busy machine a 1 s queue lock lapses, and a
  // step interrupted by that is retried, which is recovery, not a second run
  for (let i = 0; i < 3; i++) children.push((await startWorkerChild(h, { WID_LOCK_MS: '30000', WID_LOCK_TTL_MS: '15000' })).child);
  h.world.arm.controls.setLatency(20);
  const grants = [];
  for (let i = 0; i < 30; i++) grants.push(await h.approvedGrant(`scale-${i}`));
  await Promise.all(grants.map((r) => queues.enqueueProvision(r.id, 'grant', { requester: WORLD.users.requester })));
  const finals = await Promise.all(
    grants.map((r) =>
      waitFor(
        `request ${r.id} to finish`,
        async () => {
          const s = await h.store.get(r.id);
          return s && (s.state === 'succeeded' || s.state === 'failed') ? s : undefined;
        },
        60_000,
      ),
    ),
  );
  expect(finals.map((r) => r.state)).toEqual(grants.map(() => 'succeeded'));
  for (const r of grants) expect((await h.store.history(r.id)).filter((e) => e.to === 'provisioning')).toHaveLength(1);

  const puts = new Map<string, number>();
  for (const e of h.world.arm.controls.log) {
    if (e.method !== 'PUT') continue;
    const p = e.path.toLowerCase();
    puts.set(p, (puts.get(p) ?? 0) + 1);
  }
  const of = (re: RegExp) => [...puts].filter(([p]) => re.test(p));
  const identities = of(/\/userassignedidentities\/[^/]+$/);
  const credentials = of(/\/federatedidentitycredentials\/[^/]+$/);
  const assignments = of(/\/roleassignments\/[^/]+$/);
  expect(identities).toHaveLength(30);
  expect(credentials).toHaveLength(30);
  expect(assignments).toHaveLength(30);
  for (const r of finals) {
    const w = worldFor(h.world, r);
    expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
  }
  expect([...identities, ...credentials, ...assignments].filter(([, n]) => n !== 1)).toEqual([]);
  expect(h.world.arm.stats().throttled).toBe(0);
}, 120_000);
