/**
 * wid-bot's configuration from environment variables, checked completely at start: every missing or
 * invalid variable is reported at once, each with what is expected and where to find it, so an
 * operator fixes the deployment in one go. Secrets stay in the Config object only; describeConfig()
 * renders it for the startup log with every secret redacted.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { TerminalError } from '../domain/errors';
import { parseDuration } from '../domain/grammar';
import type { Policy } from '../domain/types';
import { AZURE_LIMITS, type AzureLimits, type RateBucket } from '../domain/azure-limits';
import { loadPolicyFile, PolicyError } from './policy';
import { clusterOverrides, parseClusterMap, type KubeClusterOverride } from '../kube/clusters';

export type SlackMode = 'http' | 'socket';
export type Role = 'all' | 'web' | 'worker';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export const ROLES: readonly Role[] = ['all', 'web', 'worker'];
export const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
export const DEFAULT_RESOURCE_MANAGER_URL = 'https://management.azure.com';

export interface Config {
  /** Which halves run in this process: the Slack web side, the provisioning worker, or both. */
  role: Role;
  slack: {
    mode: SlackMode;
    botToken: string;
    /** HTTP mode: verifies Slack's request signatures. */
    signingSecret?: string;
    /** Socket mode: the app-level token. */
    appToken?: string;
    /** Web API base URL ending with /api/ (Slack's own when unset). */
    apiUrl?: string;
    /** Where approval requests go when the policy names no channel. */
    approvalsChannel?: string;
  };
  azure: {
    tenantId?: string;
    clientId?: string;
    clientSecret?: string;
    federatedTokenFile?: string;
    authorityHost?: string;
    resourceManagerUrl: string;
    resourceManagerAudience?: string;
    /** Azure's limits wid-bot keeps to (ARM's buckets per subscription and principal, the identity-create limit). */
    limits: AzureLimits;
  };
  kube: {
    /** A kubeconfig path (or a list joined by the platform's path delimiter), when set. */
    kubeconfig?: string;
    /** Use the pod's own ServiceAccount (KUBERNETES_SERVICE_HOST is set and no KUBECONFIG). */
    inCluster: boolean;
    /** Per policy cluster: its own kubeconfig file (WID_KUBECONFIGS) and/or context (WID_KUBE_CONTEXTS); others use the above. */
    clusters?: Record<string, KubeClusterOverride>;
  };
  /** auth: `url` = credentials (if any) in REDIS_URL; `entra` = Microsoft Entra ID token of wid-bot's own identity. */
  redis: { url: string; prefix: string; auth: 'url' | 'entra' };
  policy: { file: string; policy: Policy };
  http: { port: number };
  worker: { concurrency: number; verify: boolean; verifyTimeoutSeconds: number; grantReconcileSeconds: number };
  log: { level: LogLevel };
  /** `/wid cluster|list|creds|audit|legacy`: a scan this many seconds old is reused (0: never), and scans at once per web process. */
  inspect?: { reuseSeconds: number; concurrency: number };
}

export interface ConfigProblem {
  /** The environment variable (or `--role`). */
  variable: string;
  message: string;
}

/** The configuration cannot be used; the message lists every problem. */
export class ConfigError extends TerminalError {
  constructor(readonly problems: ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const lines = problems.map((p) => `  - ${p.message}`);
    super(`wid-bot cannot start: the configuration has ${count}:\n${lines.join('\n')}\nSee docs/CONFIGURATION.md and .env.example.`, 'InvalidConfig');
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** The --role flag; wins over WID_ROLE. */
  role?: string;
  /** Skip reading the policy file (for tools that only need the connection settings). */
  skipPolicy?: boolean;
}

// ───────────────────────────── one variable at a time ─────────────────────────────

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9-]+\.)+[a-z]{2,}$/i;

const httpsUrl = z.url({ protocol: /^https?$/ });
const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);
/** `<bucket>/<refill per second>`, e.g. `200/10`. */
const rateBucket = z
  .string()
  .regex(/^\s*\d+\s*\/\s*\d+(\.\d+)?\s*$/)
  .transform((s) => {
    const [burst, perSecond] = s.split('/').map((x) => Number(x.trim())) as [number, number];
    return { burst, perSecond };
  })
  .refine((b) => b.burst >= 1 && b.burst <= 100_000 && b.perSecond > 0 && b.perSecond <= 10_000);


