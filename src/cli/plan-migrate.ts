/**
 * `wid plan … migrate <namespace> <binding> [serviceaccount]`: the migrate plan as /wid migrate would freeze it,
 * printed as JSON without changing anything. Unlike a request's plan it reads the world: the binding and its
 * AzureIdentity from Kubernetes (KUBECONFIG), the identity and its roles from Azure (AZURE_*).
 */
import { Migrations, type MigrationWorld } from '../app/migrate';
import type { MigrateCommand } from '../domain/grammar';
import type { ClusterPort } from '../domain/ports';
import type { Actor, Policy } from '../domain/types';
import { clusterFactsFor } from './cluster-facts';
import { CliError, type CliIo } from './verb';

export interface PlanMigrateDeps {
  world?: MigrationWorld;
  clusterPort?: ClusterPort;
}

function environmentWorld(io: CliIo): { world: MigrationWorld; clusterPort: ClusterPort } {
  // Lazy: the SDKs load only when a migrate plan is really asked for.
  const { createAzureAdapters, azureConfigFromEnv } = require('../azure') as typeof import('../azure');
  const { createKubeAdapter } = require('../kube') as typeof import('../kube');
  const azure = createAzureAdapters(azureConfigFromEnv(io.env));
  const kube = createKubeAdapter(io.env.KUBECONFIG && !io.env.KUBECONFIG.includes(':') ? { kubeconfigPath: io.env.KUBECONFIG } : {});
  return { world: { identities: azure.identities, authorization: azure.authorization, kube: () => kube }, clusterPort: azure.clusters };
}

export async function planMigrate(command: MigrateCommand, policy: Policy, requester: Actor, opts: { issuerUrl?: string; checkRequester: boolean }, io: CliIo, deps: PlanMigrateDeps = {}): Promise<number> {
  if (command.finish) throw new CliError('wid plan shows what /wid migrate would do; --finish changes nothing to plan. Run /wid migrate --finish in Slack.');
  const env = deps.world && deps.clusterPort ? undefined : environmentWorld(io);
  const world = deps.world ?? (env as { world: MigrationWorld }).world;
  const clusterPort = deps.clusterPort ?? (env as { clusterPort: ClusterPort }).clusterPort;
  const migrations = new Migrations({
    ...world,
    policy,
    clusterFacts: (c) => clusterFactsFor(c, { ...(opts.issuerUrl !== undefined ? { issuerUrl: opts.issuerUrl } : {}), clusterPort }),
  });
  const plan = await migrations.plan(requester, [], command, 'dry-run', { skipRequesterCheck: !opts.checkRequester });
  if (!plan.ok) throw new CliError(plan.error.message);
  io.out(JSON.stringify(plan.value, null, 2));
  return 0;
}
