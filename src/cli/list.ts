/** `wid list`: see src/inspect (the same core answers `/wid list` in Slack). */
import { runInspectVerb, USAGES, type InspectCliDeps } from '../inspect/cli';
import type { CliIo } from './verb';

export const usage = USAGES.list;

export function run(args: string[], io: CliIo, deps: InspectCliDeps = {}): Promise<number> {
  return runInspectVerb('list', args, io, deps);
}
