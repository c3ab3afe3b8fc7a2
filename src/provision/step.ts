/**
 * A provisioning step, kubeadm-phase style: a read-only precondition check the runner calls for every
 * step before any step changes anything, and the idempotent work itself.
 */
import { WidError } from '../domain/errors';
import type { ProvisionedResources, StepName } from '../domain/types';
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
  /**
   * What the step made (already on run.resources), to save on the request: the runner records it beside the steps
   * that depend on this one, before the step's end record; a record that fails fails the run.
   */
  resources?: Partial<ProvisionedResources>;
}

export const done = (detail: string, resources?: Partial<ProvisionedResources>): StepResult => ({ outcome: 'done', detail, ...(resources ? { resources } : {}) });
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
