/**
 * The ValidatingAdmissionPolicies of manifests/base/admission-policy.yaml, evaluated as the API server would:
 * matchConditions first (does the policy apply to this request?), then every validation, each a CEL expression
 * over `request`, `object` and `oldObject` (null on CREATE). A validation that is false or fails to evaluate
 * refuses the request (failurePolicy: Fail). The CEL evaluator is @marcbachmann/cel-js; Kubernetes integers are
 * passed as BigInt (CEL int), as the API server types them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { evaluate } from '@marcbachmann/cel-js';
import { WORKLOAD_IDENTITY_AUDIENCE } from '../../../src/domain/types';

const file = path.resolve(__dirname, '../../../manifests/base/admission-policy.yaml');

interface Policy {
  kind: string;
  metadata: { name: string };
  spec: {
    failurePolicy: string;
    matchConstraints: { resourceRules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[] }[] };
    matchConditions: { name: string; expression: string }[];
    validations: { expression: string; message: string }[];
    policyName?: string;
    validationActions?: string[];
  };
}

const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Policy);
const policies = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicy');
const policy = (name: string): Policy => {
  const p = policies.find((x) => x.metadata.name === name);
  if (!p) throw new Error(`no ValidatingAdmissionPolicy ${name} in ${file}`);
  return p;
};

/** JSON integers become CEL ints (BigInt), as Kubernetes' typed objects have them. */
function celValue(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map(celValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, celValue(x)]));
  return v;
}

interface Admission {
  username: string;
  operation: 'CREATE' | 'UPDATE';
  resource: 'serviceaccounts';
  subResource?: 'token';
  object: unknown;
  oldObject?: unknown;
}

type Verdict = { applies: false } | { applies: true; allowed: true } | { applies: true; allowed: false; messages: string[] };

/** What the API server decides for this request under one policy. */
function admit(p: Policy, a: Admission): Verdict {
  const resource = a.subResource ? `${a.resource}/${a.subResource}` : a.resource;
  const matches = p.spec.matchConstraints.resourceRules.some((r) => r.operations.includes(a.operation) && r.resources.includes(resource) && r.apiGroups.includes(''));
  if (!matches) return { applies: false };
  const ctx = {
    request: { operation: a.operation, userInfo: { username: a.username }, resource: { group: '', version: 'v1', resource: a.resource }, subResource: a.subResource ?? '' },
    object: celValue(a.object),
    oldObject: a.oldObject === undefined ? null : celValue(a.oldObject),
  };
  for (const c of p.spec.matchConditions) if (evaluate(c.expression, ctx) !== true) return { applies: false };
  const messages: string[] = [];
  for (const v of p.spec.validations) {
    let ok: unknown;
    try {
      ok = evaluate(v.expression, ctx);
    } catch (e) {
      ok = p.spec.failurePolicy === 'Ignore' ? true : `error: ${(e as Error).message}`;
    }
    if (ok !== true) messages.push(typeof ok === 'string' ? `${v.message} (${ok})` : v.message);
  }
  return messages.length ? { applies: true, allowed: false, messages } : { applies: true, allowed: true };
}

const BOT = 'system:serviceaccount:wid:wid-bot';
const CLIENT_ID = 'azure.workload.identity/client-id';

