/**
 * A provisioning step, kubeadm-phase style: a read-only precondition check the runner calls for every
 * step before any step changes anything, and the idempotent work itself.
 */
import { WidError } from '../domain/errors';
import type { StepName } from '../domain/types';
import type { ProvisionRun } from './context';

export interface Step {
  name: StepName;
  /** Throws a TerminalError when the step could not succeed; reads only what the runner's preflight read. */
  validate?(run: ProvisionRun): void;
  /** Does the work; running it twice leaves the world as running it once. Returns a line for the record, or 'skipped'. */
  run(run: ProvisionRun): Promise<StepResult>;
}

export interface StepResult {
  outcome: 'done' | 'skipped';
  detail: string;
}

export const done = (detail: string): StepResult => ({ outcome: 'done', detail });
export const skipped = (detail: string): StepResult => ({ outcome: 'skipped', detail });

/** A step's failure: the original error's kind, code and Retry-After, plus which step failed. */
export class StepError extends WidError {
  constructor(
    readonly step: StepName,
    readonly original: WidError,
    message = original.message,
  ) {
    super(message, original.kind, original.code, original.retryAfterSeconds);
  }
}
