/**
 * `wid refederate <cluster>` against the world: the CLI reads the identities from ARM, the ServiceAccounts from the
 * cluster and the issuers wid-bot has seen from Redis, and prints what /wid refederate would re-federate.
 */
import { ClientSecretCredential } from '@azure/identity';
import { createAzureAdapters } from '../../../src/azure';
import { run } from '../../../src/cli/refederate';
import type { CliIo } from '../../../src/cli/verb';
import { connectProducer } from '../../../src/store/connection';
import { IssuerHistory } from '../../../src/store/issuers';
import { WORKLOAD_IDENTITY_AUDIENCE } from '../../../src/domain/types';
import { startWorld, WORLD, type World } from '../../emulators/world';
import { testRedisUrl, uniquePrefix } from '../../support/redis';

describe('wid refederate <cluster>', () => {
  let world: World;
  const prefix = uniquePrefix('cli-refed');
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world?.close());

  function io(): CliIo & { stdout: string[]; stderr: string[] } {
    const stdout: string[] = [];
    const stderr: string[] = [];
    return { stdout, stderr, out: (t) => void stdout.push(t), err: (t) => void stderr.push(t), env: { ...world.env, REDIS_URL: testRedisUrl(), WID_REDIS_PREFIX: prefix } };
  }

  it('refuses a cluster never seen with another issuer, then plans the new credential after a recreation', async () => {
    const credential = new ClientSecretCredential(WORLD.tenantId, WORLD.botClientId, WORLD.botClientSecret, { authorityHost: world.entra.url, disableInstanceDiscovery: true });
    const azure = createAzureAdapters({ credential, resourceManagerUrl: world.arm.url });
    const ref = { subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: 'id-before-recreate' };
    await azure.identities.putIdentity(ref, WORLD.location, {});
    const oldIssuer = world.kube.issuerUrl;
    await azure.identities.putFederatedCredential(ref, 'old', oldIssuer, 'system:serviceaccount:finance:default', [WORKLOAD_IDENTITY_AUDIENCE]);

    // first run: records the current issuer, nothing changed yet
    const first = io();
    expect(await run(['blue'], first)).toBe(1);
    expect(first.stderr.join('\n')).toContain('has only ever seen cluster blue with its current issuer');

    const newIssuer = world.recreateCluster();
    const second = io();
    expect(await run(['blue'], second)).toBe(0);
    const text = second.stdout.join('\n');
    expect(text).toContain(`current issuer ${newIssuer}`);
    expect(text).toContain(`Previous issuers: ${oldIssuer}`);
    expect(text).toMatch(/add {5}id-before-recreate {2}system:serviceaccount:finance:default {2}new credential '[^']+' {2}\(old: old\)/);
    expect(text).toContain('1 to re-federate, 0 skipped, 0 gone. Approve it in Slack: /wid refederate blue');
    // nothing was written
    expect((await azure.identities.listFederatedCredentials(ref)).map((c) => c.issuer)).toEqual([oldIssuer]);

    const json = io();
    expect(await run(['--json', 'blue'], json)).toBe(0);
    expect(JSON.parse(json.stdout.join('\n'))).toMatchObject({ cluster: 'blue', currentIssuer: newIssuer, items: [{ subject: 'system:serviceaccount:finance:default', present: false }] });

    const redis = await connectProducer(testRedisUrl());
    try {
      expect((await new IssuerHistory(redis, prefix).history('blue')).map((r) => r.issuer).sort()).toEqual([oldIssuer, newIssuer].sort());
    } finally {
      await redis.quit();
    }
  });

  it('bad input: no cluster, two clusters, an unknown cluster, no Redis', async () => {
    await expect(run([], io())).rejects.toThrow(/needs the name of the recreated cluster/);
    await expect(run(['blue', 'green'], io())).rejects.toThrow(/takes one cluster/);
    const unknown = io();
    expect(await run(['purple'], unknown)).toBe(1);
    expect(unknown.stderr.join('\n')).toContain('There is no cluster "purple" in the policy. Clusters: blue.');
    const noRedis = io();
    delete noRedis.env.REDIS_URL;
    await expect(run(['blue'], noRedis)).rejects.toThrow(/set REDIS_URL/);
  });
});
