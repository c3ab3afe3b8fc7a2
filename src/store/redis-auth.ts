/**
 * Microsoft Entra ID authentication to Azure Cache for Redis / Azure Managed Redis: no Redis password, the bot's
 * own workload identity instead. The password is an access token for `https://redis.azure.com/.default` from the
 * same @azure/identity credential wid-bot uses for Azure, the username the token's `oid`.
 *
 * ioredis has no credential-provider hook, but every (re)connect reads `redis.options.username/password` afresh
 * and `duplicate()` copies `options`. So: one EntraRedisAuth per process keeps the current token, every
 * connection made through `connectionFor` (and every duplicate of one, as BullMQ makes for its blocking
 * connections) is attached to it; when the token is renewed, well before it expires, each attached
 * connection's options get the new one (for the next reconnect) and each connected one is re-authenticated
 * in place with `AUTH <oid> <token>`, as Azure requires before the old token expires.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { TokenCredential } from '@azure/core-auth';

export const REDIS_ENTRA_SCOPE = 'https://redis.azure.com/.default';

export interface RedisAuthLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface EntraRedisAuthOptions {
  scope?: string;
  /** Renew this long before the token expires (default 5 minutes). */
  renewBeforeMs?: number;
  /** After a failed renewal, try again this soon (default 15 s). */
  retryMs?: number;
  logger?: RedisAuthLogger;
}

interface Credentials {
  username: string;
  password: string;
  expiresOnTimestamp: number;
}

/** The `oid` claim of an Entra access token: Azure's Redis takes it as the user name. */
export function tokenObjectId(token: string): string {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('the Entra access token for Redis is not a JWT');
  let claims: { oid?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { oid?: unknown };
  } catch {
    throw new Error('the Entra access token for Redis has an unreadable payload');
  }
  if (typeof claims.oid !== 'string' || claims.oid === '') throw new Error('the Entra access token for Redis has no oid claim (the object id Redis uses as the user name)');
  return claims.oid;
}

export class EntraRedisAuth {
  private current?: Credentials;
  private readonly attached = new Set<Redis>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly scope: string;
  private readonly renewBeforeMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly credential: TokenCredential,
    private readonly options: EntraRedisAuthOptions = {},
  ) {
    this.scope = options.scope ?? REDIS_ENTRA_SCOPE;
    this.renewBeforeMs = options.renewBeforeMs ?? 5 * 60_000;
    this.retryMs = options.retryMs ?? 15_000;
  }

  /** Gets the first token (throws with the reason when it cannot) and keeps it renewed until stop(). */
  async start(): Promise<void> {
    this.current = await this.fetch();
    this.schedule();
  }

  /** The user name and token in force (after start()). */
  credentials(): { username: string; password: string } {
    if (!this.current) throw new Error('EntraRedisAuth.start() must finish before a Redis connection is made');
    return { username: this.current.username, password: this.current.password };
  }

  /** How many connections are kept authenticated now. */
  get connections(): number {
    return this.attached.size;
  }

  /** Keep this connection's credentials current; forgotten when it ends. */
  attach(redis: Redis): void {
    const { username, password } = this.credentials();
    redis.options.username = username;
    redis.options.password = password;
    this.attached.add(redis);
    redis.once('end', () => this.attached.delete(redis));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Renews the token now and re-authenticates every connected connection (the timer calls it; tests may too). */
  async renew(): Promise<void> {
    const next = await this.fetch();
    const changed = next.password !== this.current?.password;
    this.current = next;
    if (!changed) return;
    const live = [...this.attached];
    for (const redis of live) {
      redis.options.username = next.username;
      redis.options.password = next.password;
    }
    const results = await Promise.allSettled(live.filter((r) => r.status === 'ready').map((r) => r.auth(next.username, next.password)));
    const failed = results.filter((r) => r.status === 'rejected');
    // A connection that could not re-authenticate reconnects with the new token (its options already have it).
    if (failed.length) this.options.logger?.warn(`Redis: ${failed.length} of ${results.length} connections could not re-authenticate with the renewed Entra token; they reconnect with it`);
  }

  private async fetch(): Promise<Credentials> {
    const token = await this.credential.getToken(this.scope);
    if (!token) throw new Error(`no Entra access token for ${this.scope} (the credential returned none)`);
    return { username: tokenObjectId(token.token), password: token.token, expiresOnTimestamp: token.expiresOnTimestamp };
  }

  private schedule(delayMs?: number): void {
    if (this.stopped || !this.current) return;
    const due = delayMs ?? Math.max(1000, this.current.expiresOnTimestamp - this.renewBeforeMs - Date.now());
    this.timer = setTimeout(() => {
      this.renew().then(
        () => this.schedule(),
        (e: unknown) => {
          const left = Math.round(((this.current?.expiresOnTimestamp ?? 0) - Date.now()) / 1000);
          this.options.logger?.warn(`Redis: renewing the Entra token failed (${e instanceof Error ? e.message : String(e)}); the current one is valid for ${left} s more; retrying in ${Math.round(this.retryMs / 1000)} s`);
          this.schedule(this.retryMs);
        },
      );
    }, due);
    this.timer.unref();
  }
}

/** wid-bot's connections use the default (RESP2, "legacy") reply mapping. */
type LegacyOptions = RedisOptions & { replyMapping?: 'legacy' };

/** A connection whose duplicates (BullMQ's blocking connections) stay attached to the same EntraRedisAuth. */
class EntraAuthenticatedRedis extends Redis {
  readonly #entra: EntraRedisAuth;

  constructor(entra: EntraRedisAuth, url: string | undefined, options: LegacyOptions) {
    // lazyConnect while attaching: the first connect must already carry the token
    super(url as string, { ...options, lazyConnect: true, ...entra.credentials() });
    this.#entra = entra;
    entra.attach(this);
    this.options.lazyConnect = options.lazyConnect ?? false;
    if (!options.lazyConnect) this.connect().catch(() => undefined); // errors arrive as 'error' events, as ioredis does
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new EntraAuthenticatedRedis(this.#entra, undefined, { ...this.options, ...override } as LegacyOptions);
  }
}

/** The process's Redis authentication per URL, set once by the composition root before any connection. */
const authByUrl = new Map<string, EntraRedisAuth>();

export function useEntraAuthFor(redisUrl: string, auth: EntraRedisAuth): void {
  authByUrl.set(redisUrl, auth);
}

export function forgetRedisAuth(redisUrl: string): void {
  authByUrl.delete(redisUrl);
}

/** A Redis connection to `redisUrl`, authenticated as its URL says or with the Entra token set up for it. */
export function connectionFor(redisUrl: string, options: LegacyOptions): Redis {
  const auth = authByUrl.get(redisUrl);
  return auth ? new EntraAuthenticatedRedis(auth, redisUrl, options) : new Redis(redisUrl, options);
}
