/**
 * Everything the ARM emulator knows, in memory: identities with their federated credentials, role
 * assignments, known directory principals, resource groups and AKS clusters. Other emulators (Entra)
 * and tests read it through snapshots and seed it directly, without HTTP.
 */
import { randomUUID } from 'node:crypto';
import {
  federatedCredentialId,
  identityId,
  isGuid,
  normaliseScope,
  parseIdentityId,
  roleAssignmentId,
  roleDefinitionGuid,
} from './ids';
import { findRoleByGuid, findRoleByName } from './role-definitions';

export interface FederatedCredentialRecord {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  createdAt: number;
  updatedAt: number;
}

export interface IdentityRecord {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  clientId: string;
  principalId: string;
  tenantId: string;
  createdAt: number;
  updatedAt: number;
  /** Keyed by the lowercased credential name, in creation order. */
  federatedCredentials: Map<string, FederatedCredentialRecord>;
}

export interface RoleAssignmentRecord {
  name: string;
  scope: string;
  /** As sent in the PUT (ARM echoes the id it was given). */
  roleDefinitionId: string;
  principalId: string;
  principalType: string;
  createdAt: number;
}

export type PrincipalType = 'User' | 'Group' | 'ServicePrincipal' | 'ForeignGroup' | 'Device';

export interface PrincipalRecord {
  id: string;
  type: PrincipalType;
  createdAt: number;
}

/** One AKS cluster as the managedClusters GET reports it. */
export interface ClusterConfig {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location?: string;
  /** The Kubernetes emulator's issuer, verbatim (AKS ends it with a slash). */
  issuerUrl?: string;
  oidcIssuerEnabled?: boolean;
  workloadIdentityEnabled?: boolean;
  /** `None` leaves `identity` out, as for a service-principal cluster. */
  identityType?: 'SystemAssigned' | 'UserAssigned' | 'None';
  /** Undefined leaves `podIdentityProfile` out, as for a cluster that never had it. */
  podIdentityEnabled?: boolean;
  kubernetesVersion?: string;
  tags?: Record<string, string>;
}

export interface FederatedCredentialSnapshot {
  id: string;
  identityId: string;
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
  /** Epoch milliseconds of the credential's first write. */
  createdAt: number;
}

export interface IdentitySnapshot {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  clientId: string;
  principalId: string;
  tenantId: string;
  createdAt: number;
  federatedCredentials: FederatedCredentialSnapshot[];
}

export interface RoleAssignmentSnapshot {
  id: string;
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: string;
  createdAt: number;
}

export interface SeedIdentity {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location?: string;
  tags?: Record<string, string>;
  clientId?: string;
  principalId?: string;
  /** Backdate the identity (e.g. to get past the principal replication delay). */
  createdAt?: number;
}

export interface SeedFederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences?: string[];
  createdAt?: number;
}

export interface SeedRoleAssignment {
  scope: string;
  /** A role definition id, its GUID, or a built-in role name. */
  role: string;
  principalId: string;
  principalType?: PrincipalType;
  name?: string;
}

