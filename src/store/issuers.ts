/**
 * Each policy cluster's OIDC issuers as wid-bot saw them, kept in Redis so a recreated cluster's old issuer
 * is still known after the cluster itself forgot it. Append-only: an issuer is added the first time it is seen
 * and only its lastSeen moves after that; nothing is ever removed.
 *
 *   <p>:issuers:<cluster>   hash   issuer → {"firstSeen": ISO, "lastSeen": ISO}
 */
import type { Redis } from 'ioredis';
import type { ClusterPort } from '../domain/ports';
import type { IssuerRecord } from '../domain/refederate';
import type { ClusterFacts, PolicyCluster } from '../domain/types';
import { LuaScript, translateRedisError } from './lua';

/** KEYS: the cluster's hash. ARGV: issuer, at (ISO). Returns 1 when the issuer is new to the cluster. */
const RECORD_ISSUER = new LuaScript(
  'record-issuer',
  `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ firstSeen = ARGV[2], lastSeen = ARGV[2] }))
  return 1
end
local rec = cjson.decode(cur)
if ARGV[2] > rec.lastSeen then
  rec.lastSeen = ARGV[2]
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(rec))
end
return 0
`,
);

export class IssuerHistory {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  key(cluster: string): string {
    return `${this.prefix}:issuers:${cluster}`;
  }

  /** Notes that `cluster` has `issuer` at `at`; true when wid-bot had not seen this issuer for the cluster before. */
  async record(cluster: string, issuer: string, at: Date = new Date()): Promise<boolean> {
    if (issuer === '') return false;
    try {
      return (await RECORD_ISSUER.run(this.redis, [this.key(cluster)], [issuer, at.toISOString()])) === 1;
    } catch (e) {
      throw translateRedisError(e, `record the issuer of cluster ${cluster}`);
    }
  }

  /** Every issuer the cluster has had, oldest first. */
  async history(cluster: string): Promise<IssuerRecord[]> {
    let raw: Record<string, string>;
    try {
      raw = await this.redis.hgetall(this.key(cluster));
    } catch (e) {
      throw translateRedisError(e, `read the issuer history of cluster ${cluster}`);
    }
    const out: IssuerRecord[] = [];
    for (const [issuer, json] of Object.entries(raw)) {
      try {
        const r = JSON.parse(json) as { firstSeen?: unknown; lastSeen?: unknown };
        if (typeof r.firstSeen === 'string' && typeof r.lastSeen === 'string') out.push({ issuer, firstSeen: r.firstSeen, lastSeen: r.lastSeen });
      } catch {
        // a field another writer spoiled is left out rather than failing every audit
      }
    }
    return out.sort((a, b) => a.firstSeen.localeCompare(b.firstSeen) || a.issuer.localeCompare(b.issuer));
  }
}

/** Warnings the wrapper reports (recording never fails the read it rides on). */
export interface IssuerRecordLogger {
  warn(obj: object, msg?: string): void;
}

/**
 * A ClusterPort that notes every issuer it reads in the history: the cluster facts wid-bot reads for requests,
 * the worker's checks and the inspection verbs all feed it. A first sighting is written before the read returns
 * (an audit right after must find it); an issuer this process recorded less than `refreshMs` ago is not written
 * again, so the request path does not wait on Redis for every cluster read (lastSeen moves at most once per interval).
 */
export function recordingIssuers(clusters: ClusterPort, history: IssuerHistory, logger?: IssuerRecordLogger, refreshMs = 60_000, now: () => number = Date.now): ClusterPort {
  const recordedAt = new Map<string, number>();
  return {
    async getClusterFacts(cluster: PolicyCluster): Promise<ClusterFacts> {
      const facts = await clusters.getClusterFacts(cluster);
      if (facts.oidcIssuerEnabled && facts.issuerUrl) {
        const key = `${cluster.name}\n${facts.issuerUrl}`;
        const last = recordedAt.get(key);
        if (last === undefined || now() - last >= refreshMs) {
          const ok = await history.record(cluster.name, facts.issuerUrl).then(
            () => true,
            (e: unknown) => {
              logger?.warn({ cluster: cluster.name, err: e instanceof Error ? e.message : String(e) }, 'could not record the cluster issuer');
              return false;
            },
          );
          if (ok) recordedAt.set(key, now());
        }
      }
      return facts;
    },
  };
}
