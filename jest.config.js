// Four tiers (see ARCHITECTURE.md), each a project (`jest --selectProjects <name>`):
//   unit         colocated *.spec.ts: tiny tensors, single optimizer steps, no services
//   training     colocated *.training.spec.ts: specs that train a model on data first
//                (trainClassifier epochs, model.fit, the trained-model fixtures)
//   integration  test/integration against the real Postgres and Redis
//   e2e          test/e2e through HTTP and real API and worker processes from dist/
//   chaos        test/chaos: API and worker processes from dist/ against a Redis and a Postgres
//                of each test's own (test/support/private-services.ts), which it kills and stops
//   latency      test/latency: bounds on how long a real API process keeps others waiting;
//                scripts/test.sh runs them last and alone, so they measure the API, not the
//                other tests sharing its cores
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

const colocated = ['<rootDir>/libs', '<rootDir>/apps', '<rootDir>/scripts'];

module.exports = {
  // A timeout catches a hang, not a slow machine: a training spec runs several times slower
  // beside a training job, and jest's 5 s default failed specs that were only slow (speed lives
  // in the benchmarks). A global option: jest ignores it inside a project.
  testTimeout: 60_000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      roots: colocated,
      testMatch: ['**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.training\\.spec\\.ts$'],
    },
    { ...shared, displayName: 'training', roots: colocated, testMatch: ['**/*.training.spec.ts'] },
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
    // No global setup: these tests never use the machine's Postgres and Redis.
    { ...shared, displayName: 'chaos', roots: ['<rootDir>/test/chaos'], testMatch: ['**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'latency',
      roots: ['<rootDir>/test/latency'],
      testMatch: ['**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
