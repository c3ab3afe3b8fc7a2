/**
 * App Home freshness: the p99 time from a lifecycle change (a request stored) to the Home tab of every person
 * it concerns being published with it — the requester, the namespace's approver and the global approver who
 * is also the operator — while 200 people hold grants (so every home is rendered from a store of 200 grants,
 * and the operator's lists all of them). The real Slack app (startWeb) publishes through the Slack emulator,
 * which enforces views.publish's Tier 4 rate limit; the figure counts the 429s it answered (goal: none).
 *
 * Each change is a new request by one of the 200; a moment later its requester withdraws it (another change),
 * so what waits on the approvers stays on their first page. Changes come 1.2 s apart: Slack takes one
 * chat.postMessage a second per channel, and every request posts its approval message in one channel.
 *
 *   npx tsx bench/home.bench.ts [--json] [--people 200] [--changes 20] [--interval-ms 1200]
 */
import { randomBytes } from 'node:crypto';
import { parsePolicy } from '../src/config/policy';
import { newGrant } from '../src/domain/grants';
import type { WidRequest } from '../src/domain/types';
import { RedisGrantStore } from '../src/grants/store';
import { RedisRequestStore, storeKeys } from '../src/store';
import { startWeb } from '../src/web';
import { startSlackEmulator, type SlackEmulatorEvent } from '../test/emulators/slack';
import { SlackSigningClient } from '../test/emulators/slack/client';
import { worldPolicyYaml, WORLD } from '../test/emulators/world';
import { startRedisServer } from '../test/support/redis-server';

export interface HomeBenchFigures {
  [group: string]: Record<string, number | string | boolean>;
  home: {
    publish_p99_ms: number;
    publish_p50_ms: number;
    publish_max_ms: number;
    people_with_grants: number;
    changes: number;
    homes_measured: number;
    publishes: number;
    ratelimited: number;
    missed: number;
  };
}

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

