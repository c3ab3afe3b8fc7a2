/**
 * `wid policy check --policy FILE --manifests FILE|-`: the policy and what is deployed agree. Today: every namespace
 * the policy lets people request for has wid-bot's Role and RoleBinding (from `wid manifests rbac`), granting what
 * provisioning needs to wid-bot's own ServiceAccount, and no reserved namespace has them. The manifests are the
 * rendered ones (`kubectl kustomize manifests/base | wid policy check --policy … --manifests -`) or a file.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { loadPolicyFile } from '../config/policy';
import { RESERVED_NAMESPACES, type Policy } from '../domain/types';
import { DEFAULT_BOT_ACCOUNT, NAMESPACE_RBAC_NAME, NAMESPACE_RULES, policyAndBot, type BotAccount } from './manifests';
import { CliError, takeOptions, type CliIo } from './verb';
import { checkPolicyLive, problemLines, type PolicyCheckDeps } from '../app/policy-check';

export const usage = [
  'wid policy check --policy FILE [--manifests FILE|-] [--live] [--json] [--namespace NS] [--service-account NAME]',
  '  --manifests: checks the policy against the rendered manifests (a YAML stream, e.g. `kubectl kustomize manifests/base`; - reads stdin):',
  '  each policy namespace has wid-bot\'s Role and RoleBinding, and no reserved namespace has them.',
  '  --live: checks the policy against the live world: every Slack user it names exists and is active (users.info), every',
  '  usergroup has an active member (usergroups.users.list), every scope and role exists in Azure, every cluster has its',
  '  OIDC issuer and workload identity on (SLACK_BOT_TOKEN, SLACK_API_URL and the AZURE_* variables as for `wid serve`).',
  '  Each problem names the file, the field (e.g. namespaces.finance.approvers.users[0]) and the fix.',
  '  --json  one JSON object: { file, ok, problems: [{ check, file, path, problem, fix }], checked, skipped }',
  '  Exit 0 when everything agrees, 1 with one line per finding, 2 on bad input.',
  '  --namespace / --service-account  where wid-bot runs and as whom (default wid / wid-bot)',
].join('\n');

export interface PolicyFinding {
  namespace: string;
  problem: string;
  fix: string;
}

interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  rules?: { apiGroups?: string[]; resources?: string[]; verbs?: string[] }[];
  roleRef?: { apiGroup?: string; kind?: string; name?: string };
  subjects?: { kind?: string; name?: string; namespace?: string }[];
}

const RBAC = 'rbac.authorization.k8s.io/v1';
const isReserved = (ns: string): boolean => (RESERVED_NAMESPACES as readonly string[]).includes(ns);

/** Does this Role grant at least every rule wid-bot needs? */
function grantsProvisioning(role: K8sObject): boolean {
  return NAMESPACE_RULES.every((need) =>
    need.verbs.every((verb) =>
      (role.rules ?? []).some((r) => (r.apiGroups ?? []).includes(need.apiGroups[0] as string) && (r.resources ?? []).includes(need.resources[0] as string) && ((r.verbs ?? []).includes(verb) || (r.verbs ?? []).includes('*'))),
    ),
  );
}

/** Findings for one set of rendered objects (pure). */
export function checkNamespaceRbac(policy: Policy, objects: readonly K8sObject[], bot: BotAccount = DEFAULT_BOT_ACCOUNT): PolicyFinding[] {
  const findings: PolicyFinding[] = [];
  const find = (kind: string, namespace: string) => objects.find((o) => o.apiVersion === RBAC && o.kind === kind && o.metadata?.name === NAMESPACE_RBAC_NAME && o.metadata?.namespace === namespace);
  const regenerate = 'run `wid manifests rbac --policy <policy file> > manifests/base/rbac-namespaces.yaml` and apply it';
  for (const namespace of [...new Set(policy.namespaces.map((n) => n.name))].sort()) {
    if (isReserved(namespace)) {
      findings.push({ namespace, problem: 'the policy allows this reserved namespace, where wid-bot is never given permissions', fix: 'remove it from the policy, or grant by hand knowing that wid-bot could then mint tokens for system ServiceAccounts there' });
      continue;
    }
    const role = find('Role', namespace);
    const binding = find('RoleBinding', namespace);
    if (!role || !binding) {
      findings.push({ namespace, problem: `no ${[!role ? 'Role' : '', !binding ? 'RoleBinding' : ''].filter(Boolean).join(' and ')} ${NAMESPACE_RBAC_NAME}: wid-bot cannot create or annotate ServiceAccounts there`, fix: regenerate });
      continue;
    }
    if (!grantsProvisioning(role)) findings.push({ namespace, problem: `Role ${NAMESPACE_RBAC_NAME} does not grant serviceaccounts create/patch and serviceaccounts/token create`, fix: regenerate });
    const boundToRole = binding.roleRef?.kind === 'Role' && binding.roleRef.name === NAMESPACE_RBAC_NAME;
    const boundToBot = (binding.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === bot.serviceAccount && s.namespace === bot.namespace);
    if (!boundToRole || !boundToBot) findings.push({ namespace, problem: `RoleBinding ${NAMESPACE_RBAC_NAME} does not bind Role ${NAMESPACE_RBAC_NAME} to ${bot.namespace}/${bot.serviceAccount}`, fix: regenerate });
  }
  const allowed = new Set(policy.namespaces.map((n) => n.name));
  for (const o of objects) {
    const ns = o.metadata?.namespace;
    if (o.apiVersion === RBAC && o.metadata?.name === NAMESPACE_RBAC_NAME && ns && (o.kind === 'Role' || o.kind === 'RoleBinding') && !allowed.has(ns)) {
      findings.push({ namespace: ns, problem: `${o.kind} ${NAMESPACE_RBAC_NAME} is there, but the policy no longer allows this namespace`, fix: `delete it (kubectl -n ${ns} delete role,rolebinding ${NAMESPACE_RBAC_NAME}) and regenerate` });
    }
  }
  return findings;
}

