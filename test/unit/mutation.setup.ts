/**
 * Setup for the mutation run only (jest.mutation.config.js). Stryker runs the domain's tests once
 * per mutant on instrumented code, which makes the 10,000-run properties take seconds each; this caps
 * every fast-check property at 2 s there. A capped property runs fewer inputs, so it can only miss a
 * mutant, never invent a kill: the score measured is a lower bound. `npm test` is not affected.
 */
import fc from 'fast-check';

fc.configureGlobal({ ...fc.readConfigureGlobal(), interruptAfterTimeLimit: 2000, markInterruptAsFailure: false });
