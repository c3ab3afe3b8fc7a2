/**
 * Counters the reliability and chaos suites share: what a request left behind in Redis, in the
 * queues and in the emulators, and one printed line per property with what was tried and counted.
 */
import type { World } from '../emulators/world';
import type { Harness } from '../e2e/harness';

/** One line on stdout that jest shows as it is: what the test tried and what it counted. */
export function report(line: string): void {
  process.stdout.write(`[reliability] ${line}\n`);
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** Every key under the harness prefix, sorted. */
export async function keysUnder(h: Pick<Harness, 'store' | 'prefix'>): Promise<string[]> {
  return (await h.store.redis.keys(`${h.prefix}:*`)).sort();
}

/** Keys that hold requests or their indexes: everything but delivery claims and BullMQ's own keys. */
export function storedKeys(keys: readonly string[], prefix: string): string[] {
  return keys.filter((k) => !k.startsWith(`${prefix}:delivery:`) && !k.startsWith(`${prefix}:q:`));
}

/** Writes (anything but GET) the emulators received, by service. */
export function worldWrites(world: World): { arm: number; kube: number } {
  const writes = (log: readonly { method: string }[]) => log.filter((e) => e.method !== 'GET' && e.method !== 'HEAD').length;
  return { arm: writes(world.arm.controls.log), kube: writes(world.kube.controls.log) };
}

/** Calls of any kind the emulators received. */
export function worldCalls(world: World): { arm: number; kube: number } {
  return { arm: world.arm.controls.log.length, kube: world.kube.controls.log.length };
}

/**
 * Counts resources created in ARM (the emulator's 201s): identities and role assignments by wrapping
 * the state's insert methods, federated credentials by watching each identity's credential map.
 */
export function countCreations(world: World): { identities: () => number; roleAssignments: () => number; stop: () => void } {
  const state = world.arm.state;
  let identities = 0;
  let roleAssignments = 0;
  const insertIdentity = state.insertIdentity.bind(state);
  const insertRoleAssignment = state.insertRoleAssignment.bind(state);
  state.insertIdentity = (rec) => {
    identities += 1;
    insertIdentity(rec);
  };
  state.insertRoleAssignment = (rec) => {
    roleAssignments += 1;
    insertRoleAssignment(rec);
  };
  return {
    identities: () => identities,
    roleAssignments: () => roleAssignments,
    stop: () => {
      state.insertIdentity = insertIdentity;
      state.insertRoleAssignment = insertRoleAssignment;
    },
  };
}

/** Every resource in the world for one ServiceAccount of namespace finance (or another). */
export function resourcesOf(world: World, serviceAccount: string, namespace = 'finance') {
  const subject = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const fics = world.arm.state.federatedCredentials().filter((f) => f.subject === subject);
  const identities = world.arm.state.identities().filter((i) => i.federatedCredentials.some((f) => f.subject === subject));
  const principals = new Set(identities.map((i) => i.principalId));
  const roleAssignments = world.arm.state.roleAssignments().filter((a) => principals.has(a.principalId));
  const sa = world.kube.getServiceAccount(namespace, serviceAccount);
  return { identities, fics, roleAssignments, serviceAccount: sa, serviceAccounts: sa ? 1 : 0 };
}

/** Counts the faults an emulator actually served (injected errors answered instead of the real thing). */
export function countFaults(controls: World['arm']['controls']): { served: () => number; stop: () => void } {
  let served = 0;
  const intercept = controls.intercept.bind(controls);
  controls.intercept = async (entry) => {
    const fault = await intercept(entry);
    if (fault) served += 1;
    return fault;
  };
  return { served: () => served, stop: () => void (controls.intercept = intercept) };
}
