/**
 * The runner owns order, parallelism and progress. It reads everything the steps need, checks every
 * step's preconditions before any step changes anything, then runs:
 *
 *   identity → (role assignment ∥ ((federated credential ∥ ServiceAccount) → verify))
 *
 * Each step's start and end is saved on the request and reported to the progress sink.
 */
import { TerminalError, WidError } from '../domain/errors';
import { roleDefinitionGuid, roleDefinitionResourceId } from '../domain/roles';
import type { ProgressEvent } from '../domain/ports';
import type { ClusterFacts, ProvisionedResources, StepName, StepOutcome, StepRecord, WidRequest } from '../domain/types';
import { identityRefOf, resolveLimits, type EngineDeps, type Preflight, type ProvisionRun } from './context';
import { federatedCredentialStep, releaseCredentialAhead, takeCredentialAhead } from './federated-credential';
import { identityStep } from './identity';
import { roleAssignmentStep } from './role-assignment';
import { serviceAccountStep } from './service-account';
import { done, StepError, type Step } from './step';
import { prefetchVerifyToken, verifyStep } from './verify';
import { scopeSubscription } from '../domain/scopes';

/** The grant's phases in dependency order (each step's checks, step-by-step replays); provisionGrant runs verify beside the role assignment. */
export const GRANT_PHASES: readonly (readonly Step[])[] = [[identityStep], [roleAssignmentStep, federatedCredentialStep, serviceAccountStep], [verifyStep]];

function toWidError(e: unknown): WidError {
  if (e instanceof WidError) return e;
  return new TerminalError(`Unexpected error: ${e instanceof Error ? e.message : String(e)}`, 'Unexpected');
}

/** The role definition id the plan names, or the one Azure finds by name at the scope. */
export async function resolveRoleDefinitionId(request: WidRequest, deps: Pick<EngineDeps, 'authorization'>): Promise<string> {
  const ra = request.plan.roleAssignment;
  const subscriptionId = scopeSubscription(ra.scope) ?? request.plan.identity.subscriptionId;
  const planned = ra.roleDefinitionId ? roleDefinitionGuid(ra.roleDefinitionId) : undefined;
  if (ra.roleDefinitionId?.includes('/')) return ra.roleDefinitionId;
  if (planned) return roleDefinitionResourceId(subscriptionId, planned);
  const found = await deps.authorization.findRoleDefinitionId(ra.scope, ra.roleName);
  if (!found) {
    throw new TerminalError(`The role '${ra.roleName}' does not exist at ${ra.scope}. Check the role's name (or give its roleDefinitionId) in the policy.`, 'RoleNotFound');
  }
  return found;
}

/**
 * Creates the planned ServiceAccount without annotations (they need the identity's client id); the
 * ServiceAccount step then only patches them in. Best effort: any failure is left to that step, which
 * creates, re-reads or reports as usual.
 */
async function createServiceAccountEarly(run: ProvisionRun): Promise<void> {
  const { namespace, name } = run.request.plan.serviceAccount;
  try {
    run.preflight.serviceAccount = await run.deps.kube.createServiceAccount(namespace, name, {});
  } catch (e) {
    if (!(e instanceof WidError) || e.code !== 'AlreadyExists') return;
    const now = await run.deps.kube.getServiceAccount(namespace, name).catch(() => undefined);
    if (!now) return;
    run.preflight.serviceAccount = now;
  }
  prefetchVerifyToken(run);
}

/**
 * The cluster still fits the frozen plan: OIDC issuer and workload identity on, and the issuer the one the plan
 * (and its approval) named. `what` names the plan ('request', 'migration', …), `askAgain` what to do instead.
 */
export function assertClusterAsPlanned(plan: WidRequest['plan'], facts: ClusterFacts, what: string, askAgain: string): void {
  const cluster = `${plan.cluster.name} (${plan.cluster.aksName})`;
  if (!facts.oidcIssuerEnabled || facts.issuerUrl === '') {
    throw new TerminalError(`The cluster ${cluster} no longer has an OIDC issuer, so Entra cannot trust its ServiceAccount tokens. Turn it on (az aks update --resource-group ${plan.cluster.resourceGroup} --name ${plan.cluster.aksName} --enable-oidc-issuer --enable-workload-identity) and retry.`, 'OidcIssuerOff');
  }
  if (!facts.workloadIdentityEnabled) {
    throw new TerminalError(`The cluster ${cluster} no longer runs the workload identity webhook, so pods would not get Azure tokens. Turn it on (az aks update --enable-workload-identity) and retry.`, 'WorkloadIdentityOff');
  }
  if (facts.issuerUrl !== plan.federatedCredential.issuer) {
    throw new TerminalError(
      `The cluster ${cluster} has a different OIDC issuer than when this ${what} was planned and approved: planned '${plan.federatedCredential.issuer}', the cluster now says '${facts.issuerUrl}' (the cluster was probably recreated). Nothing was changed; ${askAgain} so the plan and its approval name the new issuer.`,
      'IssuerChanged',
    );
  }
}

