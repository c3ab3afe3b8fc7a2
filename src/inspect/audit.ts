/**
 * `audit`: the cluster, its ServiceAccounts and pods, and the identities' federated credentials joined,
 * as findings with a severity and the fix for each. Pure: gathering happens elsewhere.
 */
import type { FederatedCredential, ManagedIdentity, PodInfo, ServiceAccountInfo } from '../domain/ports';
import { previousIssuers, type IssuerRecord } from '../domain/refederate';
import { ANNOTATION_CLIENT_ID, LABEL_USE, MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, WORKLOAD_IDENTITY_AUDIENCE, type ClusterFacts, type PolicyCluster } from '../domain/types';
import { clusterRef, enableCommand, isNonClusterIssuer, looseIssuer, parseServiceAccountSubject, serviceAccountSubject } from './common';
import type { IdentityCredentials, KnownCluster } from './gather';
import { identitiesByClientId } from './list';
import { FINDING_CODES as C, type AuditResult, type Finding, type Severity } from './types';

/** An identity this close to its credential limit gets a warning. */
export const CREDENTIAL_LIMIT_WARNING_AT = 18;

export interface AuditInput {
  cluster: PolicyCluster;
  facts: ClusterFacts;
  /** Every policy cluster (this one included) with its facts or the error reading them. */
  knownClusters: readonly KnownCluster[];
  identities: readonly IdentityCredentials[];
  serviceAccounts: readonly ServiceAccountInfo[];
  pods: readonly PodInfo[];
  /** Name the cluster in `/wid` lines (the policy has several). */
  nameCluster?: boolean;
  /** Each policy cluster's issuers as wid-bot recorded them (src/store/issuers.ts), by cluster name. */
  issuerHistory?: Readonly<Record<string, readonly IssuerRecord[]>>;
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

function ficRef(identity: ManagedIdentity): string {
  return `--identity-name ${identity.name} -g ${identity.resourceGroup}${identity.subscriptionId ? ` --subscription ${identity.subscriptionId}` : ''}`;
}

function credentialSubject(identity: ManagedIdentity, c: FederatedCredential): string {
  return `credential/${identity.resourceGroup}/${identity.name}/${c.name}`;
}

export function auditCluster(input: AuditInput): AuditResult {
  const { cluster, facts } = input;
  const ref = clusterRef(cluster);
  const findings: Finding[] = [];
  const clusterSubject = `cluster/${ref.name}`;
  const clusterFlag = input.nameCluster ? ` --cluster ${ref.name}` : '';
  const issuer = facts.oidcIssuerEnabled ? facts.issuerUrl : '';

  if (!facts.oidcIssuerEnabled) {
    findings.push({
      severity: 'error',
      code: C.clusterOidcDisabled,
      subject: clusterSubject,
      message: `The OIDC issuer of AKS cluster ${ref.aksName} is off: no workload identity on it can get a token, and the credential checks below were skipped.`,
      fix: enableCommand(ref),
    });
  }
  if (!facts.workloadIdentityEnabled) {
    findings.push({
      severity: 'error',
      code: C.clusterWorkloadIdentityDisabled,
      subject: clusterSubject,
      message: `Workload identity on AKS cluster ${ref.aksName} is off: pods get no AZURE_CLIENT_ID or token file.`,
      fix: enableCommand(ref),
    });
  }

  // Issuers of every cluster we know, exact and loose, to tell this cluster's, another's, near misses and stale ones apart.
  const exactIssuers = new Map<string, string>();
  const looseIssuers = new Map<string, { cluster: string; issuer: string }>();
  const known = input.knownClusters.some((k) => k.cluster.name === cluster.name) ? input.knownClusters : [...input.knownClusters, { cluster, facts }];
  for (const k of known) {
    const f = k.cluster.name === cluster.name ? facts : k.facts;
    if (k.error !== undefined && k.cluster.name !== cluster.name) {
      findings.push({
        severity: 'warning',
        code: C.clusterUnreadable,
        subject: `cluster/${k.cluster.name}`,
        message: `Cluster ${k.cluster.name} of the policy could not be read, so the stale-issuer check was skipped: ${k.error}`,
        fix: `Check access to AKS cluster ${k.cluster.aksName} in resource group ${k.cluster.resourceGroup} (az aks show -g ${k.cluster.resourceGroup} -n ${k.cluster.aksName}).`,
      });
      continue;
    }
    if (!f || !f.oidcIssuerEnabled || !f.issuerUrl) continue;
    exactIssuers.set(f.issuerUrl, k.cluster.name);
    looseIssuers.set(looseIssuer(f.issuerUrl), { cluster: k.cluster.name, issuer: f.issuerUrl });
  }
  const unknownIssuersExist = known.some((k) => k.error !== undefined && k.cluster.name !== cluster.name);
  // Issuers a policy cluster had before its current one (it was recreated): which cluster, and its issuer now.
  const formerIssuers = new Map<string, { cluster: string; current: string }>();
  for (const k of known) {
    const f = k.cluster.name === cluster.name ? facts : k.facts;
    const current = f?.oidcIssuerEnabled ? f.issuerUrl : '';
    if (!current) continue;
    for (const old of previousIssuers(input.issuerHistory?.[k.cluster.name] ?? [], current)) {
      if (!exactIssuers.has(old) && !formerIssuers.has(old)) formerIssuers.set(old, { cluster: k.cluster.name, current });
    }
  }

  const serviceAccounts = new Map(input.serviceAccounts.map((sa) => [`${sa.namespace}/${sa.name}`, sa]));
  let credentialCount = 0;

  for (const { identity, credentials } of input.identities) {
    credentialCount += credentials.length;
    if (credentials.length >= CREDENTIAL_LIMIT_WARNING_AT) {
      findings.push({
        severity: 'warning',
        code: C.identityCredentialsNearLimit,
        subject: `identity/${identity.resourceGroup}/${identity.name}`,
        message: `Managed identity ${identity.name} uses ${credentials.length} of its ${MAX_FEDERATED_CREDENTIALS_PER_IDENTITY} federated credentials; new ServiceAccounts for it will soon be refused.`,
        fix: `Delete the credentials no ServiceAccount uses (see credential-orphaned and credential-stale-issuer findings), or give further ServiceAccounts an identity of their own with /wid request.`,
      });
    }
    for (const c of credentials) {
      const sub = credentialSubject(identity, c);
      // the namespace of the ServiceAccount the credential names, so the answer can be scoped to who may see it
      const subjectSa = parseServiceAccountSubject(c.subject);
      const inNamespace = subjectSa ? { namespace: subjectSa.namespace } : {};
      const deleteCommand = `az identity federated-credential delete --name ${c.name} ${ficRef(identity)} --yes`;
      if (issuer && c.issuer === issuer) {
        const sa = parseServiceAccountSubject(c.subject);
        if (sa && !serviceAccounts.has(`${sa.namespace}/${sa.name}`)) {
          findings.push({
            severity: 'warning',
            code: C.credentialOrphaned,
            subject: sub,
            ...inNamespace,
            message: `Federated credential ${c.name} of identity ${identity.name} trusts ServiceAccount ${sa.namespace}/${sa.name} on cluster ${ref.name}, which does not exist.`,
            fix: `If the workload is gone: ${deleteCommand}. If it is coming back, create the ServiceAccount ${sa.namespace}/${sa.name} with annotation ${ANNOTATION_CLIENT_ID}: ${identity.clientId}.`,
          });
        }
        continue;
      }
      if (exactIssuers.has(c.issuer)) continue;
      const near = looseIssuers.get(looseIssuer(c.issuer));
      if (near) {
        findings.push({
          severity: 'error',
          code: C.credentialIssuerMismatch,
          subject: sub,
          ...inNamespace,
          message: `Federated credential ${c.name} of identity ${identity.name} has issuer ${c.issuer}, which differs from cluster ${near.cluster}'s issuer ${near.issuer} only by a trailing slash or letter case. Entra compares issuers exactly, so tokens fail with AADSTS70021.`,
          fix: `az identity federated-credential update --name ${c.name} ${ficRef(identity)} --issuer ${near.issuer} --subject ${c.subject} --audiences ${c.audiences.join(' ') || WORKLOAD_IDENTITY_AUDIENCE}`,
        });
        continue;
      }
      const former = formerIssuers.get(c.issuer);
      const formerSa = parseServiceAccountSubject(c.subject);
      if (former && formerSa) {
        const here = former.cluster === cluster.name;
        if (here && !serviceAccounts.has(`${formerSa.namespace}/${formerSa.name}`)) {
          findings.push({
            severity: 'warning',
            code: C.credentialIssuerChangedGone,
            subject: sub,
            ...inNamespace,
            message: `Federated credential ${c.name} of identity ${identity.name} trusts ${c.subject} under ${c.issuer}, the issuer cluster ${former.cluster} had before it was recreated; that ServiceAccount does not exist on the cluster now, so wid-bot does not re-federate it.`,
            fix: `If the workload is gone: ${deleteCommand}. If it is coming back, create the ServiceAccount and run /wid refederate ${former.cluster}.`,
          });
          continue;
        }
        findings.push({
          severity: 'error',
          code: C.credentialIssuerChanged,
          subject: sub,
          ...inNamespace,
          message: here
            ? `Federated credential ${c.name} of identity ${identity.name} trusts ${c.subject} under ${c.issuer}, the issuer cluster ${former.cluster} had before it was recreated; its issuer is now ${former.current}, so the ServiceAccount's pods fail with AADSTS70021.`
            : `Federated credential ${c.name} of identity ${identity.name} trusts ${c.subject} under ${c.issuer}, the issuer cluster ${former.cluster} had before it was recreated (now ${former.current}).`,
          fix: here ? `/wid refederate ${former.cluster}` : `/wid audit --cluster ${former.cluster}, then /wid refederate ${former.cluster}`,
        });
        continue;
      }
      if (isNonClusterIssuer(c.issuer) || unknownIssuersExist) continue;
      findings.push({
        severity: 'warning',
        code: C.credentialStaleIssuer,
        subject: sub,
        ...inNamespace,
        message: `Federated credential ${c.name} of identity ${identity.name} trusts issuer ${c.issuer}, which is no cluster in the policy (left over from a cluster that was recreated or removed).`,
        fix: `${deleteCommand}${parseServiceAccountSubject(c.subject) ? `; if ${c.subject} runs on ${ref.name} now, it needs a credential for ${issuer || "this cluster's issuer"} (see sa-missing-credential)` : ''}`,
      });
    }
  }

  // ServiceAccounts annotated for workload identity: their identity and its credential for this issuer.
  const byClientId = identitiesByClientId(input.identities.map((i) => i.identity));
  const credentialsByIdentity = new Map(input.identities.map((i) => [i.identity.id.toLowerCase(), i.credentials]));
  const annotated = new Map<string, string>();
  for (const sa of input.serviceAccounts) {
    const clientId = sa.annotations[ANNOTATION_CLIENT_ID]?.trim();
    if (!clientId) continue;
    annotated.set(`${sa.namespace}/${sa.name}`, clientId);
    const saSubject = `serviceaccount/${sa.namespace}/${sa.name}`;
    const identity = byClientId.get(clientId.toLowerCase());
    if (!identity) {
      findings.push({
        severity: 'error',
        code: C.saUnknownClientId,
        subject: saSubject,
        namespace: sa.namespace,
        message: `ServiceAccount ${sa.namespace}/${sa.name} is annotated with client id ${clientId}, which matches no managed identity wid-bot can see (deleted, a typo, or outside the policy's identity resource group).`,
        fix: `/wid request ${sa.namespace} ${sa.name} <role>${clusterFlag} — or correct the annotation: kubectl annotate sa ${sa.name} -n ${sa.namespace} --overwrite ${ANNOTATION_CLIENT_ID}=<client id>`,
      });
      continue;
    }
    if (!issuer) continue;
    const subject = serviceAccountSubject(sa.namespace, sa.name);
    const creds = credentialsByIdentity.get(identity.id.toLowerCase()) ?? [];
    if (!creds.some((c) => c.issuer === issuer && c.subject === subject)) {
      findings.push({
        severity: 'error',
        code: C.saMissingCredential,
        subject: saSubject,
        namespace: sa.namespace,
        message: `Identity ${identity.name} (client id ${identity.clientId}) of ServiceAccount ${sa.namespace}/${sa.name} has no federated credential for issuer ${issuer} and subject ${subject}: its pods fail with AADSTS70021.`,
        fix: `az identity federated-credential create --name ${sa.namespace}-${sa.name} ${ficRef(identity)} --issuer ${issuer} --subject ${subject} --audiences ${WORKLOAD_IDENTITY_AUDIENCE}`,
      });
    }
  }

  for (const pod of input.pods) {
    const clientId = annotated.get(`${pod.namespace}/${pod.serviceAccountName}`);
    if (clientId === undefined) continue;
    const podSubject = `pod/${pod.namespace}/${pod.name}`;
    if (pod.labels[LABEL_USE] !== 'true') {
      findings.push({
        severity: 'error',
        code: C.podMissingUseLabel,
        subject: podSubject,
        namespace: pod.namespace,
        message: `Pod ${pod.namespace}/${pod.name} uses workload-identity ServiceAccount ${pod.serviceAccountName} but lacks the label ${LABEL_USE}: "true", so the webhook gives it no token.`,
        fix: `Add the label ${LABEL_USE}: "true" to the pod template (spec.template.metadata.labels) of its workload and roll it out.`,
      });
      continue;
    }
    const env = pod.azureClientIdEnv?.trim();
    if (facts.workloadIdentityEnabled && (env === undefined || env.toLowerCase() !== clientId.toLowerCase())) {
      findings.push({
        severity: 'warning',
        code: C.podClientIdDrift,
        subject: podSubject,
        namespace: pod.namespace,
        message:
          env === undefined
            ? `Pod ${pod.namespace}/${pod.name} has no AZURE_CLIENT_ID although its ServiceAccount ${pod.serviceAccountName} is annotated with ${clientId}: it started before the annotation and needs a restart.`
            : `Pod ${pod.namespace}/${pod.name} runs with AZURE_CLIENT_ID ${env}, but its ServiceAccount ${pod.serviceAccountName} now says ${clientId}: it needs a restart.`,
        fix: `kubectl delete pod ${pod.name} -n ${pod.namespace} (or kubectl rollout restart the workload that owns it)`,
      });
    }
  }

  findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.code.localeCompare(b.code) || a.subject.localeCompare(b.subject));
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return {
    verb: 'audit',
    cluster: ref,
    issuerUrl: facts.issuerUrl,
    findings,
    counts,
    scanned: { identities: input.identities.length, credentials: credentialCount, serviceAccounts: input.serviceAccounts.length, pods: input.pods.length },
  };
}
