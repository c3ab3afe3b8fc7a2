/**
 * The inspector: one core behind `/wid cluster|list|creds|audit|legacy` and `wid …` alike. It gathers
 * through the ports and hands the data to the pure verb functions.
 */
import { TerminalError } from '../domain/errors';
import type { ClusterPort, IdentityPort, KubePort } from '../domain/ports';
import type { IssuerRecord } from '../domain/refederate';
import type { ClusterFacts, Policy, PolicyCluster } from '../domain/types';
import { auditCluster } from './audit';
import { inspectCluster } from './cluster';
import { inspectCreds } from './creds';
import { DEFAULT_CONCURRENCY, gatherAllClusterFacts, gatherClusterFacts, gatherCredentials, gatherIdentities, gatherKube, identityScopes, streamIdentities, type IdentityCredentials, type IdentityScope, type KnownCluster, type KubeView, type RetryOptions } from './gather';
import { inspectLegacy } from './legacy';
import { inspectList } from './list';
import { clustersByIssuer, trustedClusters } from './trust';
import { FINDING_CODES, type AuditResult, type ClusterResult, type CredsResult, type Finding, type InspectProgress, type InspectResult, type InspectVerb, type LegacyResult, type ListResult, type ProgressCallback, type SearchedScopes, type Severity } from './types';

export interface InspectorDeps {
  policy: Policy;
  clusters: ClusterPort;
  identities: IdentityPort;
  /** The Kubernetes API of a policy cluster, by its name in the policy. */
  kube: (clusterName: string) => KubePort;
  /** Credential listings in flight at once (default 16). */
  concurrency?: number;
  /** Subscriptions or resource groups searched for identities besides the policy's identity resource group. */
  extraIdentityScopes?: IdentityScope[];
  retry?: RetryOptions;
  /** Findings about time-bound grants, added to the audit (src/grants/audit.ts). */
  grantFindings?: () => Promise<Finding[]>;
  /** A policy cluster's recorded issuers (src/store/issuers.ts), for the issuer-changed findings. */
  issuerHistory?: (clusterName: string) => Promise<IssuerRecord[]>;
}

export interface InspectArgs {
  /** A policy cluster name; the policy's default cluster when omitted. */
  cluster?: string;
  /** `list` only: one namespace. */
  namespace?: string;
}

export interface Inspector {
  cluster(args?: InspectArgs): Promise<ClusterResult>;
  list(args?: InspectArgs, onProgress?: ProgressCallback): Promise<ListResult>;
  creds(args?: InspectArgs, onProgress?: ProgressCallback): Promise<CredsResult>;
  legacy(args?: InspectArgs): Promise<LegacyResult>;
  audit(args?: InspectArgs, onProgress?: ProgressCallback): Promise<AuditResult>;
  run(verb: InspectVerb, args?: InspectArgs, onProgress?: ProgressCallback): Promise<InspectResult>;
}

/** The policy cluster a command means; a TerminalError naming the choices when there is none by that name. */
export function resolveCluster(policy: Policy, name: string | undefined): PolicyCluster {
  const wanted = name ?? policy.defaultCluster;
  const found = policy.clusters.find((c) => c.name === wanted) ?? policy.clusters.find((c) => c.name.toLowerCase() === wanted.toLowerCase());
  if (!found) {
    throw new TerminalError(`There is no cluster "${wanted}" in the policy. Clusters: ${policy.clusters.map((c) => c.name).join(', ')}.`, 'UnknownCluster');
  }
  return found;
}

/** Every policy cluster's recorded issuers; a cluster whose history cannot be read counts as having none. */
async function gatherIssuerHistory(read: (clusterName: string) => Promise<IssuerRecord[]>, policy: Policy): Promise<Record<string, IssuerRecord[]>> {
  const entries = await Promise.all(policy.clusters.map(async (c) => [c.name, await read(c.name).catch(() => [])] as const));
  return Object.fromEntries(entries);
}

