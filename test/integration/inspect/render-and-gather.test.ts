import { validateBlocks } from '../../emulators/slack/blocks';
import { RetryableError, TerminalError } from '../../../src/domain/errors';
import type { IdentityPort, ManagedIdentity } from '../../../src/domain/ports';
import { auditCluster, mapStreamBounded, renderSlack, renderTable, withRetry, type AuditResult, type Finding } from '../../../src/inspect';
import { gatherCredentials, streamIdentities } from '../../../src/inspect/gather';
import { SECTION_CHARS } from '../../../src/inspect/render/slack';

const cluster = { name: 'blue', subscriptionId: 'sub', resourceGroup: 'rg-aks', aksName: 'aks-blue' };

function manyFindings(n: number, messageLength = 200): AuditResult {
  const findings: Finding[] = Array.from({ length: n }, (_, i) => ({
    severity: 'warning',
    code: 'credential-orphaned',
    subject: `credential/rg/id-${i}/fic-${i}`,
    message: `Credential ${i} <of> & ${'x'.repeat(messageLength)}`,
    fix: `az identity federated-credential delete --name fic-${i} --identity-name id-${i} -g rg --yes`,
  }));
  return { verb: 'audit', cluster, issuerUrl: 'https://issuer/', findings, counts: { error: 0, warning: n, info: 0 }, scanned: { identities: n, credentials: n, serviceAccounts: 0, pods: 0 } };
}

describe('Slack rendering of long results', () => {
  it('pages 1,000 findings into thread messages within Block Kit limits, each saying page i of n, and loses none', () => {
    const messages = renderSlack(manyFindings(1000), 'U0CAROL001');
    expect(messages.length).toBeGreaterThan(2);
    for (const m of messages) expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    const pages = messages.length - 1;
    expect(JSON.stringify(messages[0]?.blocks)).toContain('1000 entries follow in the thread');
    messages.slice(1).forEach((m, i) => expect(m.text).toContain(`page ${i + 1} of ${pages}`));
    const all = JSON.stringify(messages.map((m) => m.blocks));
    for (const i of [0, 499, 999]) expect(all).toContain(`credential/rg/id-${i}/fic-${i}`);
    expect([...all.matchAll(/\[credential-orphaned\]/g)]).toHaveLength(1000);
    // Slack's control characters are escaped.
    expect(all).toContain('&lt;of&gt; &amp;');
  });

  it('splits a finding longer than a section across sections instead of cutting it', () => {
    const messages = renderSlack(manyFindings(1, 7000));
    for (const m of messages) expect(validateBlocks(m.blocks, 'message')).toEqual([]);
    const texts = messages.flatMap((m) => m.blocks as { type: string; text?: { text: string } }[]).filter((b) => b.type === 'section').map((b) => b.text?.text ?? '');
    expect(texts.every((t) => t.length <= SECTION_CHARS)).toBe(true);
    expect(texts.join('').replace(/Fix/g, '').split('x').length - 1).toBe(7000);
    expect(texts.some((t) => t.startsWith('(continued)'))).toBe(true);
  });

  it('a short result is one message with the findings inline', () => {
    const messages = renderSlack(manyFindings(3));
    expect(messages).toHaveLength(1);
    expect(renderTable(manyFindings(3))).toMatch(/WARNING\s+credential-orphaned\s+credential\/rg\/id-0\/fic-0/);
  });
});

