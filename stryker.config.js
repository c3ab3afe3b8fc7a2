/**
 * Mutation testing of the domain core: `npm run test:mutation`. Stryker changes src/domain one small
 * edit at a time (a `>=` into `>`, a `.trim()` removed, a string emptied) and runs the domain's unit
 * tests against each change; a change no test notices ("survived") is behaviour nothing pins.
 * The run fails below 90 % (thresholds.break). Reports: reports/mutation/ (HTML and JSON).
 * CPU heavy: on a shared machine run it with `nice` and `--concurrency 1`.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
module.exports = {
  packageManager: 'npm',
  testRunner: 'jest',
  jest: {
    projectType: 'custom',
    configFile: 'jest.mutation.config.js',
    enableFindRelatedTests: false,
  },
  coverageAnalysis: 'perTest',
  mutate: ['src/domain/**/*.ts'],
  thresholds: { high: 95, low: 90, break: 90 },
  concurrency: 2,
  // A mutant that makes a loop endless is stopped (and counted as detected) after 1.5 × the normal run + 8 s (generous: a slow run on a loaded machine must not pass for a kill).
  timeoutMS: 8000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'coverage', 'reports', '.wid-world', 'bench/results', 'jest-results.json'],
  cleanTempDir: true,
  // Re-runs only the mutants whose code or covering tests changed since the last run (reports/stryker-incremental.json);
  // `npm run test:mutation -- --force` runs them all.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
};