export function createInspector(deps: InspectorDeps): Inspector {
  const concurrency = deps.concurrency ?? DEFAULT_CONCURRENCY;
  // The policy's identitySearchScopes (what the Slack commands search) and any the caller adds (the CLI's --subscription).
  const scopes = identityScopes(deps.policy, [...(deps.policy.identitySearchScopes ?? []), ...(deps.extraIdentityScopes ?? [])]);
  const nameCluster = deps.policy.clusters.length > 1;
  const credentialsOf = (onProgress: ProgressCallback | undefined, report: SearchedScopes, onRead?: (read: IdentityCredentials) => void) =>
    gatherCredentials(deps.identities, streamIdentities(deps.identities, scopes, deps.retry, report), { concurrency, ...(onProgress ? { onProgress } : {}), ...(deps.retry ? { retry: deps.retry } : {}), ...(onRead ? { onRead } : {}) });
  /**
   * Progress that carries the results so far once `ready()` gives what they need besides the identities read
   * (cluster facts, ServiceAccounts): `partialOf` turns the identities read so far into them.
   */
  const withPartial = (onProgress: ProgressCallback | undefined, read: IdentityCredentials[], partialOf: (soFar: readonly IdentityCredentials[]) => (() => InspectResult) | undefined): ProgressCallback | undefined =>
    onProgress &&
    ((p: InspectProgress) => {
      const partial = partialOf(read.slice());
      onProgress(partial ? { ...p, partial } : p);
    });
  const own = deps.policy.identities;
  const holdsOwn = (s: { subscriptionId: string; resourceGroup?: string }): boolean =>
    s.subscriptionId.toLowerCase() === own.subscriptionId.toLowerCase() && (!s.resourceGroup || s.resourceGroup.toLowerCase() === own.resourceGroup.toLowerCase());
  const newReport = (): SearchedScopes => ({ searched: [], unreadable: [], required: holdsOwn });
  const searched = (r: SearchedScopes): SearchedScopes => ({ searched: r.searched, unreadable: r.unreadable });

  const inspector: Inspector = {
    async cluster(args = {}) {
      const cluster = resolveCluster(deps.policy, args.cluster);
      return inspectCluster(cluster, await gatherClusterFacts(deps.clusters, cluster, deps.retry));
    },

    async list(args = {}, onProgress) {
      const cluster = resolveCluster(deps.policy, args.cluster);
      onProgress?.({ done: 0, total: 2, phase: 'serviceaccounts and identities' });
      const report = newReport();
      const [kube, identities] = await Promise.all([
        gatherKube(deps.kube(cluster.name), { serviceAccounts: true, ...(args.namespace !== undefined ? { namespace: args.namespace } : {}) }, deps.retry),
        gatherIdentities(deps.identities, scopes, deps.retry, report),
      ]);
      onProgress?.({ done: 2, total: 2, phase: 'serviceaccounts and identities' });
      const result = inspectList(cluster, kube.serviceAccounts, identities, args.namespace);
      // With several policy clusters: the credentials of the identities a ServiceAccount names say which clusters each trusts.
      const named = identities.filter((i) => result.serviceAccounts.some((s) => s.identity?.name === i.name && s.identity.resourceGroup === i.resourceGroup && s.identity.subscriptionId === i.subscriptionId));
      if (named.length === 0 || !nameCluster) return { ...result, scopes: searched(report) };
      const [knownClusters, credentials] = await Promise.all([gatherAllClusterFacts(deps.clusters, deps.policy, deps.retry), gatherCredentials(deps.identities, named, { concurrency, ...(deps.retry ? { retry: deps.retry } : {}) })]);
      const byIssuer = clustersByIssuer(knownClusters);
      const trusts = new Map(credentials.map((c) => [c.identity.id.toLowerCase(), trustedClusters(c.credentials, byIssuer)]));
      const byName = new Map(named.map((i) => [`${i.subscriptionId}/${i.resourceGroup}/${i.name}`.toLowerCase(), i.id.toLowerCase()]));
      return {
        ...result,
        scopes: searched(report),
        serviceAccounts: result.serviceAccounts.map((s) => {
          if (!s.identity) return s;
          const id = byName.get(`${s.identity.subscriptionId}/${s.identity.resourceGroup}/${s.identity.name}`.toLowerCase());
          const t = id ? trusts.get(id) : undefined;
          return t ? { ...s, identity: { ...s.identity, trustsClusters: t } } : s;
        }),
      };
    },

    async creds(args = {}, onProgress) {
      const cluster = resolveCluster(deps.policy, args.cluster);
      const report = newReport();
      const read: IdentityCredentials[] = [];
      let ready: { facts: ClusterFacts; knownClusters: KnownCluster[] | undefined } | undefined;
      const factsP = gatherClusterFacts(deps.clusters, cluster, deps.retry);
      const knownP = nameCluster ? gatherAllClusterFacts(deps.clusters, deps.policy, deps.retry) : Promise.resolve(undefined);
      void Promise.all([factsP, knownP]).then(([facts, knownClusters]) => (ready = { facts, knownClusters }), () => undefined);
      const progress = withPartial(onProgress, read, (soFar) => {
        const r = ready;
        return r ? () => ({ ...inspectCreds(cluster, r.facts, soFar, r.knownClusters), scopes: searched(report) }) : undefined;
      });
      // Credentials are listed while the identity pages still arrive; every policy cluster's issuer says which clusters each identity trusts.
      const [facts, gathered, knownClusters] = await Promise.all([factsP, credentialsOf(progress, report, onProgress ? (r) => read.push(r) : undefined), knownP]);
      return { ...inspectCreds(cluster, facts, gathered, knownClusters), scopes: searched(report) };
    },

    async legacy(args = {}) {
      const cluster = resolveCluster(deps.policy, args.cluster);
      const [facts, kube] = await Promise.all([gatherClusterFacts(deps.clusters, cluster, deps.retry), gatherKube(deps.kube(cluster.name), { legacy: true }, deps.retry)]);
      return inspectLegacy(cluster, facts, kube.legacy, { nameCluster });
    },

    async audit(args = {}, onProgress) {
      const cluster = resolveCluster(deps.policy, args.cluster);
      const report = newReport();
      const read: IdentityCredentials[] = [];
      const knownP = gatherAllClusterFacts(deps.clusters, deps.policy, deps.retry);
      const kubeP = gatherKube(deps.kube(cluster.name), { serviceAccounts: true, pods: true }, deps.retry);
      const historyP = deps.issuerHistory ? gatherIssuerHistory(deps.issuerHistory, deps.policy) : Promise.resolve(undefined);
      let ready: { facts: ClusterFacts; knownClusters: KnownCluster[]; kube: KubeView; issuerHistory: Record<string, IssuerRecord[]> | undefined } | undefined;
      void Promise.all([knownP, kubeP, historyP]).then(([knownClusters, kube, issuerHistory]) => {
        const facts = knownClusters.find((k) => k.cluster.name === cluster.name)?.facts;
        if (facts) ready = { facts, knownClusters, kube, issuerHistory };
      }, () => undefined);
      const progress = withPartial(onProgress, read, (soFar) => {
        const got = ready;
        if (!got) return undefined;
        return () => {
          const r = auditCluster({ cluster, facts: got.facts, knownClusters: got.knownClusters, identities: soFar, serviceAccounts: got.kube.serviceAccounts, pods: got.kube.pods, nameCluster, ...(got.issuerHistory ? { issuerHistory: got.issuerHistory } : {}) });
          // An annotation matching none of the identities read so far may match one still to come: only the end decides it.
          const findings = r.findings.filter((f) => f.code !== FINDING_CODES.saUnknownClientId);
          const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
          for (const f of findings) counts[f.severity]++;
          return { ...r, findings, counts, scopes: searched(report) };
        };
      });
      const [knownClusters, kube, gathered] = await Promise.all([knownP, kubeP, credentialsOf(progress, report, onProgress ? (r) => read.push(r) : undefined)]);
      const own = knownClusters.find((k) => k.cluster.name === cluster.name);
      // This cluster's facts are needed for every check: its failure is the audit's failure.
      const facts = own?.facts ?? (await gatherClusterFacts(deps.clusters, cluster, deps.retry));
      const issuerHistory = await historyP;
      const result = { ...auditCluster({ cluster, facts, knownClusters, identities: gathered, serviceAccounts: kube.serviceAccounts, pods: kube.pods, nameCluster, ...(issuerHistory ? { issuerHistory } : {}) }), scopes: searched(report) };
      if (!deps.grantFindings) return result;
      const grants = await deps.grantFindings();
      const findings = [...result.findings.filter((f) => f.severity === 'error'), ...grants.filter((f) => f.severity === 'error'), ...result.findings.filter((f) => f.severity !== 'error'), ...grants.filter((f) => f.severity !== 'error')];
      const counts = { ...result.counts };
      for (const f of grants) counts[f.severity]++;
      return { ...result, findings, counts };
    },

    run(verb, args = {}, onProgress) {
      switch (verb) {
        case 'cluster':
          return inspector.cluster(args);
        case 'list':
          return inspector.list(args, onProgress);
        case 'creds':
          return inspector.creds(args, onProgress);
        case 'legacy':
          return inspector.legacy(args);
        case 'audit':
          return inspector.audit(args, onProgress);
      }
    },
  };
  return inspector;
}