describe('ValidatingAdmissionPolicy wid-bot-token-requests', () => {
  const p = policy('wid-bot-token-requests');
  const tokenRequest = (spec: Record<string, unknown>, username = BOT): Admission => ({
    username,
    operation: 'CREATE',
    resource: 'serviceaccounts',
    subResource: 'token',
    object: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: 'backend-sa', namespace: 'payments' }, spec },
  });

  it('is bound with Deny and fails closed', () => {
    expect(p.spec.failurePolicy).toBe('Fail');
    expect(docs.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding' && d.spec.policyName === p.metadata.name)?.spec.validationActions).toEqual(['Deny']);
  });

  it('allows the token verification requests: the exchange audience, 600 to 3600 seconds', () => {
    // what src/provision/verify.ts asks for: max(600, timeout + 600) seconds, here with a 2-minute timeout
    for (const expirationSeconds of [600, 720, 3600]) {
      expect(admit(p, tokenRequest({ audiences: [WORKLOAD_IDENTITY_AUDIENCE], expirationSeconds }))).toEqual({ applies: true, allowed: true });
    }
  });

  it.each([
    ['the API server\'s own audience', { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 600 }, 'only for the single audience'],
    ['a second audience beside the exchange one', { audiences: [WORKLOAD_IDENTITY_AUDIENCE, 'https://kubernetes.default.svc'], expirationSeconds: 600 }, 'only for the single audience'],
    ['no audience (the API server would fill in its own)', { expirationSeconds: 600 }, 'only for the single audience'],
    ['an empty audience list', { audiences: [], expirationSeconds: 600 }, 'only for the single audience'],
    ['a day-long token', { audiences: [WORKLOAD_IDENTITY_AUDIENCE], expirationSeconds: 86400 }, 'at most 3600 seconds'],
    ['a token bound to a pod', { audiences: [WORKLOAD_IDENTITY_AUDIENCE], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } }, 'bound to other objects'],
  ])('refuses %s', (_what, spec, message) => {
    const v = admit(p, tokenRequest(spec));
    expect(v).toMatchObject({ applies: true, allowed: false });
    expect((v as { messages: string[] }).messages.join('\n')).toContain(message);
    expect((v as { messages: string[] }).messages.join('\n')).not.toContain('(error:');
  });

  it('leaves everyone else to RBAC (the kubelet, other controllers)', () => {
    expect(admit(p, tokenRequest({ audiences: ['https://kubernetes.default.svc'], expirationSeconds: 86400 }, 'system:serviceaccount:kube-system:some-controller'))).toEqual({ applies: false });
    expect(admit(p, tokenRequest({ audiences: ['https://kubernetes.default.svc'] }, 'system:node:aks-node-1'))).toEqual({ applies: false });
  });
});