function readObjects(source: string, io: CliIo): K8sObject[] {
  let text: string;
  try {
    text = source === '-' ? readFileSync(0, 'utf8') : readFileSync(source, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read the manifests from ${source === '-' ? 'stdin' : source}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new CliError(`${source}: not valid YAML: ${doc.errors[0]?.message ?? ''}`);
    const v: unknown = doc.toJS();
    if (v && typeof v === 'object') {
      const o = v as K8sObject & { items?: K8sObject[] };
      if (o.kind?.endsWith('List') && Array.isArray(o.items)) out.push(...o.items);
      else out.push(o);
    }
  }
  if (out.length === 0) io.err(`wid policy check: ${source === '-' ? 'stdin' : source} holds no Kubernetes object`);
  return out;
}

/** What `--live` looks things up with: from the environment unless a test gives its own. */
export type LiveCheckDeps = Omit<PolicyCheckDeps, 'policy' | 'file'>;

/** The live check's ports from the environment `wid serve` uses: Slack's Web API and the Azure credential. */
export function liveCheckDepsFromEnv(env: NodeJS.ProcessEnv): LiveCheckDeps {
  const deps: LiveCheckDeps = {};
  const token = env.SLACK_BOT_TOKEN?.trim();
  if (token) {
    const { WebClient } = require('@slack/web-api') as typeof import('@slack/web-api');
    const { normaliseSlackApiUrl } = require('../config/env') as typeof import('../config/env');
    const { slackDirectory } = require('../slack/directory') as typeof import('../slack/directory');
    const apiUrl = env.SLACK_API_URL?.trim();
    deps.directory = slackDirectory(new WebClient(token, { ...(apiUrl ? { slackApiUrl: normaliseSlackApiUrl(apiUrl) } : {}), retryConfig: { retries: 2 } }));
  }
  if (env.AZURE_CLIENT_ID || env.AZURE_FEDERATED_TOKEN_FILE || env.AZURE_RESOURCE_MANAGER_URL || env.IDENTITY_ENDPOINT) {
    const { createAzureAdapters, azureConfigFromEnv } = require('../azure') as typeof import('../azure');
    const azure = createAzureAdapters(azureConfigFromEnv(env));
    deps.scopes = azure.scopes;
    deps.authorization = azure.authorization;
    deps.clusters = azure.clusters;
  }
  return deps;
}

export async function run(args: string[], io: CliIo, liveDeps?: LiveCheckDeps): Promise<number> {
  const [what, ...rest] = args;
  if (what === '--help' || what === 'help') {
    io.out(usage);
    return 0;
  }
  if (what !== 'check') throw new CliError(`wid policy knows one subcommand: check${what ? `, not ${JSON.stringify(what)}` : ''}.\nUsage: ${usage.split('\n')[0]}`);
  const { options, rest: extra } = takeOptions(rest, ['policy', 'manifests', 'namespace', 'service-account'], ['help', 'live', 'json']);
  if (options.help) {
    io.out(usage);
    return 0;
  }
  if (extra.length) throw new CliError(`unexpected argument ${JSON.stringify(extra[0])}.\nUsage: ${usage.split('\n')[0]}`);
  const { policyPath, bot } = policyAndBot(options, io, 'wid policy check', usage.split('\n')[0] ?? usage);
  const live = options.live !== undefined;
  if (typeof options.manifests !== 'string' && !live) {
    throw new CliError(`wid policy check needs what to check against: --manifests FILE, or --manifests - to read \`kubectl kustomize\` output from stdin; and/or --live to check Slack users and usergroups, Azure scopes and roles, and the clusters.\nUsage: ${usage.split('\n')[0]}`);
  }
  const policy = loadPolicyFile(policyPath);
  const findings = typeof options.manifests === 'string' ? checkNamespaceRbac(policy, readObjects(options.manifests, io), bot) : [];
  const report = live ? await checkPolicyLive({ policy, file: policyPath, ...(liveDeps ?? liveCheckDepsFromEnv(io.env)) }) : undefined;
  const problems = report?.problems ?? [];
  if (options.json !== undefined) {
    io.out(
      JSON.stringify(
        {
          file: policyPath,
          ok: findings.length === 0 && problems.length === 0,
          problems,
          ...(report ? { checked: report.checked, skipped: report.skipped } : {}),
          ...(typeof options.manifests === 'string' ? { rbac: findings } : {}),
        },
        null,
        2,
      ),
    );
    return findings.length || problems.length ? 1 : 0;
  }
  if (typeof options.manifests === 'string' && findings.length === 0) {
    io.out(`policy and manifests agree: ${policy.namespaces.length} namespace${policy.namespaces.length === 1 ? '' : 's'}, each with wid-bot's Role and RoleBinding.`);
  }
  for (const f of findings) io.out(`${f.namespace}: ${f.problem}. Fix: ${f.fix}.`);
  if (report) {
    for (const line of problemLines(report)) io.out(line);
    for (const s of report.skipped) io.err(`wid policy check: not checked: ${s}`);
    if (problems.length === 0) {
      const c = report.checked;
      io.out(`policy and the live world agree: ${c['slack-user']} Slack users, ${c['slack-usergroup']} usergroups, ${c['azure-scope']} scopes, ${c['azure-role']} roles, ${c.cluster} clusters checked.`);
    }
  }
  return findings.length || problems.length ? 1 : 0;
}
