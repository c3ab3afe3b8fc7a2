/**
 * `npm run test:image`: the container image and docker-compose.yml, built and run for real against the
 * local world (the Slack, ARM, Entra and Kubernetes emulators, started here on the host).
 *
 * Builds the image from the Dockerfile, starts the compose stack (its Redis, web and worker) with a small
 * override that points it at the world, takes a signed `/wid request` through approval to a verified
 * identity, checks the probes and metrics, the containers' confinement (uid 1000, read-only root, no
 * capabilities, no-new-privileges), and that `docker compose stop` lets a running job finish. Prints one
 * line per check and exits 1 when any fails (2 when Docker or a base image is missing).
 *
 *   npm run test:image                 # builds the image first
 *   npm run test:image -- --no-build   # reuses wid-bot:local as it is
 *
 * The wid-bot containers share the host's network in this test: the emulators listen on 127.0.0.1 and
 * put that address in the URLs they hand out (token endpoints, nextLinks, issuer, response_url), which a
 * container on a bridge network could not follow. Redis stays on the compose network, published on a
 * loopback port.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createTls } from '../test/emulators/common/tls';
import { SlackSigningClient } from '../test/emulators/slack/client';
import { startWorld, WORLD, type World } from '../test/emulators/world';
import { freePort } from '../test/support/redis-server';
import { RedisRequestStore } from '../src/store';
import type { WidRequest } from '../src/domain/types';

const ROOT = path.resolve(__dirname, '..');
const IMAGE = 'wid-bot:local';
const BASE_IMAGES = ['node:20-bookworm-slim', 'redis:7'];
const PROJECT = 'wid-bot-image-test';
const run = promisify(execFile);

interface Check {
  ok: boolean;
  what: string;
  detail?: string;
}
const checks: Check[] = [];
function check(ok: boolean, what: string, detail?: string): boolean {
  checks.push({ ok, what, ...(detail ? { detail } : {}) });
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}\n`);
  return ok;
}
const note = (s: string): void => void process.stdout.write(`     ${s}\n`);

async function docker(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<string> {
  const r = await run('docker', args, { cwd: ROOT, env: { ...process.env, DOCKER_BUILDKIT: '0', ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 32 * 1024 * 1024 });
  return r.stdout;
}

/** Docker, Compose v2 and the two base images, or a message saying what is missing and how to get it. */
function prerequisites(): string[] {
  const missing: string[] = [];
  const has = (args: string[]): boolean => spawnSync('docker', args, { stdio: 'ignore' }).status === 0;
  if (spawnSync('sh', ['-c', 'command -v docker'], { stdio: 'ignore' }).status !== 0) {
    return ['the docker command: install Docker Engine (e.g. Debian: apt-get install -y docker.io) or Docker Desktop'];
  }
  if (!has(['info'])) return ['a running Docker engine: `docker info` fails (start dockerd, or Docker Desktop, and check you may use its socket)'];
  if (!has(['compose', 'version'])) missing.push('the Compose v2 plugin (`docker compose version` fails): install docker-compose-plugin (Docker\'s apt repository) or Debian trixie\'s docker-compose');
  for (const image of BASE_IMAGES) {
    if (!has(['image', 'inspect', image])) missing.push(`the base image ${image}: docker pull ${image} (or load it from a registry mirror you trust)`);
  }
  return missing;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
    await sleep(200);
  }
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, text: await r.text() };
}

