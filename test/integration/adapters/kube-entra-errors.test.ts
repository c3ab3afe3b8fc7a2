import { ApiException } from '@kubernetes/client-node';
import { RetryableError, TerminalError } from '../../../src/domain/errors';
import { translateKubeError } from '../../../src/kube/errors';
import { parseAadsts, translateEntraError } from '../../../src/entra';

function status(code: number, reason: string, message: string, extra: Record<string, unknown> = {}): ApiException<string> {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...extra });
  return new ApiException<string>(code, `HTTP-Code: ${code}`, body, {});
}

const saCtx = { verb: 'create', resource: 'serviceaccounts', group: '', namespace: 'team-a', name: 'api' };

describe('translateKubeError', () => {
  test('409 AlreadyExists on create is terminal with code AlreadyExists', () => {
    const e = translateKubeError(status(409, 'AlreadyExists', 'serviceaccounts "api" already exists'), saCtx);
    expect(e).toBeInstanceOf(TerminalError);
    expect(e.code).toBe('AlreadyExists');
  });

  test('409 Conflict (stale resourceVersion) is retryable', () => {
    const e = translateKubeError(status(409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again'), { ...saCtx, verb: 'patch' });
    expect(e).toBeInstanceOf(RetryableError);
    expect(e.code).toBe('Conflict');
  });

  test('403 is terminal and names verb, resource, namespace and the RBAC rule needed', () => {
    const e = translateKubeError(
      status(403, 'Forbidden', 'serviceaccounts "api" is forbidden: User "system:serviceaccount:wid:wid-bot" cannot patch resource "serviceaccounts" in API group "" in the namespace "team-a"'),
      { ...saCtx, verb: 'patch' },
    );
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('Forbidden');
    expect(e.message).toContain("namespace 'team-a'");
    expect(e.message).toContain('resources: ["serviceaccounts"], verbs: ["patch"]');
    expect(e.message).toContain('cannot patch resource');
  });

  test('422 is terminal with the Status message', () => {
    const e = translateKubeError(status(422, 'Invalid', 'ServiceAccount "Bad_Name" is invalid: metadata.name: Invalid value'), saCtx);
    expect(e.kind).toBe('terminal');
    expect(e.code).toBe('Invalid');
    expect(e.message).toContain('metadata.name: Invalid value');
  });

  test('429 and 5xx are retryable, with retryAfterSeconds from the Status', () => {
    const t = translateKubeError(status(429, 'TooManyRequests', 'too many requests', { details: { retryAfterSeconds: 3 } }), saCtx);
    expect(t.kind).toBe('retryable');
    expect(t.retryAfterSeconds).toBe(3);
    const s = translateKubeError(status(503, 'ServiceUnavailable', 'etcd unavailable'), saCtx);
    expect(s).toBeInstanceOf(RetryableError);
    const raw = translateKubeError(new ApiException<string>(502, 'bad gateway', '<html>', {}), saCtx);
    expect(raw.kind).toBe('retryable');
    expect(raw.code).toBe('HTTP502');
  });

  test('network errors are retryable', () => {
    const fetchError = Object.assign(new Error('request to https://127.0.0.1:1/api failed, reason: connect ECONNREFUSED'), { name: 'FetchError', code: 'ECONNREFUSED', type: 'system' });
    const e = translateKubeError(fetchError, saCtx);
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('ECONNREFUSED');
  });

  test('401 is terminal', () => {
    expect(translateKubeError(status(401, 'Unauthorized', 'Unauthorized'), saCtx).kind).toBe('terminal');
  });
});

const MISMATCH =
  "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://oidc.prod-aks.azure.com/1111/'. Assertion Subject: 'system:serviceaccount:team-a:api'. Assertion Audience: 'api://AzureADTokenExchange'. https://docs.microsoft.com/azure/active-directory/develop/workload-identity-federation Trace ID: abc Correlation ID: def Timestamp: 2024-01-01 00:00:00Z";

describe('parseAadsts', () => {
  test('finds the code and the assertion fields', () => {
    const p = parseAadsts(`invalid_client: ${MISMATCH}`);
    expect(p?.code).toBe('AADSTS70021');
    expect(p?.assertion).toEqual({ issuer: 'https://oidc.prod-aks.azure.com/1111/', subject: 'system:serviceaccount:team-a:api', audience: 'api://AzureADTokenExchange' });
    expect(p?.description).toMatch(/^No matching federated identity record/);
    expect(p?.description).not.toContain('Trace ID');
  });

  test('a code without assertion fields', () => {
    const p = parseAadsts("AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.");
    expect(p?.code).toBe('AADSTS700016');
    expect(p?.assertion).toBeUndefined();
  });

  test('no code → undefined', () => {
    expect(parseAadsts('connect ECONNREFUSED 127.0.0.1:1')).toBeUndefined();
  });
});

describe('translateEntraError', () => {
  test('AADSTS70021 is retryable and quotes what Entra saw', () => {
    const e = translateEntraError(Object.assign(new Error(MISMATCH), { name: 'AuthenticationRequiredError' }), 'cid');
    expect(e.kind).toBe('retryable');
    expect(e.code).toBe('AADSTS70021');
    expect(e.message).toContain("issuer 'https://oidc.prod-aks.azure.com/1111/'");
    expect(e.message).toContain("subject 'system:serviceaccount:team-a:api'");
    expect(e.message).toContain("audience 'api://AzureADTokenExchange'");
  });

  test('AADSTS700016 (client not replicated) is retryable; others are terminal', () => {
    expect(translateEntraError(new Error("AADSTS700016: Application with identifier 'x' was not found"), 'x').kind).toBe('retryable');
    const t = translateEntraError(new Error('AADSTS700024: Client assertion is not within its valid time range.'), 'x');
    expect(t.kind).toBe('terminal');
    expect(t.code).toBe('AADSTS700024');
  });

  test('the code is found in a wrapped cause', () => {
    const e = translateEntraError(Object.assign(new Error('ClientAssertionCredential authentication failed.'), { cause: new Error(MISMATCH) }), 'cid');
    expect(e.code).toBe('AADSTS70021');
  });

  test('an unreachable authority is retryable', () => {
    expect(translateEntraError(new Error('request to https://login failed, reason: connect ECONNREFUSED'), 'x').code).toBe('EntraUnavailable');
  });
});
