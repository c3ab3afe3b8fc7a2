/** `wid audit`: see src/inspect (the same core answers `/wid audit` in Slack). */
import { runInspectVerb, USAGES, type InspectCliDeps } from '../inspect/cli';
import type { CliIo } from './verb';

export const usage = USAGES.audit;

export function run(args: string[], io: CliIo, deps: InspectCliDeps = {}): Promise<number> {
  return runInspectVerb('audit', args, io, deps);
}