/** The compose override: the world's files mounted read-only, the host's network, Redis on a loopback port. */
function overrideYaml(o: { dir: string; envFile: string; redisPort: number; webPort: number; workerPort: number }): string {
  const mounts = (role: 'web' | 'worker'): string[] => [
    `      - ${o.dir}/policy.yaml:/etc/wid/policy.yaml:ro`,
    `      - ${o.dir}/world-ca.pem:/etc/wid/world-ca.pem:ro`,
    ...(role === 'worker' ? [`      - ${o.dir}/kubeconfig:/etc/wid/kubeconfig:ro`] : []),
  ];
  const service = (role: 'web' | 'worker', port: number): string[] => [
    `  ${role}:`,
    '    network_mode: host',
    '    ports: !reset []',
    '    restart: "no"',
    `    env_file: !override [${o.envFile}]`,
    '    environment:',
    `      REDIS_URL: redis://127.0.0.1:${o.redisPort}`,
    `      PORT: "${port}"`,
    '      WID_POLICY_FILE: /etc/wid/policy.yaml',
    '      NODE_EXTRA_CA_CERTS: /etc/wid/world-ca.pem',
    ...(role === 'worker' ? ['      KUBECONFIG: /etc/wid/kubeconfig'] : []),
    '    volumes: !override',
    ...mounts(role),
  ];
  return [
    'services:',
    '  redis:',
    `    ports: ["127.0.0.1:${o.redisPort}:6379"]`,
    '    restart: "no"',
    ...service('web', o.webPort),
    ...service('worker', o.workerPort),
    '',
  ].join('\n');
}

interface Inspected {
  Name: string;
  State: { Status: string; ExitCode: number };
  Config: { User: string };
  HostConfig: { ReadonlyRootfs: boolean; CapDrop: string[] | null; CapAdd: string[] | null; SecurityOpt: string[] | null; Privileged: boolean };
}

