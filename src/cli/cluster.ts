/** `wid cluster`: see src/inspect (the same core answers `/wid cluster` in Slack). */
import { runInspectVerb, USAGES, type InspectCliDeps } from '../inspect/cli';
import type { CliIo } from './verb';

export const usage = USAGES.cluster;

export function run(args: string[], io: CliIo, deps: InspectCliDeps = {}): Promise<number> {
  return runInspectVerb('cluster', args, io, deps);
}
