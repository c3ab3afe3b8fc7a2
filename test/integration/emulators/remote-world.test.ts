/**
 * The benchmarks' world (bench/support/remote-world.ts), in a child process of its own and in this one: the same
 * controls reach the live emulators either way, closing ends the child, and a child whose parent dies exits too.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { inProcessBenchWorld, startRemoteWorld, type BenchWorld } from '../../../bench/support/remote-world';
import { testTls } from '../../emulators/common/tls';
import { startWorld, WORLD } from '../../emulators/world';

const ROOT = path.join(__dirname, '..', '..', '..');
const tlsDir = (): string => {
  const dir = process.env.WID_TEST_TLS_DIR;
  if (!dir) throw new Error('WID_TEST_TLS_DIR is not set (run through npm test)');
  return dir;
};

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

const timed = async (url: string): Promise<{ status: number; ms: number }> => {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: 'Bearer remote-world' } });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - t0 };
};

const modes: [string, () => Promise<BenchWorld>][] = [
  ['in a child process', () => startRemoteWorld(tlsDir(), { arm: { throttle: false } })],
  ['in this process', async () => inProcessBenchWorld(await startWorld({ tls: await testTls(), arm: { throttle: false } }))],
];

describe.each(modes)('the bench world %s', (_name, start) => {
  let world: BenchWorld;
  beforeAll(async () => {
    world = await start();
  }, 60_000);
  afterAll(async () => world?.close());

  test('latency, the call log, reset and stats act on the live ARM emulator', async () => {
    const endpoints = `${world.urls.arm}/metadata/endpoints?api-version=2022-09-01`;
    const from = await world.arm.controls.logLength();
    const requestsBefore = (await world.arm.stats()).requests;
    await world.arm.controls.setLatency(1500);
    const slow = await timed(endpoints);
    expect(slow.status).toBe(200);
    expect(slow.ms).toBeGreaterThanOrEqual(1450);
    const logged = await world.arm.controls.log(from);
    expect(logged.map((e) => [e.method, e.path])).toEqual([['GET', '/metadata/endpoints']]);
    expect(await world.arm.controls.logLength()).toBe(from + 1);
    expect((await world.arm.stats()).requests).toBe(requestsBefore + 1);
    await world.arm.controls.reset();
    expect((await timed(endpoints)).ms).toBeLessThan(1000);
    // reset({ log: true }) empties the log
    await world.arm.controls.reset({ log: true });
    expect(await world.arm.controls.logLength()).toBe(0);
  });

  test('setDelays sets the latency the Kubernetes emulator answers with', async () => {
    await world.setDelays({ latencyMs: 1200 });
    const kubeFrom = await world.kube.controls.logLength();
    expect((await timed(`${world.urls.kube}/openid/v1/jwks`)).ms).toBeGreaterThanOrEqual(1150);
    expect(await world.kube.controls.logLength()).toBe(kubeFrom + 1);
    await world.setDelays({ latencyMs: 0 });
    expect((await timed(`${world.urls.kube}/openid/v1/jwks`)).ms).toBeLessThan(1000);
  });

  test('a seeded identity is in ARM; a recreated cluster serves its new issuer', async () => {
    const seeded = await world.arm.state.seedIdentity({ subscriptionId: WORLD.subscriptionId, resourceGroup: WORLD.identityResourceGroup, name: 'id-remote' });
    const res = await fetch(`${world.urls.arm}${seeded.id}?api-version=2023-01-31`, { headers: { authorization: 'Bearer remote-world' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { properties: { clientId: string } }).properties.clientId).toBe(seeded.clientId);
    const fic = await world.arm.state.seedFederatedCredential(seeded.id, { name: 'fic-remote', issuer: 'https://issuer.example/', subject: 'system:serviceaccount:finance:remote' });
    expect(fic.identityId).toBe(seeded.id);
    await expect(world.arm.state.seedFederatedCredential(`${seeded.id}-missing`, { name: 'x', issuer: 'https://issuer.example/', subject: 's' })).rejects.toThrow();

    const sa = await world.kube.seedServiceAccount({ namespace: 'finance', name: 'remote-sa' });
    expect(sa.metadata.name).toBe('remote-sa');

    const issuer = await world.recreateCluster();
    const conf = await fetch(`${issuer}.well-known/openid-configuration`);
    expect(conf.status).toBe(200);
    expect(((await conf.json()) as { issuer: string }).issuer).toBe(issuer);
    expect(await world.recreateCluster()).not.toBe(issuer);
  });

  test('the files and the kubeconfig point at the running world', () => {
    expect(world.kube.kubeconfig()).toContain(`server: ${world.urls.kube}`);
    expect(world.arm.url).toBe(world.urls.arm);
    expect(world.files.policy).toMatch(/policy\.yaml$/);
  });
});

describe('the bench world in a child process', () => {
  test('close ends the child, and calls after it fail', async () => {
    const world = await startRemoteWorld(tlsDir());
    const pid = world.pid as number;
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(process.pid);
    expect(alive(pid)).toBe(true);
    await world.close();
    expect(alive(pid)).toBe(false);
    await expect(world.arm.stats()).rejects.toThrow(/exited/);
    await world.close(); // twice is harmless
  }, 60_000);

  test('a child whose parent is killed exits by itself', async () => {
    const script = `require('./bench/support/remote-world.ts').startRemoteWorld(${JSON.stringify(tlsDir())}).then((w) => { process.stdout.write(w.pid + '\\n'); setInterval(() => {}, 1000); })`;
    const parent = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      parent.once('exit', (code) => reject(new Error(`the parent exited with ${String(code)} before the world was up`)));
    });
    expect(alive(pid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await until(() => !alive(pid), 15_000)).toBe(true);
  }, 60_000);
});
