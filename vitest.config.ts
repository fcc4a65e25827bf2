import { defineConfig } from 'vitest/config';

// Three layers, as in kubernetes-sigs/jobset: unit tests of pure code (no cluster), integration
// tests of the operator against the real local API server and S3, and the e2e suite that talks to
// whatever KUBECONFIG names (local control plane, kind or EKS).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['operator/src/**/*.test.ts', 'cli/src/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['operator/test/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        // Real containers on the real node (hack/node.sh) from the images `make images` built.
        test: {
          name: 'real',
          include: ['test/real/**/*.test.ts'],
          environment: 'node',
          testTimeout: 420_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        // Faults injected under a mixed workload, invariants checked at the end (test/chaos).
        test: {
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          environment: 'node',
          testTimeout: 900_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        // Fuzzed objects against the real API server and a real operator process (test/fuzz).
        test: {
          name: 'fuzz',
          include: ['test/fuzz/**/*.test.ts'],
          environment: 'node',
          testTimeout: 600_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
