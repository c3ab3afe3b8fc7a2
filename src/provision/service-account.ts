/**
 * Step 2c: the Kubernetes ServiceAccount. Created when missing; otherwise only wid-bot's two
 * annotations are merge-patched, so every other annotation, label and field stays as it is. A
 * ServiceAccount already bound to another identity is a conflict wid-bot never overwrites.
 */
import { TerminalError, WidError } from '../domain/errors';
import type { ServiceAccountInfo } from '../domain/ports';
import { ANNOTATION_CLIENT_ID, ANNOTATION_TENANT_ID } from '../domain/types';
import type { ProvisionRun } from './context';
import { done, type Step } from './step';
import { prefetchVerifyToken } from './verify';

/** The client id the ServiceAccount is bound to, if any (an empty annotation binds nothing). */
export function boundClientId(sa: ServiceAccountInfo | undefined): string | undefined {
  const v = sa?.annotations[ANNOTATION_CLIENT_ID];
  return v && v.trim() !== '' ? v.trim() : undefined;
}

export function serviceAccountConflict(run: ProvisionRun, sa: ServiceAccountInfo | undefined, clientId: string | undefined): TerminalError | undefined {
  const bound = boundClientId(sa);
  if (!bound || (clientId !== undefined && bound.toLowerCase() === clientId.toLowerCase())) return undefined;
  const { namespace, name } = run.request.plan.serviceAccount;
  const ours = clientId ? `the identity '${run.request.plan.identity.name}' (client id ${clientId})` : `a new identity '${run.request.plan.identity.name}'`;
  return new TerminalError(
    `Conflict: the ServiceAccount ${namespace}/${name} is already bound to another workload identity (annotation ${ANNOTATION_CLIENT_ID}: ${bound}); wid-bot would bind it to ${ours}. wid-bot never rebinds a ServiceAccount: remove the annotation if the old identity is no longer used, or request access for a different ServiceAccount.`,
    'ServiceAccountBoundElsewhere',
  );
}

function desiredAnnotations(run: ProvisionRun, clientId: string, tenantId: string): Record<string, string> {
  return { [ANNOTATION_CLIENT_ID]: clientId, ...(tenantId ? { [ANNOTATION_TENANT_ID]: tenantId } : {}) };
}

export const serviceAccountStep: Step = {
  name: 'serviceAccount',
  validate(run) {
    const e = serviceAccountConflict(run, run.preflight.serviceAccount, run.preflight.identity?.clientId);
    if (e) throw e;
  },
  async run(run) {
    const identity = run.identity;
    if (!identity) throw new TerminalError('The ServiceAccount step ran before the identity existed.', 'StepOrder');
    const { namespace, name } = run.request.plan.serviceAccount;
    const kube = run.deps.kube;
    const wanted = desiredAnnotations(run, identity.clientId, run.request.plan.tenantId ?? identity.tenantId);
    const ref = `${namespace}/${name}`;
    const record = async (): Promise<void> => {
      prefetchVerifyToken(run);
      await run.deps.recorder.recordResources(run.request.id, { serviceAccount: ref });
      run.resources.serviceAccount = ref;
    };
    const patchIfNeeded = async (sa: ServiceAccountInfo): Promise<string> => {
      const conflict = serviceAccountConflict(run, sa, identity.clientId);
      if (conflict) throw conflict;
      if (Object.entries(wanted).every(([k, v]) => sa.annotations[k] === v)) return 'already annotated';
      await kube.patchServiceAccountAnnotations(namespace, name, wanted);
      return 'annotated';
    };

    const existing = run.preflight.serviceAccount;
    if (existing) {
      const what = await patchIfNeeded(existing);
      await record();
      return done(what === 'already annotated' ? `${ref} already bound to client id ${identity.clientId}` : `${ref} annotated with client id ${identity.clientId}`);
    }
    try {
      await kube.createServiceAccount(namespace, name, wanted);
      await record();
      return done(`${ref} created with client id ${identity.clientId}`);
    } catch (e) {
      if (!(e instanceof WidError) || e.code !== 'AlreadyExists') throw e;
      // Created meanwhile by someone else: re-read and patch only our annotations.
      const now = await kube.getServiceAccount(namespace, name);
      if (!now) throw e;
      await patchIfNeeded(now);
      await record();
      return done(`${ref} annotated with client id ${identity.clientId}`);
    }
  },
};
