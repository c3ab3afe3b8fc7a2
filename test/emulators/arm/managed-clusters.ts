/**
 * Microsoft.ContainerService/managedClusters GET: a cluster body shaped like AKS's, with the
 * workload-identity facts the bot reads (OIDC issuer, workload identity, cluster identity, pod identity).
 */
import { createHash } from 'node:crypto';
import type { ArmContext } from './context';
import { notFound, type ArmResponse } from './errors';
import type { ClusterConfig } from './state';

export const CLUSTER_TYPE = 'Microsoft.ContainerService/managedClusters';

/** Stable GUID-shaped ids per cluster, so repeated GETs agree. */
function stableGuid(seed: string): string {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function clusterBody(c: ClusterConfig, tenantId: string): unknown {
  const location = c.location ?? 'eastus';
  const version = c.kubernetesVersion ?? '1.30.5';
  const dnsPrefix = `${c.name}-dns`;
  const suffix = stableGuid(`${c.subscriptionId}/${c.resourceGroup}/${c.name}`).slice(0, 8);
  const nodeRg = `MC_${c.resourceGroup}_${c.name}_${location}`;
  const oidcEnabled = c.oidcIssuerEnabled ?? true;
  const identityType = c.identityType ?? 'SystemAssigned';
  const properties: Record<string, unknown> = {
    agentPoolProfiles: [
      {
        name: 'nodepool1',
        availabilityZones: ['1', '2', '3'],
        count: 3,
        currentOrchestratorVersion: version,
        eTag: suffix,
        maxPods: 110,
        nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202410.15.0',
        orchestratorVersion: version,
        osType: 'Linux',
        provisioningState: 'Succeeded',
        upgradeSettings: { maxSurge: '10%' },
        vmSize: 'Standard_DS2_v2',
      },
    ],
    azurePortalFQDN: `${dnsPrefix}-${suffix}.portal.hcp.${location}.azmk8s.io`,
    currentKubernetesVersion: version,
    diskEncryptionSetID: `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.Compute/diskEncryptionSets/des`,
    dnsPrefix,
    enableRBAC: true,
    fqdn: `${dnsPrefix}-${suffix}.hcp.${location}.azmk8s.io`,
    kubernetesVersion: version,
    linuxProfile: { adminUsername: 'azureuser', ssh: { publicKeys: [{ keyData: 'ssh-rsa AAAAB3NzaC1yc2E' }] } },
    maxAgentPools: 100,
    networkProfile: {
      dnsServiceIP: '10.0.0.10',
      ipFamilies: ['IPv4'],
      loadBalancerProfile: {
        allocatedOutboundPorts: 0,
        effectiveOutboundIPs: [{ id: `/subscriptions/${c.subscriptionId}/resourceGroups/${nodeRg}/providers/Microsoft.Network/publicIPAddresses/outbound1` }],
        idleTimeoutInMinutes: 30,
        outboundIPs: { publicIPs: [{ id: `/subscriptions/${c.subscriptionId}/resourceGroups/${nodeRg}/providers/Microsoft.Network/publicIPAddresses/outbound1` }] },
      },
      loadBalancerSku: 'standard',
      networkPlugin: 'azure',
      outboundType: 'loadBalancer',
      podCidr: '10.244.0.0/16',
      podCidrs: ['10.244.0.0/16'],
      serviceCidr: '10.0.0.0/16',
      serviceCidrs: ['10.0.0.0/16'],
    },
    nodeResourceGroup: nodeRg,
    provisioningState: 'Succeeded',
    servicePrincipalProfile: { clientId: identityType === 'None' ? stableGuid(`sp/${c.name}`) : 'msi' },
    upgradeSettings: { overrideSettings: { forceUpgrade: false, until: '2024-01-01T00:00:00Z' } },
    // AKS reports `enabled: false` without an issuer URL when the OIDC issuer is off.
    oidcIssuerProfile: oidcEnabled && c.issuerUrl ? { enabled: true, issuerURL: c.issuerUrl } : { enabled: false },
    securityProfile: c.workloadIdentityEnabled ?? true ? { workloadIdentity: { enabled: true } } : {},
  };
  if (c.podIdentityEnabled !== undefined) {
    properties.podIdentityProfile = { enabled: c.podIdentityEnabled, allowNetworkPluginKubenet: false };
  }
  const body: Record<string, unknown> = {
    name: c.name,
    type: CLUSTER_TYPE,
    eTag: suffix,
    id: `/subscriptions/${c.subscriptionId}/resourceGroups/${c.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${c.name}`,
    location,
    properties,
    tags: { ...(c.tags ?? {}) },
  };
  if (identityType === 'SystemAssigned') {
    body.identity = { type: 'SystemAssigned', principalId: stableGuid(`mi/${c.name}`), tenantId };
  } else if (identityType === 'UserAssigned') {
    const uami = `/subscriptions/${c.subscriptionId}/resourcegroups/${c.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${c.name}-identity`;
    body.identity = { type: 'UserAssigned', userAssignedIdentities: { [uami]: { principalId: stableGuid(`mi/${c.name}`), clientId: stableGuid(`client/${c.name}`) } } };
  }
  return body;
}

export function getCluster(ctx: ArmContext, subscriptionId: string, resourceGroup: string, name: string): ArmResponse {
  const c = ctx.state.getCluster(subscriptionId, resourceGroup, name);
  if (!c) throw notFound(CLUSTER_TYPE, name, resourceGroup);
  return { status: 200, body: clusterBody(c, ctx.state.tenantId) };
}
