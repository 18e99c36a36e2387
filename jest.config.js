/** One Jest run for every backend package; the web app has its own Vitest run. */
const swc = JSON.parse(require('node:fs').readFileSync(__dirname + '/.swcrc', 'utf8'));
delete swc.$schema;

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/{contracts,services,worker,bench,infra}/**/*.spec.ts', '<rootDir>/web/e2e/**/*.e2e.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swc, sourceMaps: 'inline', swcrc: false }] },
  moduleNameMapper: {
    '^@agentyard/contracts$': '<rootDir>/contracts/src',
    '^@agentyard/contracts/agent$': '<rootDir>/contracts/src/agent',
    '^@agentyard/(event-store|event-sourcing|messaging|service-kit|local-infra)$': '<rootDir>/services/libs/$1/src',
  },
  globalSetup: '<rootDir>/infra/jest/global-setup.ts',
  globalTeardown: '<rootDir>/infra/jest/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
