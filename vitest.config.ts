import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the Redis Cluster's own tests run in the cluster half of npm test (vitest.cluster.config.ts)
    exclude: ['test/cluster-*.test.ts', '**/node_modules/**'],
    // the stores and Chromium the tests need: found, started or installed (test/global-setup.ts)
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // files run one at a time: the crash and speed-sensitive suites share a 2-core machine
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: 'test/artifacts/vitest.json' }]],
  },
});
