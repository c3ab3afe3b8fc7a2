/** `wid legacy`: see src/inspect (the same core answers `/wid legacy` in Slack). */
import { runInspectVerb, USAGES, type InspectCliDeps } from '../inspect/cli';
import type { CliIo } from './verb';

export const usage = USAGES.legacy;

export function run(args: string[], io: CliIo, deps: InspectCliDeps = {}): Promise<number> {
  return runInspectVerb('legacy', args, io, deps);
}
