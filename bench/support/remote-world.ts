/**
 * The test world as the provisioning benchmarks see it, started in this process or in a child process of its own.
 *
 * In this process the emulators' work (TLS, JSON, their handlers) shares the event loop with the wid-bot worker
 * being measured, and their CPU time is counted in wid-bot's figures; in production Azure, Kubernetes and Slack
 * are other machines. `startRemoteWorld` runs the world in a child (bench/support/world-child.ts) and forwards the
 * controls the benchmarks use over the child's IPC channel, so every control is async here in both modes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ArmStats } from '../../test/emulators/arm';
import type { FederatedCredentialSnapshot, IdentitySnapshot, SeedFederatedCredential, SeedIdentity } from '../../test/emulators/arm/state';
import type { Match, RequestLogEntry } from '../../test/emulators/common/controls';
import type { KubeObject, SeedServiceAccount } from '../../test/emulators/kube';
import { createTls } from '../../test/emulators/common/tls';
import type { World, WorldDelays, WorldFiles, WorldOptions } from '../../test/emulators/world';

export type EmulatorName = 'arm' | 'entra' | 'kube' | 'slack';

/** One emulator's controls, as the benchmarks use them. */
export interface BenchControls {
  setLatency(ms: number | [number, number], match?: Match): Promise<void>;
  /** Forget faults, rates and latency (the log too when `log` is true). */
  reset(opts?: { log?: boolean }): Promise<void>;
  /** How many calls the emulator has logged so far. */
  logLength(): Promise<number>;
  /** The logged calls from index `from` on (all by default). */
  log(from?: number): Promise<RequestLogEntry[]>;
}

/** The parts of the test world (test/emulators/world.ts) the provisioning benchmarks use. */
export interface BenchWorld {
  /** 'process': the world runs in a child process of its own; 'in-process': in this one. */
  where: 'process' | 'in-process';
  /** The world's process id when it runs in a child of its own. */
  pid?: number;
  urls: World['urls'];
  files: WorldFiles;
  arm: {
    url: string;
    controls: BenchControls;
    stats(): Promise<ArmStats>;
    state: {
      seedIdentity(seed: SeedIdentity): Promise<IdentitySnapshot>;
      seedFederatedCredential(identityIdOrRef: string, seed: SeedFederatedCredential): Promise<FederatedCredentialSnapshot>;
    };
  };
  entra: { url: string; controls: BenchControls };
  kube: {
    url: string;
    controls: BenchControls;
    /** The kubeconfig with the CA inline, as the world made it at start. */
    kubeconfig(): string;
    seedServiceAccount(sa: SeedServiceAccount): Promise<KubeObject>;
  };
  slack: { url: string; apiUrl: string; controls: BenchControls };
  setDelays(delays: WorldDelays): Promise<void>;
  /** The cluster recreated (a new issuer and signing key); resolves with the new issuer URL. */
  recreateCluster(name?: string): Promise<string>;
  close(): Promise<void>;
}

/** Options for a world in a child: everything but `tls`, which the child reads from `tlsDir`. */
export type RemoteWorldOptions = Omit<WorldOptions, 'tls'>;

/** What the parent asks of the child. Every op answers with `{ id, ok, value }` or `{ id, ok: false, error }`. */
export type WorldOp =
  | { op: 'setLatency'; emulator: EmulatorName; ms: number | [number, number]; match?: Match }
  | { op: 'reset'; emulator: EmulatorName; opts?: { log?: boolean } }
  | { op: 'logLength'; emulator: EmulatorName }
  | { op: 'log'; emulator: EmulatorName; from?: number }
  | { op: 'armStats' }
  | { op: 'seedIdentity'; seed: SeedIdentity }
  | { op: 'seedFederatedCredential'; identity: string; seed: SeedFederatedCredential }
  | { op: 'seedServiceAccount'; sa: SeedServiceAccount }
  | { op: 'setDelays'; delays: WorldDelays }
  | { op: 'recreateCluster'; name?: string }
  | { op: 'close' };

/** The child's first message: the world is up (or could not start). */
export type WorldReady =
  | { ready: true; urls: World['urls']; files: WorldFiles; kubeconfig: string }
  | { ready: false; error: string };

export type WorldReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

/** Runs one op against a world; the child does this for the parent, and the in-process wrapper for itself. */
export function applyWorldOp(world: World, m: WorldOp): unknown {
  const controls = (e: EmulatorName) => world[e].controls;
  switch (m.op) {
    case 'setLatency':
      controls(m.emulator).setLatency(m.ms, m.match);
      return undefined;
    case 'reset':
      controls(m.emulator).reset(m.opts);
      return undefined;
    case 'logLength':
      return controls(m.emulator).log.length;
    case 'log':
      return controls(m.emulator).log.slice(m.from ?? 0);
    case 'armStats':
      return world.arm.stats();
    case 'seedIdentity':
      return world.arm.state.seedIdentity(m.seed);
    case 'seedFederatedCredential':
      return world.arm.state.seedFederatedCredential(m.identity, m.seed);
    case 'seedServiceAccount':
      return world.kube.seedServiceAccount(m.sa);
    case 'setDelays':
      world.setDelays(m.delays);
      return undefined;
    case 'recreateCluster':
      return world.recreateCluster(m.name);
    case 'close':
      throw new Error('close is not an op on an in-process world');
  }
}

