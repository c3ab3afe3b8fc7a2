#!/usr/bin/env node
/**
 * `wid`: the operator's command line. Verbs live in src/cli/<verb>.ts and are registered in
 * src/cli/verbs.ts (one line each).
 */
import { VERBS } from './cli/verbs';
import { processIo, type CliIo } from './cli/verb';

function overview(): string {
  const width = Math.max(...Object.keys(VERBS).map((v) => v.length), 4);
  const lines = Object.entries(VERBS).map(([name, v]) => `  ${name.padEnd(width)}  ${v.summary}`);
  return [
    'wid: Microsoft Entra Workload ID for AKS, from Slack or the command line.',
    '',
    'Usage: wid <command> [options]',
    '',
    'Commands:',
    ...lines,
    `  ${'help'.padEnd(width)}  show this help, or \`wid help <command>\``,
  ].join('\n');
}

/** A one-paragraph message for anything thrown: no stack trace unless WID_DEBUG is set. */
function describeError(e: unknown, io: CliIo): string {
  if (io.env.WID_DEBUG && e instanceof Error && e.stack) return e.stack;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Runs `wid` with argv (without node and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    const topic = verb === 'help' ? rest[0] : undefined;
    const entry = topic !== undefined ? VERBS[topic] : undefined;
    if (topic !== undefined && !entry) {
      io.err(`wid: there is no command "${topic}". Commands: ${Object.keys(VERBS).join(', ')}, help.`);
      return 2;
    }
    if (entry) {
      try {
        io.out(`${entry.summary}\n\n${entry.load().usage}`);
        return 0;
      } catch (e) {
        io.err(`wid: ${describeError(e, io)}`);
        return 2;
      }
    }
    if (verb === undefined) {
      io.err(overview());
      return 2;
    }
    io.out(overview());
    return 0;
  }
  const entry = Object.prototype.hasOwnProperty.call(VERBS, verb) ? VERBS[verb] : undefined;
  if (!entry) {
    io.err(`wid: "${verb}" is not a wid command. Commands: ${Object.keys(VERBS).join(', ')}, help. Try: wid help`);
    return 2;
  }
  try {
    return await entry.load().run([...rest], io);
  } catch (e) {
    io.err(`wid ${verb}: ${describeError(e, io)}`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`wid: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
