import { auditCluster } from '../../../src/inspect/audit';
import { renderSlack } from '../../../src/inspect/render/slack';
import type { ManagedIdentity } from '../../../src/domain/ports';
import { requestOptionsFor } from '../../../src/domain/policy';
import { TAG_MANAGED_BY, TAG_MANAGED_BY_VALUE, type PolicyCluster } from '../../../src/domain/types';
import type { Finding } from '../../../src/inspect/types';
import { fixButtonFor, fixButtonValue, parseFixButtonValue } from '../../../src/slack/blocks/fix-buttons';
import { requestModal } from '../../../src/slack/blocks/modals';
import { ACTION, REQUEST_BLOCK } from '../../../src/slack/ids';
import { parsePolicy } from '../../../src/config/policy';
import { validateBlocks } from '../../emulators/slack/blocks';
import { worldPolicyYaml, WORLD } from '../../emulators/world';

const cluster: PolicyCluster = { name: 'blue', subscriptionId: 's', resourceGroup: 'rg-aks', aksName: 'aks-blue' };
const ISSUER = 'https://westeurope.oic.prod-aks.azure.com/t/a/';
const facts = { name: 'blue', oidcIssuerEnabled: true, issuerUrl: ISSUER, workloadIdentityEnabled: true };
const identity = (name: string, tags: Record<string, string>): ManagedIdentity => ({ id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`, name, subscriptionId: 's', resourceGroup: 'rg', location: 'westeurope', clientId: `client-${name}`, principalId: `p-${name}`, tenantId: 't', tags });
const fic = (id: ManagedIdentity, sa: string) => ({ id: `${id.id}/federatedIdentityCredentials/${sa}`, name: sa, identityId: id.id, issuer: ISSUER, subject: `system:serviceaccount:finance:${sa}`, audiences: ['api://AzureADTokenExchange'] });

type Block = { type: string; accessory?: { action_id?: string; value?: string; confirm?: unknown }; text?: { text?: string } };

function auditBlocks(): Block[] {
  const mine = identity('wid-blue-finance-gone', { [TAG_MANAGED_BY]: TAG_MANAGED_BY_VALUE });
  const handMade = identity('id-by-hand', {});
  const result = auditCluster({
    cluster,
    facts,
    knownClusters: [{ cluster, facts }],
    identities: [{ identity: mine, credentials: [fic(mine, 'gone')] }, { identity: handMade, credentials: [fic(handMade, 'also-gone')] }],
    // annotated with a client id no identity has
    serviceAccounts: [{ namespace: 'finance', name: 'lost-sa', annotations: { 'azure.workload.identity/client-id': 'no-such-client' }, labels: {} }],
    pods: [],
    nameCluster: false,
  });
  const [first] = renderSlack(result);
  expect(validateBlocks(first?.blocks, 'message')).toEqual([]);
  return (first?.blocks ?? []) as Block[];
}

describe('fix buttons on findings', () => {
  test('an annotated ServiceAccount whose identity is missing gets Request, prefilled with it', () => {
    const b = auditBlocks().find((x) => x.accessory?.action_id === ACTION.fixRequest);
    expect(b?.text?.text).toContain('lost-sa');
    expect(parseFixButtonValue(b?.accessory?.value ?? '')).toEqual({ action: 'request', cluster: 'blue', namespace: 'finance', serviceAccount: 'lost-sa' });
  });

  test('an orphaned wid-bot identity gets Revoke behind a confirmation; one made by hand gets none', () => {
    const revokes = auditBlocks().filter((x) => x.accessory?.action_id === ACTION.fixRevoke);
    expect(revokes).toHaveLength(1);
    expect(revokes[0]?.text?.text).toContain('wid-blue-finance-gone');
    expect(parseFixButtonValue(revokes[0]?.accessory?.value ?? '')).toEqual({ action: 'revoke', cluster: 'blue', namespace: 'finance', serviceAccount: 'gone' });
    expect(revokes[0]?.accessory?.confirm).toMatchObject({ title: { text: 'Ask for a revoke?' }, confirm: { text: 'Ask for it' }, style: 'danger' });
    expect(JSON.stringify(revokes[0]?.accessory?.confirm)).toContain("needs an approver's approval");
  });

  test('a grant past its end whose assignment remains gets Revoke by its request id', () => {
    const f: Finding = { severity: 'error', code: 'grant-past-end', subject: 'grant/wid-abcdefgh23', message: 'm', fix: 'x', repair: { action: 'revoke', requestId: 'wid-abcdefgh23' } };
    const b = fixButtonFor(f, 'blue');
    expect(b?.actionId).toBe(ACTION.fixRevoke);
    expect(parseFixButtonValue(b?.value ?? '')).toEqual({ action: 'revoke', cluster: 'blue', requestId: 'wid-abcdefgh23' });
    expect(fixButtonFor({ ...f, repair: undefined }, 'blue')).toBeUndefined();
  });

  test('button values: round trip, and anything else is no value', () => {
    const v = { action: 'request' as const, cluster: 'blue', namespace: 'finance', serviceAccount: 'api' };
    expect(parseFixButtonValue(fixButtonValue(v))).toEqual(v);
    for (const bad of ['', 'x', '{}', '{"a":"delete","c":"blue","n":"x"}', '{"a":"request","c":"blue"}', '{"a":"revoke","c":"blue","n":"x"}', '{"a":"request","n":"x"}', 'null']) expect(parseFixButtonValue(bad)).toBeUndefined();
  });

  test('the request form starts with the namespace chosen and the ServiceAccount typed; a namespace the person may not use stays unchosen', () => {
    const policy = parsePolicy(worldPolicyYaml(), 'world');
    const options = requestOptionsFor(policy, WORLD.users.requester, []);
    const view = requestModal(options, { channel: 'C1' }, { namespace: 'finance', serviceAccount: 'lost-sa' });
    const blocks = view.blocks as Array<{ block_id?: string; element?: { initial_option?: { value: string }; initial_value?: string } }>;
    expect(blocks.find((b) => b.block_id === REQUEST_BLOCK.namespace)?.element?.initial_option?.value).toBe('finance');
    expect(blocks.find((b) => b.block_id === REQUEST_BLOCK.serviceAccount)?.element?.initial_value).toBe('lost-sa');
    expect(validateBlocks(view.blocks, 'modal')).toEqual([]);
    const other = requestModal(options, { channel: 'C1' }, { namespace: 'kube-system', serviceAccount: 'x' });
    expect((other.blocks as typeof blocks).find((b) => b.block_id === REQUEST_BLOCK.namespace)?.element?.initial_option).toBeUndefined();
  });
});

describe('fix buttons on /wid legacy', () => {
  test('an AzureIdentity gets Request prefilled with its namespace and ServiceAccount; a binding keeps Migrate; the add-on line gets none', () => {
    const [first] = renderSlack({
      verb: 'legacy',
      cluster: { name: 'blue', subscriptionId: 's', resourceGroup: 'rg-aks', aksName: 'aks-blue' },
      podIdentityProfileEnabled: true,
      items: [
        { kind: 'AzureIdentity', namespace: 'finance', name: 'reports-identity', request: '/wid request finance reports-identity <role>' },
        { kind: 'AzureIdentityBinding', namespace: 'finance', name: 'reports-binding', request: '/wid request finance reports <role>', migrate: '/wid migrate finance reports-binding' },
        { kind: 'PodIdentityProfile', name: 'aks-blue', request: '/wid request <namespace> <serviceaccount> <role>' },
      ],
    });
    expect(validateBlocks(first?.blocks, 'message')).toEqual([]);
    const accessories = ((first?.blocks ?? []) as Block[]).map((b) => b.accessory).filter((a): a is NonNullable<Block['accessory']> => !!a);
    expect(accessories.map((a) => a.action_id)).toEqual([ACTION.fixRequest, ACTION.migrate]);
    expect(parseFixButtonValue(accessories[0]?.value ?? '')).toEqual({ action: 'request', cluster: 'blue', namespace: 'finance', serviceAccount: 'reports-identity' });
  });
});
