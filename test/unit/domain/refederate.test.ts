/**
 * Re-federation planning after a cluster got a new OIDC issuer: which identities get a credential for the
 * current issuer, which are skipped at the 20-credential limit, which subjects are gone.
 */
import fc from 'fast-check';
import { parseCommand } from '../../../src/domain/grammar';
import { FEDERATED_CREDENTIAL_NAME_PATTERN } from '../../../src/domain/names';
import { issuerCredentialName, planRefederate, plannedDeletes, plannedWrites, previousIssuers, type RefederateIdentity } from '../../../src/domain/refederate';
import { MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, WORKLOAD_IDENTITY_AUDIENCE } from '../../../src/domain/types';

const OLD = 'https://westeurope.oic.prod-aks.azure.com/t/11111111-1111-1111-1111-111111111111/';
const OLDER = 'https://westeurope.oic.prod-aks.azure.com/t/00000000-0000-0000-0000-000000000000/';
const NEW = 'https://westeurope.oic.prod-aks.azure.com/t/22222222-2222-2222-2222-222222222222/';
const sub = (ns: string, sa: string) => `system:serviceaccount:${ns}:${sa}`;

function identity(name: string, creds: { name: string; issuer: string; subject: string }[]): RefederateIdentity {
  return {
    id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`,
    name,
    subscriptionId: 's',
    resourceGroup: 'rg',
    clientId: `client-${name}`,
    tenantId: 't',
    credentials: creds.map((c) => ({ ...c, audiences: [WORKLOAD_IDENTITY_AUDIENCE] })),
  };
}

describe('previousIssuers', () => {
  it('lists what the cluster had before, newest first, without the current one', () => {
    const history = [
      { issuer: OLDER, firstSeen: '2026-01-01T00:00:00Z', lastSeen: '2026-02-01T00:00:00Z' },
      { issuer: NEW, firstSeen: '2026-03-01T00:00:00Z', lastSeen: '2026-04-01T00:00:00Z' },
      { issuer: OLD, firstSeen: '2026-02-02T00:00:00Z', lastSeen: '2026-02-28T00:00:00Z' },
      { issuer: '', firstSeen: '2026-01-01T00:00:00Z', lastSeen: '2026-01-01T00:00:00Z' },
    ];
    expect(previousIssuers(history, NEW)).toEqual([OLD, OLDER]);
    expect(previousIssuers([], NEW)).toEqual([]);
  });
});

describe('planRefederate', () => {
  it('plans a credential for the current issuer with the same subject for each ServiceAccount that still exists', () => {
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD],
      identities: [identity('id-a', [{ name: 'a-old', issuer: OLD, subject: sub('finance', 'a') }])],
      serviceAccounts: new Set(['finance/a']),
    });
    expect(plan.items).toHaveLength(1);
    const item = plan.items[0];
    expect(item?.credential).toEqual({ name: issuerCredentialName('blue', 'finance', 'a', NEW), issuer: NEW, subject: sub('finance', 'a'), audiences: [WORKLOAD_IDENTITY_AUDIENCE] });
    expect(item?.present).toBe(false);
    expect(item?.oldCredentials).toEqual([{ name: 'a-old', issuer: OLD }]);
    expect(plannedWrites(plan)).toBe(1);
    expect(plannedDeletes(plan)).toBe(1);
  });

  it('reports subjects whose ServiceAccount is gone instead of recreating them', () => {
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD],
      identities: [identity('id-a', [{ name: 'gone-old', issuer: OLD, subject: sub('finance', 'gone') }])],
      serviceAccounts: new Set(['finance/a']),
    });
    expect(plan.items).toEqual([]);
    expect(plan.gone).toEqual([expect.objectContaining({ subject: sub('finance', 'gone'), credential: 'gone-old', issuer: OLD })]);
  });

  it('a cluster recreated twice: both old credentials of a subject are one item, removed together later', () => {
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD, OLDER],
      identities: [identity('id-a', [{ name: 'c1', issuer: OLDER, subject: sub('finance', 'a') }, { name: 'c2', issuer: OLD, subject: sub('finance', 'a') }])],
      serviceAccounts: new Set(['finance/a']),
    });
    expect(plan.items).toHaveLength(1);
    expect(plan.items[0]?.oldCredentials.map((c) => c.name).sort()).toEqual(['c1', 'c2']);
  });

  it('an identity already trusting the current issuer only needs verifying', () => {
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD],
      identities: [identity('id-a', [{ name: 'c1', issuer: OLD, subject: sub('finance', 'a') }, { name: 'c2', issuer: NEW, subject: sub('finance', 'a') }])],
      serviceAccounts: new Set(['finance/a']),
    });
    expect(plan.items[0]?.present).toBe(true);
    expect(plan.items[0]?.credential.name).toBe('c2');
    expect(plannedWrites(plan)).toBe(0);
  });

  it('skips, by name, what would take an identity past 20 credentials and still plans what fits', () => {
    const creds = Array.from({ length: MAX_FEDERATED_CREDENTIALS_PER_IDENTITY - 1 }, (_, i) => ({ name: `c${i}`, issuer: OLD, subject: sub('finance', `s${String(i).padStart(2, '0')}`) }));
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD],
      identities: [identity('id-full', creds)],
      serviceAccounts: new Set(creds.map((_, i) => `finance/s${String(i).padStart(2, '0')}`)),
    });
    expect(plan.items).toHaveLength(1);
    expect(plan.skipped).toHaveLength(MAX_FEDERATED_CREDENTIALS_PER_IDENTITY - 2);
    expect(plan.skipped[0]?.message).toContain('Identity id-full already has 20 federated credentials');
  });

  it('ignores credentials of other issuers and subjects that are not ServiceAccounts', () => {
    const plan = planRefederate({
      cluster: 'blue',
      currentIssuer: NEW,
      previousIssuers: [OLD],
      identities: [identity('id-a', [{ name: 'gha', issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:x/y:ref:main' }, { name: 'odd', issuer: OLD, subject: 'repo:x' }])],
      serviceAccounts: new Set(['finance/a']),
    });
    expect(plan.items).toEqual([]);
    expect(plan.gone).toEqual([]);
  });

  const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/);
  const issuerArb = fc.constantFrom(OLD, OLDER, NEW, 'https://other/');

  it('for any identities: never more than 20 credentials per identity, items only for existing ServiceAccounts, every old credential accounted for once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.record({ ns: label, sa: label, issuer: issuerArb }), { maxLength: 22 }), { maxLength: 6 }),
        fc.array(fc.tuple(label, label), { maxLength: 30 }),
        (ids, existing) => {
          const identities = ids.map((creds, i) =>
            identity(`id-${i}`, creds.slice(0, MAX_FEDERATED_CREDENTIALS_PER_IDENTITY).map((c, j) => ({ name: `c${j}`, issuer: c.issuer, subject: sub(c.ns, c.sa) }))),
          );
          const serviceAccounts = new Set(existing.map(([ns, sa]) => `${ns}/${sa}`));
          const plan = planRefederate({ cluster: 'blue', currentIssuer: NEW, previousIssuers: [OLD, OLDER], identities, serviceAccounts });
          for (const id of identities) {
            const added = plan.items.filter((it) => it.identity.id === id.id && !it.present).length;
            expect(id.credentials.length + added).toBeLessThanOrEqual(MAX_FEDERATED_CREDENTIALS_PER_IDENTITY);
            const olds = id.credentials.filter((c) => c.issuer === OLD || c.issuer === OLDER);
            const covered = plan.items.filter((it) => it.identity.id === id.id).flatMap((it) => it.oldCredentials.map((o) => o.name));
            const gone = plan.gone.filter((g) => g.identity.id === id.id).map((g) => g.credential);
            const skippedSubjects = new Set(plan.skipped.filter((s) => s.identity.id === id.id).map((s) => s.subject));
            const skippedCreds = olds.filter((c) => skippedSubjects.has(c.subject)).map((c) => c.name);
            expect([...covered, ...gone, ...skippedCreds].sort()).toEqual(olds.map((c) => c.name).sort());
          }
          for (const it of plan.items) {
            expect(serviceAccounts.has(`${it.namespace}/${it.serviceAccount}`)).toBe(true);
            expect(it.credential.issuer).toBe(NEW);
            expect(it.credential.subject).toBe(it.subject);
          }
          expect(new Set(plan.items.map((i) => i.key)).size).toBe(plan.items.length);
        },
      ),
    );
  });
});

describe('issuerCredentialName', () => {
  it('is a valid credential name, stable, and differs per issuer', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/), fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,250}[a-z0-9])?$/), (ns, sa) => {
        const a = issuerCredentialName('blue', ns, sa, OLD);
        expect(a).toMatch(FEDERATED_CREDENTIAL_NAME_PATTERN);
        expect(a.length).toBeLessThanOrEqual(120);
        expect(issuerCredentialName('blue', ns, sa, OLD)).toBe(a);
        expect(issuerCredentialName('blue', ns, sa, NEW)).not.toBe(a);
      }),
    );
  });
});

describe('/wid refederate grammar', () => {
  it('takes the cluster and an optional reason; refuses a missing cluster or extra words with the usage', () => {
    expect(parseCommand('refederate blue --reason cluster rebuilt')).toEqual({ ok: true, value: { verb: 'refederate', cluster: 'blue', reason: 'cluster rebuilt' } });
    expect(parseCommand('refederate blue')).toEqual({ ok: true, value: { verb: 'refederate', cluster: 'blue' } });
    const missing = parseCommand('refederate');
    expect(!missing.ok && missing.error.message).toBe('refederate needs the name of the recreated cluster, as the policy names it.\nUsage: /wid refederate <cluster> [--reason <text>]');
    const extra = parseCommand('refederate blue green');
    expect(!extra.ok && extra.error.code).toBe('unexpected-argument');
    const flag = parseCommand('refederate blue --cluster green');
    expect(!flag.ok && flag.error.message).toContain('is not a flag of refederate: it takes --reason');
  });
});

describe('planRefederate: order and what counts as already there', () => {
  it('an identity’s items come in subject order, whatever order Azure listed its credentials in', () => {
    const plan = planRefederate({
      cluster: 'blue', currentIssuer: NEW, previousIssuers: [OLD],
      identities: [identity('id-a', [{ name: 'z', issuer: OLD, subject: sub('payments', 'zeta') }, { name: 'a', issuer: OLD, subject: sub('finance', 'alpha') }, { name: 'm', issuer: OLD, subject: sub('payments', 'api') }])],
      serviceAccounts: new Set(['payments/zeta', 'finance/alpha', 'payments/api']),
    });
    expect(plan.items.map((i) => i.subject)).toEqual([sub('finance', 'alpha'), sub('payments', 'api'), sub('payments', 'zeta')]);
  });

  it('a current-issuer credential for another subject does not make this subject present', () => {
    const plan = planRefederate({
      cluster: 'blue', currentIssuer: NEW, previousIssuers: [OLD],
      identities: [identity('id-a', [{ name: 'old', issuer: OLD, subject: sub('payments', 'api') }, { name: 'other', issuer: NEW, subject: sub('payments', 'worker') }])],
      serviceAccounts: new Set(['payments/api', 'payments/worker']),
    });
    expect(plan.items).toHaveLength(1);
    expect(plan.items[0]).toMatchObject({ subject: sub('payments', 'api'), present: false, credential: { name: issuerCredentialName('blue', 'payments', 'api', NEW), issuer: NEW } });
    expect(plannedWrites(plan)).toBe(1);
  });
});
