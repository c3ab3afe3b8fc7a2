/**
 * Re-federation, run by the worker: for every item of an approved plan, a federated credential for the cluster's
 * current issuer with the old credential's subject, then proof that the ServiceAccount's token is accepted. The
 * old credentials stay; a second, separately confirmed step removes them once the new ones verified.
 *
 * Writes under one identity are serialised across every worker (the one-writer lock the grant steps take), every
 * write takes a token of ARM's write bucket and every delete one of its delete bucket (shared with grants and
 * revocations), and an identity at 20 credentials is skipped, named, not failed. Every step reads before it
 * writes, so running an item twice leaves what running it once did.
 */
import type { Redis } from 'ioredis';
import { RetryableError, TerminalError, WidError } from '../domain/errors';
import type { IdentityPort, IdentityRef, KubePort, TokenExchangePort } from '../domain/ports';
import type { RefederateItem, RefederatePlan } from '../domain/refederate';
import type { ItemResult, RemovalResult } from '../domain/refederate-batch';
import { ANNOTATION_CLIENT_ID, MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, WORKLOAD_IDENTITY_AUDIENCE } from '../domain/types';
import { withLock } from '../queue/lock';
import { abortableSleep } from '../queue/rate-limiter';
import type { StoreKeys } from '../store/keys';
import { resolveLimits, type ProvisionLimits, type ProvisionLogger, type VerifySettings } from './context';
import { CONCURRENT_FIC_WRITE } from './federated-credential';
import { armDeleteTurn, armWriteTurn } from './pacing';
import { DEFAULT_VERIFY_SCOPE, PROPAGATION_CODES } from './verify';

export interface RefederateDeps {
  identities: IdentityPort;
  kube: KubePort;
  tokenExchange?: TokenExchangePort;
  redis: Redis;
  keys: StoreKeys;
  limits?: ProvisionLimits;
  verify?: VerifySettings;
  logger?: ProvisionLogger;
  signal?: AbortSignal;
  /** Items worked on at once (default 48); items of one identity still wait for each other's lock. */
  concurrency?: number;
}

export type { ItemResult, RemovalResult } from '../domain/refederate-batch';

function refOf(item: RefederateItem): IdentityRef {
  return { subscriptionId: item.identity.subscriptionId, resourceGroup: item.identity.resourceGroup, name: item.identity.name };
}

/** The lock every credential write under the identity holds (the grant's federated-credential step takes the same). */
function identityLock(keys: StoreKeys, identityId: string): string {
  return keys.lock(`fic:${identityId.toLowerCase()}`);
}

/** Retries fn while it fails with one of `codes`, with doubling jittered pauses, for at most maxMs. */
async function retryCodes<T>(deps: RefederateDeps, codes: readonly string[], maxMs: number, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  let pause = resolveLimits(deps.limits).retryBaseMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof WidError) || !codes.includes(e.code) || Date.now() - started >= maxMs) throw e;
      const wait = Math.max(e.retryAfterSeconds ? e.retryAfterSeconds * 1000 : 0, pause / 2 + (Math.random() * pause) / 2);
      await abortableSleep(Math.min(wait, Math.max(0, maxMs - (Date.now() - started))), deps.signal);
      pause = Math.min(5000, pause * 2);
    }
  }
}

type WriteResult = { kind: 'written' | 'reused'; id: string } | { kind: 'limit'; count: number };

/** The new credential, under the identity's lock: reused when one for the issuer and subject exists, refused at 20. */
async function writeCredential(item: RefederateItem, deps: RefederateDeps): Promise<WriteResult> {
  const limits = resolveLimits(deps.limits);
  const ref = refOf(item);
  const fic = item.credential;
  return withLock(deps.redis, identityLock(deps.keys, item.identity.id), limits.lockTtlMs, async () => {
    const list = await deps.identities.listFederatedCredentials(ref);
    const found = list.find((c) => c.issuer === fic.issuer && c.subject === fic.subject);
    if (found) return { kind: 'reused', id: found.id } as const;
    const sameName = list.find((c) => c.name.toLowerCase() === fic.name.toLowerCase());
    if (sameName) {
      throw new TerminalError(`Identity ${item.identity.name} already has a credential named ${fic.name} with issuer ${sameName.issuer} and subject ${sameName.subject}; wid-bot does not overwrite it. Rename or remove it and retry.`, 'CredentialNameTaken');
    }
    if (list.length >= MAX_FEDERATED_CREDENTIALS_PER_IDENTITY) return { kind: 'limit', count: list.length } as const;
    const written = await retryCodes(deps, [CONCURRENT_FIC_WRITE], limits.concurrentWriteMaxMs, async () => {
      await armWriteTurn({ ...deps, lane: 'batch' }, limits.armWrites, ref.subscriptionId); // a re-federation is a batch
      return deps.identities.putFederatedCredential(ref, fic.name, fic.issuer, fic.subject, fic.audiences.length ? fic.audiences : [WORKLOAD_IDENTITY_AUDIENCE]);
    });
    return { kind: 'written', id: written.id } as const;
  }, { waitMs: limits.lockTtlMs * 4 });
}

