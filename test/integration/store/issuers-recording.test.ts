/**
 * recordingIssuers against a real Redis: a first sighting is in the history when the read returns, a repeat
 * within the refresh interval does not touch Redis, and after the interval lastSeen moves.
 */
import { Redis } from 'ioredis';
import { IssuerHistory, recordingIssuers } from '../../../src/store/issuers';
import { closeConnection } from '../../../src/store/connection';
import type { ClusterFacts, PolicyCluster } from '../../../src/domain/types';
import { testRedisUrl, uniquePrefix } from '../../support/redis';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(async () => {
  await closeConnection(redis);
});

const cluster = { name: 'prod-weu' } as PolicyCluster;
let issuer = 'https://westeurope.oic.prod-aks.azure.com/t/one/';
const facts = (): ClusterFacts => ({ oidcIssuerEnabled: true, issuerUrl: issuer }) as ClusterFacts;

it('records a first sighting before the read returns, skips Redis within the interval, refreshes after it', async () => {
  const prefix = uniquePrefix('issuers');
  const history = new IssuerHistory(redis, prefix);
  let clock = Date.parse('2026-12-03T10:00:00Z');
  const clusters = recordingIssuers({ getClusterFacts: async () => facts() }, history, undefined, 60_000, () => clock);
  const writes: string[] = [];
  const original = history.record.bind(history);
  history.record = async (c, i, at) => {
    writes.push(i);
    return original(c, i, at ?? new Date(clock));
  };

  await clusters.getClusterFacts(cluster);
  expect((await history.history('prod-weu')).map((r) => r.issuer)).toEqual([issuer]);
  clock += 30_000;
  await clusters.getClusterFacts(cluster);
  expect(writes).toHaveLength(1);

  // A new issuer (a recreated cluster) is written at once, whatever the interval.
  issuer = 'https://westeurope.oic.prod-aks.azure.com/t/two/';
  await clusters.getClusterFacts(cluster);
  expect(writes).toHaveLength(2);
  expect((await history.history('prod-weu')).map((r) => r.issuer)).toHaveLength(2);

  clock += 60_000;
  await clusters.getClusterFacts(cluster);
  expect(writes).toHaveLength(3);
  const two = (await history.history('prod-weu')).find((r) => r.issuer === issuer);
  expect(two?.lastSeen).toBe(new Date(clock).toISOString());
});

it('a failed write is retried on the next read rather than remembered as done', async () => {
  const history = new IssuerHistory(redis, uniquePrefix('issuers'));
  let fail = true;
  const original = history.record.bind(history);
  history.record = async (c, i, at) => {
    if (fail) throw new Error('Redis is down');
    return original(c, i, at);
  };
  const warnings: string[] = [];
  const clusters = recordingIssuers({ getClusterFacts: async () => facts() }, history, { warn: (_o, m) => warnings.push(m ?? '') });
  await expect(clusters.getClusterFacts(cluster)).resolves.toMatchObject({ issuerUrl: issuer });
  expect(warnings).toEqual(['could not record the cluster issuer']);
  fail = false;
  await clusters.getClusterFacts(cluster);
  expect((await history.history('prod-weu')).map((r) => r.issuer)).toEqual([issuer]);
});
