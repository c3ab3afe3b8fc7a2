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
  let bot;
  try {
    bot = await startBot(io.env, typeof options.role === 'string' ? { role: options.role } : {});
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(e.message);
      return 2;
    }
    throw e;
  }
  const running = bot;
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      io.err(`wid-bot: ${signal} received, finishing running work…`);
      const force = setTimeout(() => {
        io.err('wid-bot: running work did not finish within 60 s; exiting anyway (BullMQ hands unfinished jobs to another worker)');
        process.exit(1);
      }, 60_000);
      force.unref();
      void running.close().then(resolve, (e: unknown) => {
        io.err(`wid-bot: shutdown error: ${e instanceof Error ? e.message : String(e)}`);
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
