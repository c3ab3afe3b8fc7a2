/**
 * Permanent failures (403 on role-assignment writes, the 20-credential limit) through Slack, the queue
 * and the worker: the request fails, and the approval message's final version lists exactly what
 * exists (with its id) and what does not, as the emulators hold it.
 */
import { ACTION } from '../../src/slack/ids';
import { TAG_MANAGED_BY, TAG_MANAGED_BY_VALUE, type WidRequest } from '../../src/domain/types';
import { WORLD } from '../emulators/world';
import { requestIdIn, startHarness, type Harness } from '../e2e/harness';
import { report, sleep } from './support';

const { requester: ALICE, approver: BOB } = WORLD.users;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ worker: true, world: { slack: { rateLimits: false }, arm: { throttle: false } } });
});
afterAll(async () => {
  await h?.close();
});

async function request(sa: string): Promise<WidRequest> {
  const before = h.world.slack.ephemerals(ALICE).length;
  await h.wid(ALICE, `request finance ${sa} Key Vault Secrets User --reason permanent failure drill`);
  for (let i = 0; i < 400; i++) {
    const hit = h.world.slack.ephemerals(ALICE).slice(before).map((e) => `${e.text} ${JSON.stringify(e.blocks)}`).find((t) => requestIdIn(t));
    if (hit) return (await h.store.get(requestIdIn(hit) as string)) as WidRequest;
    await sleep(25);
  }
  throw new Error(`no request for ${sa}`);
}

/** The approval message's text as its latest version shows it, once it shows the failure. */
async function finalMessage(id: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const m = h.approvalMessage(id);
    const text = JSON.stringify(m.blocks ?? []).replace(/\\n/g, '\n');
    if (text.includes('*Failed')) return text;
    await sleep(50);
  }
  throw new Error(`the approval message of ${id} never showed the failure`);
}

interface Truth {
  what: string;
  exists: boolean;
  id?: string;
  missingLabel: string;
}

/** What the world holds for the request, with the ids a message must show. */
function truth(r: WidRequest): Truth[] {
  const plan = r.plan;
  const identity = h.world.arm.state.identities().find((i) => i.name === plan.identity.name);
  const assignment = identity ? h.world.arm.state.roleAssignments().find((a) => a.principalId === identity.principalId) : undefined;
  const fic = identity?.federatedCredentials.find((f) => f.name === plan.federatedCredential.name);
  const sa = h.world.kube.getServiceAccount(plan.serviceAccount.namespace, plan.serviceAccount.name);
  return [
    { what: 'identity', exists: !!identity, ...(identity ? { id: identity.id } : {}), missingLabel: 'missing: identity' },
    { what: 'role assignment', exists: !!assignment, ...(assignment ? { id: assignment.id } : {}), missingLabel: "missing: role assignment 'Key Vault Secrets User'" },
    { what: 'federated credential', exists: !!fic, ...(fic ? { id: fic.id } : {}), missingLabel: `missing: federated credential '${plan.federatedCredential.name}'` },
    { what: 'ServiceAccount', exists: !!sa, id: `${plan.serviceAccount.namespace}/${plan.serviceAccount.name}`, missingLabel: `missing: ServiceAccount ${plan.serviceAccount.namespace}/${plan.serviceAccount.name}` },
  ];
}

/** The bullet lines under "What exists now" in the failed message. */
function existsSection(text: string): string {
  const at = text.indexOf('*What exists now*');
  expect(at).toBeGreaterThan(-1);
  const rest = text.slice(at);
  return rest.slice(0, rest.indexOf('"}'));
}

const BULLET: Record<string, string> = { identity: '• Identity:', 'role assignment': '• Role assignment:', 'federated credential': '• Federated credential:', ServiceAccount: '• ServiceAccount:' };

/**
 * "What exists now" names exactly the resources that exist, each with its id; what does not exist is
 * absent there, and named as missing in the failure's inventory when that text was not shortened.
 */
function checkMessage(label: string, text: string, facts: Truth[]): void {
  const section = existsSection(text);
  const shortened = text.includes('_(shortened)_');
  const shownAsExisting = (f: Truth) => section.includes(BULLET[f.what] as string) || text.includes(`exists: ${f.what}`);
  const right = facts.filter((f) =>
    f.exists ? text.includes(f.id as string) && shownAsExisting(f) : !shownAsExisting(f) && (shortened || text.includes(f.missingLabel)),
  );
  const explicitMissing = facts.filter((f) => !f.exists && text.includes(f.missingLabel)).length;
  report(
    `${label}: resources ${facts.length}, exist ${facts.filter((f) => f.exists).length} (${facts.filter((f) => f.exists).map((f) => f.what).join(', ') || 'none'}), listed correctly ${right.length}, missing named explicitly ${explicitMissing} of ${facts.filter((f) => !f.exists).length}${shortened ? ' (failure reason shortened)' : ''}`,
  );
  expect(right.map((f) => f.what)).toEqual(facts.map((f) => f.what));
}

test('403 on role-assignment writes: failed, and the message lists exactly what exists', async () => {
  h.world.arm.deny({ action: 'Microsoft.Authorization/roleAssignments/write' });
  try {
    const r = await request('perm-403');
    await h.click(BOB, ACTION.approve, r.id);
    const failed = await h.waitForRequest(r.id, (x) => x.state === 'failed' || x.state === 'succeeded', 30_000);
    expect(failed.state).toBe('failed');
    expect(failed.failure).toMatchObject({ step: 'roleAssignment', retryable: false });
    const text = await finalMessage(r.id);
    if (process.env.WID_DEBUG) process.stderr.write(`${text}\n`);
    expect(text).toContain('roleAssignments/write');
    const facts = truth(r);
    expect(facts.find((f) => f.what === 'role assignment')?.exists).toBe(false);
    expect(facts.find((f) => f.what === 'identity')?.exists).toBe(true);
    checkMessage('403 on role assignments', text, facts);
    // the Retry button is offered, Approve is gone
    expect(text).toContain(ACTION.retry);
    expect(text).not.toContain(ACTION.approve);
  } finally {
    h.world.arm.clearDenies();
  }
});

test('the 20-credential limit: failed before any write, and the message lists exactly what exists', async () => {
  const r = await request('perm-limit');
  const seeded = h.world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: r.plan.identity.name, tags: { [TAG_MANAGED_BY]: TAG_MANAGED_BY_VALUE } });
  for (let i = 0; i < 20; i++) h.world.arm.state.seedFederatedCredential(seeded.id, { name: `other-${i}`, issuer: h.world.kube.issuerUrl, subject: `system:serviceaccount:finance:other-${i}` });
  const writesBefore = h.world.arm.controls.log.filter((e) => e.method !== 'GET').length;
  await h.click(BOB, ACTION.approve, r.id);
  const failed = await h.waitForRequest(r.id, (x) => x.state === 'failed' || x.state === 'succeeded', 30_000);
  expect(failed.state).toBe('failed');
  expect(failed.failure?.retryable).toBe(false);
  expect(failed.failure?.reason).toContain('already has 20 federated credentials');
  const writes = h.world.arm.controls.log.filter((e) => e.method !== 'GET').length - writesBefore;
  const text = await finalMessage(r.id);
  const facts = truth(r);
  report(`20-credential limit: credentials on the identity ${h.world.arm.state.getIdentityById(seeded.id)?.federatedCredentials.size}, azure writes ${writes}`);
  expect(writes).toBe(0);
  expect(h.world.arm.state.getIdentityById(seeded.id)?.federatedCredentials.size).toBe(20);
  checkMessage('20-credential limit', text, facts);
});
