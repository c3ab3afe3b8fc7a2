/**
 * The CLI side of the inspection verbs: `wid cluster|list [ns]|creds|audit|legacy`, against the real
 * adapters from the environment (AZURE_* for ARM, KUBECONFIG's current or named context for the cluster).
 * Exit codes: 0 answered, 2 bad input (options, policy, cluster name), 1 an outside system failed.
 */
import { loadPolicyFile } from '../config/policy';
import { WidError } from '../domain/errors';
import type { ClusterPort, IdentityPort, KubePort, SubscriptionPort } from '../domain/ports';
import { parseSearchScope } from '../domain/search-scopes';
import type { IdentitySearchScope } from '../domain/types';
import type { Policy } from '../domain/types';
import { CliError, takeOptions, type CliIo } from '../cli/verb';
import { createInspector, resolveCluster } from './inspector';
import { terminalProgress } from './progress-bar';
import { renderTable } from './render/table';
import type { Finding, InspectVerb } from './types';

/** Adapters a test passes instead of the ones built from the environment. */
export interface InspectCliDeps {
  clusters?: ClusterPort;
  identities?: IdentityPort;
  kube?: (clusterName: string) => KubePort;
  /** `--all-subscriptions`: every subscription the caller can list. */
  subscriptions?: SubscriptionPort;
  /** The grants' audit findings (default: from Azure's assignment descriptions, and the store when REDIS_URL is set). */
  grantFindings?: () => Promise<Finding[]>;
}

/** `wid audit` on grants: the descriptions and schedules Azure keeps always; the store's grants too when REDIS_URL names the bot's Redis. */
async function cliGrantFindings(io: CliIo, policy: Policy): Promise<Finding[]> {
  const { createAzureAdapters, azureConfigFromEnv } = require('../azure') as typeof import('../azure');
  const { grantFindings } = require('../grants/audit') as typeof import('../grants/audit');
  const azure = createAzureAdapters(azureConfigFromEnv(io.env));
  const url = io.env.REDIS_URL;
  if (!url) return grantFindings({ policy, identities: azure.identities, authorization: azure.authorization, schedules: azure.schedules });
  const { RedisRequestStore } = require('../store') as typeof import('../store');
  const { RedisGrantStore } = require('../grants/store') as typeof import('../grants/store');
  const store = await RedisRequestStore.connect(url, io.env.WID_REDIS_PREFIX ? { prefix: io.env.WID_REDIS_PREFIX } : {});
  try {
    return await grantFindings({ policy, identities: azure.identities, authorization: azure.authorization, schedules: azure.schedules, grants: new RedisGrantStore(store.redis, store.keys) });
  } finally {
    await store.close();
  }
}

const COMMON_USAGE = [
  '  --policy       the policy file (or set WID_POLICY_FILE)',
  '  --cluster      cluster from the policy (default: its defaultCluster)',
  "  --context      kubeconfig context that reaches that cluster (default: the kubeconfig's current context)",
  '  --concurrency  federated-credential listings in flight at once (default 48)',
  '  --json         print the result as JSON for scripts',
  'Azure is reached with the standard AZURE_* variables (DefaultAzureCredential, AZURE_RESOURCE_MANAGER_URL); Kubernetes with KUBECONFIG.',
];

const SEARCH_USAGE = [
  '  --subscription       also search this subscription (or <subscription>/<resource group>) for identities; repeatable',
  '  --all-subscriptions  also search every subscription the caller can list (ARM GET /subscriptions)',
  'Scopes Azure refuses to list (403) are named in the result; the others still answer.',
];

