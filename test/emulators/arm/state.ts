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
  updatedAt: number;
  /** Object id of the caller that created / last wrote the assignment. */
  createdBy: string;
  updatedBy: string;
  description?: string;
  /** An ABAC condition and its version ('2.0'), as sent. */
  condition?: string;
  conditionVersion?: string;
}

/** A roleAssignmentScheduleRequests request as ARM keeps it (2020-10-01). */
export interface RoleAssignmentScheduleRequestRecord {
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: string;
  requestType: string;
  status: string;
  startDateTime: string;
  expiration: { type: string; endDateTime: string | null; duration: string | null };
  justification: string | null;
  requestorId: string;
  createdAt: number;
  targetRoleAssignmentScheduleId: string;
}

/** The schedule an AdminAssign made: its active assignment lasts from start to end, then ARM removes it. */
export interface RoleAssignmentScheduleRecord {
  /** The schedule's GUID. */
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: string;
  requestName: string;
  startMs: number;
  /** Undefined: no end (NoExpiration). */
  endMs?: number;
  /** The active role assignment (and schedule instance) name; undefined once it was removed. */
  roleAssignmentName?: string;
  /** How the active assignment went: by the schedule's end, or by an AdminRemove. */
  ended?: { at: number; by: 'expiration' | 'AdminRemove' };
  createdAt: number;
}

export type PrincipalType = 'User' | 'Group' | 'ServicePrincipal' | 'ForeignGroup' | 'Device';

/** A subscription as `GET /subscriptions` reports it. */
export interface SubscriptionConfig {
  subscriptionId: string;
  displayName?: string;
  state?: 'Enabled' | 'Warned' | 'PastDue' | 'Disabled' | 'Deleted';
  tags?: Record<string, string>;
}

/** A resource group; without `subscriptionId` it exists in every subscription (a shorthand for tests). */
export interface ResourceGroupConfig {
  subscriptionId?: string;
  name: string;
  location?: string;
  tags?: Record<string, string>;
}

export interface ResourceGroupRecord {
  /** Undefined: the group exists in every subscription. */
  subscriptionId: string | undefined;
  name: string;
  location: string;
  tags: Record<string, string>;
  createdAt: number;
}

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
  description?: string;
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
  /** Object id recorded as creator (default: the nil GUID, as for an assignment made outside the test). */
  createdBy?: string;
  description?: string;
  condition?: string;
}

const NIL_GUID = '00000000-0000-0000-0000-000000000000';

