import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (in-process, seconds: unit tests and the contract suites) and `e2e` (real
 * servers and gateway processes: integration, runtimes, end to end, chaos, security). `npm test`
 * runs both; `npm run test:unit` the fast one. Deadlines are generous for a loaded 2-core machine;
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
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/integration/**/*.test.ts', 'test/runtime/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/chaos/**/*.test.ts', 'test/security/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
