/**
 * Buttons that repair a finding of /wid audit or /wid legacy through the usual flow: Request opens the request
 * form prefilled with the ServiceAccount, Revoke (after Slack's confirmation) asks for a revoke request. Nothing
 * changes without the usual approval.
 */
import type { Finding } from '../../inspect/types';
import { ACTION } from '../ids';

export interface FixButtonValue {
  action: 'request' | 'revoke';
  cluster: string;
  namespace?: string;
  serviceAccount?: string;
  /** A revoke of the grant this request made. */
  requestId?: string;
}

export interface FixButton {
  text: string;
  actionId: string;
  value: string;
  confirm?: { title: string; text: string; confirm: string; deny: string; style?: 'danger' };
}

export function fixButtonValue(v: FixButtonValue): string {
  return JSON.stringify({ a: v.action, c: v.cluster, ...(v.namespace ? { n: v.namespace } : {}), ...(v.serviceAccount ? { s: v.serviceAccount } : {}), ...(v.requestId ? { r: v.requestId } : {}) });
}

const str = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 && x.length <= 253 ? x : undefined);

export function parseFixButtonValue(value: string): FixButtonValue | undefined {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!o || typeof o !== 'object' || (o.a !== 'request' && o.a !== 'revoke')) return undefined;
  const cluster = str(o.c);
  if (!cluster) return undefined;
  const namespace = str(o.n);
  const serviceAccount = str(o.s);
  const requestId = str(o.r);
  if (o.a === 'request' && !namespace) return undefined;
  if (o.a === 'revoke' && !requestId && !(namespace && serviceAccount)) return undefined;
  return { action: o.a, cluster, ...(namespace ? { namespace } : {}), ...(serviceAccount ? { serviceAccount } : {}), ...(requestId ? { requestId } : {}) };
}

/** The Request button for a ServiceAccount: opens the request form with it filled in. */
export function requestButton(cluster: string, namespace: string, serviceAccount?: string): FixButton {
  return { text: 'Request', actionId: ACTION.fixRequest, value: fixButtonValue({ action: 'request', cluster, namespace, ...(serviceAccount ? { serviceAccount } : {}) }) };
}

/** The button that repairs a finding, when wid-bot can. */
export function fixButtonFor(f: Finding, cluster: string): FixButton | undefined {
  const r = f.repair;
  if (!r) return undefined;
  if (r.action === 'request') return r.namespace ? requestButton(cluster, r.namespace, r.serviceAccount) : undefined;
  if (!r.requestId && !(r.namespace && r.serviceAccount)) return undefined;
  const what = r.namespace && r.serviceAccount ? `${r.namespace}/${r.serviceAccount}` : `what grant ${r.requestId} made`;
  return {
    text: 'Revoke',
    actionId: ACTION.fixRevoke,
    value: fixButtonValue({ action: 'revoke', cluster, ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.serviceAccount ? { serviceAccount: r.serviceAccount } : {}), ...(r.requestId ? { requestId: r.requestId } : {}) }),
    confirm: {
      title: 'Ask for a revoke?',
      text: `This asks for a revoke of ${what} on ${cluster}. It needs an approver's approval before wid-bot removes anything.`.slice(0, 300),
      confirm: 'Ask for it',
      deny: 'Cancel',
      style: 'danger',
    },
  };
}
