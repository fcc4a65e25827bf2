// What every e2e test needs: API clients for the cluster KUBECONFIG names, a throwaway namespace,
// and polling. Nothing here knows it is the local kwok cluster, so the suite runs on kind and EKS.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { TrainingRun } from '../../operator/src/api/trainingrun.js';
import { statusCode } from '../../operator/src/client/errors.js';
import { waitFor } from '../support/wait.js';

export { waitFor };

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
}

export function clients(): Clients {
  const kc = new KubeConfig();
  if (!process.env.KUBECONFIG) throw new Error('KUBECONFIG is not set: run `make cluster` or point it at a cluster');
  kc.loadFromDefault();
  return { kc, core: kc.makeApiClient(CoreV1Api), batch: kc.makeApiClient(BatchV1Api) };
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

export async function deleteNamespace(core: CoreV1Api, name: string): Promise<void> {
  try {
    await core.deleteNamespace({ name, propagationPolicy: 'Background' });
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
  }
}

/** A fine-tune of the reference text model (as examples/trainingrun-smol-llama.yaml), with `spec` over it. */
export function trainingRunManifest(name: string, spec: Record<string, unknown> = {}): TrainingRun {
  return {
    apiVersion: 'lathe.dev/v1alpha1',
    kind: 'TrainingRun',
    metadata: { name },
    spec: {
      model: 'hf://BEE-spoke-data/smol_llama-101M-GQA',
      task: 'text-generation',
      dataset: { uri: 's3://lathe-datasets/tinystories.jsonl' },
      ...spec,
    },
  };
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** kubectl of the environment (on PATH; `make test-e2e` puts the local one first). */
export function kubectl(args: string[], input?: string): string {
  return execFileSync('kubectl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Installs (or updates) Lathe's CRDs and waits until the API server serves them. */
export function ensureCrds(): void {
  // An installed operator (LATHE_E2E_OPERATOR=external) came with its CRDs from the Helm chart.
  if (process.env.LATHE_E2E_OPERATOR !== 'external') {
    kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=lathe-e2e', '-f', process.env.LATHE_E2E_CRDS ?? path.join(repoRoot, 'crds')]);
  }
  kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/trainingruns.lathe.dev', 'crd/inferenceservices.lathe.dev']);
}
