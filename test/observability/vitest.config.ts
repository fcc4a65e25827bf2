import { defineConfig } from 'vitest/config';

// The observability and scanner checks (hack/observability.sh and hack/scan.sh run them): the chart's
// dashboards, alerts and GPU autoscaling example with promtool, and the metric consistency check.
export default defineConfig({
  test: {
    name: 'observability',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/observability/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
