/**
 * `/wid migrate` behind the Slack listeners and the CLI: reads the binding, its AzureIdentity, the identity
 * in Azure with the roles it holds, and hands them to the pure planner (src/domain/migrate.ts). Finish
 * removes the pod-identity objects once the pods moved. Reads and deletes go through the ports only.
 */
import { ok, refuse, WidError, type DomainRefusal, type Result } from '../domain/errors';
import type { MigrateCommand } from '../domain/grammar';
import {
  decideFinish, evaluateMigrate, inScopes, adoptableScopes, otherBindingsOf, parseUserAssignedIdentityId, planMigration,
  type ExistingRole, type MigrationFacts,
} from '../domain/migrate';
import type { AuthorizationPort, IdentityPort, KubePort, LegacyPodIdentity, ManagedIdentity } from '../domain/ports';
import { findBuiltInRole } from '../domain/roles';
import type { Actor, ClusterFacts, Plan, Policy, PolicyCluster, WidRequest } from '../domain/types';

/** The outside systems a migration reads (and Finish deletes from). */
export interface MigrationWorld {
  identities: IdentityPort;
  authorization: AuthorizationPort;
  /** The Kubernetes API of a policy cluster, by its name in the policy. */
  kube: (clusterName: string) => KubePort;
}

export interface MigrationDeps extends MigrationWorld {
  policy: Policy;
  clusterFacts: (cluster: PolicyCluster) => Promise<ClusterFacts>;
}

export type FinishOutcome =
  | { kind: 'finished'; message: string; removed: string[]; kept: string[]; addonOff: string }
  | { kind: 'refused'; message: string };

/** A WidError whose code says Azure refused the caller (403). */
function isForbidden(e: unknown): boolean {
  return e instanceof WidError && /AuthorizationFailed|Forbidden|LinkedAuthorizationFailed/i.test(e.code);
}

export class Migrations {
  constructor(private readonly deps: MigrationDeps) {}

  get policy(): Policy {
    return this.deps.policy;
  }

  /** Reads everything the planner needs for one binding; Azure's 403 becomes a refusal that says where wid-bot lacks access. */
  async readFacts(cluster: PolicyCluster, namespace: string, bindingName: string, serviceAccount: string | undefined): Promise<Result<MigrationFacts>> {
    const kube = this.deps.kube(cluster.name);
    const objects = await kube.listLegacyPodIdentities();
    const binding = objects.find((o) => o.kind === 'AzureIdentityBinding' && o.namespace === namespace && o.name === bindingName);
    const azureIdentity = binding?.azureIdentity ? objects.find((o) => o.kind === 'AzureIdentity' && o.namespace === namespace && o.name === binding.azureIdentity) : undefined;
    const facts: MigrationFacts = { ...(binding ? { binding } : {}), ...(azureIdentity ? { azureIdentity } : {}), roles: [], credentials: [] };
    const parsed = azureIdentity?.resourceId ? parseUserAssignedIdentityId(azureIdentity.resourceId) : undefined;
    // Nothing more to read when the planner refuses anyway (and never read outside the scopes the policy allows).
    if (!parsed || (azureIdentity?.identityType ?? 0) !== 0 || !inScopes(adoptableScopes(this.deps.policy), parsed)) return ok(facts);
    let identity: ManagedIdentity | undefined;
    try {
      identity = await this.deps.identities.getIdentity(parsed);
    } catch (e) {
      if (isForbidden(e)) return refuse('identity-not-readable', `wid-bot may not read the identity '${parsed.name}' in resource group ${parsed.resourceGroup} of subscription ${parsed.subscriptionId} (Azure answered 403: ${(e as WidError).message}). Give wid-bot's identity Managed Identity Contributor there to migrate it.`, 'binding');
      throw e;
    }
    if (!identity) return ok(facts);
    facts.identity = identity;
    const saName = serviceAccount ?? binding?.selector;
    const [credentials, roles, sa] = await Promise.all([
      this.deps.identities.listFederatedCredentials(parsed).catch((e: unknown) => {
        if (isForbidden(e)) return e as WidError;
        throw e;
      }),
      this.existingRoles(identity),
      saName ? kube.getServiceAccount(namespace, saName).catch(() => undefined) : Promise.resolve(undefined),
    ]);
    if (credentials instanceof WidError) {
      return refuse(
        'identity-not-writable',
        `wid-bot can see the identity '${identity.name}' but may not read or write its federated credentials (Azure answered 403: ${credentials.message}). Give wid-bot's identity Managed Identity Contributor on resource group ${identity.resourceGroup} of subscription ${identity.subscriptionId}, then ask again.`,
        'binding',
      );
    }
    facts.credentials = credentials;
    facts.roles = roles;
    if (sa) facts.serviceAccount = sa;
    return ok(facts);
  }

