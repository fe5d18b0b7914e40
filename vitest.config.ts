import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // files run one at a time: the crash and speed-sensitive suites share a 2-core machine
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: 'test/artifacts/vitest.json' }]],
  },
});
