/**
 * The one place that knows wid-bot's Redis key layout. Everything lives under a prefix (default `wid`)
 * so several deployments, or several tests, can share one Redis without seeing each other's keys.
 *
 *   <p>:req:<id>               hash    the request: doc (JSON without steps/resources), state, updatedAt,
 *                                      createdAt, requester, openKey, step:<name> (StepRecord JSON),
 *                                      res:<field> (JSON value of one ProvisionedResources field)
 *   <p>:req:<id>:history       list    TransitionEvent JSON, oldest first
 *   <p>:audit                  stream  every transition: requestId, actor, actorName, from, to, reason, at
 *   <p>:open:<openKey>         string  id of the open request for cluster/namespace/serviceaccount/role
 *   <p>:openof:<id>            string  the open key a request holds (so a transition can release it)
 *   <p>:idx:requester:<user>   zset    request ids by createdAt (ms)
 *   <p>:idx:pending            zset    pending request ids by createdAt (ms)
 *   <p>:idx:sa:<sa key>        zset    ids of requests (grant, migrate, revoke) that succeeded for one cluster/namespace/ServiceAccount, by updatedAt (ms)
 *   <p>:idx:sa-built           string  JSON { at, through }: the audit entry up to which succeeded requests were put in the idx:sa index from the stream
 *   <p>:delivery:<key>         string  Slack delivery already processed (SET NX EX)
 *   <p>:lock:<name>            string  cross-process mutex token
 *   <p>:rate:<bucket>          hash    token bucket (tokens, ts)
 *   <p>:grant:<id>             hash    a grant (src/grants): doc (Grant JSON), v (version, for compare-and-set)
 *   <p>:grants:open            zset    grants not yet ended, by endsAt (ms; +inf for grants without an end)
 *   <p>:grants:sa:<sa key>     set     open grant ids of one cluster/namespace/ServiceAccount
 *   <p>:grants:ended           zset    ended grant ids by end time (ms)
 *   <p>:issuers:<cluster>      hash    a cluster's OIDC issuers with first/last seen (src/store/issuers.ts)
 *   <p>:showing:<id>           string  the approval message of <id> is being updated to "approved"; the worker renders after (src/store/approval-gate.ts)
 *   <p>:refed:<id>             string  a /wid refederate batch; <p>:refed:cluster:<cluster> the batch holding the cluster (src/store/refederations.ts)
 *   <p>:changes               pub/sub `request <id>` / `grant <id>` after every stored change (the App Home listens)
 *   <p>:home:seen              set     people who opened wid-bot's Home tab (their homes are kept current)
 *   <p>:home:audit             string  the last audit run from the Home tab: JSON { at, clusters: [{ cluster, counts }] }
 *   <p>:q:<queue>:…            BullMQ  queues wid-provision, wid-timers, wid-grants and wid-refederate (BullMQ's own layout)
 */
export const DEFAULT_PREFIX = 'wid';

export interface StoreKeys {
  prefix: string;
  request(id: string): string;
  history(id: string): string;
  audit: string;
  openRequest(openKey: string): string;
  openKeyOf(id: string): string;
  byRequester(userId: string): string;
  pending: string;
  /** Requests that succeeded for one ServiceAccount (key from serviceAccountKey in src/domain/grants.ts). */
  succeededOfServiceAccount(saKey: string): string;
  succeededIndexBuilt: string;
  delivery(key: string): string;
  lock(name: string): string;
  rateBucket(name: string): string;
  grant(id: string): string;
  grantsOpen: string;
  grantsOfServiceAccount(saKey: string): string;
  grantsEnded: string;
  /** Pub/sub channel announcing stored changes: `request <id>` or `grant <id>`. */
  changes: string;
  homeSeen: string;
  homeAudit: string;
  /** BullMQ's `prefix` option: queues live at `<this>:<queueName>:…`. */
  bullPrefix: string;
}

export function storeKeys(prefix: string = DEFAULT_PREFIX): StoreKeys {
  if (!prefix || /\s/.test(prefix)) throw new Error(`Redis key prefix must be non-empty and without spaces, got ${JSON.stringify(prefix)}`);
  return {
    prefix,
    request: (id) => `${prefix}:req:${id}`,
    history: (id) => `${prefix}:req:${id}:history`,
    audit: `${prefix}:audit`,
    openRequest: (openKey) => `${prefix}:open:${openKey}`,
    openKeyOf: (id) => `${prefix}:openof:${id}`,
    byRequester: (userId) => `${prefix}:idx:requester:${userId}`,
    pending: `${prefix}:idx:pending`,
    succeededOfServiceAccount: (saKey) => `${prefix}:idx:sa:${saKey}`,
    succeededIndexBuilt: `${prefix}:idx:sa-built`,
    delivery: (key) => `${prefix}:delivery:${key}`,
    lock: (name) => `${prefix}:lock:${name}`,
    rateBucket: (name) => `${prefix}:rate:${name}`,
    grant: (id) => `${prefix}:grant:${id}`,
    grantsOpen: `${prefix}:grants:open`,
    grantsOfServiceAccount: (saKey) => `${prefix}:grants:sa:${saKey}`,
    grantsEnded: `${prefix}:grants:ended`,
    changes: `${prefix}:changes`,
    homeSeen: `${prefix}:home:seen`,
    homeAudit: `${prefix}:home:audit`,
    bullPrefix: `${prefix}:q`,
  };
}

/** Lower-case, trimmed, inner whitespace collapsed: what makes two spellings the same open request. */
function normalisePart(s: string): string {
  return s.trim().toLowerCase().replace(/\s+/g, ' ');
}

/**
 * The key that allows only one open request per cluster/namespace/ServiceAccount/role.
 * Revokes, which name no role, may pass `*` as the role.
 */
export function openRequestKey(parts: { clusterName: string; namespace: string; serviceAccount: string; roleName: string }): string {
  return [parts.clusterName, parts.namespace, parts.serviceAccount, parts.roleName].map(normalisePart).join('/');
}
