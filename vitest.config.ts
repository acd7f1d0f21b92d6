import { configDefaults, defineConfig } from 'vitest/config';

/** Folders whose tests start real servers or gateway processes; every other test file is a unit test. */
const E2E = ['test/integration', 'test/runtime', 'test/e2e', 'test/chaos', 'test/security'];

/**
 * Two projects: `unit` (in-process, seconds: unit tests and the contract suites) and `e2e` (real
 * servers and gateway processes: integration, runtimes, end to end, chaos, security). `npm test`
 * runs both, and a test file in a new folder lands in `unit` rather than in neither; `npm run
 * test:unit` the fast one. Deadlines are generous for a loaded 2-core machine;
 * waits inside tests use test/fixtures/wait.ts (SWITCHBOARD_TEST_WAIT_MS).
 */
export default defineConfig({
  test: {
    pool: 'forks',
    // The JSON report is what CI counts; the default reporter is for people.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...E2E.map((d) => `${d}/**`)], testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: E2E.map((d) => `${d}/**/*.test.ts`),
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
