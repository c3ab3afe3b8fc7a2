/**
 * `/wid refederate` batches in Redis, and the claim that allows one refederate per cluster at a time. Creating a
 * batch takes the cluster's claim in the same atomic step (SET NX), so of two refederates of one cluster
 * submitted together exactly one is created and the other is told which one holds the cluster. Every
 * transition is a compare-and-set on the batch's version; leaving the claiming states releases the claim.
 *
 *   <p>:refed:<id>                 string  RefederationBatch JSON
 *   <p>:refed:cluster:<cluster>    string  id of the batch holding the cluster (PX: a pending batch's expiry)
 */
import type { Redis } from 'ioredis';
import { CLAIMING_STATES, type RefederationBatch } from '../domain/refederate-batch';
import { LuaScript, translateRedisError } from './lua';

/** KEYS: batch, claim. ARGV: json, claimTtlMs. Returns '' when created, else the id holding the claim. */
const CREATE = new LuaScript(
  'refederate-create',
  `
local holder = redis.call('GET', KEYS[2])
if holder then return holder end
local doc = cjson.decode(ARGV[1])
redis.call('SET', KEYS[2], doc.id, 'PX', ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
return ''
`,
);

/** KEYS: batch, claim. ARGV: expectedVersion, json, claim ('keep' | 'persist' | 'release'). Returns 1 when applied. */
const CAS = new LuaScript(
  'refederate-cas',
  `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local doc = cjson.decode(cur)
if tostring(doc.version) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
local next = cjson.decode(ARGV[2])
if ARGV[3] == 'release' then
  if redis.call('GET', KEYS[2]) == next.id then redis.call('DEL', KEYS[2]) end
elseif ARGV[3] == 'persist' then
  local h = redis.call('GET', KEYS[2])
  if h == next.id then redis.call('PERSIST', KEYS[2]) elseif not h then redis.call('SET', KEYS[2], next.id) end
end
return 1
`,
);

export type CreateOutcome = { created: true } | { created: false; holder: string };

export class RefederationStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private batchKey(id: string): string {
    return `${this.prefix}:refed:${id}`;
  }

  private claimKey(cluster: string): string {
    return `${this.prefix}:refed:cluster:${cluster.toLowerCase()}`;
  }

  /** Stores a new pending batch iff no other batch holds its cluster; the claim lapses with the pending batch. */
  async create(batch: RefederationBatch): Promise<CreateOutcome> {
    const ttl = Math.max(1000, Date.parse(batch.expiresAt) - Date.now());
    try {
      const holder = (await CREATE.run(this.redis, [this.batchKey(batch.id), this.claimKey(batch.cluster)], [JSON.stringify(batch), Math.round(ttl)])) as string;
      return holder === '' ? { created: true } : { created: false, holder };
    } catch (e) {
      throw translateRedisError(e, `store refederate ${batch.id}`);
    }
  }

  async get(id: string): Promise<RefederationBatch | undefined> {
    try {
      const raw = await this.redis.get(this.batchKey(id));
      return raw ? (JSON.parse(raw) as RefederationBatch) : undefined;
    } catch (e) {
      throw translateRedisError(e, `read refederate ${id}`);
    }
  }

  /** The batch holding the cluster, if any. */
  async holderOf(cluster: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.claimKey(cluster))) ?? undefined;
    } catch (e) {
      throw translateRedisError(e, `read the refederate claim of cluster ${cluster}`);
    }
  }

  /** Replaces the batch iff its version is still `expected.version`; the claim follows the new state. */
  async compareAndSet(expected: Pick<RefederationBatch, 'id' | 'version'>, next: RefederationBatch): Promise<boolean> {
    const claiming = CLAIMING_STATES.includes(next.state);
    const claim = !claiming ? 'release' : next.state === 'pending' ? 'keep' : 'persist';
    try {
      return (await CAS.run(this.redis, [this.batchKey(expected.id), this.claimKey(next.cluster)], [String(expected.version), JSON.stringify(next), claim])) === 1;
    } catch (e) {
      throw translateRedisError(e, `update refederate ${expected.id}`);
    }
  }
}
