/**
 * The crash drill at every step boundary: a worker process SIGKILLs itself right after each step,
 * another worker takes the stalled job over, and the request still succeeds with exactly one of each
 * resource. Slow (a process start per case), so it runs with the chaos suite.
 */
import { ANNOTATION_CLIENT_ID, type StepName } from '../../src/domain/types';
import type { WidQueues } from '../../src/queue';
import { crashAfterStepAndRecover, queuesFor, startHarness, worldFor, type Harness } from '../integration/provision/harness';

jest.setTimeout(60_000);

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

test.each(STEPS)('killed right after %s → a new worker finishes it with exactly one of each resource', async (step) => {
  const { request, signal } = await crashAfterStepAndRecover(h, queues, step, `crash-${step.toLowerCase()}`);
  expect(signal).toBe('SIGKILL');
  expect(request.state).toBe('succeeded');
  const w = worldFor(h.world, request);
  expect([w.identities.length, w.roleAssignments.length, w.federatedCredentials.length]).toEqual([1, 1, 1]);
  expect(w.annotations[ANNOTATION_CLIENT_ID]).toBe(w.identity!.clientId);
  expect(request.resources).toMatchObject({ identityId: w.identity!.id, clientId: w.identity!.clientId, verified: true });
  expect(request.steps.map((s) => s.outcome)).toEqual(['done', 'done', 'done', 'done', 'done']);
});
