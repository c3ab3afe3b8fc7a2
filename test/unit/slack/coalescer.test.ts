/**
 * Progress updates per message are paced to about one per second: a burst becomes one immediate and
 * one trailing update with the newest content, and the final state always lands.
 */
import { Coalescer } from '../../../src/slack/coalescer';
import { SlackProgressSink } from '../../../src/slack/progress';
import type { WebClient } from '@slack/web-api';
import type { StepName } from '../../../src/domain/types';
import { request } from './fixtures';

describe('Coalescer (fake timers)', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  function recorder() {
    const sent: Array<{ value: number; at: number }> = [];
    const send = (value: number) => async () => {
      sent.push({ value, at: Date.now() });
    };
    return { sent, send };
  }

  test('a burst of 20 submits within a second sends the first at once and the newest once the second is over', async () => {
    const c = new Coalescer(1000);
    const { sent, send } = recorder();
    for (let i = 0; i < 20; i++) {
      void c.submit('m1', send(i));
      await jest.advanceTimersByTimeAsync(40);
    }
    expect(sent.map((s) => s.value)).toEqual([0]);
    await jest.advanceTimersByTimeAsync(1000);
    expect(sent.map((s) => s.value)).toEqual([0, 19]);
    expect((sent[1]?.at ?? 0) - (sent[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    await jest.advanceTimersByTimeAsync(5000);
    expect(sent).toHaveLength(2);
  });

  test('a steady stream never sends two updates of one message within the interval; other messages are independent', async () => {
    const c = new Coalescer(1000);
    const a = recorder();
    const b = recorder();
    for (let i = 0; i < 100; i++) {
      void c.submit('a', a.send(i));
      void c.submit('b', b.send(i));
      await jest.advanceTimersByTimeAsync(100);
    }
    await jest.advanceTimersByTimeAsync(2000);
    for (const { sent } of [a, b]) {
      for (let i = 1; i < sent.length; i++) expect((sent[i]?.at ?? 0) - (sent[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
      expect(sent.length).toBeGreaterThanOrEqual(10);
      expect(sent.length).toBeLessThanOrEqual(11);
      expect(sent[sent.length - 1]?.value).toBe(99);
    }
  });

  test('flush resolves only after the last content landed, and a failed send does not stop later ones', async () => {
    const errors: unknown[] = [];
    const c = new Coalescer(1000, Date.now, (_k, e) => errors.push(e));
    const sent: number[] = [];
    void c.submit('m', async () => {
      throw new Error('ratelimited');
    });
    void c.submit('m', async () => {
      sent.push(2);
    });
    let flushed = false;
    void c.flush('m').then(() => {
      flushed = true;
    });
    await jest.advanceTimersByTimeAsync(500);
    expect(flushed).toBe(false);
    await jest.advanceTimersByTimeAsync(600);
    expect(sent).toEqual([2]);
    expect(flushed).toBe(true);
    expect(errors).toHaveLength(1);
    expect(c.busy).toBe(0);
  });
});

describe('SlackProgressSink', () => {
  function fakeClient() {
    const calls: Array<{ method: string; args: Record<string, unknown>; at: number }> = [];
    const record = (method: string, answer: Record<string, unknown> = {}) => async (args: Record<string, unknown>) => {
      calls.push({ method, args, at: Date.now() });
      return { ok: true, ...answer };
    };
    const client = {
      chat: { update: record('chat.update'), postMessage: record('chat.postMessage', { ts: '1.1' }) },
      conversations: { open: record('conversations.open', { channel: { id: 'D0ALICE' } }) },
    } as unknown as WebClient;
    return { client, calls };
  }

  test('a burst of step events becomes at most two updates a second, and finished posts the final state, the thread reply and the DM', async () => {
    const { client, calls } = fakeClient();
    const sink = new SlackProgressSink({ client, intervalMs: 200 });
    const r = { ...request(), state: 'provisioning' as const };
    const steps: StepName[] = ['identity', 'roleAssignment', 'federatedCredential', 'serviceAccount', 'verify'];
    for (const step of steps) {
      await sink.progress(r, { requestId: r.id, step, outcome: 'running', at: new Date().toISOString() });
      await sink.progress(r, { requestId: r.id, step, outcome: 'done', at: new Date().toISOString(), ...(step === 'identity' ? { resources: { clientId: 'cid-1' } } : {}) });
    }
    await new Promise((res) => setTimeout(res, 50));
    expect(calls.filter((c) => c.method === 'chat.update')).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 300));
    const updates = calls.filter((c) => c.method === 'chat.update');
    expect(updates).toHaveLength(2);
    // the trailing update has every step done
    expect(JSON.stringify(updates[1]?.args.blocks).match(/white_check_mark/g)?.length).toBe(5);

    await sink.finished({ ...r, state: 'succeeded', resources: { clientId: 'cid-1', verified: true } });
    const all = calls.map((c) => c.method);
    expect(all.slice(2)).toEqual(['chat.update', 'chat.postMessage', 'conversations.open', 'chat.postMessage']);
    const final = calls[2];
    expect(JSON.stringify(final?.args.blocks)).toContain('Done');
    expect(JSON.stringify(final?.args.blocks).match(/white_check_mark/g)?.length).toBeGreaterThanOrEqual(5);
    expect((final?.at ?? 0) - (updates[1]?.at ?? 0)).toBeGreaterThanOrEqual(195);
    expect(calls[3]?.args.thread_ts).toBe(r.slack?.ts);
    expect(JSON.stringify(calls[3]?.args.blocks)).toContain('serviceAccountName: backend-sa');
    expect(calls[5]?.args.channel).toBe('D0ALICE');
  });

  test('Slack failures are swallowed: progress and finished never throw', async () => {
    const client = {
      chat: { update: async () => Promise.reject(new Error('boom')), postMessage: async () => Promise.reject(new Error('boom')) },
      conversations: { open: async () => Promise.reject(new Error('boom')) },
    } as unknown as WebClient;
    const sink = new SlackProgressSink({ client, intervalMs: 10 });
    const r = request();
    await expect(sink.progress(r, { requestId: r.id, step: 'identity', outcome: 'running', at: new Date().toISOString() })).resolves.toBeUndefined();
    await expect(sink.finished({ ...r, state: 'failed', failure: { reason: 'x', retryable: false } })).resolves.toBeUndefined();
  });

  test('with a gate, no update lands before the web side says its "approved" update did; the gate is asked once per request', async () => {
    const { client, calls } = fakeClient();
    let open: () => void = () => undefined;
    const asked: string[] = [];
    const gate = {
      whenShown: (id: string) => {
        asked.push(id);
        return asked.length === 1 ? new Promise<void>((res) => (open = res)) : Promise.resolve();
      },
    };
    const sink = new SlackProgressSink({ client, intervalMs: 10, gate });
    const r = { ...request(), state: 'provisioning' as const };
    await sink.progress(r, { requestId: r.id, step: 'identity', outcome: 'running', at: new Date().toISOString() });
    await sink.progress(r, { requestId: r.id, step: 'identity', outcome: 'done', at: new Date().toISOString() });
    await new Promise((res) => setTimeout(res, 100));
    expect(calls.filter((c) => c.method === 'chat.update')).toHaveLength(0);
    open();
    await new Promise((res) => setTimeout(res, 50));
    const updates = calls.filter((c) => c.method === 'chat.update');
    // the update that waited, then the newest content: the identity done
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length).toBeLessThanOrEqual(2);
    expect(JSON.stringify(updates.at(-1)!.args.blocks)).toContain(':white_check_mark: Managed identity');
    await sink.progress(r, { requestId: r.id, step: 'roleAssignment', outcome: 'running', at: new Date().toISOString() });
    await sink.finished({ ...r, state: 'succeeded' });
    expect(asked).toEqual([r.id]);
    expect(calls.filter((c) => c.method === 'chat.update').length).toBeGreaterThanOrEqual(2);
  });
});