/** The search options of creds and audit, taken out of argv wherever they stand. */
export function takeSearchOptions(args: readonly string[]): { scopes: IdentitySearchScope[]; all: boolean; rest: string[] } {
  const scopes: IdentitySearchScope[] = [];
  const rest: string[] = [];
  let all = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--all-subscriptions') {
      all = true;
      continue;
    }
    const m = /^--subscription(?:=(.*))?$/s.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const value = m[1] ?? args[++i];
    if (value === undefined || value.startsWith('--') || value.trim() === '') throw new CliError('--subscription needs a subscription id (or <subscription id>/<resource group>).');
    const parsed = parseSearchScope(value);
    if (!parsed.ok) throw new CliError(`--subscription: ${parsed.error.message}`);
    scopes.push(parsed.value);
  }
  return { scopes, all, rest };
}

export const USAGES: Record<InspectVerb, string> = {
  cluster: ['wid cluster --policy FILE [--cluster NAME] [--json]', '  OIDC issuer, workload identity, cluster identity and the legacy pod-identity add-on; the az command that fixes what is off.', ...COMMON_USAGE].join('\n'),
  list: ['wid list --policy FILE [--cluster NAME] [--json] [namespace]', '  ServiceAccounts with the workload-identity client-id annotation or use label, and whether their client id is a managed identity.', ...COMMON_USAGE].join('\n'),
  creds: ['wid creds --policy FILE [--cluster NAME] [--subscription ID[/GROUP]]... [--all-subscriptions] [--json]', "  Federated credentials, across the policy's identity resource group and identitySearchScopes, that trust this cluster's issuer.", ...COMMON_USAGE, ...SEARCH_USAGE].join('\n'),
  audit: ['wid audit --policy FILE [--cluster NAME] [--subscription ID[/GROUP]]... [--all-subscriptions] [--json]', '  Findings with severity and fix: ServiceAccounts, pods, credentials and the cluster joined.', ...COMMON_USAGE, ...SEARCH_USAGE].join('\n'),
  legacy: ['wid legacy --policy FILE [--cluster NAME] [--json]', '  aad-pod-identity leftovers, each with the /wid migrate (bindings) or /wid request line that moves it to workload identity.', ...COMMON_USAGE].join('\n'),
};

