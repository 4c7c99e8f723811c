import { defineConfig } from 'vitest/config';

// `npm run chaos`: every fault-injection scenario at full scale, one file at a
// time so scenarios do not load each other's cores, then RELIABILITY.md is
// rewritten from what they measured.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    env: { ETCD_EDGE_CHAOS: 'full' },
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/build.ts', 'test/chaos/support/report.ts'],
  },
});
