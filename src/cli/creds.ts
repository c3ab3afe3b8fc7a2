/** `wid creds`: see src/inspect (the same core answers `/wid creds` in Slack). */
import { runInspectVerb, USAGES, type InspectCliDeps } from '../inspect/cli';
import type { CliIo } from './verb';

export const usage = USAGES.creds;

export function run(args: string[], io: CliIo, deps: InspectCliDeps = {}): Promise<number> {
  return runInspectVerb('creds', args, io, deps);
}
