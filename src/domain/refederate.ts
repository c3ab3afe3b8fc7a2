/**
 * Re-federation after a cluster was recreated: AKS gives the new cluster a new OIDC issuer URL, and every
 * federated credential trusting the old one silently stops working. Pure: from the cluster's issuer history,
 * the identities' credentials and the ServiceAccounts that exist now, decide which identities need a credential
 * for the current issuer (same subject), which cannot get one (20-credential limit) and which subjects are
 * gone. No I/O.
 */
import { createHash } from 'node:crypto';
import { FEDERATED_CREDENTIAL_NAME_PATTERN } from './names';
import { MAX_FEDERATED_CREDENTIALS_PER_IDENTITY, WORKLOAD_IDENTITY_AUDIENCE } from './types';

/** One issuer a cluster has had, as wid-bot saw it. */
export interface IssuerRecord {
  issuer: string;
  firstSeen: string;
  lastSeen: string;
}

/** The issuers a cluster had before its current one, newest first (the current one and empty ones excluded). */
export function previousIssuers(history: readonly IssuerRecord[], current: string): string[] {
  return [...history]
    .filter((r) => r.issuer !== '' && r.issuer !== current)
    .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen) || b.firstSeen.localeCompare(a.firstSeen))
    .map((r) => r.issuer);
}

export interface RefederateCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface RefederateIdentity extends IdentityTarget {
  credentials: readonly RefederateCredential[];
}

export interface RefederateInput {
  cluster: string;
  /** The cluster's issuer now, verbatim. */
  currentIssuer: string;
  /** From the issuer history: what the cluster trusted before (previousIssuers). */
  previousIssuers: readonly string[];
  identities: readonly RefederateIdentity[];
  /** `<namespace>/<name>` of every ServiceAccount that exists on the cluster now. */
  serviceAccounts: ReadonlySet<string>;
}

export interface IdentityTarget {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  clientId: string;
  tenantId: string;
}

/** One identity and ServiceAccount that gets a credential for the current issuer. */
export interface RefederateItem {
  /** Stable key of the item in the batch: `<identity id>|<subject>`, lower-cased identity id. */
  key: string;
  identity: IdentityTarget;
  namespace: string;
  serviceAccount: string;
  subject: string;
  /** The credential to write (or, when `present`, the one that already trusts the current issuer). */
  credential: RefederateCredential;
  /** True when the identity already has a credential for the current issuer and subject: only verify. */
  present: boolean;
  /** Credentials for the subject that trust a previous issuer: removed in the second step. */
  oldCredentials: { name: string; issuer: string }[];
}

/** An identity that would need more than 20 credentials. */
export interface RefederateSkip {
  identity: IdentityTarget;
  subject: string;
  reason: 'limit';
  message: string;
}

/** A credential trusting a previous issuer whose ServiceAccount no longer exists: reported, not recreated. */
export interface RefederateGone {
  identity: IdentityTarget;
  subject: string;
  credential: string;
  issuer: string;
}

export interface RefederatePlan {
  cluster: string;
  currentIssuer: string;
  previousIssuers: string[];
  items: RefederateItem[];
  skipped: RefederateSkip[];
  gone: RefederateGone[];
}

const HASH_LENGTH = 12;
const NAME_MAX = 120;

/** `system:serviceaccount:<ns>:<name>` → its parts; undefined for any other subject. */
export function parseSubject(subject: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject);
  return m ? { namespace: m[1] as string, name: m[2] as string } : undefined;
}

/**
 * The name of the credential that trusts one ServiceAccount under one issuer: `wid-<ns>-<sa>-<hash>`, the hash
 * over cluster, namespace, ServiceAccount and issuer, so the new credential never takes the old one's name (the
 * old one stays until the new one is verified) and a retry finds what the first attempt wrote.
 */
export function issuerCredentialName(cluster: string, namespace: string, serviceAccount: string, issuer: string): string {
  const hash = createHash('sha256').update(JSON.stringify([cluster, namespace, serviceAccount, issuer])).digest('hex').slice(0, HASH_LENGTH);
  const clean = (s: string): string => s.replace(/\./g, '_').replace(/[^A-Za-z0-9_-]/g, '-');
  const budget = NAME_MAX - 'wid-'.length - 2 - HASH_LENGTH;
  const ns = clean(namespace).slice(0, Math.floor(budget / 2));
  const sa = clean(serviceAccount).slice(0, budget - ns.length);
  const name = `wid-${ns}-${sa}-${hash}`;
  // Inputs are validated Kubernetes names; anything else still yields a valid name from the hash alone.
  return FEDERATED_CREDENTIAL_NAME_PATTERN.test(name) ? name : `wid-${hash}`;
}

