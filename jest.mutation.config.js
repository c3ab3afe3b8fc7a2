/**
 * Jest config for mutation testing (`npm run test:mutation`, stryker.config.js): the unit tests of the
 * domain core only. They are pure (no Redis, no emulators, no TLS), so this config has none of the main
 * config's global Redis setup; the transform is the same swc one.
 * @type {import('jest').Config}
 */
const main = require('./jest.config');

module.exports = {
  testEnvironment: 'node',
  rootDir: __dirname,
  roots: ['<rootDir>/test/unit'],
  // The unit tests at the top of test/unit and under test/unit/golden exercise src/domain; cli.test.ts
  // spawns the CLI and harness.test.ts starts Redis, so they stay out.
  testMatch: ['<rootDir>/test/unit/*.test.ts', '<rootDir>/test/unit/golden/*.test.ts', '<rootDir>/test/unit/domain/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/unit/cli\\.test\\.ts$', '<rootDir>/test/unit/harness\\.test\\.ts$'],
  transform: main.transform,
  transformIgnorePatterns: main.transformIgnorePatterns,
  setupFilesAfterEnv: ['<rootDir>/test/unit/mutation.setup.ts'],
  testTimeout: 30000,
};
