/**
 * `npm run emulators`: start the whole test world by hand. Prints one JSON line with its URLs and
 * file paths once ready, then runs until interrupted.
 */
import path from 'node:path';
import { startWorld } from './world';

async function main(): Promise<void> {
  const dir = process.env.WID_WORLD_DIR ?? path.resolve('.wid-world');
  const world = await startWorld({ dir, strictAuth: process.env.WID_WORLD_STRICT === '1' });
  process.stdout.write(
    JSON.stringify({ ...world.urls, ca: world.files.ca, kubeconfig: world.files.kubeconfig, policy: world.files.policy, env: world.files.env }) + '\n',
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
