/**
 * The `wid` verbs. To add one, create src/cli/<verb>.ts exporting `usage` and `run` (see VerbModule in
 * ./verb.ts) and add ONE line here:
 *     <verb>: { summary: '<what it does>', load: () => require('./<verb>') as VerbModule },
 * Modules load only when their verb runs, so `wid help` stays fast however heavy a verb is.
 */
import type { VerbModule } from './verb';

export interface VerbEntry {
  summary: string;
  load: () => VerbModule;
}

export const VERBS: Record<string, VerbEntry> = {
  // require() keeps the module lazy and works the same under tsc's CommonJS output, tsx and jest.
  serve: { summary: 'run wid-bot: the Slack app and the provisioning worker (--role web|worker to split them)', load: () => require('./serve') as VerbModule },
  plan: { summary: 'dry-run a request against the policy and print the exact plan as JSON', load: () => require('./plan') as VerbModule },
  cluster: { summary: 'check that a cluster is ready for workload identity (OIDC issuer, workload identity, pod identity)', load: () => require('./cluster') as VerbModule },
  list: { summary: 'list the ServiceAccounts set up for workload identity and the identities they name', load: () => require('./list') as VerbModule },
  creds: { summary: "list the federated credentials that trust a cluster's OIDC issuer", load: () => require('./creds') as VerbModule },
  audit: { summary: 'find what breaks workload identity on a cluster, with the fix for each finding', load: () => require('./audit') as VerbModule },
  manifests: { summary: "print wid-bot's Role and RoleBinding for each namespace of the policy (wid manifests rbac)", load: () => require('./manifests') as VerbModule },
  policy: { summary: 'check the policy against what is deployed (wid policy check)', load: () => require('./policy') as VerbModule },
  legacy: { summary: 'find aad-pod-identity leftovers and the /wid migrate or /wid request line that moves each', load: () => require('./legacy') as VerbModule },
  grants: { summary: 'list active grants and when each ends (reads REDIS_URL)', load: () => require('./grants') as VerbModule },
  refederate: { summary: "after a cluster was recreated: what /wid refederate would re-federate to its new OIDC issuer (reads only)", load: () => require('./refederate') as VerbModule },
};
