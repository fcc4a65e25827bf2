import { defineConfig } from 'vitest/config';

// The Helm chart's tests (charts/test.sh runs them): static assertions on `helm template` output
// always; install/RBAC/dry-run checks against $KUBECONFIG when CHART_TEST_CLUSTER=1.
export default defineConfig({
  test: {
    name: 'chart',
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/chart/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
