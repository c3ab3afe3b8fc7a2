/**
 * Provisioning under Azure's real waits, injected into the world: a new identity's replication (D) and a new
 * federated credential's propagation (F). The waits overlap instead of adding up, the exchange that succeeds comes
 * soon after Entra accepts the credential, and the running steps say what they are waiting for.
 */
import type { ProgressEvent, ProgressSink } from '../../../src/domain/ports';
import { provisionGrant } from '../../../src/provision';
import { WAITING_FOR_CREDENTIAL, WAITING_FOR_IDENTITY } from '../../../src/provision/verify';
import { startHarness, worldFor, type Harness } from './harness';

const D = 2000;
const F = 3500;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ arm: { throttle: false } });
});
afterAll(async () => h?.close());
afterEach(() => {
  h.world.arm.controls.reset();
  h.world.setDelays({ principalReplicationMs: 0, credentialPropagationMs: 0 });
});

function collector(): { sink: ProgressSink; events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return { events, sink: { progress: async (_r, e) => void events.push(e), finished: async () => {} } };
}

test('with D and F injected the grant succeeds; the exchange polls through both waits, says which one it is in, and lands soon after F', async () => {
  h.world.setDelays({ principalReplicationMs: D, credentialPropagationMs: F });
  const request = await h.approvedGrant('propagating');
  const { sink, events } = collector();
  const resources = await provisionGrant(request, h.deps({ progress: sink, verify: { enabled: true, timeoutMs: 20_000 } }));
  expect(resources.verified).toBe(true);

  const w = worldFor(h.world, request);
  expect(w.roleAssignments).toHaveLength(1);
  // principalType ServicePrincipal is sent, so the role assignment never waited for the replication
  expect(h.world.arm.controls.requests({ method: 'PUT', path: '/roleAssignments/' })).toHaveLength(1);

  const notes = events.filter((e) => e.step === 'verify' && e.outcome === 'running' && e.detail).map((e) => e.detail);
  expect(notes).toEqual([WAITING_FOR_IDENTITY, WAITING_FOR_CREDENTIAL]);
  const stored = await h.store.get(request.id);
  const verify = stored?.steps.find((s) => s.step === 'verify');
  expect(verify?.outcome).toBe('done');

  // the credential became acceptable at ficCreated + F; the exchange that succeeded came at most a poll later
  const ficCreated = w.federatedCredentials[0]!.createdAt;
  const lastExchange = h.world.entra.issued.filter((t) => t.via === 'client_assertion' && t.clientId === w.identity!.clientId).at(-1)!;
  expect(lastExchange.at - (ficCreated + F)).toBeGreaterThanOrEqual(0);
  expect(lastExchange.at - (ficCreated + F)).toBeLessThan(600);
  // the waits overlap: the credential (whose propagation is the longer wait) was written before the identity replicated
  expect(ficCreated).toBeLessThan(w.identity!.createdAt + D);
});

test('a role assignment waiting out PrincipalNotFound does not hold back the credential, the ServiceAccount or the exchange, and says so', async () => {
  h.world.arm.controls.failNext(10_000, { method: 'PUT', path: '/roleAssignments/', status: 400, code: 'PrincipalNotFound', message: 'Principal does not exist in the directory.' });
  const clear = setTimeout(() => h.world.arm.controls.reset(), 1500);
  try {
    const request = await h.approvedGrant('assignment-waits');
    const { sink, events } = collector();
    const resources = await provisionGrant(request, h.deps({ progress: sink }));
    expect(resources).toMatchObject({ verified: true, roleAssignmentId: expect.stringContaining('/roleAssignments/') });
    const stored = await h.store.get(request.id);
    const ended = (step: string): number => Date.parse(stored!.steps.find((s) => s.step === step)!.endedAt!);
    expect(ended('verify')).toBeLessThan(ended('roleAssignment'));
    expect(events.some((e) => e.step === 'roleAssignment' && e.outcome === 'running' && e.detail === WAITING_FOR_IDENTITY)).toBe(true);
  } finally {
    clearTimeout(clear);
  }
});
