/**
 * An inspection answer cut down to what one person may see (src/domain/visibility.ts): the items of the
 * namespaces they may request for or approve in; items in no namespace (identities with no ServiceAccount
 * credential, the pod-identity add-on, grants' assignments) only for operators. Cluster-wide facts and
 * cluster findings show to anyone the policy names. Pure.
 */
import { seesAnything, seesNamespace, type ViewScope } from '../domain/visibility';
import { parseServiceAccountSubject } from './common';
import type { AuditResult, Finding, InspectResult, Severity } from './types';

/** The namespace a finding is about: its own field, else what its subject says (`serviceaccount/<ns>/…`, `pod/<ns>/…`). */
export function findingNamespace(f: Finding): string | undefined {
  if (f.namespace !== undefined) return f.namespace;
  const m = /^(?:serviceaccount|pod)\/([^/]+)\//.exec(f.subject);
  return m ? m[1] : undefined;
}

function findingVisible(scope: ViewScope, f: Finding): boolean {
  if (scope.all) return true;
  // the cluster's own settings (OIDC off, workload identity off, another cluster unreadable) concern everyone using it
  if (f.subject.startsWith('cluster/')) return seesAnything(scope);
  return seesNamespace(scope, findingNamespace(f));
}

function recount(findings: readonly Finding[]): Record<Severity, number> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) counts[f.severity]++;
  return counts;
}

/** The result as this person may see it; an operator's (`all`) is the result itself. */
export function scopeResult<R extends InspectResult>(result: R, scope: ViewScope): R {
  return scope.all ? result : (scoped(result, scope) as R);
}

function scoped(result: InspectResult, scope: ViewScope): InspectResult {
  switch (result.verb) {
    case 'cluster':
      return result;
    case 'list':
      return { ...result, serviceAccounts: result.serviceAccounts.filter((s) => seesNamespace(scope, s.namespace)) };
    case 'creds':
      return { ...result, credentials: result.credentials.filter((c) => seesNamespace(scope, parseServiceAccountSubject(c.subject)?.namespace)) };
    case 'legacy':
      return { ...result, items: result.items.filter((i) => seesNamespace(scope, i.namespace)) };
    case 'audit': {
      const a: AuditResult = result;
      const findings = a.findings.filter((f) => findingVisible(scope, f));
      return { ...a, findings, counts: recount(findings) };
    }
  }
}
