/**
 * The test world in a process of its own (started by bench/support/remote-world.ts with the world's CA in
 * NODE_EXTRA_CA_CERTS): waits for `{ start: options }`, starts the world, answers `{ ready, urls, files,
 * kubeconfig }`, then runs the parent's ops until `close`. It exits when the parent's IPC channel closes, so it
 * never outlives the benchmark that started it.
 */
import { createTls } from '../../test/emulators/common/tls';
import { startWorld, type World } from '../../test/emulators/world';
import { applyWorldOp, type RemoteWorldOptions, type WorldOp, type WorldReady, type WorldReply } from './remote-world';

/** Resolves once the message is handed to the channel (or at once when the parent is gone). */
const send = (m: WorldReady | WorldReply): Promise<void> =>
  new Promise((resolve) => {
    if (!process.connected || !process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

let world: World | undefined;

async function closeAndExit(code: number): Promise<never> {
  const w = world;
  world = undefined;
  if (w) await w.close().catch(() => undefined);
  process.exit(code);
}

async function start(options: RemoteWorldOptions): Promise<void> {
  const dir = process.env.WID_TEST_TLS_DIR;
  if (!dir) throw new Error('WID_TEST_TLS_DIR is not set');
  world = await startWorld({ ...options, tls: await createTls(dir) });
  await send({ ready: true, urls: world.urls, files: world.files, kubeconfig: world.kube.kubeconfig() });
}

process.on('message', (m: { start: RemoteWorldOptions } | ({ id: number } & WorldOp)) => {
  if ('start' in m) {
    start(m.start).catch(async (e: unknown) => {
      await send({ ready: false, error: message(e) });
      await closeAndExit(1);
    });
    return;
  }
  const { id, ...op } = m;
  if (op.op === 'close') {
    const w = world;
    world = undefined;
    void (w ? w.close() : Promise.resolve())
      .then(
        () => send({ id, ok: true, value: undefined }),
        (e: unknown) => send({ id, ok: false, error: message(e) }),
      )
      .finally(() => process.exit(0));
    return;
  }
  if (!world) {
    void send({ id, ok: false, error: 'the world is not started' });
    return;
  }
  let reply: WorldReply;
  try {
    reply = { id, ok: true, value: applyWorldOp(world, op as WorldOp) };
  } catch (e) {
    reply = { id, ok: false, error: message(e) };
  }
  void send(reply);
});

// The parent went away (finished, failed or killed): nothing is left to serve.
process.on('disconnect', () => void closeAndExit(0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void closeAndExit(0));
