/**
 * Request metrics from the audit stream: every transition is read once across all replicas (a Redis
 * consumer group), so counters summed over pods are exact whichever process made the change.
 */
import type { Redis } from 'ioredis';
import type { RequestState } from '../domain/types';
import type { Metrics } from './metrics';

export interface TransitionFeed {
  close(): Promise<void>;
}

const GROUP = 'wid-metrics';

export async function followTransitions(
  redis: Redis,
  streamKey: string,
  metrics: Metrics,
  requestCreatedAt: (requestId: string) => Promise<string | undefined>,
  consumer: string,
  onError: (e: unknown) => void = () => {},
): Promise<TransitionFeed> {
  try {
    await redis.xgroup('CREATE', streamKey, GROUP, '$', 'MKSTREAM');
  } catch (e) {
    if (!(e instanceof Error && e.message.includes('BUSYGROUP'))) throw e;
  }
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const res = (await redis.xreadgroup('GROUP', GROUP, consumer, 'COUNT', 100, 'BLOCK', 1000, 'STREAMS', streamKey, '>')) as
          | [string, [string, string[]][]][]
          | null;
        for (const [, entries] of res ?? []) {
          for (const [id, flat] of entries) {
            const f: Record<string, string> = {};
            for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
            const to = f.to as RequestState;
            metrics.onTransition((f.from || null) as RequestState | null, to);
            if (to === 'approved' && f.requestId && f.at) {
              const created = await requestCreatedAt(f.requestId);
              if (created) metrics.observeTimeToApproval(Date.parse(f.at) - Date.parse(created));
            }
            await redis.xack(streamKey, GROUP, id);
          }
        }
      } catch (e) {
        if (!running) break;
        onError(e);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();
  return {
    async close() {
      running = false;
      redis.disconnect();
      await loop;
    },
  };
}