  /** Every role assignment of the identity, in its own subscription and every subscription the policy names, with role names. */
  async existingRoles(identity: ManagedIdentity): Promise<ExistingRole[]> {
    const p = this.deps.policy;
    const subs = new Set(
      [identity.subscriptionId, p.identities.subscriptionId, ...p.clusters.map((c) => c.subscriptionId), ...(p.identitySearchScopes ?? []).map((s) => s.subscriptionId)].map((s) => s.toLowerCase()),
    );
    const seen = new Map<string, ExistingRole>();
    for (const sub of subs) {
      let assignments;
      try {
        assignments = await this.deps.authorization.listRoleAssignments(`/subscriptions/${sub}`, identity.principalId);
      } catch (e) {
        // A subscription wid-bot may not read hides its assignments; the plan says the list may be incomplete.
        if (isForbidden(e)) continue;
        throw e;
      }
      for (const a of assignments) {
        if (a.principalId.toLowerCase() !== identity.principalId.toLowerCase()) continue;
        const key = a.id.toLowerCase();
        if (seen.has(key)) continue;
        const guid = a.roleDefinitionId.split('/').pop() ?? a.roleDefinitionId;
        const roleName = findBuiltInRole(guid)?.name ?? (await this.deps.authorization.getRoleDefinitionName(a.roleDefinitionId).catch(() => undefined)) ?? guid;
        seen.set(key, { roleName, roleDefinitionId: a.roleDefinitionId, scope: a.scope, assignmentId: a.id });
      }
    }
    return [...seen.values()];
  }

  /** The frozen migrate plan for the request `requestId`, or why not. */
  async plan(user: Actor, groups: readonly string[], command: MigrateCommand, requestId: string, opts: { skipRequesterCheck?: boolean } = {}): Promise<Result<Plan>> {
    const decision = evaluateMigrate(this.deps.policy, { requester: user, requesterGroups: groups, command, ...(opts.skipRequesterCheck ? { skipRequesterCheck: true } : {}) });
    if (!decision.ok) return decision;
    const { cluster, namespace } = decision.value;
    const [clusterFacts, facts] = await Promise.all([this.deps.clusterFacts(cluster), this.readFacts(cluster, namespace.name, command.binding, command.serviceAccount)]);
    if (!facts.ok) return facts;
    return planMigration({
      policy: this.deps.policy,
      cluster,
      namespace,
      bindingName: command.binding,
      ...(command.serviceAccount !== undefined ? { serviceAccount: command.serviceAccount } : {}),
      clusterFacts,
      facts: facts.value,
      requestId,
    });
  }

