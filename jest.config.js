// Three tiers (see ARCHITECTURE.md): colocated unit specs, integration against the real
// Postgres and Redis, end-to-end through HTTP and a real worker process.
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

const shared = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
  transform: {
    // Type checking is `npm run typecheck`'s job (and the build's); tests only transpile
    // (tsconfig's isolatedModules makes ts-jest transpile each file on its own).
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
};

module.exports = {
  // A timeout catches a hang, not a slow machine: real training in a unit test took 2.2× longer
  // on one CI-like machine than on another, and twice that again beside a training job, and
  // jest's 5 s default failed tests that were only slow (speed lives in the benchmarks). A
  // global option: jest ignores it inside a project.
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/scripts'], testMatch: ['**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...shared,
      displayName: 'e2e',
      roots: ['<rootDir>/test/e2e'],
      testMatch: ['**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