function identityKey(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${subscriptionId}/${resourceGroup}/${name}`.toLowerCase();
}

function groupKey(subscriptionId: string | undefined, name: string): string {
  return `${subscriptionId ?? '*'}/${name}`.toLowerCase();
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
  private readonly subscriptionMap = new Map<string, SubscriptionConfig>();
  /** roleAssignmentScheduleRequests by lowercased name (src: role-assignment-schedules.ts). */
  readonly scheduleRequests = new Map<string, RoleAssignmentScheduleRequestRecord>();
  /** roleAssignmentSchedules by lowercased name. */
  readonly schedules = new Map<string, RoleAssignmentScheduleRecord>();
  private readonly groupMap = new Map<string, ResourceGroupRecord>();
  /** Other resources roles are granted on (Key Vaults, storage accounts), by lower-cased ARM id. */
  private readonly resourceMap = new Map<string, { id: string; location: string }>();
  /** False: a resource group comes into being with the first identity or cluster in it. */
  private groupsDeclared = false;
  /** False: any subscription id is served (and listed once something lives in it). */
  private subscriptionsDeclared = false;

  constructor(
    readonly tenantId: string,
    /** Where resource groups that come into being on first use are placed. */
    readonly defaultLocation = 'eastus',
  ) {}

  // ---- subscriptions --------------------------------------------------------------------------

  /** Only these subscriptions exist (others → 404 SubscriptionNotFound); undefined lifts the restriction. */
  setSubscriptions(subs: SubscriptionConfig[] | undefined): void {
    this.subscriptionMap.clear();
    this.subscriptionsDeclared = subs !== undefined;
    for (const s of subs ?? []) this.subscriptionMap.set(s.subscriptionId.toLowerCase(), { ...s });
  }

  subscriptionExists(subscriptionId: string): boolean {
    return !this.subscriptionsDeclared || this.subscriptionMap.has(subscriptionId.toLowerCase());
  }

  getSubscription(subscriptionId: string): SubscriptionConfig | undefined {
    const declared = this.subscriptionMap.get(subscriptionId.toLowerCase());
    if (declared || this.subscriptionsDeclared) return declared;
    return { subscriptionId };
  }

  /** Declared subscriptions, or (undeclared) every subscription something lives in. */
  subscriptions(): SubscriptionConfig[] {
    if (this.subscriptionsDeclared) return [...this.subscriptionMap.values()];
    const seen = new Map<string, string>();
    const note = (id: string | undefined): void => {
      if (id && !seen.has(id.toLowerCase())) seen.set(id.toLowerCase(), id);
    };
    for (const g of this.groupMap.values()) note(g.subscriptionId);
    for (const i of this.identityMap.values()) note(i.subscriptionId);
    for (const c of this.clusterMap.values()) note(c.subscriptionId);
    return [...seen.values()].map((subscriptionId) => ({ subscriptionId }));
  }

  // ---- other resources (the scopes of role assignments) ----------------------------------------

  /** A Key Vault or storage account that exists (GET on its id answers 200); by default in its resource group's location. */
  seedResource(id: string, location?: string): void {
    const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\//i.exec(id);
    const groupLocation = m ? this.getResourceGroup(m[1], m[2] as string)?.location : undefined;
    this.resourceMap.set(id.toLowerCase(), { id, location: location ?? groupLocation ?? this.defaultLocation });
  }

  deleteResource(id: string): void {
    this.resourceMap.delete(id.toLowerCase());
  }

  getResource(id: string): { id: string; location: string } | undefined {
    return this.resourceMap.get(id.toLowerCase());
  }

  // ---- resource groups ------------------------------------------------------------------------

  /** Declare the resource groups that exist (others → 404 ResourceGroupNotFound); undefined: groups appear on first use. */
  setResourceGroups(groups: Array<string | ResourceGroupConfig> | undefined): void {
    this.groupMap.clear();
    this.groupsDeclared = groups !== undefined;
    for (const g of groups ?? []) this.putResourceGroup(typeof g === 'string' ? { name: g } : g);
  }

  /** Create or update a resource group (location and tags). */
  putResourceGroup(g: ResourceGroupConfig): ResourceGroupRecord {
    const existing = this.getResourceGroup(g.subscriptionId, g.name);
    const rec: ResourceGroupRecord = {
      subscriptionId: g.subscriptionId,
      name: existing?.name ?? g.name,
      location: g.location ?? existing?.location ?? this.defaultLocation,
      tags: { ...(g.tags ?? existing?.tags ?? {}) },
      createdAt: existing?.createdAt ?? Date.now(),
    };
    this.groupMap.set(groupKey(g.subscriptionId, rec.name), rec);
    return rec;
  }

  /** The group in this subscription (or one declared for every subscription). */
  getResourceGroup(subscriptionId: string | undefined, name: string): ResourceGroupRecord | undefined {
    return this.groupMap.get(groupKey(subscriptionId, name)) ?? this.groupMap.get(groupKey(undefined, name));
  }

  resourceGroupExists(subscriptionId: string, name: string): boolean {
    return this.getResourceGroup(subscriptionId, name) !== undefined;
  }

  /** A resource may be written in the group: it exists, or groups are not declared (it comes into being). */
  resourceGroupUsable(subscriptionId: string, name: string): boolean {
    return !this.groupsDeclared || this.resourceGroupExists(subscriptionId, name);
  }

  /** The locations resources live in (for messages that list them). */
  locations(): string[] {
    const all = [this.defaultLocation, ...[...this.groupMap.values()].map((g) => g.location)].map((l) => l.toLowerCase());
    return [...new Set(all)].sort();
  }

  /** Resource groups of a subscription, as that subscription sees them. */
  listResourceGroups(subscriptionId: string): ResourceGroupRecord[] {
    const sub = subscriptionId.toLowerCase();
    const own = [...this.groupMap.values()].filter((g) => g.subscriptionId?.toLowerCase() === sub);
    const shared = [...this.groupMap.values()].filter((g) => g.subscriptionId === undefined && !own.some((o) => o.name.toLowerCase() === g.name.toLowerCase()));
    return [...own, ...shared.map((g) => ({ ...g, subscriptionId }))];
  }

  /** Where groups are not declared, the first resource in a group brings it into being. */
  private noteResourceGroup(subscriptionId: string, name: string, location: string): void {
    if (!this.groupsDeclared && !this.resourceGroupExists(subscriptionId, name)) this.putResourceGroup({ subscriptionId, name, location });
  }

  private requireResourceGroup(subscriptionId: string, name: string): void {
    this.noteResourceGroup(subscriptionId, name, this.defaultLocation);
    if (!this.resourceGroupExists(subscriptionId, name)) {
      throw new Error(`resource group ${name} does not exist in subscription ${subscriptionId}: declare it in the emulator's resourceGroups first`);
    }
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
    this.noteResourceGroup(rec.subscriptionId, rec.resourceGroup, rec.location);
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
    this.requireResourceGroup(seed.subscriptionId, seed.resourceGroup);
    const now = seed.createdAt ?? Date.now();
    const existing = this.getIdentity(seed.subscriptionId, seed.resourceGroup, seed.name);
    const rec: IdentityRecord = {
      subscriptionId: seed.subscriptionId,
      resourceGroup: seed.resourceGroup,
      name: seed.name,
      location: seed.location ?? this.getResourceGroup(seed.subscriptionId, seed.resourceGroup)?.location ?? this.defaultLocation,
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
      ...(r.description !== undefined ? { description: r.description } : {}),
      createdAt: r.createdAt,
    }));
  }

  seedRoleAssignment(seed: SeedRoleAssignment): RoleAssignmentSnapshot {
    const role = findRoleByGuid(roleDefinitionGuid(seed.role) ?? '') ?? findRoleByName(seed.role);
    if (!role) throw new Error(`no built-in role ${seed.role}`);
    const scope = normaliseScope(seed.scope);
    const sub = /^\/subscriptions\/([^/]+)/i.exec(scope)?.[1];
    const name = seed.name ?? randomUUID();
    const now = Date.now();
    if (!isGuid(name)) throw new Error(`role assignment name must be a GUID: ${name}`);
    const rec: RoleAssignmentRecord = {
      name,
      scope,
      roleDefinitionId: `${sub ? `/subscriptions/${sub}` : ''}/providers/Microsoft.Authorization/roleDefinitions/${role.id}`,
      principalId: seed.principalId,
      principalType: seed.principalType ?? this.lookupPrincipal(seed.principalId)?.type ?? 'ServicePrincipal',
      createdAt: now,
      updatedAt: now,
      createdBy: seed.createdBy ?? NIL_GUID,
      updatedBy: seed.createdBy ?? NIL_GUID,
      ...(seed.description !== undefined ? { description: seed.description } : {}),
      ...(seed.condition !== undefined ? { condition: seed.condition, conditionVersion: '2.0' } : {}),
    };
    this.insertRoleAssignment(rec);
    const snap = this.roleAssignments().find((r) => r.name === name);
    if (!snap) throw new Error('role assignment vanished while seeding');
    return snap;
  }

  // ---- clusters -------------------------------------------------------------------------------

  setCluster(cluster: ClusterConfig): void {
    this.noteResourceGroup(cluster.subscriptionId, cluster.resourceGroup, cluster.location ?? this.defaultLocation);
    this.clusterMap.set(clusterKey(cluster), { ...cluster });
  }

  removeCluster(ref: { subscriptionId: string; resourceGroup: string; name: string }): boolean {
    return this.clusterMap.delete(clusterKey(ref));
  }

  getCluster(subscriptionId: string, resourceGroup: string, name: string): ClusterConfig | undefined {
    return this.clusterMap.get(clusterKey({ subscriptionId, resourceGroup, name }));
  }
}