/** The value or undefined when unset or blank (compose and Helm often set empty strings). */
function value(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function parseBoolean(v: string): boolean | undefined {
  const t = v.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  return undefined;
}

/** SLACK_API_URL with the /api/ suffix the Web API client expects. */
export function normaliseSlackApiUrl(url: string): string {
  const u = url.trim().replace(/\/+$/, '');
  return u.endsWith('/api') ? `${u}/` : `${u}/api/`;
}

function kubeconfigPaths(kubeconfig: string): string[] {
  return kubeconfig.split(path.delimiter).filter((p) => p !== '');
}

/** What a Slack signing secret looks like and where it is: said whenever the value is missing or wrong. */
const SIGNING_SECRET_HELP =
  'the app\'s Signing Secret: 32 hexadecimal characters such as 8f742231b10e8888abcd99e1e2e3e485; find it at api.slack.com/apps → your app → Basic Information → App Credentials → Signing Secret (Show)';

export function loadConfig(env: NodeJS.ProcessEnv, options: LoadConfigOptions = {}): Config {
  const problems: ConfigProblem[] = [];
  const add = (variable: string, message: string) => problems.push({ variable, message });

  /** Parse one variable with a zod schema; a failure adds `message`. */
  function check<T>(name: string, schema: z.ZodType<T>, raw: string | undefined, message: string): T | undefined {
    if (raw === undefined) return undefined;
    const r = schema.safeParse(raw);
    if (r.success) return r.data;
    add(name, `${name} ${message}; got "${raw.length > 60 ? `${raw.slice(0, 57)}...` : raw}"`);
    return undefined;
  }
  /** Like check, but never echoes the value (it may be a secret). */
  function checkSecret(name: string, schema: z.ZodType<string>, raw: string | undefined, message: string): string | undefined {
    if (raw === undefined) return undefined;
    const r = schema.safeParse(raw);
    if (r.success) return r.data;
    add(name, `${name} ${message} (value not shown)`);
    return undefined;
  }

  // role
  const roleSource = options.role !== undefined ? '--role' : 'WID_ROLE';
  const roleRaw = options.role ?? value(env, 'WID_ROLE') ?? 'all';
  const role = check(roleSource, z.enum(['all', 'web', 'worker']), roleRaw, 'must be all, web or worker (web answers Slack, worker provisions, all does both)') ?? 'all';
  const runsWeb = role !== 'worker';
  const runsWorker = role !== 'web';

  // slack
  const mode = check('SLACK_MODE', z.enum(['http', 'socket']), value(env, 'SLACK_MODE') ?? 'http', 'must be http or socket (http: Slack calls the bot\'s public URL; socket: the bot connects out to Slack)') ?? 'http';
  const botTokenRaw = value(env, 'SLACK_BOT_TOKEN');
  if (botTokenRaw === undefined) add('SLACK_BOT_TOKEN', 'SLACK_BOT_TOKEN is required (the Bot User OAuth Token, xoxb-…, from the app\'s OAuth & Permissions page)');
  const botToken = checkSecret('SLACK_BOT_TOKEN', z.string().regex(/^xoxb-\S+$/), botTokenRaw, 'must be a bot token starting with xoxb- (OAuth & Permissions page)');
  const signingSecretRaw = value(env, 'SLACK_SIGNING_SECRET');
  if (mode === 'http' && runsWeb && signingSecretRaw === undefined) {
    add('SLACK_SIGNING_SECRET', `SLACK_SIGNING_SECRET is required when SLACK_MODE=http (${SIGNING_SECRET_HELP})`);
  }
  const signingSecret = checkSecret('SLACK_SIGNING_SECRET', z.string().regex(/^[0-9a-z]{16,}$/i), signingSecretRaw, `must be ${SIGNING_SECRET_HELP}`);
  const appTokenRaw = value(env, 'SLACK_APP_TOKEN');
  if (mode === 'socket' && runsWeb && appTokenRaw === undefined) {
    add('SLACK_APP_TOKEN', 'SLACK_APP_TOKEN is required when SLACK_MODE=socket (an app-level token, xapp-…, with the connections:write scope, Basic Information page)');
  }
  const appToken = checkSecret('SLACK_APP_TOKEN', z.string().regex(/^xapp-\S+$/), appTokenRaw, 'must be an app-level token starting with xapp- (Basic Information page, App-Level Tokens)');
  const apiUrlRaw = value(env, 'SLACK_API_URL');
  const apiUrl = check('SLACK_API_URL', httpsUrl, apiUrlRaw, 'must be an http(s) URL of the Slack Web API, e.g. https://slack.com/api/');
  const approvalsChannel = check(
    'SLACK_APPROVALS_CHANNEL',
    z.string().regex(/^[CG][0-9A-Z]{2,}$/),
    value(env, 'SLACK_APPROVALS_CHANNEL'),
    'must be a channel id like C0123ABCD (channel details, bottom of the About tab), not a #name',
  );

  // azure
  const tenantId = check('AZURE_TENANT_ID', z.string().refine((s) => GUID.test(s) || DOMAIN.test(s)), value(env, 'AZURE_TENANT_ID'), 'must be the Entra tenant id (a GUID) or its domain name');
  const clientId = check('AZURE_CLIENT_ID', z.string().regex(GUID), value(env, 'AZURE_CLIENT_ID'), 'must be the application (client) id of wid-bot\'s own identity, a GUID');
  const clientSecret = value(env, 'AZURE_CLIENT_SECRET');
  const federatedTokenFile = value(env, 'AZURE_FEDERATED_TOKEN_FILE');
  if (runsWorker && (clientSecret !== undefined || federatedTokenFile !== undefined)) {
    const how = clientSecret !== undefined ? 'AZURE_CLIENT_SECRET is set' : 'AZURE_FEDERATED_TOKEN_FILE is set';
    if (value(env, 'AZURE_TENANT_ID') === undefined) add('AZURE_TENANT_ID', `AZURE_TENANT_ID is required when ${how} (the Entra tenant id, a GUID)`);
    if (value(env, 'AZURE_CLIENT_ID') === undefined) add('AZURE_CLIENT_ID', `AZURE_CLIENT_ID is required when ${how} (the client id of wid-bot's own identity)`);
  }
  if (runsWorker && federatedTokenFile !== undefined && !existsSync(federatedTokenFile)) {
    add('AZURE_FEDERATED_TOKEN_FILE', `AZURE_FEDERATED_TOKEN_FILE names "${federatedTokenFile}", which does not exist (the workload identity webhook mounts it when the pod is labelled azure.workload.identity/use: "true")`);
  }
  const authorityHost = check('AZURE_AUTHORITY_HOST', httpsUrl, value(env, 'AZURE_AUTHORITY_HOST'), 'must be the Entra login URL, e.g. https://login.microsoftonline.com');
  const resourceManagerUrl = (
    check('AZURE_RESOURCE_MANAGER_URL', httpsUrl, value(env, 'AZURE_RESOURCE_MANAGER_URL'), 'must be the ARM endpoint URL, e.g. https://management.azure.com') ?? DEFAULT_RESOURCE_MANAGER_URL
  ).replace(/\/+$/, '');
  const resourceManagerAudience = value(env, 'AZURE_RESOURCE_MANAGER_AUDIENCE');
  const limit = (name: string, raw: string | undefined, what: string, fallback: RateBucket): RateBucket =>
    check(name, rateBucket, raw, `must be <bucket>/<refill per second> for ${what}, e.g. ${fallback.burst}/${fallback.perSecond}`) ?? { ...fallback };
  const limits = {
    reads: limit('WID_AZURE_READ_LIMIT', value(env, 'WID_AZURE_READ_LIMIT'), "ARM's read bucket per subscription", AZURE_LIMITS.reads),
    writes: limit('WID_AZURE_WRITE_LIMIT', value(env, 'WID_AZURE_WRITE_LIMIT'), "ARM's write bucket per subscription", AZURE_LIMITS.writes),
    deletes: limit('WID_AZURE_DELETE_LIMIT', value(env, 'WID_AZURE_DELETE_LIMIT'), "ARM's delete bucket per subscription", AZURE_LIMITS.deletes),
    identityCreates: limit('WID_AZURE_IDENTITY_CREATE_LIMIT', value(env, 'WID_AZURE_IDENTITY_CREATE_LIMIT'), 'identity creations per subscription and region', AZURE_LIMITS.identityCreates),
  };

  // kubernetes
  const kubeconfig = value(env, 'KUBECONFIG');
  const inCluster = kubeconfig === undefined && value(env, 'KUBERNETES_SERVICE_HOST') !== undefined;
  if (runsWorker && kubeconfig !== undefined) {
    const missing = kubeconfigPaths(kubeconfig).filter((p) => !existsSync(p));
    if (missing.length > 0) add('KUBECONFIG', `KUBECONFIG names ${missing.map((m) => `"${m}"`).join(', ')}, which does not exist (a kubeconfig file; leave it unset inside the cluster)`);
  }
  if (runsWorker && kubeconfig === undefined && !inCluster) {
    const home = value(env, 'HOME') ?? os.homedir();
    if (!existsSync(path.join(home, '.kube', 'config'))) {
      add('KUBECONFIG', 'KUBECONFIG is required outside a Kubernetes pod (a kubeconfig file for the AKS clusters; inside the cluster the pod\'s ServiceAccount is used)');
    }
  }

  // redis
  const redisRaw = value(env, 'REDIS_URL');
  if (redisRaw === undefined) add('REDIS_URL', 'REDIS_URL is required (redis://host:6379 or rediss://… for TLS; Redis 7 with appendonly yes and maxmemory-policy noeviction)');
  const redisUrl = redisRaw !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisRaw) ? (add('REDIS_URL', 'REDIS_URL must start with redis:// or rediss:// (e.g. redis://redis:6379)'), undefined) : redisRaw;
  // A hash tag ({wid}) keeps every key in one cluster slot, as BullMQ's multi-key scripts need on a clustered Redis.
  const prefix =
    check(
      'WID_REDIS_PREFIX',
      z.string().regex(/^(\{[A-Za-z0-9_.:-]{1,62}\}|[A-Za-z0-9_.:-]{1,64})$/),
      value(env, 'WID_REDIS_PREFIX'),
      'must be 1–64 letters, digits, _ . : or -, or such a name in braces as a cluster hash tag, e.g. {wid}',
    ) ?? 'wid';
  const redisAuth =
    check('WID_REDIS_AUTH', z.enum(['url', 'entra']), value(env, 'WID_REDIS_AUTH') ?? 'url', 'must be url (a password, if any, in REDIS_URL) or entra (Microsoft Entra ID: the token of wid-bot\'s own Azure identity)') ?? 'url';
  if (redisAuth === 'entra' && redisUrl !== undefined) {
    if (!redisUrl.startsWith('rediss://')) add('REDIS_URL', 'REDIS_URL must be rediss:// (TLS) with WID_REDIS_AUTH=entra: Azure sends the token only over TLS (port 6380 for Azure Cache for Redis, 10000 for Azure Managed Redis)');
    if (/\/\/[^/@]*@/.test(redisUrl)) add('REDIS_URL', 'REDIS_URL must carry no user or password with WID_REDIS_AUTH=entra: the user is the token\'s object id and the password the token');
  }

  // policy
  const policyFile = value(env, 'WID_POLICY_FILE');
  let policy: Policy | undefined;
  if (policyFile === undefined) add('WID_POLICY_FILE', 'WID_POLICY_FILE is required (the path of the policy YAML; start from policy.example.yaml)');
  else if (!options.skipPolicy) {
    try {
      policy = loadPolicyFile(policyFile);
    } catch (e) {
      if (e instanceof PolicyError) {
        for (const p of e.problems) add('WID_POLICY_FILE', `WID_POLICY_FILE ${policyFile}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
      } else add('WID_POLICY_FILE', `WID_POLICY_FILE ${policyFile}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // kubernetes, per cluster: `blue=<context>,green=<context>` and `green=/path/kubeconfig`
  let kubeClusters: Record<string, KubeClusterOverride> | undefined;
  const contextsRaw = value(env, 'WID_KUBE_CONTEXTS');
  const filesRaw = value(env, 'WID_KUBECONFIGS');
  if (contextsRaw !== undefined || filesRaw !== undefined) {
    const known = policy?.clusters.map((c) => c.name) ?? [];
    const contexts = contextsRaw !== undefined ? parseClusterMap('WID_KUBE_CONTEXTS', contextsRaw, known, 'kubeconfig context') : { map: {}, problems: [] };
    const files = filesRaw !== undefined ? parseClusterMap('WID_KUBECONFIGS', filesRaw, known, 'kubeconfig file') : { map: {}, problems: [] };
    // Without a policy (skipPolicy) the names cannot be checked; the process that uses them loads it.
    for (const p of contexts.problems) if (policy || !p.includes('not in the policy')) add('WID_KUBE_CONTEXTS', p);
    for (const p of files.problems) if (policy || !p.includes('not in the policy')) add('WID_KUBECONFIGS', p);
    if (runsWorker) {
      for (const [name, file] of Object.entries(files.map)) if (!existsSync(file)) add('WID_KUBECONFIGS', `WID_KUBECONFIGS names "${file}" for the cluster "${name}", which does not exist (a kubeconfig file for that cluster)`);
    }
    kubeClusters = clusterOverrides(contexts.map, files.map);
  }

  // http, worker, log
  const httpPort = check('PORT', port, value(env, 'PORT'), 'must be a TCP port number from 1 to 65535') ?? 3000;
  const concurrency = check('WID_WORKER_CONCURRENCY', positiveInt(256), value(env, 'WID_WORKER_CONCURRENCY'), 'must be a whole number from 1 to 256 (requests one worker provisions at a time)') ?? 4;
  const verifyRaw = value(env, 'WID_VERIFY');
  let verify = true;
  if (verifyRaw !== undefined) {
    const b = parseBoolean(verifyRaw);
    if (b === undefined) add('WID_VERIFY', `WID_VERIFY must be true or false (check the token exchange after provisioning); got "${verifyRaw}"`);
    else verify = b;
  }
  const timeoutRaw = value(env, 'WID_VERIFY_TIMEOUT') ?? '2m';
  const timeout = parseDuration(timeoutRaw);
  if (!timeout.ok) add('WID_VERIFY_TIMEOUT', `WID_VERIFY_TIMEOUT must be a duration like 2m, 90s or 1m30s (how long to wait for Entra to accept the new credential); got "${timeoutRaw}"`);
  const reconcileRaw = value(env, 'WID_GRANT_RECONCILE_INTERVAL') ?? '2m';
  const reconcile = parseDuration(reconcileRaw);
  if (!reconcile.ok) add('WID_GRANT_RECONCILE_INTERVAL', `WID_GRANT_RECONCILE_INTERVAL must be a duration like 2m or 30s (how often the worker ends every grant whose end has passed); got "${reconcileRaw}"`);
  const reuseRaw = value(env, 'WID_INSPECT_REUSE') ?? '10s';
  const reuse = reuseRaw.trim() === '0' ? ({ ok: true, value: 0 } as const) : parseDuration(reuseRaw);
  if (!reuse.ok) add('WID_INSPECT_REUSE', `WID_INSPECT_REUSE must be 0 or a duration like 10s or 1m (how old a /wid audit, list, creds, cluster or legacy scan may be and still be reused instead of scanning again); got "${reuseRaw}"`);
  const scanConcurrency = check('WID_INSPECT_CONCURRENCY', positiveInt(16), value(env, 'WID_INSPECT_CONCURRENCY'), 'must be a whole number from 1 to 16 (inspection scans one web process runs at once, apart from the other commands)') ?? 2;
  const level = check('LOG_LEVEL', z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]), value(env, 'LOG_LEVEL')?.toLowerCase(), `must be one of ${LOG_LEVELS.join(', ')}`) ?? 'info';

  if (problems.length > 0) throw new ConfigError(problems);

  // Everything required was checked above; the non-null assertions below only restate it for the compiler.
  return {
    role,
    slack: {
      mode,
      botToken: botToken!,
      ...(signingSecret !== undefined ? { signingSecret } : {}),
      ...(appToken !== undefined ? { appToken } : {}),
      ...(apiUrl !== undefined ? { apiUrl: normaliseSlackApiUrl(apiUrl) } : {}),
      ...(approvalsChannel !== undefined ? { approvalsChannel } : {}),
    },
    azure: {
      ...(tenantId !== undefined ? { tenantId } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
      ...(clientSecret !== undefined ? { clientSecret } : {}),
      ...(federatedTokenFile !== undefined ? { federatedTokenFile } : {}),
      ...(authorityHost !== undefined ? { authorityHost } : {}),
      resourceManagerUrl,
      ...(resourceManagerAudience !== undefined ? { resourceManagerAudience } : {}),
      limits,
    },
    kube: { ...(kubeconfig !== undefined ? { kubeconfig } : {}), inCluster, ...(kubeClusters ? { clusters: kubeClusters } : {}) },
    redis: { url: redisUrl!, prefix, auth: redisAuth },
    policy: { file: policyFile!, policy: policy ?? emptyPolicyPlaceholder(policyFile!) },
    http: { port: httpPort },
    worker: { concurrency, verify, verifyTimeoutSeconds: timeout.ok ? timeout.value : 120, grantReconcileSeconds: reconcile.ok ? reconcile.value : 120 },
    log: { level },
    inspect: { reuseSeconds: reuse.ok ? reuse.value : 10, concurrency: scanConcurrency },
  };
}

/** Only reachable with skipPolicy: a policy that allows nothing, so a tool that skipped it cannot grant anything by accident. */
function emptyPolicyPlaceholder(source: string): Policy {
  return {
    source,
    clusters: [],
    defaultCluster: '',
    identities: { subscriptionId: '', resourceGroup: '', location: '', tags: {} },
    operators: { users: [], groups: [], anyone: false },
    roles: [],
    namespaces: [],
    approvers: { users: [], groups: [], anyone: false },
    allowReservedNamespaces: false,
    requestTtlSeconds: 0,
    reminderAfterSeconds: 0,
  };
}

const REDACTED = '[redacted]';

/** The URL without its password. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, `//$1:${REDACTED}@`).replace(/\/\/[^:@/]+@/, `//${REDACTED}@`);
}

/** Names of the secret variables that are set (their values never leave the Config object). */
function provided(pairs: [string, string | undefined][]): string[] {
  return pairs.filter(([, v]) => v !== undefined).map(([name]) => name);
}

/**
 * The configuration for the startup log: which settings are in force and which credentials were
 * given (by variable name), never a secret's value. Keys avoid secret-looking names so the logger's
 * redaction leaves this readable.
 */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    role: config.role,
    slack: {
      mode: config.slack.mode,
      credentials: provided([
        ['SLACK_BOT_TOKEN', config.slack.botToken],
        ['SLACK_SIGNING_SECRET', config.slack.signingSecret],
        ['SLACK_APP_TOKEN', config.slack.appToken],
      ]),
      apiUrl: config.slack.apiUrl ?? 'https://slack.com/api/',
      approvalsChannel: config.slack.approvalsChannel ?? 'from the policy',
    },
    azure: {
      tenantId: config.azure.tenantId ?? 'unset',
      clientId: config.azure.clientId ?? 'unset',
      login: config.azure.clientSecret !== undefined ? 'client secret' : config.azure.federatedTokenFile !== undefined ? 'workload identity' : 'default credential chain',
      credentials: provided([
        ['AZURE_CLIENT_SECRET', config.azure.clientSecret],
        ['AZURE_FEDERATED_TOKEN_FILE', config.azure.federatedTokenFile],
      ]),
      authorityHost: config.azure.authorityHost ?? 'https://login.microsoftonline.com',
      resourceManagerUrl: config.azure.resourceManagerUrl,
      resourceManagerAudience: config.azure.resourceManagerAudience ?? 'from the URL',
      limits: Object.fromEntries(Object.entries(config.azure.limits).map(([k, b]) => [k, `${b.burst}/${b.perSecond}`])),
    },
    kube: {
      source: config.kube.kubeconfig ?? (config.kube.inCluster ? 'in-cluster ServiceAccount' : '~/.kube/config'),
      ...(config.kube.clusters ? { clusters: Object.fromEntries(Object.entries(config.kube.clusters).map(([n, o]) => [n, [o.kubeconfigPath, o.context && `context ${o.context}`].filter(Boolean).join(', ')])) } : {}),
    },
    redis: { url: redactUrl(config.redis.url), prefix: config.redis.prefix, auth: config.redis.auth },
    policy: {
      file: config.policy.file,
      clusters: config.policy.policy.clusters.map((c) => c.name),
      namespaces: config.policy.policy.namespaces.length,
      roles: config.policy.policy.roles.length,
    },
    http: config.http,
    worker: config.worker,
    log: config.log,
  };
}
