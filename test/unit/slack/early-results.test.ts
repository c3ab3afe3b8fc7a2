import { EarlyResults, earlyNote, firstPage, pagesAfterEarly, progressText } from '../../../src/slack/early-results';
import type { SlackMessage } from '../../../src/slack/blocks/text';
import type { InspectProgress } from '../../../src/slack/inspect';

const msg = (text: string): SlackMessage => ({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });

describe('early results of a long scan', () => {
  it('the progress and the early note say the time left from the read pace', () => {
    expect(progressText('audit', { phase: 'credentials', done: 812, total: 2000, remainingSeconds: 47.5 })).toBe(':mag: /wid audit: credentials 812 of 2000, about 48 s left…');
    expect(progressText('creds', { phase: 'credentials', done: 3, total: 2000 })).toBe(':mag: /wid creds: credentials 3 of 2000, estimating the time left…');
    expect(earlyNote('audit', { done: 250, total: 2000, remainingSeconds: 70 })).toContain('250 of 2000 identities read so far, about 1 min 10 s left');
  });

  it('the first page of a paged answer is full when another page follows', () => {
    expect(firstPage([msg('summary'), msg('p1'), msg('p2')])).toEqual({ page: msg('p1'), full: true });
    expect(firstPage([msg('summary'), msg('p1')])).toEqual({ page: msg('p1'), full: false });
    expect(firstPage([msg('all in one')])).toEqual({ page: msg('all in one'), full: false });
    expect(firstPage([])).toBeUndefined();
  });

  it('does not repeat an unchanged first page at the end, and keeps a changed one', () => {
    expect(pagesAfterEarly([msg('p1'), msg('p2')], msg('p1'))).toEqual([msg('p2')]);
    expect(pagesAfterEarly([msg('p1'), msg('p2')], msg('p1 so far'))).toEqual([msg('p1'), msg('p2')]);
    expect(pagesAfterEarly([msg('p1')], undefined)).toEqual([msg('p1')]);
  });

  const progress = (done: number, total: number, pages: SlackMessage[]): InspectProgress => ({ done, total, phase: 'credentials', early: () => pages });

  it('posts a full first page at once, only once, and a partial one only after the wait', async () => {
    let t = 0;
    const posted: string[] = [];
    const early = new EarlyResults({ verb: 'audit', now: () => t, afterMs: 1500, post: async (m) => void posted.push(m.text) });
    early.progress(progress(10, 100, [msg('summary'), msg('p1')]));
    expect(posted).toEqual([]);
    t = 1600;
    early.progress(progress(20, 100, [msg('summary'), msg('p1 later')]));
    early.progress(progress(30, 100, [msg('summary'), msg('p1'), msg('p2')]));
    await early.settled();
    expect(posted).toEqual(['p1 later']);
    expect(early.posted?.text).toBe('p1 later');

    const full: string[] = [];
    const other = new EarlyResults({ verb: 'audit', now: () => 0, afterMs: 1500, post: async (m) => void full.push(m.text) });
    other.progress(progress(40, 100, [msg('summary'), msg('p1'), msg('p2')]));
    await other.settled();
    expect(full).toEqual(['p1']);
  });

  it('posts nothing once the scan has read everything or has ended, and forgets a post Slack refused', async () => {
    const posted: string[] = [];
    const done = new EarlyResults({ verb: 'creds', now: () => 5000, afterMs: 1500, post: async (m) => void posted.push(m.text) });
    done.progress(progress(100, 100, [msg('summary'), msg('p1'), msg('p2')]));
    await done.settled();
    done.progress(progress(50, 100, [msg('summary'), msg('p1'), msg('p2')]));
    expect(posted).toEqual([]);

    const errors: unknown[] = [];
    const refused = new EarlyResults({ verb: 'creds', now: () => 0, post: async () => Promise.reject(new Error('channel_not_found')), onError: (e) => errors.push(e) });
    refused.progress(progress(10, 100, [msg('summary'), msg('p1'), msg('p2')]));
    await refused.settled();
    expect(errors).toHaveLength(1);
    expect(refused.posted).toBeUndefined();
  });

  it('after the wait, the timer posts what is ready even with no further progress', async () => {
    const posted: string[] = [];
    const early = new EarlyResults({ verb: 'audit', afterMs: 50, post: async (m) => void posted.push(m.text) });
    early.progress(progress(5, 100, [msg('nothing yet')]));
    expect(posted).toEqual([]);
    await new Promise((r) => setTimeout(r, 120));
    await early.settled();
    expect(posted).toEqual(['nothing yet']);
  });
});
