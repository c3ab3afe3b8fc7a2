/**
 * `npm run bench`: every benchmark in bench/, one after another on this machine, then one table
 * and one JSON summary. `npm run bench -- --json` prints only the JSON summary. Every figure is a
 * ratio measured side by side in this run, or a count.
 */
import os from 'node:os';

type Figures = Record<string, Record<string, number | string | boolean>>;

interface BenchModule {
  run(opts: { quiet: boolean; argv: string[] }): Promise<Figures>;
}

// require() keeps each benchmark's imports lazy (and works under tsx's CommonJS).
const BENCHES: { name: string; load: () => BenchModule }[] = [
  { name: 'ack', load: () => require('./ack.bench') as BenchModule },
  { name: 'home', load: () => require('./home.bench') as BenchModule },
  { name: 'provision', load: () => require('./provision.bench') as BenchModule },
  { name: 'audit', load: () => require('./audit.bench') as BenchModule },
  { name: 'footprint', load: () => require('./footprint.bench') as BenchModule },
  { name: 'refederate', load: () => require('./refederate.bench') as BenchModule },
  { name: 'expiry', load: () => require('./expiry.bench') as BenchModule },
  { name: 'fairness', load: () => require('./fairness.bench') as BenchModule },
  { name: 'fairness-refederate', load: () => ({ run: (require('./fairness.bench') as typeof import('./fairness.bench')).runBesideRefederate }) as BenchModule },
  { name: 'scaleout', load: () => require('./scaleout.bench') as BenchModule },
];

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const log = (s: string): void => {
    if (!json) process.stdout.write(s + '\n');
  };
  const summary: Figures = {};
  const errors: string[] = [];
  for (const b of BENCHES) {
    if (only && !only.includes(b.name)) continue;
    log(`\n== ${b.name} ==`);
    const t0 = Date.now();
    try {
      const mod = b.load();
      Object.assign(summary, await mod.run({ quiet: json, argv }));
      log(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      errors.push(`${b.name}: ${e instanceof Error ? e.message : String(e)}`);
      log(`   FAILED: ${errors[errors.length - 1]}`);
    }
  }
  const machine = { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', mem_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  const result = { ...summary, machine, errors };
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
  } else {
    log('\n== summary ==');
    const rows: [string, string][] = [];
    for (const [group, figs] of Object.entries(summary)) for (const [k, v] of Object.entries(figs)) rows.push([`${group}.${k}`, String(v)]);
    const w = Math.max(...rows.map((r) => r[0].length), 10);
    for (const [k, v] of rows) log(`${k.padEnd(w)}  ${v}`);
    log('\n' + JSON.stringify(result));
  }
  process.exit(errors.length ? 1 : 0);
}

void main();
