/**
 * Blue/green: one identity trusts each cluster's issuer. The world runs blue, green (each its own Kubernetes API
 * and OIDC issuer over HTTPS) and red (no OIDC issuer); wid-bot's worker and web side pick each cluster's API.
 */
import { ACTION } from '../../src/slack/ids';
import { ANNOTATION_CLIENT_ID } from '../../src/domain/types';
import { validateBlocks } from '../emulators/slack/blocks';
import { WORLD } from '../emulators/world';
import { commandAnswers, requestIdIn, startHarness, type Harness } from './harness';

const { requester: ALICE, approver: BOB } = WORLD.users;
const SUBJECT = 'system:serviceaccount:finance:checkout';

describe('one identity on two clusters: /wid federate and per-cluster revoke', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      worker: true,
      migrate: true,
      world: { extraClusters: [{ name: 'green', aksName: 'aks-green' }, { name: 'red', aksName: 'aks-red', oidcIssuerEnabled: false }] },
    });
    answerTo = commandAnswers(h, ALICE);
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Sends the command as Alice and returns the first answer she gets to it (not an earlier one). */
  let answerTo: (text: string, timeoutMs?: number) => Promise<string>;

  /** Sends the command, waits for the confirmation, approves, waits for the end. */
  async function requestAndApprove(text: string): Promise<string> {
    const confirmation = await answerTo(text);
    expect(confirmation).toContain('waiting for approval');
    const id = requestIdIn(confirmation) as string;
    expect(id).toBeDefined();
    await h.click(BOB, ACTION.approve, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 40_000);
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('succeeded');
    return id;
  }

  async function refusal(text: string, match: RegExp): Promise<string> {
    const answer = await answerTo(text);
    expect(answer).toMatch(match);
    return answer;
  }

  test('a grant on green lands on green’s API only', async () => {
    const id = await requestAndApprove('request finance green-only Key Vault Secrets User --cluster green');
    const r = await h.store.get(id);
    const identity = h.world.arm.state.identities().find((i) => i.name === r?.plan.identity.name);
    expect(h.world.kubes.green?.getServiceAccount('finance', 'green-only')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);
    expect(h.world.kube.getServiceAccount('finance', 'green-only')).toBeUndefined();
    expect(h.world.arm.state.federatedCredentials().find((f) => f.subject === 'system:serviceaccount:finance:green-only')?.issuer).toBe(h.world.kubes.green?.issuerUrl);
    expect(r?.resources.verified).toBe(true);
  }, 60_000);

  test('federate: the blue identity also trusts green, verified with green’s token; revoke on green keeps blue working', async () => {
    const grantId = await requestAndApprove('request finance checkout Key Vault Secrets User --reason payments');
    const grant = await h.store.get(grantId);
    const identity = h.world.arm.state.identities().find((i) => i.name === grant?.plan.identity.name);
    expect(identity).toBeDefined();

    // the plan shown to the approver: the same identity, green's issuer, the ServiceAccount on green, no new role
    const started = h.world.slack.mark();
    const confirmation = await answerTo('federate finance checkout --cluster green --reason blue/green cut-over');
    expect(confirmation).toContain('waiting for approval');
    const id = requestIdIn(confirmation) as string;
    const pending = await h.store.get(id);
    expect(pending?.kind).toBe('federate');
    expect(pending?.plan.identity.name).toBe(grant?.plan.identity.name);
    expect(pending?.plan.federatedCredential.issuer).toBe(h.world.kubes.green?.issuerUrl);
    const approval = h.approvalMessage(id);
    const shown = JSON.stringify(approval.blocks);
    for (const part of ['Federate another cluster', grant?.plan.identity.name as string, h.world.kubes.green?.issuerUrl as string, SUBJECT, 'no new role assignment', '1 of 20 credentials', 'blue/green cut-over']) expect(shown).toContain(part);
    expect(validateBlocks(approval.blocks, 'message')).toEqual([]);

    // only an approver approves; the worker writes on green's API and verifies with green's token
    await h.click(BOB, ACTION.approve, id);
    const done = await h.waitForRequest(id, (r) => r.state === 'succeeded' || r.state === 'failed', 40_000);
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('succeeded');
    expect(done.resources.verified).toBe(true);
    expect(done.resources.clientId).toBe(identity?.clientId);
    const creds = h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id);
    expect(creds.map((f) => f.issuer).sort()).toEqual([h.world.kube.issuerUrl, h.world.kubes.green?.issuerUrl].sort());
    expect(h.world.kubes.green?.getServiceAccount('finance', 'checkout')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);
    expect(h.world.kube.getServiceAccount('finance', 'checkout')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);
    // one identity for both clusters, one role assignment
    expect(h.world.arm.state.identities().filter((i) => i.tags['wid-serviceaccount'] === 'checkout')).toHaveLength(1);
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(1);
    const final = await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === approval.ts && JSON.stringify(e.blocks).includes('Done'), 10_000, { since: started });
    expect(JSON.stringify(final.blocks)).toContain(identity?.clientId as string);
    // the requester's DM says it is ready
    await h.world.slack.waitFor((e) => e.kind === 'post' && (e.channel ?? '').startsWith('D') && (e.text ?? '').includes(`${id} is ready`), 10_000, { since: started });

    // asking again is refused: it already trusts green
    expect(await refusal('federate finance checkout --cluster green', /already trusts/)).toContain('/wid creds --cluster green');

    // /wid creds shows both clusters' credentials on the one identity
    await h.wid(ALICE, 'creds --cluster green --share');
    await h.world.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.requestsChannel && JSON.stringify(e.blocks ?? e.text).includes('wid-green-finance-checkout'), 15_000, { since: started });

    // revoke on green only: its credential and annotation go; the identity, its role and blue stay
    const revokeId = await requestAndApprove('revoke finance checkout --cluster green');
    const revoked = await h.store.get(revokeId);
    expect(revoked?.plan.federation?.sourceCluster).toBe('blue');
    expect(h.world.kubes.green?.getServiceAccount('finance', 'checkout')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeUndefined();
    const left = h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id);
    expect(left.map((f) => f.issuer)).toEqual([h.world.kube.issuerUrl]);
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeDefined();
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(1);
    expect(h.world.kube.getServiceAccount('finance', 'checkout')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);

    // federate green again, then revoke blue: green still uses the identity, so it and its role stay
    await requestAndApprove('federate finance checkout --cluster green');
    await requestAndApprove('revoke finance checkout --cluster blue');
    expect(h.world.kube.getServiceAccount('finance', 'checkout')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeUndefined();
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id).map((f) => f.issuer)).toEqual([h.world.kubes.green?.issuerUrl]);
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeDefined();
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(1);
    expect(h.world.kubes.green?.getServiceAccount('finance', 'checkout')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);
  }, 180_000);

  test('request --cluster blue,green: one identity, one role assignment, a credential and a ServiceAccount on each; revoke per cluster', async () => {
    const id = await requestAndApprove('request finance multi Key Vault Secrets User --cluster blue,green --reason both halves');
    const r = await h.store.get(id);
    expect(r?.plan.alsoClusters?.map((c) => c.cluster.name)).toEqual(['green']);
    expect(JSON.stringify(h.approvalMessage(id).blocks)).toContain(h.world.kubes.green?.issuerUrl as string);
    expect(validateBlocks(h.approvalMessage(id).blocks, 'message')).toEqual([]);
    // the finished message lists green's credential and ServiceAccount beside blue's resources
    const approvalTs = h.approvalMessage(id).ts;
    await h.world.slack.waitFor((e) => e.kind === 'update' && e.ts === approvalTs && JSON.stringify(e.blocks).includes('On green'), 10_000, { since: 0 });
    const identities = h.world.arm.state.identities().filter((i) => i.tags['wid-serviceaccount'] === 'multi');
    expect(identities).toHaveLength(1);
    const identity = identities[0];
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(1);
    const creds = h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id);
    expect(creds.map((f) => f.issuer).sort()).toEqual([h.world.kube.issuerUrl, h.world.kubes.green?.issuerUrl].sort());
    for (const k of [h.world.kube, h.world.kubes.green]) expect(k?.getServiceAccount('finance', 'multi')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);
    expect(r?.resources.verified).toBe(true);
    expect(r?.resources.clusters?.green?.verified).toBe(true);

    // /wid list names both clusters for the one identity
    const mark = h.world.slack.mark();
    await h.wid(ALICE, 'list finance --cluster green --share');
    const listed = await h.world.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.requestsChannel && JSON.stringify(e.blocks ?? e.text).includes('multi'), 15_000, { since: mark });
    expect(JSON.stringify(listed.blocks ?? listed.text)).toContain(identity?.name as string);

    // revoke on green: the green part goes, blue keeps the identity and its role
    const revokeId = await requestAndApprove('revoke finance multi --cluster green');
    expect((await h.store.get(revokeId))?.plan.federation?.sourceRequestId).toBe(id);
    expect(h.world.kubes.green?.getServiceAccount('finance', 'multi')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBeUndefined();
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id).map((f) => f.issuer)).toEqual([h.world.kube.issuerUrl]);
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(1);
    expect(h.world.kube.getServiceAccount('finance', 'multi')?.metadata.annotations?.[ANNOTATION_CLIENT_ID]).toBe(identity?.clientId);
    // a second revoke on green finds nothing; blue's revoke then removes everything wid-bot made
    expect(await refusal('revoke finance multi --cluster green', /nothing to revoke/)).toContain('green');
    await requestAndApprove('revoke finance multi --cluster blue');
    expect(h.world.arm.state.identities().find((i) => i.id === identity?.id)).toBeUndefined();
    expect(h.world.arm.state.roleAssignments().filter((a) => a.principalId === identity?.principalId)).toHaveLength(0);
  }, 180_000);

  test('bad input and edge cases are refused with what to do', async () => {
    expect(await refusal('request finance x Key Vault Secrets User --cluster blue,red', /"red" \(aks-red\) has no OIDC issuer/)).toContain('az aks update --resource-group rg-aks --name aks-red');
    expect(await refusal('request finance x Key Vault Secrets User --cluster blue,purple', /no cluster "purple"/)).toContain('Known clusters');
    expect(await refusal('federate finance checkout --cluster green,green', /names the cluster "green" twice/)).toContain('Usage: /wid federate');
    expect(await refusal('request finance checkout Key Vault Secrets User --cluster blue,blue', /names the cluster "blue" twice/)).toContain('--cluster blue,green');
    expect(await refusal('federate finance checkout --cluster purple', /no cluster "purple"/)).toContain('Known clusters: blue, green and red');
    expect(await refusal('federate finance checkout', /federate needs --cluster/)).toContain('Usage');
    expect(await refusal('federate finance nobody-yet --cluster green', /No identity serves finance\/nobody-yet/)).toContain('/wid request finance nobody-yet');
    expect(await refusal('federate finance green-only --cluster red', /has no OIDC issuer/)).toContain('az aks update --resource-group rg-aks --name aks-red --enable-oidc-issuer --enable-workload-identity');
  }, 60_000);

  test('an identity at 20 credentials is refused before anything is planned', async () => {
    await requestAndApprove('request finance crowded Key Vault Secrets User');
    const identity = h.world.arm.state.identities().find((i) => i.tags['wid-serviceaccount'] === 'crowded');
    expect(identity).toBeDefined();
    for (let i = 0; i < 19; i++) h.world.arm.state.seedFederatedCredential(identity?.id as string, { name: `other-${i}`, issuer: `https://issuer.example/${i}/`, subject: `system:serviceaccount:other:sa-${i}` });
    expect(h.world.arm.state.federatedCredentials().filter((f) => f.identityId === identity?.id)).toHaveLength(20);
    const text = await refusal('federate finance crowded --cluster green', /already has 20 federated credentials/);
    expect(text).toContain('az identity federated-credential delete');
    expect(h.world.kubes.green?.getServiceAccount('finance', 'crowded')).toBeUndefined();
  }, 60_000);
});
