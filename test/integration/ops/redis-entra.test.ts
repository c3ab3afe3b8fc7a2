/**
 * Redis with Microsoft Entra ID authentication, for real: a private redis-server over TLS whose only usable user is
 * the bot's object id (the `oid` of its Entra token), with the tokens the Entra emulator issued as passwords, as
 * Azure Cache for Redis / Azure Managed Redis accept them. The web role and a worker run on it (every connection,
 * BullMQ's duplicates included, through EntraRedisAuth). The token is rotated while they run: every live connection
 * re-authenticates with the new one; then the old token is refused and every connection is cut, and they come back
 * with the new token. No job is dropped and no failure reaches Slack.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { Redis } from 'ioredis';
import { ACTION } from '../../../src/slack/ids';
import { EntraRedisAuth, tokenObjectId, useEntraAuthFor } from '../../../src/store';
import { forgetRedisAuth } from '../../../src/store/redis-auth';
import { loadConfig } from '../../../src/config/env';
import { WORLD } from '../../emulators/world';
import { testTls } from '../../emulators/common/tls';
import { requestIdIn, startHarness, waitForEphemeral, type Harness } from '../../e2e/harness';
import { freePort, redisServerBinary } from '../../support/redis-server';

jest.setTimeout(90_000);

const ALICE = WORLD.users.requester;
const BOB = WORLD.users.approver;
const ADMIN_PASSWORD = 'test-admin-only';

async function startTlsRedis(): Promise<{ url: string; port: number; admin: Redis; stop(): Promise<void> }> {
  const tls = await testTls(path.join(os.tmpdir(), 'wid-redis-entra-tls'));
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wid-redis-entra-'));
  const child: ChildProcess = spawn(
    redisServerBinary(),
    [
      '--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
      '--tls-cert-file', tls.caFile, '--tls-key-file', tls.caFile.replace(/ca\.pem$/, 'key.pem'), '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no',
      '--maxmemory-policy', 'noeviction',
      // no anonymous access: the default user is off, an admin user for the test only
      '--user', 'default', 'off', '--user', 'admin', 'on', `>${ADMIN_PASSWORD}`, '~*', '&*', '+@all',
    ],
    { stdio: 'ignore' },
  );
  const until = Date.now() + 10_000;
  let admin: Redis;
  for (;;) {
    admin = new Redis({ host: '127.0.0.1', port, username: 'admin', password: ADMIN_PASSWORD, tls: { ca: tls.certPem }, lazyConnect: true, maxRetriesPerRequest: 3, retryStrategy: () => null });
    admin.on('error', () => undefined);
    try {
      await admin.connect();
      break;
    } catch (e) {
      admin.disconnect();
      if (Date.now() > until || child.exitCode !== null) throw new Error(`redis-server with TLS did not start: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: `rediss://127.0.0.1:${port}`,
    port,
    admin,
    async stop() {
      admin.disconnect();
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bot's credential against the Entra emulator; `rotate()` makes the next getToken a fresh token (a new cache). */
class RotatingCredential implements TokenCredential {
  readonly issued: string[] = [];
  private inner: ClientSecretCredential;
  constructor(
    private readonly authorityHost: string,
    private readonly onToken: (token: string) => Promise<void>,
  ) {
    this.inner = this.make();
  }
  private make(): ClientSecretCredential {
    return new ClientSecretCredential(WORLD.tenantId, WORLD.botClientId, WORLD.botClientSecret, { authorityHost: this.authorityHost, disableInstanceDiscovery: true });
  }
  rotate(): void {
    this.inner = this.make();
  }
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const t = await this.inner.getToken(scopes, options);
    if (t && !this.issued.includes(t.token)) {
      this.issued.push(t.token);
      await this.onToken(t.token); // Azure's Redis accepts any valid token of the principal
    }
    return t;
  }
}

