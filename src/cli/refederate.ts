/**
 * `wid refederate <cluster>`: after a cluster was recreated with a new OIDC issuer, the plan `/wid refederate`
 * would put up for approval: every identity whose credential trusts one of the cluster's previous issuers (the
 * issuer history in wid-bot's Redis) with the subject of a ServiceAccount that still exists there, and the
 * credential it would get for the current issuer. Reads only; the batch is approved and run from Slack.
 */
import { planClusterRefederate, type RefederatePlanDeps } from '../app/refederate-plan';
import { WidError } from '../domain/errors';
import type { RefederatePlan } from '../domain/refederate';
import { loadPolicyFile } from '../config/policy';
import { CliError, takeOptions, type CliIo } from './verb';

export const usage = [
  'wid refederate <cluster> [--policy FILE] [--context NAME] [--json]',
  "  After a cluster was recreated: what /wid refederate would re-federate to the cluster's new OIDC issuer. Reads only.",
  "  Reads AZURE_* (the identities), KUBECONFIG (the cluster's ServiceAccounts) and wid-bot's Redis (REDIS_URL, WID_REDIS_PREFIX:",
  '  the issuers wid-bot has seen; the issuer read now is recorded there too).',
  '  --policy   the policy file (default WID_POLICY_FILE)',
  "  --context  the cluster's kubeconfig context (default the current one)",
  '  --json     print the plan as JSON',
].join('\n');

/** The plan as people read it: one line per identity to re-federate, then what is skipped and what is gone. */
export function renderRefederatePlan(plan: RefederatePlan): string {
  const lines = [`Cluster ${plan.cluster}: current issuer ${plan.currentIssuer}`, `Previous issuers: ${plan.previousIssuers.join(', ') || 'none'}`];
  if (plan.items.length === 0) lines.push('Nothing to re-federate: no identity trusts a previous issuer for a ServiceAccount that exists on the cluster.');
  for (const i of plan.items) {
    lines.push(`${i.present ? 'verify ' : 'add    '} ${i.identity.name}  ${i.subject}  ${i.present ? `already has '${i.credential.name}'` : `new credential '${i.credential.name}'`}${i.oldCredentials.length ? `  (old: ${i.oldCredentials.map((c) => c.name).join(', ')})` : ''}`);
  }
  for (const s of plan.skipped) lines.push(`skip    ${s.identity.name}  ${s.subject}  ${s.message}`);
  for (const g of plan.gone) lines.push(`gone    ${g.identity.name}  ${g.subject}  credential '${g.credential}' (the ServiceAccount no longer exists; not recreated)`);
  lines.push(`${plan.items.length} to re-federate, ${plan.skipped.length} skipped, ${plan.gone.length} gone. Approve it in Slack: /wid refederate ${plan.cluster}`);
  return lines.join('\n');
}

export async function run(args: string[], io: CliIo, deps: { plan?: Omit<RefederatePlanDeps, 'policy'> } = {}): Promise<number> {
  const { options, rest } = takeOptions(args, ['policy', 'context'], ['json', 'help']);
  const first = usage.split('\n')[0] ?? '';
  if (options.help) {
    io.out(usage);
    return 0;
  }
  const [cluster, ...extra] = rest;
  if (cluster === undefined || cluster.startsWith('-')) throw new CliError(`wid refederate needs the name of the recreated cluster, as the policy names it.\nUsage: ${first}`);
  if (extra.length) throw new CliError(`wid refederate takes one cluster, got also ${extra.map((r) => JSON.stringify(r)).join(' ')}.\nUsage: ${first}`);
  const policyPath = typeof options.policy === 'string' ? options.policy : io.env.WID_POLICY_FILE;
  if (!policyPath) throw new CliError(`wid refederate needs the policy file: --policy FILE (or WID_POLICY_FILE).\nUsage: ${first}`);
  let policy;
  try {
    policy = loadPolicyFile(policyPath);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  let planDeps = deps.plan;
  let close: (() => Promise<void>) | undefined;
  if (!planDeps) {
    const url = io.env.REDIS_URL;
    if (!url) throw new CliError(`wid refederate reads the issuers wid-bot has seen from its Redis: set REDIS_URL (and WID_REDIS_PREFIX if the bot uses one).\nUsage: ${first}`);
    // Lazy: the SDKs and Redis load only when a plan is really asked for.
    const { createAzureAdapters, azureConfigFromEnv } = require('../azure') as typeof import('../azure');
    const { createKubeAdapter } = require('../kube') as typeof import('../kube');
    const { connectProducer } = require('../store/connection') as typeof import('../store/connection');
    const { IssuerHistory, recordingIssuers } = require('../store/issuers') as typeof import('../store/issuers');
    const azure = createAzureAdapters(azureConfigFromEnv(io.env));
    const kubeconfig = io.env.KUBECONFIG;
    const kube = createKubeAdapter({ ...(kubeconfig && !kubeconfig.includes(':') ? { kubeconfigPath: kubeconfig } : {}), ...(typeof options.context === 'string' ? { context: options.context } : {}) });
    const redis = await connectProducer(url);
    close = async () => void (await redis.quit().catch(() => undefined));
    const history = new IssuerHistory(redis, io.env.WID_REDIS_PREFIX ?? 'wid');
    planDeps = { clusters: recordingIssuers(azure.clusters, history), identities: azure.identities, kube: () => kube, issuerHistory: (c) => history.history(c) };
  }
  try {
    const planned = await planClusterRefederate({ ...planDeps, policy }, cluster);
    if (!planned.ok) {
      io.err(`wid refederate: ${planned.error.message}`);
      return 1;
    }
    io.out(options.json ? JSON.stringify(planned.value, null, 2) : renderRefederatePlan(planned.value));
    return 0;
  } catch (e) {
    if (e instanceof WidError) {
      io.err(`wid refederate: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await close?.();
  }
}
