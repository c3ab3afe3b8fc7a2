/**
 * How wid-bot signs in to Azure: DefaultAzureCredential and the standard AZURE_* variables. On AKS
 * that is workload identity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE injected
 * by the webhook) — the same path wid-bot sets up for others.
 */
import { ClientSecretCredential, DefaultAzureCredential, WorkloadIdentityCredential, type DefaultAzureCredentialClientIdOptions } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';

export const PUBLIC_RESOURCE_MANAGER_URL = 'https://management.azure.com';

/** Token audiences of the sovereign clouds' ARM endpoints (their host differs from their audience). */
const KNOWN_AUDIENCES: Record<string, string> = {
  'management.azure.com': 'https://management.azure.com',
  'management.usgovcloudapi.net': 'https://management.core.usgovcloudapi.net',
  'management.chinacloudapi.cn': 'https://management.core.chinacloudapi.cn',
};

/** The token scope for an ARM endpoint: an explicit audience wins, then the known clouds, then `<url>/.default`. */
export function resourceManagerScope(resourceManagerUrl: string = PUBLIC_RESOURCE_MANAGER_URL, audience?: string): string {
  if (audience && audience.trim() !== '') {
    const a = audience.trim();
    return a.endsWith('/.default') ? a : `${a.replace(/\/+$/, '')}/.default`;
  }
  const url = resourceManagerUrl.replace(/\/+$/, '');
  let host = '';
  try {
    host = new URL(url).host.toLowerCase();
  } catch {
    // An unparsable URL fails later with a clearer message from the SDK; keep the generic scope here.
  }
  return `${KNOWN_AUDIENCES[host] ?? url}/.default`;
}

/** Microsoft's own authority hosts: MSAL's instance discovery knows them. */
const KNOWN_AUTHORITY_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.microsoft.com',
  'login.windows.net',
  'sts.windows.net',
  'login.microsoftonline.us',
  'login.usgovcloudapi.net',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
]);

/** True for an absent (public cloud) or Microsoft-run authority host; MSAL would ask login.microsoftonline.com about any other. */
export function isKnownAuthorityHost(authorityHost: string | undefined): boolean {
  if (!authorityHost) return true;
  try {
    return KNOWN_AUTHORITY_HOSTS.has(new URL(authorityHost).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * wid-bot's own credential from the standard variables in `env`: workload identity when a federated
 * token file is given, a client secret when one is given (both read from `env` itself, not only from
 * process.env), else DefaultAzureCredential's chain (managed identity, developer logins).
 */
export function credentialFromEnv(env: NodeJS.ProcessEnv = process.env): TokenCredential {
  const common = {
    ...(env.AZURE_AUTHORITY_HOST ? { authorityHost: env.AZURE_AUTHORITY_HOST } : {}),
    // A private authority host (a test world, an air-gapped cloud) has no instance-discovery entry.
    ...(!isKnownAuthorityHost(env.AZURE_AUTHORITY_HOST) ? { disableInstanceDiscovery: true } : {}),
  };
  const { AZURE_TENANT_ID: tenantId, AZURE_CLIENT_ID: clientId } = env;
  if (tenantId && clientId && env.AZURE_FEDERATED_TOKEN_FILE) {
    return new WorkloadIdentityCredential({ ...common, tenantId, clientId, tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE });
  }
  if (tenantId && clientId && env.AZURE_CLIENT_SECRET) {
    return new ClientSecretCredential(tenantId, clientId, env.AZURE_CLIENT_SECRET, common);
  }
  const options: DefaultAzureCredentialClientIdOptions = {};
  if (env.AZURE_TENANT_ID) options.tenantId = env.AZURE_TENANT_ID;
  if (env.AZURE_AUTHORITY_HOST) options.authorityHost = env.AZURE_AUTHORITY_HOST;
  // A private authority host (a test world, an air-gapped cloud) has no instance-discovery entry.
  if (!isKnownAuthorityHost(env.AZURE_AUTHORITY_HOST)) options.disableInstanceDiscovery = true;
  if (env.AZURE_CLIENT_ID) {
    options.managedIdentityClientId = env.AZURE_CLIENT_ID;
    options.workloadIdentityClientId = env.AZURE_CLIENT_ID;
  }
  return new DefaultAzureCredential(options);
}

/** The ARM endpoint and token audience from AZURE_RESOURCE_MANAGER_URL / AZURE_RESOURCE_MANAGER_AUDIENCE. */
export function resourceManagerFromEnv(env: NodeJS.ProcessEnv = process.env): { resourceManagerUrl: string; scope: string } {
  const resourceManagerUrl = (env.AZURE_RESOURCE_MANAGER_URL || PUBLIC_RESOURCE_MANAGER_URL).replace(/\/+$/, '');
  return { resourceManagerUrl, scope: resourceManagerScope(resourceManagerUrl, env.AZURE_RESOURCE_MANAGER_AUDIENCE) };
}
