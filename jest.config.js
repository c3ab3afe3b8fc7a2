/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/clients drives the real az/kubectl (npm run test:clients); test/chaos is npm run test:chaos.
  testPathIgnorePatterns: ['/node_modules/', '/test/chaos/', '/test/clients/'],
  transform: {
    '^.+\\.(t|j|mj)s$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose|@marcbachmann/cel-js)/)'],
  globalSetup: '<rootDir>/test/support/redis-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/redis-global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
