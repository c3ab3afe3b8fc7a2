/**
 * `wid serve [--role all|web|worker]`: run the bot. SIGTERM/SIGINT: stop taking work, finish what
 * runs, exit 0.
 */
import { ConfigError } from '../config/env';
import { startBot } from '../main';
import { CliError, takeOptions, type CliIo } from './verb';

export const usage = `wid serve [--role all|web|worker]
  Runs wid-bot: the Slack app (web) and the provisioning worker, in one process by default.
  --role web      only the Slack side (stateless; scale it behind a load balancer)
  --role worker   only the worker (scale it on the shared Redis)
  Configuration comes from the environment: see docs/CONFIGURATION.md and .env.example.`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { options, rest } = takeOptions(args, ['role']);
  if (rest.length > 0) throw new CliError(`unexpected argument "${rest[0]}".\n${usage}`);
  // Signals are taken from the first moment: a SIGTERM while starting (the HTTP server may already answer
  // probes) stops the bot once it has started instead of killing the process half-way.
  let signalled: (signal: string) => void = () => undefined;
  const signal = new Promise<string>((resolve) => (signalled = resolve));
  const onSigterm = (): void => signalled('SIGTERM');
  const onSigint = (): void => signalled('SIGINT');
  process.once('SIGTERM', onSigterm);
  process.once('SIGINT', onSigint);
  let bot;
  try {
    bot = await startBot(io.env, typeof options.role === 'string' ? { role: options.role } : {});
  } catch (e) {
    process.off('SIGTERM', onSigterm);
    process.off('SIGINT', onSigint);
    if (e instanceof ConfigError) {
      io.err(e.message);
      return 2;
    }
    throw e;
  }
  const running = bot;
  const received = await signal;
  io.err(`wid-bot: ${received} received, finishing running work…`);
  const force = setTimeout(() => {
    io.err('wid-bot: running work did not finish within 60 s; exiting anyway (BullMQ hands unfinished jobs to another worker)');
    process.exit(1);
  }, 60_000);
  force.unref();
  await running.close().catch((e: unknown) => io.err(`wid-bot: shutdown error: ${e instanceof Error ? e.message : String(e)}`));
  return 0;
}
