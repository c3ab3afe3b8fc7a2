/**
 * `wid plan`: the operator's dry run. Checks a request against the policy and prints the exact plan
 * as JSON, without creating anything.
 */
import { loadPolicyFile } from '../config/policy';
import { parseArgv } from '../domain/grammar';
import { buildPlan } from '../domain/plan';
import { evaluateRequest } from '../domain/policy';
import type { ClusterPort } from '../domain/ports';
import type { Actor } from '../domain/types';
import { clusterFactsFor } from './cluster-facts';
import type { MigrationWorld } from '../app/migrate';
import { planMigrate } from './plan-migrate';
import { CliError, takeOptions, type CliIo } from './verb';

export const usage = [
  'wid plan --policy FILE [--cluster NAME] [--issuer URL] [--as USER] request <namespace> <serviceaccount> <role name…> [--scope <ARM id>] [--reason <text>] [--for <duration>]',
  '  --policy   the policy file (or set WID_POLICY)',
  '  --cluster  cluster from the policy (default: its defaultCluster)',
  '  --issuer   the cluster\'s OIDC issuer URL; with it (or issuerUrl in the policy) nothing is read from Azure',
  '  --as       check the request as this Slack user id (without it, who may request is not checked)',
  'wid plan --policy FILE [--cluster NAME] [--issuer URL] [--as USER] migrate <namespace> <azureidentitybinding> [serviceaccount]',
  '  the /wid migrate plan: reads the binding (KUBECONFIG) and the identity with its roles (AZURE_*), changes nothing',
].join('\n');

/** The dry run's request id, written into the planned tags. */
export const DRY_RUN_REQUEST_ID = 'dry-run';

export async function run(args: string[], io: CliIo, deps: { clusterPort?: ClusterPort; migrations?: MigrationWorld } = {}): Promise<number> {
  const { options, rest } = takeOptions(args, ['policy', 'cluster', 'issuer', 'as'], ['help']);
  if (options.help) {
    io.out(usage);
    return 0;
  }
  const policyPath = typeof options.policy === 'string' ? options.policy : io.env.WID_POLICY;
  if (!policyPath) throw new CliError(`wid plan needs the policy file: --policy FILE.\nUsage: ${usage.split('\n')[0]}`);
  if (rest.length === 0) throw new CliError(`wid plan needs a request after its options.\nUsage: ${usage.split('\n')[0]}`);
  if (rest[0]?.startsWith('--')) throw new CliError(`${JSON.stringify(rest[0])} is not an option of wid plan (it takes --policy, --cluster, --issuer and --as).\nUsage: ${usage.split('\n')[0]}`);

  const policy = loadPolicyFile(policyPath);
  const parsed = parseArgv(rest);
  if (!parsed.ok) throw new CliError(parsed.error.message.replace(/\/wid /g, 'wid plan … '));
  const command = parsed.value;
  if (command.verb === 'migrate') {
    const planCluster = typeof options.cluster === 'string' ? options.cluster : undefined;
    if (planCluster !== undefined && command.cluster !== undefined && planCluster !== command.cluster) {
      throw new CliError(`--cluster is given twice with different values (${planCluster} and ${command.cluster}); give it once.`);
    }
    const as = typeof options.as === 'string' ? options.as : undefined;
    const cluster = command.cluster ?? planCluster;
    return planMigrate({ ...command, ...(cluster !== undefined ? { cluster } : {}) }, policy, as ? { id: as } : { id: `cli:${io.env.USER ?? 'operator'}` }, {
      ...(typeof options.issuer === 'string' ? { issuerUrl: options.issuer } : {}),
      checkRequester: as !== undefined,
    }, io, { ...(deps.migrations ? { world: deps.migrations } : {}), ...(deps.clusterPort ? { clusterPort: deps.clusterPort } : {}) });
  }
  if (command.verb !== 'request') {
    throw new CliError(`wid plan plans requests and migrations only, not ${command.verb}.\nUsage: ${usage.split('\n')[0]}`);
  }
  const planCluster = typeof options.cluster === 'string' ? options.cluster : undefined;
  if (planCluster !== undefined && command.cluster !== undefined && planCluster !== command.cluster) {
    throw new CliError(`--cluster is given twice with different values (${planCluster} and ${command.cluster}); give it once.`);
  }
  const cluster = command.cluster ?? planCluster;
  const as = typeof options.as === 'string' ? options.as : undefined;
  const requester: Actor = as ? { id: as } : { id: `cli:${io.env.USER ?? 'operator'}` };

  const decision = evaluateRequest(policy, {
    requester,
    requesterGroups: [],
    command: { ...command, ...(cluster !== undefined ? { cluster } : {}) },
    skipRequesterCheck: as === undefined,
  });
  if (!decision.ok) throw new CliError(decision.error.message);

  const facts = await clusterFactsFor(decision.value.cluster, {
    ...(typeof options.issuer === 'string' ? { issuerUrl: options.issuer } : {}),
    ...(deps.clusterPort ? { clusterPort: deps.clusterPort } : {}),
  });
  const plan = buildPlan({ policy, decision: decision.value, clusterFacts: facts, requestId: DRY_RUN_REQUEST_ID, requester, kind: 'grant' });
  if (!plan.ok) throw new CliError(plan.error.message);
  io.out(JSON.stringify(plan.value, null, 2));
  return 0;
}