function target(i: RefederateIdentity): IdentityTarget {
  return { id: i.id, name: i.name, subscriptionId: i.subscriptionId, resourceGroup: i.resourceGroup, clientId: i.clientId, tenantId: i.tenantId };
}

/**
 * Plans the re-federation of one cluster. For each identity, each subject trusted under a previous issuer of the
 * cluster becomes an item when its ServiceAccount exists (a credential for the current issuer, same subject,
 * same audiences), or a `gone` entry when it does not. An identity that already trusts the current issuer for
 * the subject needs no write (`present`). New credentials that would take an identity past 20 are skipped and
 * named, the rest of that identity's subjects still planned.
 */
export function planRefederate(input: RefederateInput): RefederatePlan {
  const previous = new Set(input.previousIssuers.filter((i) => i !== input.currentIssuer && i !== ''));
  const items: RefederateItem[] = [];
  const skipped: RefederateSkip[] = [];
  const gone: RefederateGone[] = [];
  const identities = [...input.identities].sort((a, b) => a.id.toLowerCase().localeCompare(b.id.toLowerCase()));
  for (const identity of identities) {
    const bySubject = new Map<string, RefederateCredential[]>();
    for (const c of identity.credentials) {
      if (!previous.has(c.issuer) || !parseSubject(c.subject)) continue;
      const list = bySubject.get(c.subject) ?? [];
      list.push(c);
      bySubject.set(c.subject, list);
    }
    let count = identity.credentials.length;
    for (const subject of [...bySubject.keys()].sort()) {
      const olds = bySubject.get(subject) as RefederateCredential[];
      const sa = parseSubject(subject) as { namespace: string; name: string };
      if (!input.serviceAccounts.has(`${sa.namespace}/${sa.name}`)) {
        for (const c of olds) gone.push({ identity: target(identity), subject, credential: c.name, issuer: c.issuer });
        continue;
      }
      const oldCredentials = olds.map((c) => ({ name: c.name, issuer: c.issuer }));
      const key = `${identity.id.toLowerCase()}|${subject}`;
      const existing = identity.credentials.find((c) => c.issuer === input.currentIssuer && c.subject === subject);
      if (existing) {
        items.push({ key, identity: target(identity), namespace: sa.namespace, serviceAccount: sa.name, subject, credential: { ...existing, audiences: [...existing.audiences] }, present: true, oldCredentials });
        continue;
      }
      if (count >= MAX_FEDERATED_CREDENTIALS_PER_IDENTITY) {
        skipped.push({
          identity: target(identity),
          subject,
          reason: 'limit',
          message: `Identity ${identity.name} already has ${count} federated credentials, the most Azure allows (${MAX_FEDERATED_CREDENTIALS_PER_IDENTITY}), so no credential for ${subject} under the new issuer fits. Remove an unused credential (az identity federated-credential delete --identity-name ${identity.name} -g ${identity.resourceGroup} --name <name>) and refederate again.`,
        });
        continue;
      }
      count++;
      const audiences = olds[0]?.audiences.length ? [...(olds[0] as RefederateCredential).audiences] : [WORKLOAD_IDENTITY_AUDIENCE];
      const credential = { name: issuerCredentialName(input.cluster, sa.namespace, sa.name, input.currentIssuer), issuer: input.currentIssuer, subject, audiences };
      items.push({ key, identity: target(identity), namespace: sa.namespace, serviceAccount: sa.name, subject, credential, present: false, oldCredentials });
    }
  }
  return { cluster: input.cluster, currentIssuer: input.currentIssuer, previousIssuers: [...previous], items, skipped, gone };
}

/** The writes a plan needs in Azure: one credential PUT per item without a current-issuer credential. */
export function plannedWrites(plan: RefederatePlan): number {
  return plan.items.filter((i) => !i.present).length;
}

/** The deletes the second step needs: every old credential of every item. */
export function plannedDeletes(plan: RefederatePlan): number {
  return plan.items.reduce((n, i) => n + i.oldCredentials.length, 0);
}
