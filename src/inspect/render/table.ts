/** Human-readable tables for the CLI: aligned columns, then the details a column cannot hold. */
import type { AuditResult, ClusterResult, CredsResult, InspectResult, LegacyResult, ListResult, SearchedScopes, Severity } from '../types';

/** Which scopes were searched and which Azure refused (403), under a result; empty when not reported. */
export function scopesText(scopes: SearchedScopes | undefined): string {
  if (!scopes) return '';
  const lines = [`Searched for identities: ${scopes.searched.join(', ') || 'nothing'}.`];
  for (const u of scopes.unreadable) lines.push(`Could not read ${u.scope}: ${u.reason}`);
  return `\n\n${lines.join('\n')}`;
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function clusterTable(r: ClusterResult): string {
  const rows: [string, string][] = [
    ['Cluster', `${r.cluster.name} (AKS ${r.cluster.aksName}, resource group ${r.cluster.resourceGroup})`],
    ['OIDC issuer', r.oidcIssuerEnabled ? `enabled  ${r.issuerUrl}` : 'DISABLED'],
    ['Workload identity', r.workloadIdentityEnabled ? 'enabled' : 'DISABLED'],
    ['Cluster identity', r.identityType ?? 'unknown'],
    ['Pod identity (legacy)', r.podIdentityEnabled ? 'enabled' : 'off'],
  ];
  const out = [table(['CHECK', 'STATE'], rows)];
  if (r.problems.length > 0) out.push('', ...r.problems.map((p) => `! ${p}`), '', `Fix: ${r.fixCommand ?? ''}`);
  else out.push('', 'Ready for workload identity.');
  if (r.notes.length > 0) out.push('', ...r.notes.map((n) => `Note: ${n}`));
  return out.join('\n');
}

function listTable(r: ListResult): string {
  const where = r.namespace !== undefined ? `namespace ${r.namespace}` : 'all namespaces';
  if (r.serviceAccounts.length === 0) return `No ServiceAccount in ${where} of cluster ${r.cluster.name} is set up for workload identity.`;
  const rows = r.serviceAccounts.map((s) => [
    s.namespace,
    s.name,
    s.clientId ?? '-',
    s.useLabel ? 'yes' : 'no',
    s.identity ? `${s.identity.name} (${s.identity.resourceGroup})` : s.clientId ? 'NOT FOUND' : '-',
    s.identity?.trustsClusters?.join(',') || '-',
  ]);
  const unknown = r.serviceAccounts.filter((s) => s.clientId && !s.identity).length;
  return [
    table(['NAMESPACE', 'NAME', 'CLIENT ID', 'USE LABEL', 'MANAGED IDENTITY', 'TRUSTS CLUSTERS'], rows),
    '',
    `${plural(r.serviceAccounts.length, 'ServiceAccount')} in ${where} of cluster ${r.cluster.name}; ${plural(unknown, 'client id')} match no managed identity among ${r.identitiesSearched} searched.`,
  ].join('\n');
}

function credsTable(r: CredsResult): string {
  if (!r.oidcIssuerEnabled) return `The OIDC issuer of cluster ${r.cluster.name} is off, so no federated credential can trust it. Run: wid cluster --cluster ${r.cluster.name}`;
  const head = `Issuer of cluster ${r.cluster.name}: ${r.issuerUrl}`;
  const summary = `${plural(r.credentials.length, 'federated credential')} trust this issuer (of ${r.credentialsSearched} on ${plural(r.identitiesSearched, 'identity', 'identities')}).`;
  if (r.credentials.length === 0) return [head, '', summary].join('\n');
  const trusts = r.credentials.some((c) => c.identityTrustsClusters);
  const rows = r.credentials.map((c) => [c.identity, c.identityResourceGroup, c.credential, c.subject, ...(trusts ? [c.identityTrustsClusters?.join(',') || '-'] : [])]);
  return [head, '', table(['IDENTITY', 'RESOURCE GROUP', 'CREDENTIAL', 'SUBJECT', ...(trusts ? ['IDENTITY TRUSTS CLUSTERS'] : [])], rows), '', summary].join('\n');
}

function legacyTable(r: LegacyResult): string {
  if (r.items.length === 0) return `No aad-pod-identity leftovers on cluster ${r.cluster.name}: no AzureIdentity or AzureIdentityBinding, and the pod-identity add-on is off.`;
  const rows = r.items.map((i) => [i.kind, i.namespace ?? '-', i.name, i.clientId ?? i.azureIdentity ?? '-', i.migrate ?? i.request]);
  const notes = r.items.filter((i) => i.note).map((i) => `- ${i.kind} ${i.namespace ? `${i.namespace}/` : ''}${i.name}: ${i.note ?? ''}`);
  return [table(['KIND', 'NAMESPACE', 'NAME', 'CLIENT ID / IDENTITY', 'MOVE WITH'], rows), '', 'Then:', ...notes, '', '/wid migrate keeps the identity a binding uses (its roles included); in a /wid request line, replace <role> with the role the old identity was granted.'].join('\n');
}

const SEVERITY_LABEL: Record<Severity, string> = { error: 'ERROR', warning: 'WARNING', info: 'INFO' };

export function auditSummary(r: AuditResult): string {
  const s = r.scanned;
  return `${plural(r.counts.error, 'error')}, ${plural(r.counts.warning, 'warning')}, ${r.counts.info} info on cluster ${r.cluster.name} (scanned ${plural(s.identities, 'identity', 'identities')}, ${plural(s.credentials, 'credential')}, ${plural(s.serviceAccounts, 'ServiceAccount')}, ${plural(s.pods, 'pod')}).`;
}

function auditTable(r: AuditResult): string {
  if (r.findings.length === 0) return `No findings. ${auditSummary(r)}`;
  const rows = r.findings.map((f) => [SEVERITY_LABEL[f.severity], f.code, f.subject]);
  const details = r.findings.map((f, i) => `${i + 1}. [${f.code}] ${f.subject}\n   ${f.message}\n   Fix: ${f.fix}`);
  return [table(['SEVERITY', 'CODE', 'SUBJECT'], rows), '', ...details, '', auditSummary(r)].join('\n');
}

export function renderTable(result: InspectResult): string {
  switch (result.verb) {
    case 'cluster':
      return clusterTable(result);
    case 'list':
      return listTable(result) + scopesText(result.scopes);
    case 'creds':
      return credsTable(result) + scopesText(result.scopes);
    case 'legacy':
      return legacyTable(result);
    case 'audit':
      return auditTable(result) + scopesText(result.scopes);
  }
}
