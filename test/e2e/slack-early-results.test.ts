/**
 * A long `/wid audit` under Azure's read throttling, through the whole Slack app: the first page of findings
 * reaches the asker while the scan goes on, the progress says how long the rest takes, and the final answer
 * still holds every finding.
 */
import { WORLD } from '../emulators/world';
import { startHarness, type Harness } from './harness';

const { admin: CAROL } = WORLD.users;
const RG = WORLD.identityResourceGroup;
const SUB = WORLD.subscriptionId;
const IDENTITIES = 300;
const ORPHANS = IDENTITIES / 2;

describe('a long scan shows its first results early', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ worker: false, migrate: true, world: { policy: { operators: [CAROL] }, kube: { namespaces: ['finance', 'payments'] } } });
    const { arm, kube } = h.world;
    for (let i = 0; i < IDENTITIES; i++) {
      const name = `app-${String(i).padStart(3, '0')}`;
      const namespace = i % 3 === 0 ? 'payments' : 'finance';
      const identity = arm.state.seedIdentity({ subscriptionId: SUB, resourceGroup: RG, name: `id-${name}` });
      arm.state.seedFederatedCredential(identity.id, { name, issuer: kube.issuerUrl, subject: `system:serviceaccount:${namespace}:${name}` });
      kube.seedServiceAccount({ namespace, name, annotations: { 'azure.workload.identity/client-id': identity.clientId } });
      // every other identity also trusts a ServiceAccount that does not exist: one orphaned-credential finding each
      if (i % 2 === 0) arm.state.seedFederatedCredential(identity.id, { name: `gone-${name}`, issuer: kube.issuerUrl, subject: `system:serviceaccount:${namespace}:gone-${name}` });
    }
    // A small read bucket: about 300 reads at 40 per second after a burst of 20, so the scan takes several seconds.
    arm.setThrottle({ read: { burst: 20, perSecond: 40 } });
  }, 60_000);
  afterAll(async () => h?.close());

  it('posts the first page before the scan ends, the time left in the progress, and every finding at the end', async () => {
    const mark = h.world.slack.mark();
    const t0 = Date.now();
    await h.wid(CAROL, 'audit');
    const final = await h.world.slack.waitFor((e) => e.kind === 'ephemeral' && e.user === CAROL && (e.text ?? '').includes('Only you can see this'), 40_000, { since: mark });
    // the pages after the summary are posted right after it
    await new Promise((r) => setTimeout(r, 1000));
    const shown = h.world.slack.events().filter((e) => e.seq > mark && e.kind === 'ephemeral' && e.user === CAROL);
    const early = shown.find((e) => (e.text ?? '').includes('Early results'));
    expect(early).toBeDefined();
    const earlyAt = (early as { at: number }).at;
    // the first page came while the scan still had seconds to go
    expect(earlyAt - t0).toBeLessThan(4000);
    expect(final.at - earlyAt).toBeGreaterThan(2000);
    const earlyText = JSON.stringify(early?.blocks ?? []);
    expect(earlyText).toMatch(/identities read so far, (about \d+ s left|estimating the time left)/);
    expect(earlyText).toContain('credential-orphaned');
    // the progress message says how long the rest takes
    expect(shown.some((e) => /credentials \d+ of \d+, about \d+ s left/.test(e.text ?? ''))).toBe(true);
    // the final answer names every orphaned credential (the early page only ever some of them)
    const finalText = shown.filter((e) => e.seq >= final.seq).map((e) => JSON.stringify(e.blocks ?? [])).join('\n');
    const named = new Set([...finalText.matchAll(/gone-app-(\d{3})/g)].map((m) => m[1]));
    const earlyNamed = new Set([...earlyText.matchAll(/gone-app-(\d{3})/g)].map((m) => m[1]));
    expect(earlyNamed.size).toBeGreaterThan(0);
    expect(earlyNamed.size).toBeLessThan(ORPHANS);
    const all = new Set([...named, ...earlyNamed]);
    expect(all.size).toBe(ORPHANS);
    expect(final.text).toMatch(new RegExp(`${ORPHANS}`));
  }, 60_000);
});