/** Polls the store like a user's /wid status would, through the reconnect window (a read then may fail fast). */
async function waitForEnd(h: Harness, id: string, timeoutMs = 45_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.store.get(id).catch(() => undefined);
    if (r && (r.state === 'succeeded' || r.state === 'failed')) return r.state;
    if (Date.now() > until) throw new Error(`request ${id} did not finish within ${timeoutMs} ms; last state ${r?.state}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

const authCalls = async (admin: Redis): Promise<number> => Number(/cmdstat_auth:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
const botClients = async (admin: Redis, user: string): Promise<number> => ((await admin.client('LIST')) as string).split('\n').filter((l) => l.includes(` user=${user} `)).length;

describe('Redis with Microsoft Entra ID authentication', () => {
  let redis: Awaited<ReturnType<typeof startTlsRedis>>;
  let h: Harness | undefined;
  let auth: EntraRedisAuth;
  let credential: RotatingCredential;
  let oid = '';

  beforeAll(async () => {
    redis = await startTlsRedis();
  });
  afterAll(async () => {
    await h?.close().catch(() => undefined);
    auth?.stop();
    if (redis) forgetRedisAuth(redis.url);
    await redis?.stop();
  });

  it('the configuration asks for TLS and no password in the URL', () => {
    const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99e1e2e3e485', KUBECONFIG: __filename, WID_POLICY_FILE: path.resolve(__dirname, '../../../policy.example.yaml'), WID_REDIS_AUTH: 'entra' };
    expect(() => loadConfig({ ...base, REDIS_URL: 'redis://cache.redis.azure.net:10000' })).toThrow('REDIS_URL must be rediss:// (TLS) with WID_REDIS_AUTH=entra');
    expect(() => loadConfig({ ...base, REDIS_URL: 'rediss://:key@cache.redis.azure.net:10000' })).toThrow('must carry no user or password');
    expect(loadConfig({ ...base, REDIS_URL: 'rediss://cache.redis.azure.net:10000', WID_REDIS_PREFIX: '{wid}' }).redis).toEqual({ url: 'rediss://cache.redis.azure.net:10000', prefix: '{wid}', auth: 'entra' });
  });

  it('provisions while the token rotates under it: re-AUTH in place, then reconnects with the new token after the old is refused', async () => {
    const addToken = async (token: string) => {
      oid = tokenObjectId(token);
      await redis.admin.acl('SETUSER', oid, 'on', `>${token}`, '~*', '&*', '+@all');
    };
    h = await startHarness({
      worker: true,
      world: { arm: { throttle: false } },
      redisUrl: redis.url,
      beforeConnect: async (world) => {
        credential = new RotatingCredential(world.entra.url, addToken);
        auth = new EntraRedisAuth(credential);
        await auth.start();
        useEntraAuthFor(redis.url, auth);
      },
    });
    const first = credential.issued[0]!;
    expect(credential.issued).toHaveLength(1);
    expect(auth.credentials()).toEqual({ username: oid, password: first });
    expect(oid).toMatch(/^[0-9a-f-]{36}$/);

    // every connection the bot holds is one of ours (BullMQ's blocking duplicates included)
    const connected = await botClients(redis.admin, oid);
    expect(connected).toBeGreaterThanOrEqual(5);
    expect(auth.connections).toBeGreaterThanOrEqual(connected);

    // a request on the first token
    await h.wid(ALICE, 'request finance entra-one Key Vault Secrets User --reason redis with entra');
    const one = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('entra-one') && t.includes('waiting for approval'))) as string;
    await h.click(BOB, ACTION.approve, one);

    // rotation while it runs: a new token; every live connection re-authenticates with it in place
    const authsBefore = await authCalls(redis.admin);
    const liveBefore = await botClients(redis.admin, oid);
    credential.rotate();
    await auth.renew();
    const second = credential.issued[1]!;
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(auth.credentials().password).toBe(second);
    expect((await authCalls(redis.admin)) - authsBefore).toBeGreaterThanOrEqual(liveBefore);

    // the old token expires: Redis refuses it, and every connection is cut (as at a failover)
    await redis.admin.acl('SETUSER', oid, `<${first}`);
    await redis.admin.client('KILL', 'USER', oid);

    // they come back on the new token and the work goes on: the first request finishes, a second one too
    expect(await waitForEnd(h, one)).toBe('succeeded');
    await h.wid(ALICE, 'request finance entra-two Key Vault Secrets User --reason after the rotation');
    const two = requestIdIn(await waitForEphemeral(h.world, ALICE, (t) => t.includes('entra-two') && t.includes('waiting for approval'))) as string;
    await h.click(BOB, ACTION.approve, two);
    expect(await waitForEnd(h, two)).toBe('succeeded');
    expect(await botClients(redis.admin, oid)).toBeGreaterThanOrEqual(5);

    // nothing failed in front of users, and Redis saw no refused login
    const said = JSON.stringify([...h.world.slack.messages(WORLD.approvalsChannel), ...h.world.slack.ephemerals(ALICE), ...h.world.slack.dms(ALICE)]);
    expect(said).not.toMatch(/failed|error|WRONGPASS|NOAUTH/i);
    const refused = (await redis.admin.acl('LOG')) as unknown[];
    expect(refused).toEqual([]);
    expect(credential.issued).toHaveLength(2);
  });
});
