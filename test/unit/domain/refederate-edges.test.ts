/**
 * Re-federation planning, the edges: the credential name's budget and characters (and its stability across
 * versions: a retry after an upgrade must find what the first attempt wrote), the issuer history's order,
 * subjects and audiences, and the limit message's fix.
 */
import { issuerCredentialName, parseSubject, planRefederate, previousIssuers, type RefederateIdentity } from '../../../src/domain/refederate';
import { WORKLOAD_IDENTITY_AUDIENCE } from '../../../src/domain/types';

const OLD = 'https://westeurope.oic.prod-aks.azure.com/t/11111111-1111-1111-1111-111111111111/';
const NEW = 'https://westeurope.oic.prod-aks.azure.com/t/22222222-2222-2222-2222-222222222222/';
const sub = (ns: string, sa: string) => `system:serviceaccount:${ns}:${sa}`;

function identity(name: string, creds: { name: string; issuer: string; subject: string; audiences?: string[] }[], id?: string): RefederateIdentity {
  return {
    id: id ?? `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
    name,
    subscriptionId: 's',
    resourceGroup: 'rg-ids',
    clientId: `client-${name}`,
    tenantId: 't',
    credentials: creds.map((c) => ({ audiences: [WORKLOAD_IDENTITY_AUDIENCE], ...c })),
  };
}

describe('issuerCredentialName', () => {
  test('stable across versions: wid-<ns>-<sa>-<12 hex of sha256 over cluster, namespace, ServiceAccount and issuer>', () => {
    expect(issuerCredentialName('blue', 'finance', 'api', 'https://x/')).toBe('wid-finance-api-32640f3242f6');
    expect(issuerCredentialName('green', 'finance', 'api', 'https://x/')).not.toBe('wid-finance-api-32640f3242f6');
  });

  test('dots become underscores and anything else outside letters, digits, _ and - a dash', () => {
    expect(issuerCredentialName('blue', 'my.ns', 's.a', 'https://x/')).toMatch(/^wid-my_ns-s_a-[0-9a-f]{12}$/);
    expect(issuerCredentialName('blue', 'a b', 'c/d', 'https://x/')).toMatch(/^wid-a-b-c-d-[0-9a-f]{12}$/);
    expect(issuerCredentialName('blue', 'A_z-9', 'q', 'https://x/')).toMatch(/^wid-A_z-9-q-[0-9a-f]{12}$/);
  });

  test('at most 120 characters: the namespace gets half of the 102 left, the ServiceAccount the rest', () => {
    const both = issuerCredentialName('blue', 'a'.repeat(80), 'b'.repeat(80), 'https://x/');
    expect(both).toMatch(new RegExp(`^wid-a{51}-b{51}-[0-9a-f]{12}$`));
    expect(both).toHaveLength(120);
    const longSa = issuerCredentialName('blue', 'a', 'b'.repeat(200), 'https://x/');
    expect(longSa).toMatch(new RegExp(`^wid-a-b{101}-[0-9a-f]{12}$`));
    expect(longSa).toHaveLength(120);
    expect(issuerCredentialName('blue', 'a'.repeat(51), 'b'.repeat(51), 'https://x/')).toHaveLength(120);
  });
});

describe('previousIssuers', () => {
  test('latest last-seen first; on a tie, latest first-seen first', () => {
    const history = [
      { issuer: 'https://a/', firstSeen: '2026-01-01T00:00:00Z', lastSeen: '2026-03-01T00:00:00Z' },
      { issuer: 'https://b/', firstSeen: '2026-02-01T00:00:00Z', lastSeen: '2026-03-01T00:00:00Z' },
      { issuer: 'https://c/', firstSeen: '2026-01-01T00:00:00Z', lastSeen: '2026-04-01T00:00:00Z' },
    ];
    expect(previousIssuers(history, NEW)).toEqual(['https://c/', 'https://b/', 'https://a/']);
    expect(previousIssuers(history, 'https://c/')).toEqual(['https://b/', 'https://a/']);
  });
});

test('parseSubject: exactly system:serviceaccount:<ns>:<name>', () => {
  expect(parseSubject(sub('finance', 'api'))).toEqual({ namespace: 'finance', name: 'api' });
  for (const s of ['system:serviceaccount:finance', 'system:serviceaccount:a:b:c', 'xsystem:serviceaccount:a:b', 'system:serviceaccount::b', 'system:serviceaccount:a:', 'repo:x/y']) {
    expect(parseSubject(s)).toBeUndefined();
  }
});

describe('planRefederate', () => {
  test('the current issuer and empty ones are never "previous"; identities are planned in id order, case-folded', () => {
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD, NEW, ''],
      identities: [
        identity('zeta', [{ name: 'z-old', issuer: OLD, subject: sub('finance', 'z') }], '/subscriptions/s/resourceGroups/rg/providers/x/B-second'),
        identity('alpha', [{ name: 'a-old', issuer: OLD, subject: sub('finance', 'a') }, { name: 'empty', issuer: '', subject: sub('finance', 'a') }], '/subscriptions/s/resourceGroups/rg/providers/x/a-first'),
      ],
      serviceAccounts: new Set(['finance/a', 'finance/z']),
    });
    expect(plan.previousIssuers).toEqual([OLD]);
    expect(plan.items.map((i) => i.identity.name)).toEqual(['alpha', 'zeta']);
    expect(plan.items[0]?.key).toBe(`/subscriptions/s/resourcegroups/rg/providers/x/a-first|${sub('finance', 'a')}`);
    expect(plan.items[0]?.oldCredentials).toEqual([{ name: 'a-old', issuer: OLD }]);
    expect(plan.items[0]?.identity).toEqual({ id: '/subscriptions/s/resourceGroups/rg/providers/x/a-first', name: 'alpha', subscriptionId: 's', resourceGroup: 'rg-ids', clientId: 'client-alpha', tenantId: 't' });
  });

  test('the new credential keeps the old one\'s audiences, or the workload identity audience when it had none; a present one is copied', () => {
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD],
      identities: [
        identity('custom', [{ name: 'c-old', issuer: OLD, subject: sub('finance', 'c'), audiences: ['api://custom'] }]),
        identity('none', [{ name: 'n-old', issuer: OLD, subject: sub('finance', 'n'), audiences: [] }]),
        identity('present', [
          { name: 'p-old', issuer: OLD, subject: sub('finance', 'p') },
          { name: 'p-new', issuer: NEW, subject: sub('finance', 'p'), audiences: ['api://x'] },
        ]),
      ],
      serviceAccounts: new Set(['finance/c', 'finance/n', 'finance/p']),
    });
    const by = Object.fromEntries(plan.items.map((i) => [i.identity.name, i]));
    expect(by.custom?.credential.audiences).toEqual(['api://custom']);
    expect(by.none?.credential.audiences).toEqual([WORKLOAD_IDENTITY_AUDIENCE]);
    expect(by.present).toMatchObject({ present: true, credential: { name: 'p-new', issuer: NEW, subject: sub('finance', 'p'), audiences: ['api://x'] } });
  });

  test('the limit message names the identity, the count, the limit and the az command that frees one', () => {
    const creds = Array.from({ length: 20 }, (_, i) => ({ name: `c${i}`, issuer: OLD, subject: sub('finance', `s${String(i).padStart(2, '0')}`) }));
    const plan = planRefederate({ cluster: 'blue', currentIssuer: NEW, previousIssuers: [OLD], identities: [identity('id-full', creds)], serviceAccounts: new Set(['finance/s00']) });
    expect(plan.items).toEqual([]);
    expect(plan.skipped).toEqual([
      {
        identity: expect.objectContaining({ name: 'id-full' }),
        subject: sub('finance', 's00'),
        reason: 'limit',
        message: `Identity id-full already has 20 federated credentials, the most Azure allows (20), so no credential for ${sub('finance', 's00')} under the new issuer fits. Remove an unused credential (az identity federated-credential delete --identity-name id-full -g rg-ids --name <name>) and refederate again.`,
      },
    ]);
  });

  test('gone subjects name each old credential and its issuer', () => {
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD, 'https://older/'],
      identities: [identity('g', [{ name: 'g1', issuer: OLD, subject: sub('finance', 'gone') }, { name: 'g2', issuer: 'https://older/', subject: sub('finance', 'gone') }])],
      serviceAccounts: new Set(),
    });
    expect(plan.gone.map((g) => [g.credential, g.issuer, g.subject])).toEqual([
      ['g1', OLD, sub('finance', 'gone')],
      ['g2', 'https://older/', sub('finance', 'gone')],
    ]);
  });
});
