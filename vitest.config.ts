import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report is what CI counts; the default reporter is for people.
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});
