import { defineConfig } from 'vitest/config';

// The same suites that prove exactness, crash safety, the shared screen rooms and the push's kept sums, run again on a
// real Redis Cluster with a partitioned stream; plus the cluster's own failover and reconciliation tests.
export default defineConfig({
  test: {
    include: ['test/exactness.test.ts', 'test/crash.test.ts', 'test/screen-socket.test.ts', 'test/settled-sums.test.ts', 'test/cluster-failover.test.ts', 'test/cluster-reconcile.test.ts'],
    // the stores (test/global-setup.ts), then the cluster in place of the single Redis
    globalSetup: ['test/global-setup.ts', 'test/cluster-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    reporters: ['default', ['json', { outputFile: 'test/artifacts/vitest-cluster.json' }]],
  },
});
