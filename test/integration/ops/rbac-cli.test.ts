/**
 * `wid manifests rbac` and `wid policy check`: the namespaced RBAC in manifests/base is the one generated from its
 * policy, reserved namespaces never get any, and the check names every namespace the manifests leave out.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../../src/cli';
import type { CliIo } from '../../../src/cli/verb';
import { buildKustomization } from './kustomize';

const root = path.resolve(__dirname, '../../..');
const basePolicy = 'manifests/base/policy.yaml';

async function wid(...argv: string[]) {
  const io = { stdout: '', stderr: '', env: {}, out: (t: string) => void (io.stdout += `${t}\n`), err: (t: string) => void (io.stderr += `${t}\n`) };
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const code = await main(argv, io as CliIo);
    return { code, stdout: io.stdout, stderr: io.stderr };
  } finally {
    process.chdir(cwd);
  }
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'wid-rbac-'));
const policyWith = (edit: (yaml: string) => string): string => {
  const p = path.join(tmp, `policy-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(p, edit(readFileSync(path.join(root, basePolicy), 'utf8')));
  return p;
};
const extraNamespace = (name: string, yaml: string) => yaml.replace(/^namespaces:\n/m, `namespaces:\n  - name: ${name}\n    requesters: anyone\n    roles: [AcrPull]\n`);

describe('wid manifests rbac', () => {
  it('manifests/base/rbac-namespaces.yaml is exactly what it generates from manifests/base/policy.yaml', async () => {
    const r = await wid('manifests', 'rbac', '--policy', basePolicy);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trimEnd()).toBe(readFileSync(path.join(root, 'manifests/base/rbac-namespaces.yaml'), 'utf8').trimEnd());
  });

  it('never generates permissions in a reserved namespace, even when the policy allows it, and says so', async () => {
    const p = policyWith((y) => extraNamespace('kube-system', y).replace('allowReservedNamespaces: false', 'allowReservedNamespaces: true'));
    const r = await wid('manifests', 'rbac', '--policy', p);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('kube-system is a reserved namespace: no Role or RoleBinding generated');
    expect(r.stdout).toContain('# kube-system: allowed by the policy, but reserved');
    expect(r.stdout).not.toMatch(/namespace: kube-system/);
    expect(r.stdout).toMatch(/namespace: payments/);
  });

  it('refuses an unknown kind and a missing policy with the usage', async () => {
    expect(await wid('manifests', 'deployment', '--policy', basePolicy)).toMatchObject({ code: 2, stderr: expect.stringContaining('one kind of manifest: rbac') });
    expect(await wid('manifests', 'rbac')).toMatchObject({ code: 2, stderr: expect.stringContaining('needs the policy file') });
  });
});

describe('wid policy check', () => {
  const rendered = path.join(tmp, 'rendered.yaml');
  beforeAll(() => {
    writeFileSync(rendered, buildKustomization(path.join(root, 'manifests/base'), () => undefined).yaml);
  });

  it('agrees with the rendered manifests/base', async () => {
    const r = await wid('policy', 'check', '--policy', basePolicy, '--manifests', rendered);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('policy and manifests agree: 3 namespaces');
  });

  it('names a policy namespace without the Role and RoleBinding, and what to run', async () => {
    const r = await wid('policy', 'check', '--policy', policyWith((y) => extraNamespace('orders', y)), '--manifests', rendered);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toEqual([
      'orders: no Role and RoleBinding wid-bot-provision: wid-bot cannot create or annotate ServiceAccounts there. Fix: run `wid manifests rbac --policy <policy file> > manifests/base/rbac-namespaces.yaml` and apply it.',
    ]);
  });

  it('names permissions left in a namespace the policy dropped, a reserved namespace, and a binding to someone else', async () => {
    const text = readFileSync(rendered, 'utf8').replace(/(kind: RoleBinding[\s\S]*?namespace: payments[\s\S]*?subjects:\n\s*- kind: ServiceAccount\n\s*name: )wid-bot/, '$1intruder');
    const tampered = path.join(tmp, 'tampered.yaml');
    writeFileSync(tampered, text);
    const p = policyWith((y) => extraNamespace('kube-system', y.replace(/  - name: sandbox\n(    .*\n)+/, '')).replace('allowReservedNamespaces: false', 'allowReservedNamespaces: true'));
    const r = await wid('policy', 'check', '--policy', p, '--manifests', tampered);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('kube-system: the policy allows this reserved namespace, where wid-bot is never given permissions');
    expect(r.stdout).toContain('payments: RoleBinding wid-bot-provision does not bind Role wid-bot-provision to wid/wid-bot');
    expect(r.stdout).toContain('sandbox: Role wid-bot-provision is there, but the policy no longer allows this namespace');
    expect(r.stdout).toContain('sandbox: RoleBinding wid-bot-provision is there');
  });

  it('needs --manifests, and says how to give it', async () => {
    expect(await wid('policy', 'check', '--policy', basePolicy)).toMatchObject({ code: 2, stderr: expect.stringContaining('--manifests -') });
  });
});
