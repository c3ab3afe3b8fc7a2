/**
 * The `wid` verbs. To add one, create src/cli/<verb>.ts exporting `usage` and `run` (see VerbModule in
 * ./verb.ts) and add ONE line here:
 *     <verb>: { summary: '<what it does>', load: () => require('./<verb>') as VerbModule },
 * Modules load only when their verb runs, so `wid help` stays fast however heavy a verb is.
 */
import type { VerbModule } from './verb';

export interface VerbEntry {
  summary: string;
  load: () => VerbModule;
}

export const VERBS: Record<string, VerbEntry> = {
  // require() keeps the module lazy and works the same under tsc's CommonJS output, tsx and jest.
  plan: { summary: 'dry-run a request against the policy and print the exact plan as JSON', load: () => require('./plan') as VerbModule },
};
