/**
 * The role assignment's description: ARM keeps it and returns it (get and list), and a PUT of the same
 * principal, role and scope may change it. wid-bot writes a grant's end there, so the end survives any loss of Redis.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { startArmEmulator, type ArmEmulator } from '../../emulators/arm';
import { createAzureAdapters, type AzureAdapters } from '../../../src/azure';
import { assignmentDescription, parseAssignmentDescription } from '../../../src/domain/grants';
import { roleAssignmentName } from '../../../src/domain/names';

const SUB = '11111111-2222-3333-4444-555555555555';
const KV_SECRETS_USER = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6`;
const anyToken: TokenCredential = { getToken: (): Promise<AccessToken> => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3600_000 }) };

describe('role assignment description through the real SDK client', () => {
  let arm: ArmEmulator;
  let azure: AzureAdapters;
  beforeAll(async () => {
    arm = await startArmEmulator({ throttle: false, ficWriteMs: 0 });
    azure = createAzureAdapters({ credential: anyToken, resourceManagerUrl: arm.url, audience: 'https://management.azure.com/', retry: { maxRetries: 1, retryDelayMs: 10, maxRetryDelayMs: 20, maxRetryAfterSeconds: 1 } });
  });
  afterAll(async () => {
    await arm.close();
  });

  test('kept on create, returned by get and list, and changed by a second PUT', async () => {
    const scope = `/subscriptions/${SUB}/resourceGroups/rg-data`;
    const principal = 'aaaaaaaa-0000-4000-8000-000000000001';
    const name = roleAssignmentName(scope, principal, KV_SECRETS_USER);
    const first = assignmentDescription('wid-aaaaaaaaaa', '2026-11-30T08:00:00.000Z');
    const created = await azure.authorization.createRoleAssignment(scope, name, KV_SECRETS_USER, principal, first);
    expect(created.description).toBe(first);
    expect((await azure.authorization.getRoleAssignment(scope, name))?.description).toBe(first);
    const later = assignmentDescription('wid-bbbbbbbbbb', '2026-11-30T16:00:00.000Z');
    await azure.authorization.createRoleAssignment(scope, name, KV_SECRETS_USER, principal, later);
    const listed = await azure.authorization.listRoleAssignments(`/subscriptions/${SUB}`, principal);
    expect(listed.map((a) => parseAssignmentDescription(a.description))).toEqual([{ requestId: 'wid-bbbbbbbbbb', endsAt: '2026-11-30T16:00:00.000Z' }]);
    expect(arm.state.roleAssignments()[0]?.description).toBe(later);
  });
});
