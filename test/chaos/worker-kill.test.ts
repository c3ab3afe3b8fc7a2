/**
 * The worker SIGKILLed right after each step (identity, roleAssignment, federatedCredential,
 * serviceAccount, verify), then another worker takes the stalled job over: every request succeeds with
 * exactly one of each resource, and nothing is created twice (ARM 201s and Kubernetes creates counted).
 */
import type { StepName } from '../../src/domain/types';
import { ANNOTATION_CLIENT_ID } from '../../src/domain/types';
import type { WidQueues } from '../../src/queue';
import { crashAfterStepAndRecover, queuesFor, startHarness, worldFor, type Harness } from '../integration/provision/harness';
import { countCreations, report } from '../reliability/support';

let h: Harness;
let queues: WidQueues;

beforeAll(async () => {
  h = await startHarness({ arm: { throttle: false } });
  queues = await queuesFor(h);
});
afterAll(async () => {
  await queues?.close();
  await h?.close();
});

const STEPS: StepName[] = ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'];

test.each(STEPS)('SIGKILL right after %s, then a new worker: succeeded, one of each, nothing created twice', async (step) => {
  const sa = `kill-after-${step.toLowerCase()}`;
  const created = countCreations(h.world);
  const kubeCreates0 = h.world.kube.controls.requests({ method: 'POST', path: /\/serviceaccounts$/ }).length;
  try {
    const { request, signal } = await crashAfterStepAndRecover(h, queues, step, sa);
    const w = worldFor(h.world, request);
    const kubeCreates = h.world.kube.controls.requests({ method: 'POST', path: /\/serviceaccounts$/ }).length - kubeCreates0;
    const runs = request.steps.map((s) => `${s.step}:${s.outcome}`).join(' ');
    report(
      `kill after ${step}: signal ${signal}, state ${request.state}, identities ${w.identities.length} (created ${created.identities()}), role assignments ${w.roleAssignments.length} (created ${created.roleAssignments()}), FICs ${w.federatedCredentials.length}, ServiceAccounts ${w.serviceAccount ? 1 : 0} (created ${kubeCreates}); steps ${runs}`,
    );
    expect(signal).toBe('SIGKILL');
    expect(request.state).toBe('succeeded');
    expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
    expect(created.identities()).toBe(1);
    expect(created.roleAssignments()).toBe(1);
    expect(kubeCreates).toBe(1);
    expect(w.annotations[ANNOTATION_CLIENT_ID]).toBe(w.identity?.clientId);
    expect(request.resources.verified).toBe(true);
    expect(request.steps.map((s) => s.outcome)).toEqual(['done', 'done', 'done', 'done', 'done']);
    expect((await h.store.history(request.id)).filter((e) => e.to === 'succeeded')).toHaveLength(1);
  } finally {
    created.stop();
  }
}, 90_000);