async function main(): Promise<void> {
  const missing = prerequisites();
  if (missing.length) {
    process.stderr.write(`test:image needs:\n${missing.map((m) => `  - ${m}`).join('\n')}\n`);
    process.exit(2);
  }
  const build = !process.argv.includes('--no-build');
  // One scratch directory for both starts (the first removes it when the second exits).
  const dir = process.env.WID_IMAGE_TEST_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'wid-image-'));
  // Entra fetches the cluster issuer's keys over HTTPS: this process must trust the world's certificate,
  // which NODE_EXTRA_CA_CERTS does only from start-up; so make it, then start again trusting it.
  const tlsDir = process.env.WID_TEST_TLS_DIR ?? path.join(dir, 'tls');
  const tls = await createTls(tlsDir);
  if (process.env.NODE_EXTRA_CA_CERTS !== tls.caFile) {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, NODE_EXTRA_CA_CERTS: tls.caFile, WID_TEST_TLS_DIR: tlsDir, WID_IMAGE_TEST_DIR: dir } });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(code ?? 1);
    });
    return;
  }

  if (build) {
    process.stdout.write(`building ${IMAGE} (docker build, classic builder)…\n`);
    const t0 = Date.now();
    // The classic builder needs no registry for a frontend; its output is shown only when the build fails.
    const b = spawnSync('docker', ['build', '-t', IMAGE, '.'], { cwd: ROOT, env: { ...process.env, DOCKER_BUILDKIT: '0' }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (!check(b.status === 0, `image ${IMAGE} builds from the Dockerfile`, `${Math.round((Date.now() - t0) / 1000)} s`)) {
      process.stdout.write(`${b.stdout.split('\n').slice(-40).join('\n')}\n${b.stderr}\n`);
      process.exit(1);
    }
  }
  const size = Number((await docker(['image', 'inspect', IMAGE, '--format', '{{.Size}}'])).trim());
  const baseSize = Number((await docker(['image', 'inspect', 'node:20-bookworm-slim', '--format', '{{.Size}}'])).trim());
  note(`image size ${(size / 1e6).toFixed(0)} MB (base node:20-bookworm-slim ${(baseSize / 1e6).toFixed(0)} MB, wid-bot's layers ${((size - baseSize) / 1e6).toFixed(0)} MB)`);

  let world: World | undefined;
  let store: RedisRequestStore | undefined;
  const compose = async (args: string[], timeoutMs?: number): Promise<string> =>
    docker(['compose', '-p', PROJECT, '-f', path.join(ROOT, 'docker-compose.yml'), '-f', path.join(dir, 'compose.test.yml'), ...args], {
      env: { WID_KUBECONFIG_FILE: path.join(dir, 'kubeconfig') },
      ...(timeoutMs ? { timeoutMs } : {}),
    });
  try {
    world = await startWorld({ dir: path.join(dir, 'world'), tls, arm: { throttle: false } });
    const [redisPort, webPort, workerPort] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(path.join(dir, 'world-ca.pem'), tls.certPem);
    writeFileSync(path.join(dir, 'kubeconfig'), world.kube.kubeconfig({ caFile: '/etc/wid/world-ca.pem' }), { mode: 0o644 });
    writeFileSync(path.join(dir, 'policy.yaml'), readFileSync(world.files.policy, 'utf8'));
    // What a user puts in .env: Slack's secrets and the Azure identity; the rest comes from the compose file.
    const envFile = path.join(dir, 'wid.env');
    const keep = ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_API_URL', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_AUTHORITY_HOST', 'AZURE_RESOURCE_MANAGER_URL'];
    writeFileSync(envFile, keep.map((k) => `${k}=${world?.env[k] ?? ''}`).join('\n') + '\nLOG_LEVEL=info\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'compose.test.yml'), overrideYaml({ dir, envFile, redisPort, webPort, workerPort }));

    await compose(['down', '-v', '--remove-orphans'], 120_000).catch(() => ''); // what an interrupted run left
    await compose(['up', '-d', '--no-build'], 180_000);
    const web = `http://127.0.0.1:${webPort}`;
    const workerUrl = `http://127.0.0.1:${workerPort}`;
    const ready = await waitFor('web /readyz 200', 60_000, async () => ((await get(`${web}/readyz`)).status === 200 ? true : undefined)).catch((e: Error) => e);
    check(ready === true, 'web becomes ready: /readyz 200', ready instanceof Error ? ready.message : undefined);
    const health = await get(`${web}/healthz`).catch((e: Error) => ({ status: 0, text: e.message }));
    check(health.status === 200, 'web /healthz 200', health.status === 200 ? undefined : `${health.status} ${health.text}`);
    const readyBody = await get(`${web}/readyz`).catch((e: Error) => ({ status: 0, text: e.message }));
    check(/"redis":\{"ok":true/.test(readyBody.text) && /"slack":\{"ok":true/.test(readyBody.text), 'web /readyz reports Redis and Slack ok', readyBody.text.slice(0, 200));
    const workerReady = await waitFor('worker /readyz 200', 60_000, async () => ((await get(`${workerUrl}/readyz`)).status === 200 ? true : undefined)).catch((e: Error) => e);
    check(workerReady === true, 'worker becomes ready: /readyz 200 on its own health server', workerReady instanceof Error ? workerReady.message : undefined);
    const workerHealth = await get(`${workerUrl}/healthz`).catch((e: Error) => ({ status: 0, text: e.message }));
    check(workerHealth.status === 200, 'worker /healthz 200');

    // ── confinement, from docker inspect and from inside ──
    const ids = (await compose(['ps', '-q'])).trim().split('\n').filter(Boolean);
    const memory = async (when: string): Promise<void> => {
      const stats = await docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}', ...ids]).catch(() => '');
      const lines = stats.trim().split('\n').filter((l) => !l.includes('redis')).map((l) => l.replace(/ \/ .*$/, '').replace(`${PROJECT}-`, ''));
      if (lines.length) note(`memory ${when}: ${lines.join(', ')}`);
    };
    await memory('idle after start');
    const inspected = JSON.parse(await docker(['inspect', ...ids])) as Inspected[];
    for (const c of inspected) {
      const name = c.Name.replace(/^\//, '');
      if (name.includes('redis')) continue;
      const uid = (await docker(['exec', name, 'id', '-u']).catch(() => '?')).trim();
      check(uid === '1000' && (c.Config.User === 'node' || c.Config.User === '1000'), `${name} runs as uid 1000`, `User=${c.Config.User || '(root)'}, id -u=${uid}`);
      const writable = await docker(['exec', name, 'sh', '-c', 'touch /app/x 2>&1; echo $?']).catch((e: Error) => e.message);
      check(c.HostConfig.ReadonlyRootfs && !/\b0\s*$/.test(writable), `${name} has a read-only root file system`, `ReadonlyRootfs=${c.HostConfig.ReadonlyRootfs}; touch /app/x: ${writable.trim().split('\n')[0]}`);
      const capEff = (await docker(['exec', name, 'sh', '-c', "grep CapEff /proc/1/status | cut -f2"]).catch(() => '?')).trim();
      check(
        (c.HostConfig.CapDrop ?? []).includes('ALL') && (c.HostConfig.CapAdd ?? []).length === 0 && !c.HostConfig.Privileged && capEff === '0000000000000000',
        `${name} holds no capabilities`,
        `CapDrop=${JSON.stringify(c.HostConfig.CapDrop)}, CapAdd=${JSON.stringify(c.HostConfig.CapAdd)}, CapEff=${capEff}`,
      );
      check((c.HostConfig.SecurityOpt ?? []).some((o) => /^no-new-privileges(:true)?$/.test(o)), `${name} has no-new-privileges`, JSON.stringify(c.HostConfig.SecurityOpt));
    }

    // ── a signed request through approval to a verified identity ──
    store = await RedisRequestStore.connect(`redis://127.0.0.1:${redisPort}`, { prefix: 'wid' });
    const slack = new SlackSigningClient({ botUrl: `${web}/slack/events`, signingSecret: WORLD.signingSecret, emulator: world.slack });
    const w = world;
    const st = store;
    async function requestAndApprove(sa: string): Promise<WidRequest> {
      const mark = w.slack.mark();
      const ack = await slack.slashCommand({ text: `request finance ${sa} Key Vault Secrets User --reason image test`, userId: WORLD.users.requester });
      if (ack.status !== 200) throw new Error(`the slash command was answered ${ack.status}`);
      const post = await w.slack.waitFor((e) => e.kind === 'post' && e.channel === WORLD.approvalsChannel && !e.threadTs && JSON.stringify(e).includes(sa), 15_000, { since: mark });
      const click = await slack.blockAction({ userId: WORLD.users.approver, actionId: 'wid_approve', message: { channel: WORLD.approvalsChannel, ts: post.ts ?? '' } });
      if (click.status !== 200) throw new Error(`the approval click was answered ${click.status}`);
      return waitFor(`the stored request for ${sa}`, 10_000, async () => (await st.listByRequester(WORLD.users.requester, 50)).find((r) => r.serviceAccount === sa));
    }
    const done = async (id: string, timeoutMs: number): Promise<WidRequest> =>
      waitFor(`request ${id} succeeded`, timeoutMs, async () => {
        const r = await st.get(id);
        if (r?.state === 'failed') throw new Error(`request failed: ${r.failure?.reason ?? ''}`);
        return r?.state === 'succeeded' ? r : undefined;
      });
    try {
      const mark = w.slack.mark();
      const req = await requestAndApprove('image-sa');
      check(true, 'a signed /wid request is acked and its approval posted; the approver\'s click is accepted', req.id);
      const finished = await done(req.id, 60_000);
      const sa = w.kube.getServiceAccount('finance', 'image-sa');
      const clientId = sa?.metadata.annotations?.['azure.workload.identity/client-id'];
      check(Boolean(clientId) && w.arm.state.identities().some((i) => i.clientId === clientId), 'the worker created the identity and annotated the ServiceAccount', `client-id ${clientId ?? 'none'}`);
      check(finished.resources.verified === true, 'the worker verified the token exchange', `verified=${String(finished.resources.verified)}`);
      const result = await w.slack.waitFor((e) => JSON.stringify(e).includes('Verified:'), 15_000, { since: mark }).then(() => true, () => false);
      check(result, 'the result ("Verified") is posted in Slack');
    } catch (e) {
      check(false, 'a signed /wid request is approved and provisioned', e instanceof Error ? e.message : String(e));
    }
    await sleep(1500); // the metrics feed reads the audit stream asynchronously
    await memory('after one request');
    const metrics = await get(`${web}/metrics`).catch((e: Error) => ({ status: 0, text: e.message }));
    const metricsOk = metrics.status === 200 && /wid_request_transitions_total\{[^}]*to="approved"[^}]*\} 1/.test(metrics.text) && metrics.text.includes('wid_queue_jobs');
    // on failure, what the web side did say
    const said = `HTTP ${metrics.status}: ${metrics.text.split('\n').filter((l) => /^wid_(request_transitions_total|queue_jobs)/.test(l)).join('; ') || metrics.text.slice(0, 300)}`;
    check(metricsOk, 'web /metrics: Prometheus text with the approval counted and queue depth', metricsOk ? undefined : said);
    const workerMetrics = await get(`${workerUrl}/metrics`).catch((e: Error) => ({ status: 0, text: e.message }));
    check(workerMetrics.status === 200 && /wid_step_duration_seconds_count\{[^}]*\} [1-9]/.test(workerMetrics.text), 'worker /metrics: the provisioning steps timed');

    // ── SIGTERM: a job running when `docker compose stop` is given still finishes ──
    try {
      w.arm.controls.setLatency(1500, { method: 'PUT' }); // every ARM write takes 1.5 s: the job runs for seconds
      const req = await requestAndApprove('image-stop-sa');
      await waitFor('the job to start', 20_000, async () => ((await st.get(req.id))?.state === 'provisioning' ? true : undefined));
      const beforeStop = (await st.get(req.id))?.state;
      const t0 = Date.now();
      await compose(['stop', 'worker'], 120_000);
      const stopMs = Date.now() - t0;
      const atStop = await st.get(req.id);
      const worker = (JSON.parse(await docker(['inspect', `${PROJECT}-worker-1`])) as Inspected[])[0];
      check(
        beforeStop === 'provisioning' && atStop?.state === 'succeeded' && atStop.resources.verified === true,
        '`docker compose stop worker` during a job: the job finishes before the worker exits',
        `state ${beforeStop ?? 'missing'} when stopped, ${atStop?.state ?? 'missing'} once the worker exited ${(stopMs / 1000).toFixed(1)} s later`,
      );
      check(worker?.State.ExitCode === 0, 'the worker exits 0 on SIGTERM', `exit code ${worker?.State.ExitCode ?? '?'}`);
      const sa = w.kube.getServiceAccount('finance', 'image-stop-sa');
      check(Boolean(sa?.metadata.annotations?.['azure.workload.identity/client-id']), 'the job begun before stop left its ServiceAccount annotated (not lost half-done)');
    } catch (e) {
      check(false, '`docker compose stop` lets a running job finish', e instanceof Error ? e.message : String(e));
    } finally {
      w.arm.controls.setLatency(0, { method: 'PUT' });
    }
  } catch (e) {
    check(false, 'the compose stack runs against the world', e instanceof Error ? e.message : String(e));
    const logs = await compose(['logs', '--no-color', '--tail', '40']).catch(() => '');
    if (logs) process.stdout.write(logs);
  } finally {
    if (checks.some((c) => !c.ok)) {
      const logs = await compose(['logs', '--no-color', '--tail', '30', 'web', 'worker']).catch(() => '');
      if (logs) process.stdout.write(`---- last container logs ----\n${logs}`);
    }
    await store?.close().catch(() => undefined);
    await compose(['down', '-v', '--remove-orphans'], 120_000).catch((e: Error) => process.stderr.write(`compose down: ${e.message}\n`));
    await world?.close();
  }
  const failed = checks.filter((c) => !c.ok).length;
  process.stdout.write(`${checks.length - failed} passed, ${failed} failed\n`);
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  process.stderr.write(`test:image: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