function loadPolicy(path: string): Policy {
  try {
    return loadPolicyFile(path);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
}

/** The kubeconfig: the client's own lookup (KUBECONFIG, ~/.kube/config) unless the caller's env names another file. */
function kubeconfigFrom(env: NodeJS.ProcessEnv): { kubeconfigPath?: string } {
  const path = env.KUBECONFIG;
  return path && path !== process.env.KUBECONFIG && !path.includes(':') ? { kubeconfigPath: path } : {};
}

/** Build the real adapters lazily so `--help` and bad input never load the Azure or Kubernetes SDKs. */
function environmentAdapters(io: CliIo, context: string | undefined): Required<Omit<InspectCliDeps, 'grantFindings'>> {
  // Lazy: the Azure and Kubernetes SDKs load only when a verb really runs.
  const { createAzureAdapters, azureConfigFromEnv } = require('../azure') as typeof import('../azure');
  const azure = createAzureAdapters(azureConfigFromEnv(io.env));
  const { createKubeAdapter } = require('../kube') as typeof import('../kube');
  let kube: KubePort | undefined;
  return {
    clusters: azure.clusters,
    identities: azure.identities,
    subscriptions: azure.subscriptions,
    // One kubeconfig context serves the selected cluster: the named one, or the current one.
    kube: () => (kube ??= createKubeAdapter({ ...kubeconfigFrom(io.env), ...(context ? { context } : {}) })),
  };
}

/** Options anywhere among the words (`wid list finance --json` as well as `wid list --json finance`). */
function parseArgs(args: readonly string[], verb: InspectVerb, firstLine: string): { options: Record<string, string | true>; rest: string[] } {
  const options: Record<string, string | true> = {};
  const rest: string[] = [];
  let remaining = [...args];
  for (;;) {
    const taken = takeOptions(remaining, ['policy', 'cluster', 'context', 'concurrency'], ['json', 'help']);
    for (const [k, v] of Object.entries(taken.options)) {
      if (options[k] !== undefined) throw new CliError(`--${k} is given twice; give it once.`);
      options[k] = v;
    }
    const next = taken.rest[0];
    if (next === undefined) return { options, rest };
    if (next.startsWith('-')) throw new CliError(`${JSON.stringify(next)} is not an option of wid ${verb}.\nUsage: ${firstLine}`);
    rest.push(next);
    remaining = taken.rest.slice(1);
  }
}

export async function runInspectVerb(verb: InspectVerb, args: string[], io: CliIo, deps: InspectCliDeps = {}): Promise<number> {
  const usage = USAGES[verb];
  const wide = verb === 'creds' || verb === 'audit';
  const search = wide ? takeSearchOptions(args) : { scopes: [], all: false, rest: [...args] };
  const { options, rest } = parseArgs(search.rest, verb, usage.split('\n')[0] ?? '');
  if (options.help) {
    io.out(usage);
    return 0;
  }
  const firstLine = usage.split('\n')[0] ?? '';
  const maxPositional = verb === 'list' ? 1 : 0;
  if (rest.length > maxPositional) throw new CliError(`wid ${verb} takes ${maxPositional === 0 ? 'no words' : 'at most one namespace'} besides its options, got ${rest.map((r) => JSON.stringify(r)).join(' ')}.\nUsage: ${firstLine}`);
  const namespace = verb === 'list' ? rest[0] : undefined;
  const policyPath = typeof options.policy === 'string' ? options.policy : (io.env.WID_POLICY_FILE ?? io.env.WID_POLICY);
  if (!policyPath) throw new CliError(`wid ${verb} needs the policy file: --policy FILE (or WID_POLICY_FILE).\nUsage: ${firstLine}`);
  let concurrency: number | undefined;
  if (typeof options.concurrency === 'string') {
    concurrency = Number(options.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new CliError(`--concurrency must be a whole number from 1 to 256, got ${JSON.stringify(options.concurrency)}.`);
  }
  const policy = loadPolicy(policyPath);
  const clusterName = typeof options.cluster === 'string' ? options.cluster : undefined;
  try {
    resolveCluster(policy, clusterName);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }

  try {
    const env = deps.clusters && deps.identities && deps.kube && (!search.all || deps.subscriptions) ? undefined : environmentAdapters(io, typeof options.context === 'string' ? options.context : undefined);
    const extra = [...search.scopes];
    if (search.all) {
      const subscriptions = deps.subscriptions ?? (env as Required<Omit<InspectCliDeps, 'grantFindings'>>).subscriptions;
      for (const s of await subscriptions.listSubscriptions()) extra.push({ subscriptionId: s.subscriptionId.toLowerCase() });
    }
    const inspector = createInspector({
      policy,
      ...(extra.length ? { extraIdentityScopes: extra } : {}),
      clusters: deps.clusters ?? (env as Required<Omit<InspectCliDeps, 'grantFindings'>>).clusters,
      identities: deps.identities ?? (env as Required<Omit<InspectCliDeps, 'grantFindings'>>).identities,
      kube: deps.kube ?? (env as Required<Omit<InspectCliDeps, 'grantFindings'>>).kube,
      ...(concurrency !== undefined ? { concurrency } : {}),
      ...(verb === 'audit' && deps.grantFindings === undefined && env ? { grantFindings: () => cliGrantFindings(io, policy) } : {}),
      ...(deps.grantFindings ? { grantFindings: deps.grantFindings } : {}),
    });
    // A progress bar on a terminal's stderr only: stdout (and --json) stay as they are.
    const bar = io.terminal ? terminalProgress(io.terminal) : undefined;
    let result;
    try {
      result = await inspector.run(verb, { ...(clusterName !== undefined ? { cluster: clusterName } : {}), ...(namespace !== undefined ? { namespace } : {}) }, bar?.onProgress);
    } finally {
      bar?.end();
    }
    io.out(options.json ? JSON.stringify(result, null, 2) : renderTable(result));
    return 0;
  } catch (e) {
    if (e instanceof WidError) {
      io.err(`wid ${verb}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
