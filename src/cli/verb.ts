/**
 * What every `wid` verb module provides, and the error a verb throws to end with exit code 2.
 */

/** Where a verb writes; tests pass their own to capture output. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** stderr when it is a terminal, for progress that is redrawn in place; absent when stderr is piped. */
  terminal?: { write(text: string): void; columns?: number };
}

/** A verb module in src/cli/<verb>.ts exports these two. */
export interface VerbModule {
  /** Usage lines shown by `wid help <verb>` and `wid <verb> --help`. */
  usage: string;
  /** Runs the verb with the arguments after its name; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/** A problem the person at the terminal can fix: printed as one message, exit code 2, no stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    env: process.env,
    ...(process.stderr.isTTY ? { terminal: { write: (text: string) => void process.stderr.write(text), columns: process.stderr.columns } } : {}),
  };
}

/**
 * Split `--name value` / `--name=value` options from the front of argv, up to the first word that is
 * not one of `known`. Returns the options and the remaining words.
 */
export function takeOptions(args: readonly string[], known: readonly string[], flags: readonly string[] = []): { options: Record<string, string | true>; rest: string[] } {
  const options: Record<string, string | true> = {};
  let i = 0;
  while (i < args.length) {
    const a = args[i] as string;
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(a);
    if (!m) break;
    const name = m[1] as string;
    if (flags.includes(name)) {
      options[name] = true;
      i++;
      continue;
    }
    if (!known.includes(name)) break;
    if (options[name] !== undefined) throw new CliError(`--${name} is given twice; give it once.`);
    let value = m[2];
    i++;
    if (value === undefined) {
      value = args[i];
      if (value === undefined || value.startsWith('--')) throw new CliError(`--${name} needs a value.`);
      i++;
    }
    if (value.trim() === '') throw new CliError(`--${name} needs a value.`);
    options[name] = value;
  }
  return { options, rest: args.slice(i) };
}
