/**
 * What exists right now for a request, read from Azure and Kubernetes: the "exact list" a failed
 * request shows so a person knows what wid-bot left behind and what a retry will still create.
 */
import { WidError } from '../domain/errors';
import { roleAssignmentName } from '../domain/names';
import { roleDefinitionGuid, roleDefinitionResourceId } from '../domain/roles';
import { ANNOTATION_CLIENT_ID, type WidRequest } from '../domain/types';
import { identityRefOf, type EngineDeps } from './context';
import { scopeSubscription } from '../domain/scopes';

export interface InventoryItem {
  what: 'identity' | 'roleAssignment' | 'federatedCredential' | 'serviceAccount';
  exists: boolean;
  /** ARM id, or namespace/name for the ServiceAccount. */
  id?: string;
  note?: string;
}

export interface Inventory {
  items: InventoryItem[];
  /** One line per resource, for people. */
  text: string;
}

async function attempt<T>(fn: () => Promise<T>): Promise<{ value: T } | { error: string }> {
  try {
    return { value: await fn() };
  } catch (e) {
    return { error: e instanceof WidError ? e.message : String(e) };
  }
}

/** Reads what exists for the request's plan; a read that fails is reported as unknown, never thrown. */
export async function readInventory(request: WidRequest, deps: Pick<EngineDeps, 'identities' | 'authorization' | 'kube'>): Promise<Inventory> {
  const plan = request.plan;
  const ref = identityRefOf(request);
  const items: InventoryItem[] = [];
  const lines: string[] = [];
  const identity = await attempt(() => deps.identities.getIdentity(ref));
  const principalId = 'value' in identity ? (identity.value?.principalId ?? request.resources.principalId) : request.resources.principalId;
  const clientId = 'value' in identity ? identity.value?.clientId : request.resources.clientId;

  if ('error' in identity) lines.push(`? identity ${plan.identity.resourceId}: could not be read (${identity.error})`);
  else if (identity.value) {
    items.push({ what: 'identity', exists: true, id: identity.value.id });
    lines.push(`exists: identity ${identity.value.id} (client id ${identity.value.clientId})`);
  } else {
    items.push({ what: 'identity', exists: false, id: plan.identity.resourceId });
    lines.push(`missing: identity ${plan.identity.resourceId}`);
  }

  const ra = plan.roleAssignment;
  const guid = ra.roleDefinitionId ? roleDefinitionGuid(ra.roleDefinitionId) : undefined;
  const subscriptionId = scopeSubscription(ra.scope) ?? plan.identity.subscriptionId;
  // The deterministic name when the plan knows the role's id; otherwise the name the grant recorded.
  const assignmentName = principalId && guid ? roleAssignmentName(ra.scope, principalId, roleDefinitionResourceId(subscriptionId, guid)) : request.resources.roleAssignmentId?.split('/').pop();
  const [assignment, credential, serviceAccount] = await Promise.all([
    // A migration writes no role assignment: there is none of wid-bot's to look for.
    assignmentName && !plan.migration ? attempt(() => deps.authorization.getRoleAssignment(ra.scope, assignmentName)) : Promise.resolve(undefined),
    'value' in identity && identity.value ? attempt(() => deps.identities.getFederatedCredential(ref, plan.federatedCredential.name)) : Promise.resolve(undefined),
    attempt(() => deps.kube.getServiceAccount(plan.serviceAccount.namespace, plan.serviceAccount.name)),
  ]);

  const raLabel = `role assignment '${ra.roleName}' on ${ra.scope}`;
  if (plan.migration) {
    lines.push(`unchanged: the adopted identity's own ${plan.migration.existingRoles.length} role assignment(s) (a migration writes none)`);
  } else if (assignment === undefined) {
    const known = request.resources.roleAssignmentId;
    items.push({ what: 'roleAssignment', exists: false, ...(known ? { id: known } : {}) });
    lines.push(principalId ? `missing: ${raLabel}${known ? ` (${known})` : ''}` : `missing: ${raLabel} (no identity to assign it to)`);
  } else if ('error' in assignment) lines.push(`? ${raLabel}: could not be read (${assignment.error})`);
  else if (assignment.value) {
    items.push({ what: 'roleAssignment', exists: true, id: assignment.value.id });
    lines.push(`exists: ${raLabel}: ${assignment.value.id}`);
  } else {
    items.push({ what: 'roleAssignment', exists: false });
    lines.push(`missing: ${raLabel}`);
  }

  const ficLabel = `federated credential '${plan.federatedCredential.name}'`;
  if (credential === undefined) {
    items.push({ what: 'federatedCredential', exists: false });
    lines.push(`missing: ${ficLabel}`);
  } else if ('error' in credential) lines.push(`? ${ficLabel}: could not be read (${credential.error})`);
  else if (credential.value) {
    items.push({ what: 'federatedCredential', exists: true, id: credential.value.id });
    lines.push(`exists: ${ficLabel}: ${credential.value.id} (subject ${credential.value.subject})`);
  } else {
    items.push({ what: 'federatedCredential', exists: false });
    lines.push(`missing: ${ficLabel}`);
  }

  const saRef = `${plan.serviceAccount.namespace}/${plan.serviceAccount.name}`;
  if ('error' in serviceAccount) lines.push(`? ServiceAccount ${saRef}: could not be read (${serviceAccount.error})`);
  else if (!serviceAccount.value) {
    items.push({ what: 'serviceAccount', exists: false, id: saRef });
    lines.push(`missing: ServiceAccount ${saRef}`);
  } else {
    const bound = serviceAccount.value.annotations[ANNOTATION_CLIENT_ID];
    const ours = bound !== undefined && clientId !== undefined && bound === clientId;
    const note = bound ? (ours ? `bound to client id ${bound}` : `bound to another client id ${bound}`) : 'not annotated';
    items.push({ what: 'serviceAccount', exists: true, id: saRef, note });
    lines.push(`exists: ServiceAccount ${saRef} (${note})`);
  }
  return { items, text: lines.join('\n') };
}
