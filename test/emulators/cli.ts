/**
 * `npm run emulators`: start the whole test world by hand. Prints one JSON line with its URLs and
 * file paths once ready, then runs until interrupted. Azure's waits can be injected: WID_WORLD_LATENCY_MS (every
 * ARM, Entra and Kubernetes call), WID_WORLD_PRINCIPAL_DELAY_MS (a new identity's replication) and
 * WID_WORLD_CREDENTIAL_DELAY_MS (a new federated credential's propagation), in milliseconds; all off by default.
 *
 * Every emulator speaks HTTPS with the world's certificate, and Entra fetches the cluster issuer's keys
 * over HTTPS, so this process must trust that certificate: NODE_EXTRA_CA_CERTS is read only at start-up,
 * hence the world's certificate is made first and the process starts itself again trusting it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createTls } from './common/tls';
import { startWorld, worldDelaysFromEnv } from './world';

async function main(): Promise<void> {
  const dir = process.env.WID_WORLD_DIR ?? path.resolve('.wid-world');
  const tlsDir = process.env.WID_TEST_TLS_DIR ?? path.join(dir, 'tls');
  const tls = await createTls(tlsDir);
  if (process.env.NODE_EXTRA_CA_CERTS !== tls.caFile) {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.caFile, WID_TEST_TLS_DIR: tlsDir },
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
    return;
  }
  const delays = worldDelaysFromEnv();
  const world = await startWorld({ dir, tls, strictAuth: process.env.WID_WORLD_STRICT === '1', delays });
  process.stdout.write(
    JSON.stringify({ ...world.urls, ca: world.files.ca, kubeconfig: world.files.kubeconfig, issuer: world.kube.issuerUrl, policy: world.files.policy, env: world.files.env, delays }) + '\n',
  );
  const stop = (): void => {
    void world.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`emulators: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
