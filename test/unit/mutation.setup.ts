/**
 * Setup for the mutation run only (jest.mutation.config.js). Stryker runs the domain's tests once
 * per mutant on instrumented code, which makes the 10,000-run properties take seconds each; this caps
 * every fast-check property at 250 ms there and stops it at the first counterexample (no shrinking: a
 * mutant needs only to be seen failing). A capped property runs fewer inputs, so it can only miss a
 * mutant, never invent a kill: the score measured is a lower bound. `npm test` is not affected.
 */
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), interruptAfterTimeLimit: 250, markInterruptAsFailure: false, endOnFailure: true });
