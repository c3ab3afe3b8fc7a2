import { RestError, createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { RetryableError, TerminalError } from '../../../src/domain/errors';
import {
  RoleAssignmentExistsError,
  existingRoleAssignmentName,
  isAzureNotFound,
  retryAfterSeconds,
  translateAzureError,
} from '../../../src/azure/errors';
import { isKnownAuthorityHost, resourceManagerScope } from '../../../src/azure/credential';
import { azureConfigFromEnv } from '../../../src/azure';

/** A RestError as the SDK throws it after reading an ARM error response. */
function armError(status: number, code: string | undefined, message: string, headers: Record<string, string> = {}): RestError {
  const request = createPipelineRequest({ url: 'https://management.azure.com/x' });
  const body = code === undefined ? message : JSON.stringify({ error: { code, message } });
  return new RestError(message, {
    statusCode: status,
    ...(code ? { code } : {}),
    request,
    response: { status, headers: createHttpHeaders(headers), request, bodyAsText: body },
  });
}

const ctx = { what: "create the managed identity 'id-a' in resource group 'rg'", action: 'Microsoft.ManagedIdentity/userAssignedIdentities/write', scope: '/subscriptions/s/resourceGroups/rg' };

describe('translateAzureError', () => {
  test('429 is retryable with code TooManyRequests and the Retry-After seconds', () => {
    const e = translateAzureError(armError(429, 'SubscriptionRequestsThrottled', 'Number of write requests exceeded the limit', { 'retry-after': '17' }), ctx);
    expect(e).toBeInstanceOf(RetryableError);
    expect(e.code).toBe('TooManyRequests');
    expect(e.retryAfterSeconds).toBe(17);
    expect(e.message).toContain('id-a');
    expect(e.message).toContain('SubscriptionRequestsThrottled');
  });

  test('429 without Retry-After is retryable without a wait', () => {
    const e = translateAzureError(armError(429, 'TooManyRequests', 'slow down'), ctx);
    expect(e.kind).toBe('retryable');
    expect(e.retryAfterSeconds).toBeUndefined();
  });

  test('5xx is retryable with the ARM code', () => {
    const e = translateAzureError(armError(503, 'ServiceUnavailable', 'try later'), ctx);
    expect(e).toBeInstanceOf(RetryableError);
    expect(e.code).toBe('ServiceUnavailable');
    const bare = translateAzureError(armError(502, undefined, '<html>bad gateway</html>'), ctx);
    expect(bare.kind).toBe('retryable');
    expect(bare.code).toBe('HTTP502');
  });

  test.each(['ECONNRESET', 'ETIMEDOUT', 'REQUEST_SEND_ERROR'])('network error %s is retryable', (code) => {
    const e = translateAzureError(new RestError('socket hang up', { code }), ctx);
    expect(e).toBeInstanceOf(RetryableError);
    expect(e.code).toBe(code);
  });

  test('409 concurrent FIC writes is retryable', () => {
    const e = translateAzureError(
      armError(409, 'ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity', 'Too many Federated Identity Credentials are written concurrently'),
      ctx,
    );
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity');
  });

  test('400 PrincipalNotFound is retryable (replication delay)', () => {
    const e = translateAzureError(armError(400, 'PrincipalNotFound', 'Principal abc does not exist in the directory def.'), ctx);
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('PrincipalNotFound');
    expect(e.message).toMatch(/replicat/);
  });

  test('409 RoleAssignmentExists is terminal, by code, and exposes the existing assignment', () => {
    const e = translateAzureError(
      armError(409, 'RoleAssignmentExists', 'The role assignment already exists. The ID of the existing role assignment is 0a1b2c3d4e5f60718293a4b5c6d7e8f9.'),
      ctx,
    );
    expect(e).toBeInstanceOf(TerminalError);
    expect(e).toBeInstanceOf(RoleAssignmentExistsError);
    expect(e.code).toBe('RoleAssignmentExists');
    expect((e as RoleAssignmentExistsError).existingRoleAssignmentName).toBe('0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9');
    const old = translateAzureError(armError(409, 'RoleAssignmentExists', 'The role assignment already exists.'), ctx);
    expect((old as RoleAssignmentExistsError).existingRoleAssignmentName).toBeUndefined();
  });

  test('403 AuthorizationFailed names the action, the scope and the role wid-bot needs', () => {
    const msg =
      "The client 'c' with object id 'o' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv' or the scope is invalid. If access was recently granted, please refresh your credentials.";
    const e = translateAzureError(armError(403, 'AuthorizationFailed', msg), ctx);
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('AuthorizationFailed');
    expect(e.message).toContain("'Microsoft.Authorization/roleAssignments/write'");
    expect(e.message).toContain("'/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv'");
    expect(e.message).toContain('Role Based Access Control Administrator');
  });

  test('403 without action in the message falls back to the call context', () => {
    const e = translateAzureError(armError(403, 'AuthorizationFailed', 'denied'), ctx);
    expect(e.message).toContain('Microsoft.ManagedIdentity/userAssignedIdentities/write');
    expect(e.message).toContain('Managed Identity Contributor');
  });

  test('401 is terminal and points at the credentials', () => {
    const e = translateAzureError(armError(401, 'InvalidAuthenticationToken', 'The access token is invalid.'), ctx);
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('InvalidAuthenticationToken');
    expect(e.message).toMatch(/credential/);
  });

  test('other 4xx is terminal with the ARM code and message', () => {
    const e = translateAzureError(armError(400, 'InvalidResourceName', 'Resource name x! is invalid.'), ctx);
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('InvalidResourceName');
    expect(e.message).toContain('Resource name x! is invalid.');
  });

  test('credential errors are terminal with a setup hint', () => {
    const err = Object.assign(new Error('EnvironmentCredential is unavailable'), { name: 'CredentialUnavailableError' });
    const e = translateAzureError(err, ctx);
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('AzureCredentialUnavailable');
    expect(e.message).toContain('AZURE_FEDERATED_TOKEN_FILE');
  });

  test('a WidError passes through unchanged', () => {
    const original = new RetryableError('x', 'Y');
    expect(translateAzureError(original, ctx)).toBe(original);
  });

  test('404 is recognised as absence', () => {
    expect(isAzureNotFound(armError(404, 'ResourceNotFound', 'nope'))).toBe(true);
    expect(isAzureNotFound(armError(400, 'BadRequest', 'nope'))).toBe(false);
    expect(isAzureNotFound(new Error('x'))).toBe(false);
  });
});

describe('helpers', () => {
  test('retryAfterSeconds reads seconds, dates and ms headers', () => {
    const h = (o: Record<string, string>) => createHttpHeaders(o);
    expect(retryAfterSeconds(h({ 'retry-after': '5' }))).toBe(5);
    expect(retryAfterSeconds(h({ 'retry-after-ms': '1500' }))).toBe(2);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterSeconds(h({ 'retry-after': 'Wed, 01 Jan 2025 00:00:30 GMT' }), now)).toBe(30);
    expect(retryAfterSeconds(h({}))).toBeUndefined();
    expect(retryAfterSeconds(h({ 'retry-after': 'soon' }))).toBeUndefined();
  });

  test('existingRoleAssignmentName accepts dashed and undashed GUIDs', () => {
    expect(existingRoleAssignmentName('The ID of the existing role assignment is 0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9.')).toBe('0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9');
    expect(existingRoleAssignmentName('The role assignment already exists.')).toBeUndefined();
  });

  test('resourceManagerScope: public cloud, sovereign clouds, other endpoints and an explicit audience', () => {
    expect(resourceManagerScope()).toBe('https://management.azure.com/.default');
    expect(resourceManagerScope('https://management.azure.com/')).toBe('https://management.azure.com/.default');
    expect(resourceManagerScope('https://management.usgovcloudapi.net')).toBe('https://management.core.usgovcloudapi.net/.default');
    expect(resourceManagerScope('https://127.0.0.1:8443')).toBe('https://127.0.0.1:8443/.default');
    expect(resourceManagerScope('https://127.0.0.1:8443', 'https://management.azure.com/')).toBe('https://management.azure.com/.default');
    expect(resourceManagerScope('https://x', 'https://custom/.default')).toBe('https://custom/.default');
  });

  test('azureConfigFromEnv reads the endpoint and audience; private authority hosts are recognised', () => {
    const gov = azureConfigFromEnv({ AZURE_RESOURCE_MANAGER_URL: 'https://management.usgovcloudapi.net/' });
    expect(gov.resourceManagerUrl).toBe('https://management.usgovcloudapi.net');
    expect(gov.audience).toBe('https://management.core.usgovcloudapi.net/.default');
    expect(azureConfigFromEnv({}).resourceManagerUrl).toBe('https://management.azure.com');
    expect(isKnownAuthorityHost(undefined)).toBe(true);
    expect(isKnownAuthorityHost('https://login.microsoftonline.us')).toBe(true);
    expect(isKnownAuthorityHost('https://127.0.0.1:8443')).toBe(false);
  });
});