  /**
   * Finish a succeeded migration: refused with the pods that still use the binding; otherwise the binding
   * goes, its AzureIdentity too unless another binding names it, and the answer says whether the AKS
   * pod-identity add-on can be switched off. Running it again finds nothing left and says so.
   */
  async finish(user: Actor, groups: readonly string[], migration: WidRequest): Promise<FinishOutcome> {
    const m = migration.plan.migration;
    if (migration.kind !== 'migrate' || !m) return { kind: 'refused', message: `Request ${migration.id} is not a migration.` };
    const command: MigrateCommand = { verb: 'migrate', namespace: migration.namespace, binding: m.binding.name, cluster: migration.clusterName, finish: true };
    const decision = evaluateMigrate(this.deps.policy, { requester: user, requesterGroups: groups, command });
    if (!decision.ok) return { kind: 'refused', message: decision.error.message };
    if (migration.state !== 'succeeded') {
      return { kind: 'refused', message: `Migration ${migration.id} is ${migration.state}; Finish removes the pod-identity objects only after the migration succeeded and the pods moved.` };
    }
    const cluster = decision.value.cluster;
    const kube = this.deps.kube(cluster.name);
    const sa = migration.serviceAccount;
    const pods = await kube.listPods(migration.namespace);
    const verdict = decideFinish(pods, m, sa);
    const bindingRef = `${m.binding.namespace}/${m.binding.name}`;
    if (!verdict.ok) {
      return {
        kind: 'refused',
        message: `Not yet: ${verdict.waiting.length} running pod${verdict.waiting.length === 1 ? '' : 's'} still match the binding ${bindingRef} (label aadpodidbinding=${m.binding.selector}) without the new ServiceAccount:\n${verdict.waiting.map((w) => `• ${w}`).join('\n')}\nPoint their Deployment at serviceAccountName ${sa} with the label azure.workload.identity/use: "true", let the pods roll, then press Finish again.`,
      };
    }
    const removed: string[] = [];
    const kept: string[] = [];
    const before = await kube.listLegacyPodIdentities();
    const has = (kind: LegacyPodIdentity['kind'], ns: string, name: string) => before.some((o) => o.kind === kind && o.namespace === ns && o.name === name);
    if (has('AzureIdentityBinding', m.binding.namespace, m.binding.name)) {
      await kube.deleteLegacyPodIdentity('AzureIdentityBinding', m.binding.namespace, m.binding.name);
      removed.push(`AzureIdentityBinding ${bindingRef}`);
    }
    const aiRef = `${m.azureIdentity.namespace}/${m.azureIdentity.name}`;
    const others = otherBindingsOf(before, m.azureIdentity, m.binding.name);
    if (others.length > 0) {
      kept.push(`AzureIdentity ${aiRef} (still named by ${others.join(', ')})`);
    } else if (has('AzureIdentity', m.azureIdentity.namespace, m.azureIdentity.name)) {
      await kube.deleteLegacyPodIdentity('AzureIdentity', m.azureIdentity.namespace, m.azureIdentity.name);
      removed.push(`AzureIdentity ${aiRef}`);
    }
    const left = before.filter((o) => o.kind === 'AzureIdentityBinding' && !(o.namespace === m.binding.namespace && o.name === m.binding.name));
    let addonOff: string;
    if (left.length > 0) {
      addonOff = `${left.length} other AzureIdentityBinding${left.length === 1 ? '' : 's'} still on ${cluster.name} (${left.slice(0, 5).map((o) => `${o.namespace}/${o.name}`).join(', ')}${left.length > 5 ? ', …' : ''}): keep the pod-identity add-on until they are migrated too.`;
    } else {
      // The AKS add-on is switched off with az; aad-pod-identity installed by hand (Helm, manifests) is uninstalled the same way it came.
      const aksAddon = await this.deps.clusterFacts(cluster).then((f) => f.podIdentityEnabled === true, () => undefined);
      addonOff =
        aksAddon === false
          ? `No AzureIdentityBinding is left on ${cluster.name}, and the AKS pod-identity add-on is off: aad-pod-identity, if it was installed by Helm or manifests, can be uninstalled.`
          : `No AzureIdentityBinding is left on ${cluster.name}: the AKS pod-identity add-on can be switched off with az aks update -g ${cluster.resourceGroup} -n ${cluster.aksName} --disable-pod-identity`;
    }
    const what = removed.length ? `Removed ${removed.join(' and ')}.` : `Nothing left to remove: the binding ${bindingRef} and its AzureIdentity are already gone.`;
    const covered = verdict.covered.length ? ` Pods on workload identity: ${verdict.covered.join(', ')}.` : '';
    const keptText = kept.length ? ` Kept: ${kept.join('; ')}.` : '';
    return { kind: 'finished', removed, kept, addonOff, message: `${what}${keptText}${covered} The identity ${m.azureIdentity.resourceId} and its roles stay as they are.\n${addonOff}` };
  }
}

/** A refusal for a migration that cannot be found, with what to type instead. */
export function noMigration(namespace: string, binding: string): DomainRefusal {
  return {
    code: 'no-migration',
    message: `wid-bot has no succeeded migration of the AzureIdentityBinding ${namespace}/${binding} to finish. Start one with /wid migrate ${namespace} ${binding}.`,
  };
}

/** The part of the request store finding a migration needs (RedisRequestStore fits). */
export interface MigrationLookup {
  readAudit(opts: { after?: string; count?: number }): Promise<Array<{ requestId: string; to: string; streamId: string }>>;
  get(id: string): Promise<WidRequest | undefined>;
}

/** The newest succeeded migration of this binding on the cluster. */
export async function findMigration(store: MigrationLookup, clusterName: string, namespace: string, binding: string): Promise<WidRequest | undefined> {
  const succeeded = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page = await store.readAudit({ ...(after ? { after } : {}), count: 1000 });
    for (const e of page) if (e.to === 'succeeded') succeeded.add(e.requestId);
    if (page.length < 1000) break;
    after = page[page.length - 1]?.streamId;
  }
  let found: WidRequest | undefined;
  for (const id of succeeded) {
    const r = await store.get(id);
    const m = r?.plan.migration;
    if (!r || !m || r.kind !== 'migrate' || r.clusterName !== clusterName || m.binding.namespace !== namespace || m.binding.name !== binding) continue;
    if (!found || r.updatedAt > found.updatedAt) found = r;
  }
  return found;
}