/**
 * The preflight of a plan that uses an identity as it is (a migration adopts one, a federation extends one):
 * the cluster, the identity, its credentials and the ServiceAccount, read; the identity must still exist.
 */
export async function existingIdentityPreflight(request: WidRequest, deps: EngineDeps, what: string, gone: { message: string; code: string }, check?: (identity: NonNullable<Preflight['identity']>) => void): Promise<Preflight> {
  const plan = request.plan;
  const ref = identityRefOf(request);
  const { namespace, name } = plan.serviceAccount;
  const [facts, identity, serviceAccount] = await Promise.all([
    deps.clusters.getClusterFacts({ name: plan.cluster.name, subscriptionId: plan.cluster.subscriptionId, resourceGroup: plan.cluster.resourceGroup, aksName: plan.cluster.aksName }),
    deps.identities.getIdentity(ref),
    deps.kube.getServiceAccount(namespace, name),
  ]);
  assertClusterAsPlanned(plan, facts, what, 'ask again');
  if (!identity) throw new TerminalError(gone.message, gone.code);
  check?.(identity);
  const federatedCredentials = await deps.identities.listFederatedCredentials(ref);
  return { identity, federatedCredentials, ...(serviceAccount ? { serviceAccount } : {}), roleDefinitionId: '' };
}

/**
 * The identity step of a plan that uses an existing identity: recorded on the request, never written
 * (identityCreatedByWid false, so no revoke ever deletes it).
 */
export function existingIdentityStep(gone: (resourceId: string) => { message: string; code: string }, describe: (run: ProvisionRun, identity: NonNullable<Preflight['identity']>) => string): Step {
  return {
    name: 'identity',
    async run(run) {
      const identity = run.preflight.identity;
      if (!identity) {
        const g = gone(run.request.plan.identity.resourceId);
        throw new TerminalError(g.message, g.code);
      }
      run.identity = identity;
      const patch = { identityId: identity.id, clientId: identity.clientId, principalId: identity.principalId, tenantId: identity.tenantId, identityCreatedByWid: false };
      await run.deps.recorder.recordResources(run.request.id, patch);
      Object.assign(run.resources, patch);
      return done(describe(run, identity));
    },
  };
}

/** Reads, never writes: the cluster, the identity and its credentials, the ServiceAccount, the role; the cluster checked against the plan. */
export async function grantPreflight(request: WidRequest, deps: EngineDeps): Promise<Preflight> {
  const { facts, preflight } = await readGrantPreflight(request, deps);
  assertClusterAsPlanned(request.plan, facts, 'request', 'make a new request');
  return preflight;
}

/** What a grant's preflight reads, before any check: the cluster's facts and what exists. */
export async function readGrantPreflight(request: WidRequest, deps: Pick<EngineDeps, 'identities' | 'authorization' | 'clusters' | 'kube'>): Promise<{ facts: ClusterFacts; preflight: Preflight }> {
  const plan = request.plan;
  const ref = identityRefOf(request);
  const { namespace, name } = plan.serviceAccount;
  // The credential list is read alongside the identity; it only counts when the identity exists.
  const credentials = deps.identities.listFederatedCredentials(ref).then(
    (list) => ({ list }),
    (error: unknown) => ({ error }),
  );
  const [facts, identity, serviceAccount, roleDefinitionId, ficRead] = await Promise.all([
    deps.clusters.getClusterFacts({ name: plan.cluster.name, subscriptionId: plan.cluster.subscriptionId, resourceGroup: plan.cluster.resourceGroup, aksName: plan.cluster.aksName }),
    deps.identities.getIdentity(ref),
    deps.kube.getServiceAccount(namespace, name),
    resolveRoleDefinitionId(request, deps),
    credentials,
  ]);
  let federatedCredentials;
  if (identity) {
    // Read before the identity existed (another run created it meanwhile): read again, now that it does.
    federatedCredentials = 'error' in ficRead ? await deps.identities.listFederatedCredentials(ref) : ficRead.list;
  }
  return { facts, preflight: { ...(identity ? { identity, federatedCredentials } : {}), ...(serviceAccount ? { serviceAccount } : {}), roleDefinitionId } };
}

