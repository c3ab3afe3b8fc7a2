/**
 * Metrics and readiness against a real Redis and real BullMQ queues: queue depth on scrape, /readyz
 * following Redis, and a worker-only health server on its own port.
 */
import { Redis } from 'ioredis';
import { createQueues, type WidQueues } from '../../../src/queue';
import { bullmqQueueCounts, Metrics } from '../../../src/observability/metrics';
import { redisPingCheck, startHealthServer, type HealthServer } from '../../../src/observability/health';
import { testRedisUrl, uniquePrefix } from '../../support/redis';
import { closeConnection } from '../../../src/store/connection';

let queues: WidQueues;
let redis: Redis;
let server: HealthServer | undefined;

beforeAll(async () => {
  queues = await createQueues(testRedisUrl(), uniquePrefix('ops-metrics'));
  redis = new Redis(testRedisUrl(), { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  await redis.connect();
});
afterAll(async () => {
  await server?.close();
  await queues.close();
  await closeConnection(redis);
});

const sample = (text: string, labels: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`wid_queue_jobs{${labels}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

describe('observability with Redis', () => {
  it('reports BullMQ queue depth when scraped', async () => {
    const metrics = new Metrics({ processMetrics: false, queueCounts: bullmqQueueCounts([queues.provision, queues.timers]) });
    let text = await metrics.metricsText();
    expect(sample(text, 'queue="wid-provision",state="waiting"')).toBe(0);
    await queues.enqueueProvision('r-1', 'grant');
    await queues.enqueueProvision('r-2', 'grant');
    await queues.scheduleTimers('r-1', Date.now() + 3_600_000);
    text = await metrics.metricsText();
    expect(sample(text, 'queue="wid-provision",state="waiting"')).toBe(2);
    expect(sample(text, 'queue="wid-timers",state="delayed"')).toBeGreaterThanOrEqual(1);
  });

  it('a worker-only health server: ready while Redis answers, 503 naming redis when it does not', async () => {
    const metrics = new Metrics({ processMetrics: false, queueCounts: bullmqQueueCounts([queues.provision]) });
    server = await startHealthServer(0, { redis: redisPingCheck(redis) }, metrics, { host: '127.0.0.1', checkTimeoutMs: 1000 });
    const url = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('wid_queue_jobs{queue="wid-provision"');
    redis.disconnect();
    const r = await fetch(`${url}/readyz`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { notReady: string[] }).notReady).toEqual(['redis']);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});
