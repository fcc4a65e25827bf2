// What every suite that talks to a cluster needs (integration, e2e, chaos, fuzz, real pods, the
// benchmark and the demo): API clients for the cluster KUBECONFIG names (else the local one of
// `make cluster`), throwaway namespaces, kubectl, the CRDs, and polling. Nothing here knows it is
// the local kwok cluster, so the suites run on kind and EKS too.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiextensionsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { fromKubeconfigFiles } from '../../operator/src/client/cluster-access.js';
import { statusCode } from '../../operator/src/client/errors.js';
import { KubeClient } from '../../operator/src/client/kube-client.js';
import { waitFor } from './wait.js';

export { waitFor };

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** $KUBECONFIG, else the local cluster's; no cluster is an error, never a silent skip. */
export function kubeconfigPath(): string {
  const fromEnv = process.env.KUBECONFIG;
  if (fromEnv) return fromEnv;
  const local = path.join(repoRoot, '.cluster/kubeconfig');
  if (existsSync(local)) return local;
  throw new Error('no cluster: set KUBECONFIG, or start the local control plane with `make cluster`');
}

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  ext: ApiextensionsV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
}

/** client-node's clients, for the tests' own calls. */
export function clients(): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    ext: kc.makeApiClient(ApiextensionsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
  };
}

/** The operator's own client for the same cluster, for the code under test. */
export function loadKubeClient(): KubeClient {
  return new KubeClient(fromKubeconfigFiles([kubeconfigPath()]));
}

export function suffix(): string {
  return randomBytes(3).toString('hex');
}

/**
 * A throwaway namespace `<prefix>-<random>` with `serviceAccounts` in it (e.g. lathe-trainer, as the
 * Helm chart creates it in training namespaces).
 */
export async function createNamespace(core: CoreV1Api, prefix: string, labels: Record<string, string> = {}, serviceAccounts: string[] = []): Promise<string> {
  const name = `${prefix}-${suffix()}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'lathe.dev/e2e': 'true', ...labels } } } });
  for (const sa of serviceAccounts) await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: sa } } });
  // Pods can't be created before the namespace's default ServiceAccount exists.
  await waitFor(`default ServiceAccount in ${name}`, async () => {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return true;
    } catch {
      return false;
    }
  });
  return name;
}

export interface TestNamespace {
  kc: KubeConfig;
  /** The operator's client (operator/src/client), which the code under test takes. */
  client: KubeClient;
  name: string;
  /** Deletes the namespace (does not wait: finalization needs kube-controller-manager) and closes `client`. */
  cleanup(): Promise<void>;
}

/** For the integration tests: `<prefix>-<random>` with the operator's own client beside client-node's. */
export async function createTestNamespace(prefix = 'lathe-test'): Promise<TestNamespace> {
  const { kc, core } = clients();
  const name = `${prefix}-${suffix()}`;
  await core.createNamespace({ body: { metadata: { name, labels: { 'lathe.dev/test': 'true' } } } });
  const client = loadKubeClient();
  return {
    kc,
    client,
    name,
    cleanup: async () => {
      await deleteNamespace(core, name);
      client.close();
    },
  };
}

export async function deleteNamespace(core: CoreV1Api, name: string): Promise<void> {
  try {
    await core.deleteNamespace({ name, propagationPolicy: 'Background' });
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
}

/** kubectl of the environment (on PATH; `make test-e2e` puts the local one first). */
export function kubectl(args: string[], input?: string): string {
  return execFileSync(process.env.KUBECTL ?? 'kubectl', args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, KUBECONFIG: kubeconfigPath() },
    maxBuffer: 16 << 20,
  });
}

/** Installs (or updates) Lathe's CRDs and waits until the API server serves them. */
export function ensureCrds(): void {
  // An installed operator (LATHE_E2E_OPERATOR=external) came with its CRDs from the Helm chart.
  if (process.env.LATHE_E2E_OPERATOR !== 'external') {
    kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=lathe-e2e', '-f', process.env.LATHE_E2E_CRDS ?? path.join(repoRoot, 'crds')]);
  }
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/trainingruns.lathe.dev', 'crd/inferenceservices.lathe.dev']);
}