function stamp(deps: EngineDeps): string {
  return (deps.now?.() ?? new Date()).toISOString();
}

/** Runs one step with its record, progress events and metrics; a failure is rethrown as a StepError. */
export async function runStep(run: ProvisionRun, step: Pick<Step, 'name' | 'run'>): Promise<void> {
  const { ended } = await workStep(run, step);
  await ended;
}

/**
 * Runs one step and resolves as soon as its work is done, with `ended`: its end record, progress event and metrics,
 * still under way (rejecting with a StepError). A failed step resolves only after its failure is recorded, and
 * rejects. Lets the steps that depend on this one start while its end is recorded.
 */
async function workStep(run: ProvisionRun, step: Pick<Step, 'name' | 'run'>, after: readonly Promise<void>[] = []): Promise<{ ended: Promise<void> }> {
  const { deps, request } = run;
  const startedAt = stamp(deps);
  const t0 = Date.now();
  // The start is recorded while the step already works (one Redis round trip less on the critical path); the end
  // is recorded only after it, so it always wins. A start that could not be recorded fails the step as before.
  const recordedStart = report(run, { step: step.name, outcome: 'running', startedAt }).then(
    () => undefined,
    (e: unknown) => toWidError(e),
  );
  let outcome: StepOutcome;
  let detail: string;
  let failure: WidError | undefined;
  let recordedResources: Promise<void> | undefined;
  try {
    const r = await step.run(run);
    outcome = r.outcome;
    detail = r.detail;
    if (r.resources) {
      // what the step made is saved on the request beside its dependents, before its end record
      recordedResources = run.deps.recorder.recordResources(request.id, r.resources);
      recordedResources.catch(() => {
        // awaited by the end record below
      });
    }
  } catch (e) {
    failure = toWidError(e);
    outcome = 'failed';
    detail = failure.message;
  }
  const startFailure = await recordedStart;
  if (startFailure) throw new StepError(step.name, startFailure);
  const ended = (async () => {
    // never recorded as ended before the steps it depends on, nor before what the step made
    await Promise.allSettled(after);
    try {
      await recordedResources;
      await report(run, { step: step.name, outcome, startedAt, endedAt: stamp(deps), detail });
    } catch (e) {
      throw new StepError(step.name, toWidError(e));
    }
    deps.logger?.[failure ? 'warn' : 'info']({ requestId: request.id, step: step.name, outcome, ms: Date.now() - t0, ...(failure ? { code: failure.code } : {}) }, detail);
    try {
      await deps.onStep?.(step.name, outcome, Date.now() - t0);
    } catch {
      // metrics must never change the outcome
    }
  })();
  if (failure) {
    await ended;
    throw failure instanceof StepError ? failure : new StepError(step.name, failure);
  }
  return { ended };
}

async function report(run: ProvisionRun, record: StepRecord): Promise<void> {
  await run.deps.recorder.recordStep(run.request.id, record);
  const i = run.request.steps.findIndex((s) => s.step === record.step);
  if (i >= 0) run.request.steps[i] = record;
  else run.request.steps.push(record);
  if (!run.deps.progress) return;
  const event: ProgressEvent = {
    requestId: run.request.id,
    step: record.step,
    outcome: record.outcome,
    at: record.endedAt ?? record.startedAt,
    ...(record.detail ? { detail: record.detail } : {}),
    resources: { ...run.resources },
  };
  try {
    await run.deps.progress.progress({ ...run.request, resources: { ...run.request.resources, ...run.resources } }, event);
  } catch (e) {
    run.deps.logger?.warn({ requestId: run.request.id, err: e instanceof Error ? e.message : String(e) }, 'progress delivery failed');
  }
}

/** Runs the steps of one phase together; when several fail, the terminal failure wins and the others are named too. */
export async function runPhase(run: ProvisionRun, steps: readonly Pick<Step, 'name' | 'run'>[]): Promise<void> {
  if (steps.length === 1 && steps[0]) return runStep(run, steps[0]);
  return settle(steps.map((s) => runStep(run, s)));
}

