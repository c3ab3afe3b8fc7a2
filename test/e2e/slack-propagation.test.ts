/**
 * Under Azure's real waits (a new identity's replication, a new credential's propagation, injected into the world):
 * the request still ends provisioned and verified, and while it waits the approval message says what for instead
 * of looking stuck.
 */
import { ACTION } from '../../src/slack/ids';
import { WAITING_FOR_CREDENTIAL, WAITING_FOR_IDENTITY } from '../../src/provision/verify';
import { validateBlocks } from '../emulators/slack/blocks';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;
const D = 2000;
const F = 4500;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: true, world: { delays: { latencyMs: 20, principalReplicationMs: D, credentialPropagationMs: F } } });
});
afterAll(async () => h?.close());

test('approve → provisioned and verified through both waits; the approval message said what it was waiting for, then Done', async () => {
  await h.wid(ALICE, 'request finance slow-sa Key Vault Secrets User --reason waits for Entra');
  const id = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('waiting for approval'))) as string;
  const approval = h.approvalMessage(id);
  const approvedAt = Date.now();
  expect((await h.click(BOB, ACTION.approve, id)).status).toBe(200);
  const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 30_000);
  expect(done.failure).toBeUndefined();
  expect(done.state).toBe('succeeded');
  expect(done.resources.verified).toBe(true);
  // not before Entra accepted the credential
  expect(Date.now() - approvedAt).toBeGreaterThanOrEqual(F);

  await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === approval.ts && JSON.stringify(e.blocks).includes('Done'), 10_000);
  const versions = (h.world.slack.message(approval.channel, approval.ts)?.versions ?? []).map((v) => JSON.stringify(v.blocks));
  const identityWait = versions.findIndex((v) => v.includes(WAITING_FOR_IDENTITY));
  const credentialWait = versions.findIndex((v) => v.includes(WAITING_FOR_CREDENTIAL));
  expect(identityWait).toBeGreaterThanOrEqual(0);
  expect(credentialWait).toBeGreaterThan(identityWait);
  // the final message no longer claims to wait
  const last = versions.at(-1) as string;
  expect(last).not.toContain(WAITING_FOR_CREDENTIAL);
  expect(last).toContain('Done');
  for (const v of h.world.slack.message(approval.channel, approval.ts)?.versions ?? []) expect(validateBlocks(v.blocks, 'message')).toEqual([]);
}, 60_000);