export async function run(opts: { quiet?: boolean; argv?: string[] } = {}): Promise<HomeBenchFigures> {
  const argv = opts.argv ?? [];
  const people = Number(arg(argv, '--people') ?? 200);
  const changes = Number(arg(argv, '--changes') ?? 20);
  const intervalMs = Number(arg(argv, '--interval-ms') ?? 1200);
  const log = (s: string) => {
    if (!opts.quiet) process.stdout.write(`${s}\n`);
  };
  const { approver: BOB, admin: CAROL } = WORLD.users;
  const redis = await startRedisServer();
  // Slack's own limits, views.publish included (Tier 4)
  const slack = await startSlackEmulator();
  const prefix = `bench-home-${randomBytes(3).toString('hex')}`;
  const policy = parsePolicy(worldPolicyYaml({ operators: [CAROL] }), 'world policy');
  const users = Array.from({ length: people }, (_, i) => `U0P${String(i).padStart(7, '0')}`);
  for (const [i, id] of users.entries()) slack.addUser({ id, name: `person${i}` });

  // 200 people holding grants, all of whom have opened the Home tab before (so wid-bot keeps theirs current)
  const store = await RedisRequestStore.connect(redis.url, { prefix });
  const grants = new RedisGrantStore(store.redis, storeKeys(prefix));
  const now = new Date();
  for (const [i, id] of users.entries()) {
    const r = { id: `wid-seed${String(i).padStart(6, '0')}`, kind: 'grant', state: 'succeeded', requester: { id }, clusterName: WORLD.clusterName, namespace: 'finance', serviceAccount: `held-${i}`, roleName: 'Storage Blob Data Reader', scope: `/subscriptions/${WORLD.subscriptionId}/resourceGroups/apps`, durationSeconds: 1800 + i * 30, approvals: [{ actor: { id: BOB }, at: now.toISOString() }], createdAt: now.toISOString(), updatedAt: now.toISOString(), expiresAt: now.toISOString(), resources: {}, steps: [], plan: {} } as unknown as WidRequest;
    const g = newGrant({ request: r, now, maxDurationSeconds: 7 * 86400 });
    if (!g.ok) throw new Error(g.error.message);
    await grants.create(g.value);
  }
  await store.redis.sadd(storeKeys(prefix).homeSeen, ...users, BOB, CAROL);

  const web = await startWeb({
    slack: { mode: 'http', botToken: WORLD.botToken, signingSecret: WORLD.signingSecret, apiUrl: slack.apiUrl, port: 0 },
    redisUrl: redis.url,
    prefix,
    policy,
    clusterFacts: async (c) => ({ name: c.name, oidcIssuerEnabled: true, issuerUrl: 'https://oidc.example/', workloadIdentityEnabled: true }),
  });
  const client = new SlackSigningClient({ botUrl: `http://127.0.0.1:${web.port}/slack/events`, signingSecret: WORLD.signingSecret, emulator: slack });
  const publishes: SlackEmulatorEvent[] = [];
  const off = slack.onEvent((e) => {
    if (e.kind === 'home_publish') publishes.push(e);
  });
  try {
    log(`home bench: ${people} people holding grants; ${changes} requests, one every ${intervalMs} ms; views.publish at Slack's Tier 4 limit`);
    const before = slack.stats().ratelimitedBy['views.publish'] ?? 0;
    const submitted: string[] = [];
    for (let c = 0; c < changes; c++) {
      const who = users[(c * 7) % people] as string;
      await client.slashCommand({ userId: who, text: `request finance bench-sa-${c} Key Vault Secrets User --reason bench`, channelId: WORLD.requestsChannel });
      submitted.push(who);
      await new Promise((r) => setTimeout(r, intervalMs / 2));
      const open = (await store.listByRequester(who, 50)).find((r) => r.serviceAccount === `bench-sa-${c}`);
      if (open) await client.slashCommand({ userId: who, text: `withdraw ${open.id}`, channelId: WORLD.requestsChannel });
      await new Promise((r) => setTimeout(r, intervalMs / 2));
    }
    // give the last changes time to land
    await new Promise((r) => setTimeout(r, 3000));
    const latencies: number[] = [];
    let missed = 0;
    const mine = await Promise.all([...new Set(submitted)].map((u) => store.listByRequester(u, 50)));
    const requests = new Map<string, WidRequest>();
    for (const list of mine) for (const r of list) if (r.serviceAccount.startsWith('bench-sa-')) requests.set(r.id, r);
    for (const r of requests.values()) {
      const changedAt = Date.parse(r.createdAt);
      for (const u of [r.requester.id, BOB, CAROL]) {
        const e = publishes.find((p) => p.user === u && p.at >= changedAt && JSON.stringify(p.view?.blocks ?? []).includes(r.id));
        if (e) latencies.push(e.at - changedAt);
        else missed++;
      }
    }
    // the withdrawal: the requester's home shows it withdrawn, the approvers' no longer offer it
    for (const r of requests.values()) {
      if (r.state !== 'cancelled') {
        missed += 3;
        continue;
      }
      const changedAt = Date.parse(r.updatedAt);
      const checks: Array<[string, (blocks: string) => boolean]> = [
        [r.requester.id, (b) => b.includes(r.id) && b.includes('withdrawn')],
        [BOB, (b) => !b.includes(`waiting:${r.id}`)],
        [CAROL, (b) => !b.includes(`waiting:${r.id}`)],
      ];
      for (const [u, ok] of checks) {
        const e = publishes.find((p) => p.user === u && p.at >= changedAt && ok(JSON.stringify(p.view?.blocks ?? [])));
        if (e) latencies.push(e.at - changedAt);
        else missed++;
      }
    }
    missed += (changes - requests.size) * 6;
    const figures: HomeBenchFigures = {
      home: {
        publish_p99_ms: round(percentile(latencies, 99)),
        publish_p50_ms: round(percentile(latencies, 50)),
        publish_max_ms: round(Math.max(...latencies)),
        people_with_grants: people,
        changes,
        homes_measured: latencies.length,
        publishes: publishes.length,
        ratelimited: (slack.stats().ratelimitedBy['views.publish'] ?? 0) - before,
        missed,
      },
    };
    const h = figures.home;
    log(`  ${h.homes_measured} homes after ${h.changes} requests and their withdrawals: p50 ${h.publish_p50_ms} ms, p99 ${h.publish_p99_ms} ms, max ${h.publish_max_ms} ms (goal p99 ≤ 1000) ${h.publish_p99_ms <= 1000 ? 'OK' : 'MISSED'}`);
    log(`  ${h.publishes} views.publish calls, ${h.ratelimited} answered 429, ${h.missed} homes never showed their change`);
    return figures;
  } finally {
    off();
    await web.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    await slack.close();
    await redis.stop();
  }
}

if (require.main === module) {
  const json = process.argv.includes('--json');
  run({ quiet: json, argv: process.argv.slice(2) })
    .then((f) => {
      if (json) process.stdout.write(JSON.stringify(f) + '\n');
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    });
}
