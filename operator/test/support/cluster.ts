// Shared helpers for tests that run against a real API server: a KubeConfig for the cluster named by
// KUBECONFIG (the Makefile sets it; falls back to <repo>/.cluster/kubeconfig from `make cluster`),
// and a throwaway namespace per test file so suites never see each other's objects.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { fromKubeconfigFiles } from '../../src/client/cluster-access.js';
import { KubeClient } from '../../src/client/kube-client.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

export function kubeconfigPath(): string {
  const fromEnv = process.env.KUBECONFIG;
  if (fromEnv) return fromEnv;
  const local = path.join(REPO_ROOT, '.cluster/kubeconfig');
  if (existsSync(local)) return local;
  throw new Error('no cluster: set KUBECONFIG, or start the local control plane with `make cluster`');
}

/** A KubeConfig for the test cluster. Throws (rather than skipping tests) when there is none. */
export function loadKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/** The operator's own client for the same cluster, for the code under test. */
export function loadKubeClient(): KubeClient {
  return new KubeClient(fromKubeconfigFiles([kubeconfigPath()]));
}

export function randomSuffix(length = 6): string {
  return Math.random()
    .toString(36)
    .slice(2, 2 + length)
    .padEnd(length, '0');
}

export interface TestNamespace {
  kc: KubeConfig;
  /** The operator's client (src/client), which the code under test takes. */
  client: KubeClient;
  name: string;
  /** Deletes the namespace (does not wait: finalization needs kube-controller-manager) and closes `client`. */
  cleanup(): Promise<void>;
}

/** Creates `<prefix>-<random>`, labelled lathe.dev/test=true so stray ones are easy to find. */
export async function createTestNamespace(prefix = 'lathe-test', kc: KubeConfig = loadKubeConfig()): Promise<TestNamespace> {
  const core = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${randomSuffix()}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'lathe.dev/test': 'true' } } } });
  // The ServiceAccount controller adds `default` shortly after; tests that create Pods may need it.
  const client = loadKubeClient();
  return {
    kc,
    client,
    name,
    cleanup: async () => {
      await deleteNamespace(kc, name);
      client.close();
    },
  };
}

export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.deleteNamespace({ name });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { waitFor } from '../../../test/support/wait.js';
