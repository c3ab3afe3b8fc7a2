import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onFirstCall } from '../../../src/app/on-first-call';
import { lazyKubeAdapter } from '../../../src/kube/lazy';

interface Port {
  get(id: string): Promise<string>;
  count(): number;
}

describe('onFirstCall (adapters made on first use)', () => {
  it('makes the adapter once, on the first call, and forwards every call with its arguments and this', async () => {
    let made = 0;
    const port = onFirstCall<Port>('the test port', () => {
      made++;
      let calls = 0;
      return {
        prefix: 'id-',
        async get(this: { prefix: string }, id: string) {
          calls++;
          return `${this.prefix}${id}`;
        },
        count: () => calls,
      } as Port & { prefix: string };
    });
    expect(made).toBe(0);
    const { get } = port; // a method taken off the port still reaches the adapter
    expect(made).toBe(0);
    await expect(get('a')).resolves.toBe('id-a');
    await expect(port.get('b')).resolves.toBe('id-b');
    expect(port.count()).toBe(2);
    expect(made).toBe(1);
  });

  it('is not a thenable (awaiting it does not call the adapter) and names a missing method', async () => {
    let made = 0;
    const port = onFirstCall<Port>('the test port', () => {
      made++;
      return { get: async (id: string) => id, count: () => 0 };
    });
    await expect(Promise.resolve(port)).resolves.toBe(port);
    expect(made).toBe(0);
    expect(() => (port as unknown as { nope(): void }).nope()).toThrow('the test port has no method nope');
  });

  it('returns the error of an adapter that cannot be made as a rejected promise, at each call', async () => {
    let tries = 0;
    const port = onFirstCall<Port>('the test port', () => {
      tries++;
      throw new Error('bad kubeconfig');
    });
    await expect(port.get('a')).rejects.toThrow('bad kubeconfig');
    await expect(port.get('a')).rejects.toThrow('bad kubeconfig');
    expect(tries).toBe(2);
  });
});

describe('lazyKubeAdapter', () => {
  it('does not load @kubernetes/client-node until the first call', () => {
    // A fresh process: jest's own module registry would hide what a plain require loads.
    const root = path.resolve(__dirname, '..', '..', '..');
    const script = [
      "require('tsx/cjs');",
      "const { lazyKubeAdapter } = require('./src/kube/lazy.ts');",
      "const loaded = () => Object.keys(require.cache).some((f) => f.includes('@kubernetes/client-node'));",
      "const kube = lazyKubeAdapter({ kubeconfigYaml: 'apiVersion: v1\\nkind: Config\\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\\nusers: [{name: u, user: {token: t}}]\\ncontexts: [{name: x, context: {cluster: c, user: u}}]\\ncurrent-context: x\\n' });",
      'const before = loaded();',
      "kube.listPods('finance').catch(() => {}).finally(() => process.stdout.write(JSON.stringify({ before, after: loaded() })));",
    ].join('\n');
    const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toMatch(/Error/);
    expect(JSON.parse(r.stdout)).toEqual({ before: false, after: true });
  });

  it('refuses at start a kubeconfig that is not YAML, not a mapping, or not readable', () => {
    expect(() => lazyKubeAdapter({ kubeconfigYaml: 'not: [a kubeconfig' })).toThrow(expect.objectContaining({ code: 'KubeConfigInvalid', message: expect.stringContaining('not YAML') }));
    expect(() => lazyKubeAdapter({ kubeconfigYaml: '- a list' })).toThrow(/a kubeconfig is a YAML mapping/);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wid-kubeconfig-'));
    try {
      const good = path.join(dir, 'good');
      writeFileSync(good, 'apiVersion: v1\nkind: Config\n');
      writeFileSync(path.join(dir, 'bad'), '{{');
      expect(() => lazyKubeAdapter({ kubeconfigPath: [good, path.join(dir, 'bad')].join(path.delimiter) })).toThrow(new RegExp(`the kubeconfig '${dir}/bad': it is not YAML`));
      expect(() => lazyKubeAdapter({ kubeconfigPath: path.join(dir, 'missing') })).toThrow(/it does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns a kubeconfig client-node refuses into a TerminalError at the first call', async () => {
    const kube = lazyKubeAdapter({ kubeconfigYaml: 'apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n' });
    await expect(kube.listPods()).rejects.toMatchObject({ code: 'KubeConfigInvalid' });
  });
});