/** Waits for every branch; when several fail, the terminal failure wins and the others are named too. */
async function settle(branches: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(branches);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as StepError] : []));
  if (failures.length === 0) return;
  const first = failures.find((f) => f.kind === 'terminal') ?? (failures[0] as StepError);
  if (failures.length === 1) throw first;
  const others = failures.filter((f) => f !== first).map((f) => `${f.step}: ${f.message}`);
  throw new StepError(first.step, first.original, `${first.message} (Also failed: ${others.join(' | ')})`);
}

/**
 * A run of `phases` for a request: a working copy of it with its limits and preflight, once every step's
 * synchronous check has passed (a failing check throws before anything is written).
 */
export function startRun(request: WidRequest, deps: EngineDeps, preflight: Preflight, phases: readonly (readonly Step[])[]): ProvisionRun {
  const run: ProvisionRun = {
    request: { ...request, steps: [...request.steps] },
    deps,
    limits: resolveLimits(deps.limits),
    identityRef: identityRefOf(request),
    preflight,
    resources: { ...request.resources },
  };
  for (const phase of phases) for (const step of phase) step.validate?.(run);
  const told = new Map<StepName, string>();
  run.waiting = async (step, text) => {
    if (told.get(step) === text) return;
    told.set(step, text);
    const rec = run.request.steps.find((s) => s.step === step);
    await report(run, { step, outcome: 'running', startedAt: rec?.startedAt ?? stamp(deps), detail: text });
  };
  return run;
}

/**
 * Provisions a grant request: every precondition checked first (or by `opts.preflight`, the same reads started
 * earlier for the same plan), then the steps. Resolves with the resources;
 * rejects with a StepError (the failing step, the original kind and code) or a TerminalError from the checks.
 */
export async function provisionGrant(request: WidRequest, deps: EngineDeps, opts: { preflight?: Promise<Preflight> } = {}): Promise<ProvisionedResources> {
  if (request.kind !== 'grant' || request.plan.kind !== 'grant') {
    throw new TerminalError(`Request ${request.id} is a ${request.kind}, not a grant.`, 'WrongKind');
  }
  // A preflight the caller started while it was still taking the job (reads only, of this request's plan) counts.
  const preflight = await (opts.preflight ?? grantPreflight(request, deps));
  const run = startRun(request, deps, preflight, GRANT_PHASES);
  // An existing ServiceAccount can hand out its token now, off the critical path; a missing one is
  // created (still unannotated) beside the identity write, so its token is ready when the credential is.
  if (preflight.serviceAccount) prefetchVerifyToken(run);
  const early = preflight.serviceAccount || !deps.verify?.enabled ? undefined : createServiceAccountEarly(run);
  // Each step's dependents start once its work is done; its end is recorded beside them, and every end is recorded
  // before the run resolves (a record that fails still fails the run).
  const ends = new Map<StepName, Promise<void>>();
  const work = async (step: Step, after: readonly StepName[] = []): Promise<void> => {
    const { ended } = await workStep(
      run,
      step,
      after.flatMap((n) => ends.get(n) ?? []),
    );
    ended.catch(() => {
      // awaited below
    });
    ends.set(step.name, ended);
  };
  let failure: unknown;
  try {
    // A new identity's credential is written the moment the identity exists: its lock and write token are taken now.
    takeCredentialAhead(run);
    await work(identityStep);
    // The exchange needs the credential and the ServiceAccount, not the role: it starts as soon as they exist, so a
    // role assignment still waiting out PrincipalNotFound and Entra's propagation of the credential overlap. Only the
    // ServiceAccount step waits for the early creation of the ServiceAccount.
    await settle([
      work(roleAssignmentStep, ['identity']),
      settle([work(federatedCredentialStep, ['identity']), Promise.resolve(early).then(() => work(serviceAccountStep, ['identity']))]).then(() => work(verifyStep, ['federatedCredential', 'serviceAccount'])),
    ]);
  } catch (e) {
    failure = e;
  }
  await releaseCredentialAhead(run);
  const recorded = await Promise.allSettled(ends.values());
  if (failure !== undefined) throw failure;
  const lost = recorded.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (lost) throw lost.reason;
  return run.resources;
}