function identityKey(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${subscriptionId}/${resourceGroup}/${name}`.toLowerCase();
}

function clusterKey(c: { subscriptionId: string; resourceGroup: string; name: string }): string {
  return `${c.subscriptionId}/${c.resourceGroup}/${c.name}`.toLowerCase();
}

export class ArmState {
  private readonly identityMap = new Map<string, IdentityRecord>();
  /** Keyed by the lowercased assignment name: names are unique across scopes. */
  private readonly assignmentMap = new Map<string, RoleAssignmentRecord>();
  private readonly principalMap = new Map<string, PrincipalRecord>();
  private readonly clusterMap = new Map<string, ClusterConfig>();
  /** Undefined: every resource group exists. */
  private resourceGroupSet: Set<string> | undefined;

  constructor(readonly tenantId: string) {}

  // ---- resource groups ------------------------------------------------------------------------

  /** Restrict existing resource groups to these names (any subscription); undefined lifts the restriction. */
  setResourceGroups(names: string[] | undefined): void {
    this.resourceGroupSet = names ? new Set(names.map((n) => n.toLowerCase())) : undefined;
  }

  addResourceGroup(name: string): void {
    this.resourceGroupSet?.add(name.toLowerCase());
  }

  resourceGroupExists(name: string): boolean {
    return this.resourceGroupSet === undefined || this.resourceGroupSet.has(name.toLowerCase());
  }

  // ---- identities -----------------------------------------------------------------------------

  getIdentity(subscriptionId: string, resourceGroup: string, name: string): IdentityRecord | undefined {
    return this.identityMap.get(identityKey(subscriptionId, resourceGroup, name));
  }

  getIdentityById(id: string): IdentityRecord | undefined {
    const ref = parseIdentityId(id);
    return ref ? this.getIdentity(ref.subscriptionId, ref.resourceGroup, ref.name) : undefined;
  }

  insertIdentity(rec: IdentityRecord): void {
    this.identityMap.set(identityKey(rec.subscriptionId, rec.resourceGroup, rec.name), rec);
  }

  removeIdentity(subscriptionId: string, resourceGroup: string, name: string): boolean {
    return this.identityMap.delete(identityKey(subscriptionId, resourceGroup, name));
  }

  listIdentityRecords(subscriptionId: string, resourceGroup?: string): IdentityRecord[] {
    const sub = subscriptionId.toLowerCase();
    const rg = resourceGroup?.toLowerCase();
    return [...this.identityMap.values()].filter(
      (i) => i.subscriptionId.toLowerCase() === sub && (rg === undefined || i.resourceGroup.toLowerCase() === rg),
    );
  }

  /** The identity whose clientId is exactly `clientId` (case-sensitive, as Entra matches `client_id`). */
  findIdentityByClientId(clientId: string): IdentitySnapshot | undefined {
    for (const rec of this.identityMap.values()) if (rec.clientId === clientId) return this.snapshotIdentity(rec);
    return undefined;
  }

  findIdentityByPrincipalId(principalId: string): IdentityRecord | undefined {
    const p = principalId.toLowerCase();
    for (const rec of this.identityMap.values()) if (rec.principalId.toLowerCase() === p) return rec;
    return undefined;
  }

  identities(): IdentitySnapshot[] {
    return [...this.identityMap.values()].map((r) => this.snapshotIdentity(r));
  }

  federatedCredentials(): FederatedCredentialSnapshot[] {
    return this.identities().flatMap((i) => i.federatedCredentials);
  }

  snapshotIdentity(rec: IdentityRecord): IdentitySnapshot {
    const id = identityId(rec.subscriptionId, rec.resourceGroup, rec.name);
    return {
      id,
      subscriptionId: rec.subscriptionId,
      resourceGroup: rec.resourceGroup,
      name: rec.name,
      location: rec.location,
      tags: { ...rec.tags },
      clientId: rec.clientId,
      principalId: rec.principalId,
      tenantId: rec.tenantId,
      createdAt: rec.createdAt,
      federatedCredentials: [...rec.federatedCredentials.values()].map((f) => ({
        id: federatedCredentialId(id, f.name),
        identityId: id,
        name: f.name,
        issuer: f.issuer,
        subject: f.subject,
        audiences: [...f.audiences],
        createdAt: f.createdAt,
      })),
    };
  }

  seedIdentity(seed: SeedIdentity): IdentitySnapshot {
    const now = seed.createdAt ?? Date.now();
    const existing = this.getIdentity(seed.subscriptionId, seed.resourceGroup, seed.name);
    const rec: IdentityRecord = {
      subscriptionId: seed.subscriptionId,
      resourceGroup: seed.resourceGroup,
      name: seed.name,
      location: seed.location ?? 'eastus',
      tags: { ...(seed.tags ?? {}) },
      clientId: seed.clientId ?? randomUUID(),
      principalId: seed.principalId ?? randomUUID(),
      tenantId: this.tenantId,
      createdAt: now,
      updatedAt: now,
      federatedCredentials: existing?.federatedCredentials ?? new Map(),
    };
    this.insertIdentity(rec);
    return this.snapshotIdentity(rec);
  }

  seedFederatedCredential(identityIdOrRef: string, seed: SeedFederatedCredential): FederatedCredentialSnapshot {
    const rec = this.getIdentityById(identityIdOrRef);
    if (!rec) throw new Error(`no managed identity ${identityIdOrRef}`);
    const now = seed.createdAt ?? Date.now();
    rec.federatedCredentials.set(seed.name.toLowerCase(), {
      name: seed.name,
      issuer: seed.issuer,
      subject: seed.subject,
      audiences: seed.audiences ?? ['api://AzureADTokenExchange'],
      createdAt: now,
      updatedAt: now,
    });
    const snap = this.snapshotIdentity(rec).federatedCredentials.find((f) => f.name === seed.name);
    if (!snap) throw new Error('federated credential vanished while seeding');
    return snap;
  }

  // ---- principals -----------------------------------------------------------------------------

  /** Make a directory principal (user, group, the bot's service principal) known to role assignments. */
  addPrincipal(id: string, type: PrincipalType = 'ServicePrincipal', createdAt = 0): void {
    this.principalMap.set(id.toLowerCase(), { id, type, createdAt });
  }

  /** A principal known to the directory: a managed identity's service principal or an added one. */
  lookupPrincipal(id: string): PrincipalRecord | undefined {
    const identity = this.findIdentityByPrincipalId(id);
    if (identity) return { id: identity.principalId, type: 'ServicePrincipal', createdAt: identity.createdAt };
    return this.principalMap.get(id.toLowerCase());
  }

  // ---- role assignments -----------------------------------------------------------------------

  getRoleAssignment(name: string): RoleAssignmentRecord | undefined {
    return this.assignmentMap.get(name.toLowerCase());
  }

  insertRoleAssignment(rec: RoleAssignmentRecord): void {
    this.assignmentMap.set(rec.name.toLowerCase(), rec);
  }

  removeRoleAssignment(name: string): boolean {
    return this.assignmentMap.delete(name.toLowerCase());
  }

  roleAssignmentRecords(): RoleAssignmentRecord[] {
    return [...this.assignmentMap.values()];
  }

  roleAssignments(): RoleAssignmentSnapshot[] {
    return this.roleAssignmentRecords().map((r) => ({
      id: roleAssignmentId(r.scope, r.name),
      name: r.name,
      scope: r.scope,
      roleDefinitionId: r.roleDefinitionId,
      principalId: r.principalId,
      principalType: r.principalType,
      createdAt: r.createdAt,
    }));
  }

  seedRoleAssignment(seed: SeedRoleAssignment): RoleAssignmentSnapshot {
    const role = findRoleByGuid(roleDefinitionGuid(seed.role) ?? '') ?? findRoleByName(seed.role);
    if (!role) throw new Error(`no built-in role ${seed.role}`);
    const scope = normaliseScope(seed.scope);
    const sub = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
    const name = seed.name ?? randomUUID();
    if (!isGuid(name)) throw new Error(`role assignment name must be a GUID: ${name}`);
    const rec: RoleAssignmentRecord = {
      name,
      scope,
      roleDefinitionId: `${sub ? `/subscriptions/${sub}` : ''}/providers/Microsoft.Authorization/roleDefinitions/${role.id}`,
      principalId: seed.principalId,
      principalType: seed.principalType ?? this.lookupPrincipal(seed.principalId)?.type ?? 'ServicePrincipal',
      createdAt: Date.now(),
    };
    this.insertRoleAssignment(rec);
    const snap = this.roleAssignments().find((r) => r.name === name);
    if (!snap) throw new Error('role assignment vanished while seeding');
    return snap;
  }

  // ---- clusters -------------------------------------------------------------------------------

  setCluster(cluster: ClusterConfig): void {
    this.clusterMap.set(clusterKey(cluster), { ...cluster });
  }

  removeCluster(ref: { subscriptionId: string; resourceGroup: string; name: string }): boolean {
    return this.clusterMap.delete(clusterKey(ref));
  }

  getCluster(subscriptionId: string, resourceGroup: string, name: string): ClusterConfig | undefined {
    return this.clusterMap.get(clusterKey({ subscriptionId, resourceGroup, name }));
  }
}
