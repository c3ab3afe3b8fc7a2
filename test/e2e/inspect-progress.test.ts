import { startHarness, type Harness } from './harness';
import { WORLD } from '../emulators/world';

describe('long /wid scans tell the user how far they got', () => {
  let h: Harness;
  const reported: string[] = [];
  beforeAll(async () => {
    h = await startHarness({
      worker: false,
      web: {
        // A slow scan: 12 s of work that reports progress every 100 ms.
        inspect: async (verb, _args, _user, onProgress) => {
          for (let done = 0; done <= 120; done++) {
            onProgress?.({ done, total: 120, phase: 'identities' });
            await new Promise((r) => setTimeout(r, 100));
          }
          reported.push(verb);
          return [{ text: `${verb}: all good` }];
        },
      },
    });
  });
  afterAll(async () => h?.close());

  it('replaces the "Scanning…" note with progress at most twice, then posts the result', async () => {
    const mark = h.world.slack.mark();
    await h.wid(WORLD.users.admin, 'audit');
    await h.world.slack.waitFor((e) => e.kind === 'ephemeral' && (e.text ?? '').includes('audit: all good'), 20_000, { since: mark });
    const ephemerals = h.world.slack.events().filter((e) => e.seq > mark && e.kind === 'ephemeral').map((e) => e.text ?? '');
    const progress = ephemerals.filter((t) => /identities \d+ of 120/.test(t));
    expect(ephemerals[0]).toMatch(/Scanning/);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(2);
    expect(reported).toEqual(['audit']);
  }, 30_000);
});