describe('audit: issuer comparison', () => {
  const identity: ManagedIdentity = { id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a', name: 'id-a', subscriptionId: 's', resourceGroup: 'rg', location: 'x', clientId: 'c1', principalId: 'p', tenantId: 't', tags: {} };
  const facts = { name: 'blue', oidcIssuerEnabled: true, issuerUrl: 'https://oic.example/tenant/abc/', workloadIdentityEnabled: true };
  const fic = (name: string, issuer: string, subject = 'system:serviceaccount:ns:sa') => ({ id: `${identity.id}/federatedIdentityCredentials/${name}`, name, identityId: identity.id, issuer, subject, audiences: ['api://AzureADTokenExchange'] });
  const audit = (issuers: string[], knownClusters = [{ cluster, facts }]) =>
    auditCluster({ cluster, facts, knownClusters, identities: [{ identity, credentials: issuers.map((iss, i) => fic(`f${i}`, iss)) }], serviceAccounts: [{ namespace: 'ns', name: 'sa', annotations: {}, labels: {} }], pods: [] }).findings.map((f) => f.code);

  it('letter case is a near miss, another policy cluster is fine, a GitHub issuer is not stale, an unknown cluster issuer is', () => {
    expect(audit(['https://OIC.example/tenant/ABC/'])).toEqual(['credential-issuer-mismatch']);
    expect(audit(['https://oic.example/tenant/abc/'])).toEqual([]);
    expect(audit(['https://token.actions.githubusercontent.com'])).toEqual([]);
    expect(audit(['https://oic.example/tenant/old/'])).toEqual(['credential-stale-issuer']);
    const green = { cluster: { ...cluster, name: 'green', aksName: 'aks-green' }, facts: { ...facts, name: 'green', issuerUrl: 'https://oic.example/tenant/green/' } };
    expect(audit(['https://oic.example/tenant/green/'], [{ cluster, facts }, green])).toEqual([]);
    // An unreadable cluster: stale-issuer is not claimed, the audit says why.
    expect(audit(['https://oic.example/tenant/old/'], [{ cluster, facts }, { cluster: green.cluster, error: 'forbidden' } as never])).toEqual(['cluster-unreadable']);
  });
});

describe('gathering', () => {
  it('never runs more than the limit at once and keeps the order', async () => {
    let inFlight = 0;
    let peak = 0;
    async function* source() {
      for (let i = 0; i < 50; i++) yield i;
    }
    const out = await mapStreamBounded(source(), 4, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 1 + (n % 3)));
      inFlight--;
      return n * 2;
    });
    expect(peak).toBe(4);
    expect(out).toEqual(Array.from({ length: 50 }, (_, i) => i * 2));
  });

  it('withRetry waits what a RetryableError asks, gives up on TerminalError at once', async () => {
    const waits: number[] = [];
    let calls = 0;
    const value = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new RetryableError('throttled', 'TooManyRequests', calls === 1 ? 7 : undefined);
        return 'ok';
      },
      { sleep: async (ms) => void waits.push(ms), baseDelayMs: 100 },
    );
    expect(value).toBe('ok');
    expect(waits).toEqual([7000, 200]);
    let terminalCalls = 0;
    await expect(withRetry(async () => { terminalCalls++; throw new TerminalError('denied', 'AuthorizationFailed'); }, { sleep: async () => undefined })).rejects.toThrow('denied');
    expect(terminalCalls).toBe(1);
  });

  it('a throttled identity page restarts the listing without duplicates; credentials are listed as identities arrive', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => ({ id: `/x/id-${i}`, name: `id-${i}`, subscriptionId: 's', resourceGroup: 'rg', location: 'l', clientId: `c${i}`, principalId: 'p', tenantId: 't', tags: {} }));
    let listings = 0;
    const port = {
      listIdentities: () => ({
        async *[Symbol.asyncIterator]() {
          listings++;
          for (const [i, id] of ids.entries()) {
            if (listings === 1 && i === 3) throw new RetryableError('throttled', 'TooManyRequests', 0);
            yield id;
          }
        },
      }),
      listFederatedCredentials: async (ref: { name: string }) => [{ id: `${ref.name}/f`, name: 'f', identityId: ref.name, issuer: 'i', subject: 's', audiences: [] }],
    } as unknown as IdentityPort;
    const progress: number[] = [];
    const got = await gatherCredentials(port, streamIdentities(port, [{ subscriptionId: 's', resourceGroup: 'rg' }], { sleep: async () => undefined }), { concurrency: 2, onProgress: (p) => progress.push(p.done) });
    expect(listings).toBe(2);
    expect(got.map((g) => g.identity.name)).toEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
    expect(progress[progress.length - 1]).toBe(5);
  });
});