/** A ServiceAccount token exchanged at Entra as the identity, through the new credential's propagation. */
async function verifyItem(item: RefederateItem, deps: RefederateDeps): Promise<string> {
  const settings = deps.verify;
  if (!settings?.enabled) return 'verification switched off';
  if (!deps.tokenExchange) throw new TerminalError('Verification is on but no Entra token exchange is configured.', 'VerifyMisconfigured');
  const exchange = deps.tokenExchange;
  const sa = await deps.kube.getServiceAccount(item.namespace, item.serviceAccount);
  if (!sa) {
    throw new TerminalError(`The ServiceAccount ${item.namespace}/${item.serviceAccount} no longer exists on the cluster, so its token cannot be verified; wid-bot does not recreate it.`, 'ServiceAccountGone');
  }
  const bound = sa.annotations[ANNOTATION_CLIENT_ID]?.trim();
  const token = await deps.kube.requestServiceAccountToken(item.namespace, item.serviceAccount, WORKLOAD_IDENTITY_AUDIENCE, Math.max(600, Math.ceil(settings.timeoutMs / 1000) + 600));
  const tenantId = sa.annotations['azure.workload.identity/tenant-id']?.trim() || undefined;
  try {
    await retryCodes(deps, PROPAGATION_CODES, settings.timeoutMs, async () => {
      await exchange.exchange(tenantId ?? item.identity.tenantId, item.identity.clientId, token, settings.scope ?? DEFAULT_VERIFY_SCOPE);
    });
  } catch (e) {
    if (e instanceof WidError && (PROPAGATION_CODES as readonly string[]).includes(e.code)) {
      throw new RetryableError(`Entra ID still refuses the token of ${item.namespace}/${item.serviceAccount} for client id ${item.identity.clientId} after ${Math.round(settings.timeoutMs / 1000)} s (${e.code}): ${e.message}`, e.code);
    }
    throw e;
  }
  const note = bound && bound.toLowerCase() !== item.identity.clientId.toLowerCase() ? ` (note: the ServiceAccount is annotated with client id ${bound}, not this identity's)` : '';
  return `Entra ID issued a token to ${item.namespace}/${item.serviceAccount} as client id ${item.identity.clientId}${note}`;
}

function failure(item: RefederateItem, e: unknown): ItemResult {
  const err = e instanceof WidError ? e : new TerminalError(e instanceof Error ? e.message : String(e), 'Unexpected');
  return { key: item.key, identity: item.identity.name, subject: item.subject, outcome: 'failed', detail: err.message, retryable: err.kind === 'retryable' };
}

/** A counting semaphore: at most `size` holders at once, FIFO. */
class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = Math.max(1, size);
  }
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/**
 * One item: write (or find) the credential for the current issuer, then verify. Never throws. The write holds a
 * slot of `writeSlots` (when given) and gives it back before verifying, so verification waits never hold back
 * the writes the ARM bucket could take.
 */
