import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/build.ts'],
    // Vitest runs cores - 1 files at once: one on CI's 2 cores. The slow tests mostly wait
    // (on etcd, processes, timers), so two at once take half the time on the same cores.
    maxWorkers: 2,
  },
});
