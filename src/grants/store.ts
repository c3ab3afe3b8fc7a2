/**
 * Grants in Redis: one hash per grant (the Grant as JSON and a version), every write a compare-and-set in one
 * Lua step that also keeps the indexes: open grants by end time, open grants per ServiceAccount, ended grants.
 * Redis is not the only record of an end: the role assignment's description in Azure carries it too
 * (see reconciler.ts), so a Redis restored from an older backup or emptied still ends every grant.
 */
import type { Redis } from 'ioredis';
import { serviceAccountKey, type Grant } from '../domain/grants';
import type { StoreKeys } from '../store/keys';
import { LuaScript, translateRedisError } from '../store/lua';

/** KEYS: grant, open zset, sa set, ended zset. ARGV: expected version ('' = must not exist), doc, id, open?, score, ended score. */
const SAVE = new LuaScript(
  'grant-save',
  `local v = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if v then return 0 end
elseif v ~= ARGV[1] then
  return 0
end
local nv = (tonumber(v) or 0) + 1
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'v', tostring(nv))
if ARGV[4] == '1' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[3])
  redis.call('SADD', KEYS[3], ARGV[3])
  redis.call('ZREM', KEYS[4], ARGV[3])
else
  redis.call('ZREM', KEYS[2], ARGV[3])
  redis.call('SREM', KEYS[3], ARGV[3])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[3])
end
return nv`,
);

export interface StoredGrant {
  grant: Grant;
  version: string;
}

export class RedisGrantStore {
  constructor(
    readonly redis: Redis,
    readonly keys: StoreKeys,
  ) {}

  private async save(expected: string, g: Grant): Promise<boolean> {
    const open = g.state !== 'ended';
    // An active grant is due at its end; one whose end was asked for (early, or failed) is due at once.
    const dueAt = g.state === 'active' ? g.endsAt : (g.end?.requestedAt ?? g.updatedAt);
    const score = dueAt === undefined ? '+inf' : String(Date.parse(dueAt));
    const endedScore = String(Date.parse(g.end?.endedAt ?? g.updatedAt));
    try {
      const r = await SAVE.run(
        this.redis,
        [this.keys.grant(g.id), this.keys.grantsOpen, this.keys.grantsOfServiceAccount(serviceAccountKey(g)), this.keys.grantsEnded],
        [expected, JSON.stringify(g), g.id, open ? '1' : '0', score, endedScore],
      );
      const saved = Number(r) > 0;
      // tells listeners (the App Home) that the grant changed; best effort
      if (saved) this.redis.publish(this.keys.changes, `grant ${g.id}`).catch(() => undefined);
      return saved;
    } catch (e) {
      throw translateRedisError(e, `save grant ${g.id}`);
    }
  }

  /** Stores a new grant; false when one with this id exists already (the first one stands). */
  create(g: Grant): Promise<boolean> {
    return this.save('', g);
  }

  /** Replaces the grant iff nobody changed it since `expected` was read. */
  compareAndSet(expected: StoredGrant, next: Grant): Promise<boolean> {
    return this.save(expected.version, next);
  }

  async get(id: string): Promise<StoredGrant | undefined> {
    let r: [string | null, string | null];
    try {
      r = (await this.redis.hmget(this.keys.grant(id), 'doc', 'v')) as [string | null, string | null];
    } catch (e) {
      throw translateRedisError(e, `read grant ${id}`);
    }
    const [doc, version] = r;
    if (!doc || !version) return undefined;
    return { grant: JSON.parse(doc) as Grant, version };
  }

  private async getMany(ids: readonly string[]): Promise<Grant[]> {
    if (ids.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hget(this.keys.grant(id), 'doc');
    let results: [Error | null, unknown][];
    try {
      results = ((await pipe.exec()) ?? []) as [Error | null, unknown][];
    } catch (e) {
      throw translateRedisError(e, 'read grants');
    }
    return results.flatMap(([err, doc]) => (err || typeof doc !== 'string' ? [] : [JSON.parse(doc) as Grant]));
  }

  /** Open (not yet ended) grants of one ServiceAccount. */
  async openOfServiceAccount(g: { clusterName: string; namespace: string; serviceAccount: string }): Promise<Grant[]> {
    let ids: string[];
    try {
      ids = await this.redis.smembers(this.keys.grantsOfServiceAccount(serviceAccountKey(g)));
    } catch (e) {
      throw translateRedisError(e, 'read the grants of a ServiceAccount');
    }
    return this.getMany(ids.sort());
  }

  /** Ids of open grants whose end is at or before `atMs`, soonest first. */
  async dueIds(atMs: number, limit = 10_000): Promise<string[]> {
    try {
      return await this.redis.zrangebyscore(this.keys.grantsOpen, '-inf', String(atMs), 'LIMIT', 0, limit);
    } catch (e) {
      throw translateRedisError(e, 'read the grants that are due');
    }
  }

  /** Every open grant, soonest end first (grants without an end last). */
  async open(limit = 10_000): Promise<Grant[]> {
    let ids: string[];
    try {
      ids = await this.redis.zrange(this.keys.grantsOpen, '0', String(limit - 1));
    } catch (e) {
      throw translateRedisError(e, 'list open grants');
    }
    return this.getMany(ids);
  }

  /** Ended grants, newest first. */
  async ended(limit = 200): Promise<Grant[]> {
    let ids: string[];
    try {
      ids = await this.redis.zrevrange(this.keys.grantsEnded, '0', String(limit - 1));
    } catch (e) {
      throw translateRedisError(e, 'list ended grants');
    }
    return this.getMany(ids);
  }

  /**
   * Read, change, compare-and-set, again on a lost race. `change` returns the next grant, or a string
   * saying why not (returned as is). Undefined when there is no such grant.
   */
  async update(id: string, change: (g: Grant) => Grant | string): Promise<{ ok: true; grant: Grant; before: Grant } | { ok: false; message: string; grant?: Grant }> {
    for (let i = 0; i < 10; i++) {
      const cur = await this.get(id);
      if (!cur) return { ok: false, message: `There is no grant ${id}.` };
      const next = change(cur.grant);
      if (typeof next === 'string') return { ok: false, message: next, grant: cur.grant };
      if (await this.compareAndSet(cur, next)) return { ok: true, grant: next, before: cur.grant };
    }
    const latest = await this.get(id);
    return { ok: false, message: `Grant ${id} kept changing while wid-bot tried to update it.`, ...(latest ? { grant: latest.grant } : {}) };
  }
}