export async function refederateItem(item: RefederateItem, deps: RefederateDeps, writeSlots?: Slots): Promise<ItemResult> {
  const base = { key: item.key, identity: item.identity.name, subject: item.subject };
  const release = writeSlots ? await writeSlots.take() : () => undefined;
  try {
    const written: WriteResult = item.present ? { kind: 'reused', id: item.credential.name } : await writeCredential(item, deps);
    release();
    if (written.kind === 'limit') {
      return { ...base, outcome: 'skipped', detail: `limit reached: identity ${item.identity.name} has ${written.count} of ${MAX_FEDERATED_CREDENTIALS_PER_IDENTITY} federated credentials, so none for ${item.subject} under ${item.credential.issuer} fits. Remove an unused credential and retry.` };
    }
    const verified = await verifyItem(item, deps);
    return { ...base, outcome: 'done', detail: `${written.kind === 'written' ? 'wrote' : 'found'} credential ${item.credential.name}; ${verified}`, credential: item.credential.name, verified: deps.verify?.enabled === true };
  } catch (e) {
    release();
    deps.logger?.warn({ item: item.key, err: e instanceof Error ? e.message : String(e) }, 'refederate item failed');
    return failure(item, e);
  }
}

/** Map with at most `limit` in flight; results in input order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

/**
 * The first step of an approved plan: every item (or only `only`, for a retry), `concurrency` at a time.
 * Items the plan already skipped at the limit are reported as skipped. `onItem` sees each result as it lands.
 */
export async function runRefederate(plan: RefederatePlan, deps: RefederateDeps, opts: { only?: ReadonlySet<string>; onItem?: (r: ItemResult) => void | Promise<void> } = {}): Promise<ItemResult[]> {
  const items = opts.only ? plan.items.filter((i) => opts.only?.has(i.key)) : plan.items;
  const concurrency = deps.concurrency ?? 48;
  // Writes at most `concurrency` at once; items verifying meanwhile (waiting on Entra) up to four times as many.
  const writeSlots = new Slots(concurrency);
  const results = await mapBounded(items, concurrency * 4, async (item) => {
    const r = await refederateItem(item, deps, writeSlots);
    await opts.onItem?.(r);
    return r;
  });
  if (opts.only) return results;
  const skipped: ItemResult[] = plan.skipped.map((s) => ({ key: `${s.identity.id.toLowerCase()}|${s.subject}`, identity: s.identity.name, subject: s.subject, outcome: 'skipped', detail: `limit reached: ${s.message}` }));
  return [...results, ...skipped];
}

/**
 * The second step: the old credentials of every item whose new credential verified, removed under the identity's
 * lock, each delete booked in ARM's delete bucket. A credential already gone counts as removed. Items that did
 * not verify keep their old credentials.
 */
export async function removeOldCredentials(plan: RefederatePlan, verifiedKeys: ReadonlySet<string>, deps: RefederateDeps): Promise<RemovalResult[]> {
  const limits = resolveLimits(deps.limits);
  return mapBounded(plan.items, deps.concurrency ?? 48, async (item): Promise<RemovalResult> => {
    const base = { key: item.key, identity: item.identity.name };
    if (!verifiedKeys.has(item.key)) return { ...base, removed: [], outcome: 'kept', detail: `kept: the credential for the new issuer has not verified` };
    const ref = refOf(item);
    try {
      const removed = await withLock(deps.redis, identityLock(deps.keys, item.identity.id), limits.lockTtlMs, async () => {
        const list = await deps.identities.listFederatedCredentials(ref);
        const names = new Set(list.map((c) => c.name.toLowerCase()));
        // Never remove the last credential that trusts the subject under the current issuer.
        if (!list.some((c) => c.issuer === plan.currentIssuer && c.subject === item.subject)) {
          throw new TerminalError(`Identity ${item.identity.name} has no credential for ${item.subject} under ${plan.currentIssuer} any more, so its old credentials are kept.`, 'NewCredentialMissing');
        }
        const out: string[] = [];
        for (const old of item.oldCredentials) {
          if (names.has(old.name.toLowerCase())) {
            await armDeleteTurn({ ...deps, lane: 'batch' }, limits.armDeletes, ref.subscriptionId);
            await deps.identities.deleteFederatedCredential(ref, old.name);
          }
          out.push(old.name);
        }
        return out;
      }, { waitMs: limits.lockTtlMs * 4 });
      return { ...base, removed, outcome: 'done', detail: `removed ${removed.join(', ')}` };
    } catch (e) {
      const err = e instanceof WidError ? e : new TerminalError(e instanceof Error ? e.message : String(e), 'Unexpected');
      return { ...base, removed: [], outcome: 'failed', detail: err.message, retryable: err.kind === 'retryable' };
    }
  });
}