describe('ValidatingAdmissionPolicy wid-bot-serviceaccount-changes', () => {
  const p = policy('wid-bot-serviceaccount-changes');
  type Meta = { annotations?: Record<string, string>; labels?: Record<string, string>; [field: string]: unknown };
  type SA = { apiVersion: string; kind: string; metadata: Meta & { name: string; namespace: string }; [field: string]: unknown };
  const sa = (metadata: Meta, rest: Record<string, unknown> = {}): SA => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'backend-sa', namespace: 'payments', ...metadata }, ...rest });
  const existing = sa(
    { annotations: { 'team.example/owner': 'payments', [CLIENT_ID]: 'old-client-id' }, labels: { app: 'backend' }, resourceVersion: '41' },
    { imagePullSecrets: [{ name: 'acr' }], automountServiceAccountToken: false },
  );
  const update = (object: unknown, oldObject: unknown = existing, username = BOT): Admission => ({ username, operation: 'UPDATE', resource: 'serviceaccounts', object, oldObject });
  const create = (object: unknown): Admission => ({ username: BOT, operation: 'CREATE', resource: 'serviceaccounts', object });
  const refused = (v: Verdict, message: string) => {
    expect(v).toMatchObject({ applies: true, allowed: false });
    expect((v as { messages: string[] }).messages.join('\n')).toContain(message);
    // refused because an expression is false, not because it failed to evaluate
    expect((v as { messages: string[] }).messages.join('\n')).not.toContain('(error:');
  };

  it('allows creating the requested ServiceAccount with the workload identity annotations', () => {
    expect(admit(p, create(sa({ annotations: { [CLIENT_ID]: 'c', 'azure.workload.identity/tenant-id': 't' } })))).toEqual({ applies: true, allowed: true });
    expect(admit(p, create(sa({ annotations: { [CLIENT_ID]: 'c' }, labels: { 'azure.workload.identity/use': 'true' } })))).toEqual({ applies: true, allowed: true });
  });

  it('allows the merge patch of the client id (every other annotation, label and field kept)', () => {
    const patched = sa({ ...existing.metadata, annotations: { ...existing.metadata.annotations, [CLIENT_ID]: 'new-client-id' } }, { imagePullSecrets: [{ name: 'acr' }], automountServiceAccountToken: false });
    expect(admit(p, update(patched))).toEqual({ applies: true, allowed: true });
  });

  it('allows removing its own annotations (revoke) and setting the use label', () => {
    const { [CLIENT_ID]: _gone, ...others } = existing.metadata.annotations ?? {};
    expect(admit(p, update(sa({ ...existing.metadata, annotations: others }, { imagePullSecrets: [{ name: 'acr' }], automountServiceAccountToken: false })))).toEqual({ applies: true, allowed: true });
    const labelled = sa({ ...existing.metadata, labels: { ...existing.metadata.labels, 'azure.workload.identity/use': 'true' } }, { imagePullSecrets: [{ name: 'acr' }], automountServiceAccountToken: false });
    expect(admit(p, update(labelled))).toEqual({ applies: true, allowed: true });
  });

  it('allows a ServiceAccount without any annotation or label', () => {
    expect(admit(p, update(sa({ annotations: { [CLIENT_ID]: 'c' } }), sa({})))).toEqual({ applies: true, allowed: true });
  });

  it('refuses creating one with other annotations, labels, secrets or pull secrets', () => {
    refused(admit(p, create(sa({ annotations: { [CLIENT_ID]: 'c', 'kubernetes.io/enforce-mountable-secrets': 'false' } }))), 'only azure.workload.identity/* annotations');
    refused(admit(p, create(sa({ labels: { team: 'x' } }))), 'only azure.workload.identity/* labels');
    refused(admit(p, create(sa({}, { secrets: [{ name: 'someone-elses-token' }] }))), 'only the azure.workload.identity/* annotations and labels');
    refused(admit(p, create(sa({}, { imagePullSecrets: [{ name: 'acr' }] }))), 'only the azure.workload.identity/* annotations and labels');
  });

  it.each([
    ['changing another annotation', (o: typeof existing) => ({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, 'team.example/owner': 'attacker' } } }), 'set only azure.workload.identity/* annotations'],
    ['removing another annotation', (o: typeof existing) => ({ ...o, metadata: { ...o.metadata, annotations: { [CLIENT_ID]: 'x' } } }), 'remove only azure.workload.identity/* annotations'],
    ['adding a label', (o: typeof existing) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, team: 'x' } } }), 'set only azure.workload.identity/* labels'],
    ['removing a label', (o: typeof existing) => ({ ...o, metadata: { ...o.metadata, labels: {} } }), 'remove only azure.workload.identity/* labels'],
    ['changing the pull secrets', (o: typeof existing) => ({ ...o, imagePullSecrets: [{ name: 'other' }] }), 'only the azure.workload.identity/* annotations and labels'],
    ['turning token automount on', (o: typeof existing) => ({ ...o, automountServiceAccountToken: true }), 'only the azure.workload.identity/* annotations and labels'],
    ['adding secrets', (o: typeof existing) => ({ ...o, secrets: [{ name: 'x' }] }), 'only the azure.workload.identity/* annotations and labels'],
    ['adding a finalizer', (o: typeof existing) => ({ ...o, metadata: { ...o.metadata, finalizers: ['example.com/hold'] } }), 'only the azure.workload.identity/* annotations and labels'],
  ])('refuses %s', (_what, change, message) => {
    refused(admit(p, update(change(existing))), message);
  });

  it('leaves everyone else to RBAC', () => {
    const hostile = { ...existing, automountServiceAccountToken: true };
    expect(admit(p, update(hostile, existing, 'system:serviceaccount:payments:deployer'))).toEqual({ applies: false });
  });

  it('does not apply to the token subresource (the other policy does)', () => {
    expect(admit(p, { username: BOT, operation: 'CREATE', resource: 'serviceaccounts', subResource: 'token', object: {} })).toEqual({ applies: false });
  });
});