function benchWorldOn(
  where: BenchWorld['where'],
  base: { urls: World['urls']; files: WorldFiles; kubeconfig: string },
  call: <T>(m: WorldOp) => Promise<T>,
  close: () => Promise<void>,
): BenchWorld {
  const controls = (emulator: EmulatorName): BenchControls => ({
    setLatency: (ms, match) => call({ op: 'setLatency', emulator, ms, ...(match ? { match } : {}) }),
    reset: (opts) => call({ op: 'reset', emulator, ...(opts ? { opts } : {}) }),
    logLength: () => call({ op: 'logLength', emulator }),
    log: (from) => call({ op: 'log', emulator, ...(from !== undefined ? { from } : {}) }),
  });
  return {
    where,
    urls: base.urls,
    files: base.files,
    arm: {
      url: base.urls.arm,
      controls: controls('arm'),
      stats: () => call({ op: 'armStats' }),
      state: {
        seedIdentity: (seed) => call({ op: 'seedIdentity', seed }),
        seedFederatedCredential: (identity, seed) => call({ op: 'seedFederatedCredential', identity, seed }),
      },
    },
    entra: { url: base.urls.entra, controls: controls('entra') },
    kube: { url: base.urls.kube, controls: controls('kube'), kubeconfig: () => base.kubeconfig, seedServiceAccount: (sa) => call({ op: 'seedServiceAccount', sa }) },
    slack: { url: base.urls.slack, apiUrl: base.urls.slackApi, controls: controls('slack') },
    setDelays: (delays) => call({ op: 'setDelays', delays }),
    recreateCluster: (name) => call({ op: 'recreateCluster', ...(name !== undefined ? { name } : {}) }),
    close,
  };
}

/** A world started in this process, behind the same async interface. */
export function inProcessBenchWorld(world: World): BenchWorld {
  // Copies, as over IPC: a log slice or a snapshot must not change under the caller.
  const call = <T>(m: WorldOp): Promise<T> => {
    try {
      return Promise.resolve(structuredClone(applyWorldOp(world, m)) as T);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  };
  return benchWorldOn('in-process', { urls: world.urls, files: world.files, kubeconfig: world.kube.kubeconfig() }, call, () => world.close());
}

const CHILD = path.join(__dirname, 'world-child.ts');
const READY_TIMEOUT_MS = 60_000;
const CLOSE_TIMEOUT_MS = 10_000;

/** Every child still running, killed when this process exits however it exits. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;
function killOnExit(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
}

/**
 * Starts the world in a child process that trusts the world's CA (made here in `tlsDir`, as createTls does for
 * the in-process world), and resolves once its emulators listen. The child also exits when this process goes
 * (its IPC channel closes), so a benchmark that dies leaves no world behind.
 */
export async function startRemoteWorld(tlsDir: string, options: RemoteWorldOptions = {}): Promise<BenchWorld> {
  const tls = await createTls(tlsDir);
  const child = fork(CHILD, [], {
    execArgv: ['-r', 'tsx/cjs'],
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.caFile, WID_TEST_TLS_DIR: tlsDir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // structured clone: RegExp matches, Dates and undefined survive the trip
    serialization: 'advanced',
  });
  killOnExit(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let gone: Error | undefined;
  void exited.then(({ code, signal }) => {
    gone = new Error(`the world's process exited (${signal ?? `code ${String(code)}`})`);
    for (const p of pending.values()) p.reject(gone);
    pending.clear();
  });

  const ready = await new Promise<Extract<WorldReady, { ready: true }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the world's process did not start within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.once('message', (m: WorldReady) => {
      clearTimeout(timer);
      if (m.ready) resolve(m);
      else reject(new Error(`the world's process could not start the world: ${m.error}`));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the world's process exited before the world was up (${signal ?? `code ${String(code)}`})`));
    });
    child.send({ start: options });
  }).catch(async (e: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw e;
  });

  child.on('message', (m: WorldReply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new Error(`world: ${m.error}`));
  });

  const call = <T>(m: WorldOp): Promise<T> => {
    if (gone) return Promise.reject(gone);
    const id = ++nextId;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, ...m });
    });
  };

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      if (gone) return;
      // the child closes its emulators and exits; if it does not within the timeout, it is killed
      const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
      try {
        await call({ op: 'close' }).catch(() => undefined);
        await exited;
      } finally {
        clearTimeout(timer);
      }
    })());

  return { ...benchWorldOn('process', ready, call, close), ...(child.pid !== undefined ? { pid: child.pid } : {}) };
}

