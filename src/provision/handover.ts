/**
 * The grant's preflight reads, started by the web side when the request is approved and handed to the worker
 * through Redis, so the reads run while the approval message is updated and the job waits in the queue instead of
 * after the worker took it.
 *
 * Only reads travel (the cluster's facts, the identity and its credentials, the ServiceAccount, the role's id):
 * never a token or a secret. The worker still checks everything before its first write; it only skips reading
 * again. Keyed by request id and a hash of the frozen plan, kept 30 s at most:
 *
 *   <p>:preflight:<id>  {"v":1,"planHash":…,"state":"reading","startedAt":…}          (web, when approved)
 *                       {"v":1,"planHash":…,"state":"ready","startedAt":…,"readAt":…,…} (web, reads done)
 *
 * The worker takes a ready hand-over once (GET and DEL in one step), waits a bounded time for one still reading,
 * and otherwise reads itself and deletes the key, so a later run (a retry after writes) never uses reads made
 * before them. A hand-over for another plan, older than maxAgeMs, or unreadable is ignored.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ClusterFacts, Plan, WidRequest } from '../domain/types';
import { LuaScript } from '../store/lua';
import type { StoreKeys } from '../store/keys';
import type { EngineDeps, Preflight } from './context';
import { assertClusterAsPlanned, readGrantPreflight } from './runner';

/** How long the key lives at most (a hand-over nobody took expires). */
export const HANDOVER_TTL_MS = 30_000;
/** Reads older than this are read again by the worker. */
export const HANDOVER_MAX_AGE_MS = 10_000;
/** How long the worker waits for reads the web side is still making before it reads itself. */
export const HANDOVER_WAIT_MS = 1_500;
/** How often the worker looks while it waits. */
export const HANDOVER_POLL_MS = 4;

const VERSION = 1;

export function preflightHandoverKey(keys: Pick<StoreKeys, 'prefix'>, requestId: string): string {
  return `${keys.prefix}:preflight:${requestId}`;
}

/** JSON with sorted keys: the same plan hashes the same in every process, whatever order its fields were built in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function planHash(plan: Plan): string {
  return createHash('sha256').update(canonical(plan)).digest('hex').slice(0, 32);
}

interface Reading {
  v: number;
  planHash: string;
  state: 'reading';
  startedAt: number;
}

interface Ready {
  v: number;
  planHash: string;
  state: 'ready';
  startedAt: number;
  readAt: number;
  facts: Pick<ClusterFacts, 'name' | 'oidcIssuerEnabled' | 'issuerUrl' | 'workloadIdentityEnabled'>;
  preflight: Preflight;
}

type Stored = Reading | Ready;

/** Takes a ready hand-over (GET and DEL together); anything else is returned and left. KEYS: the key. */
const TAKE = new LuaScript(
  'preflight-take',
  `
local v = redis.call('GET', KEYS[1])
if v and string.find(v, '"state":"ready"', 1, true) then redis.call('DEL', KEYS[1]) end
return v
`,
);

export interface HandoverDeps {
  redis: Redis;
  keys: Pick<StoreKeys, 'prefix'>;
  now?: () => number;
}

export type PreflightReaders = Pick<EngineDeps, 'identities' | 'authorization' | 'clusters' | 'kube'>;

/**
 * The web side, when a grant is approved: marks the reads as started, makes them, and leaves them for the worker.
 * Never throws: a failed read only deletes the mark (the worker then reads itself, and meets the same failure).
 */
export async function handOverPreflight(deps: HandoverDeps, readers: PreflightReaders, request: WidRequest, opts: { ttlMs?: number } = {}): Promise<'handed-over' | 'skipped' | 'failed'> {
  if (request.kind !== 'grant' || request.plan.kind !== 'grant' || request.state !== 'approved') return 'skipped';
  const now = deps.now ?? Date.now;
  const key = preflightHandoverKey(deps.keys, request.id);
  const ttl = opts.ttlMs ?? HANDOVER_TTL_MS;
  const hash = planHash(request.plan);
  const startedAt = now();
  try {
    const reading: Reading = { v: VERSION, planHash: hash, state: 'reading', startedAt };
    if ((await deps.redis.set(key, JSON.stringify(reading), 'PX', ttl, 'NX')) !== 'OK') return 'skipped';
  } catch {
    return 'failed';
  }
  try {
    const { facts, preflight } = await readGrantPreflight(request, readers);
    const ready: Ready = {
      v: VERSION,
      planHash: hash,
      state: 'ready',
      startedAt,
      readAt: now(),
      facts: { name: facts.name, oidcIssuerEnabled: facts.oidcIssuerEnabled, issuerUrl: facts.issuerUrl, workloadIdentityEnabled: facts.workloadIdentityEnabled },
      preflight,
    };
    // XX: a worker that stopped waiting deleted the mark; its own reads are then the ones that count.
    const set = await deps.redis.set(key, JSON.stringify(ready), 'PX', ttl, 'XX');
    return set === 'OK' ? 'handed-over' : 'skipped';
  } catch {
    await deps.redis.del(key).catch(() => undefined);
    return 'failed';
  }
}

function parse(raw: string | null): Stored | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Stored;
    return v && v.v === VERSION && (v.state === 'reading' || v.state === 'ready') ? v : undefined;
  } catch {
    return undefined;
  }
}

export interface ReceiveOptions {
  maxAgeMs?: number;
  waitMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * The worker side: the preflight the web side read for this request's plan, checked against the plan as the
 * worker's own would be (a changed cluster throws the same TerminalError), or undefined when there is none to use
 * (none, another plan's, too old, still reading after waitMs): the caller then reads itself. The key is gone after.
 */
export async function receivePreflight(deps: HandoverDeps, request: WidRequest, opts: ReceiveOptions = {}): Promise<Preflight | undefined> {
  const now = deps.now ?? Date.now;
  const key = preflightHandoverKey(deps.keys, request.id);
  const maxAge = opts.maxAgeMs ?? HANDOVER_MAX_AGE_MS;
  const waitMs = opts.waitMs ?? HANDOVER_WAIT_MS;
  const pollMs = opts.pollMs ?? HANDOVER_POLL_MS;
  const hash = planHash(request.plan);
  const give = async (): Promise<undefined> => {
    await deps.redis.del(key).catch(() => undefined);
    return undefined;
  };
  for (;;) {
    let raw: unknown;
    try {
      raw = await TAKE.run(deps.redis, [key], []);
    } catch {
      return give();
    }
    const stored = parse(typeof raw === 'string' ? raw : null);
    if (!stored) return raw == null ? undefined : give();
    if (stored.planHash !== hash) return give();
    if (stored.state === 'ready') {
      if (now() - stored.readAt > maxAge) return undefined; // taken (deleted) already
      assertClusterAsPlanned(request.plan, { ...stored.facts }, 'request', 'make a new request');
      return stored.preflight;
    }
    if (now() - stored.startedAt > waitMs || opts.signal?.aborted) return give();
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
