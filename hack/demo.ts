// `make demo`: the main job on the local environment. The cluster and the operator are already up
// (the Makefile starts them); this applies the smol_llama example run, plays the trainer's part
// (kwok's pods run no code, so the demo writes to S3 what trainer-image/ writes, and says so),
// waits for Succeeded, then serves the model with the example InferenceService.
import { readFileSync } from 'node:fs';
import { CoreV1Api, BatchV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubectl, waitFor } from '../test/e2e/support.js';
import { s3, writeArtifact, writeProgress } from '../test/e2e/sim-trainer.js';

const NAMESPACE = 'ml';
const say = (msg: string) => process.stdout.write(`[demo] ${msg}\n`);

interface Manifest {
  kind?: string;
  metadata: { name: string; namespace?: string };
  spec: { podMetadata?: { annotations?: Record<string, string> }; hyperparameters?: { epochs?: number } };
}

function load(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Manifest).filter(Boolean);
}

async function main(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const core = kc.makeApiClient(CoreV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const storage = s3();

  kubectl(['apply', '--server-side', '-f', 'examples/namespace.yaml']);
  for (const sa of ['lathe-trainer', 'lathe-inference']) {
    try {
      await core.createNamespacedServiceAccount({ namespace: NAMESPACE, body: { metadata: { name: sa } } });
    } catch {
      // already there from an earlier demo
    }
  }

  const [run] = load('examples/trainingrun-smol-llama.yaml').filter((d) => d.kind === 'TrainingRun');
  if (!run) throw new Error('examples/trainingrun-smol-llama.yaml has no TrainingRun');
  const name = run.metadata.name;
  // The pod is held running until the simulated trainer has written its outputs.
  run.spec.podMetadata = { annotations: { ...(run.spec.podMetadata?.annotations ?? {}), 'sim.lathe.dev/hold': 'true' } };
  run.metadata.namespace = NAMESPACE;
  try {
    await custom.deleteNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: NAMESPACE, plural: 'trainingruns', name });
    await waitFor('the previous demo run to go', async () => {
      try {
        await custom.getNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: NAMESPACE, plural: 'trainingruns', name });
        return false;
      } catch {
        return true;
      }
    });
  } catch {
    // first demo
  }
  say(`applying TrainingRun ${NAMESPACE}/${name} (examples/trainingrun-smol-llama.yaml)`);
  kubectl(['apply', '-f', '-'], JSON.stringify(run));

  const job = await waitFor('the Job', () => batch.readNamespacedJob({ name: `${name}-1`, namespace: NAMESPACE }));
  say(`operator created Job ${job.metadata!.name}; waiting for its pod on a GPU node`);
  const pod = await waitFor('a running trainer pod', async () => {
    const pods = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `batch.kubernetes.io/controller-uid=${job.metadata!.uid}` })).items;
    return pods.find((p) => p.status?.phase === 'Running');
  });
  say(`pod ${pod.metadata!.name} runs on ${pod.spec!.nodeName}`);
  say('simulating the trainer (kwok pods run no code): writing progress.json, checkpoint/ and metadata.json to S3 as trainer-image/ does');
  const epochs = Number(run.spec.hyperparameters?.epochs ?? 3);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    await writeProgress(storage, job, { epoch, epochs, step: epoch * 10, loss: Number((2.4 / epoch).toFixed(3)) });
    await new Promise((r) => setTimeout(r, 1500));
    process.stdout.write(kubectl(['get', 'trainingrun', name, '-n', NAMESPACE, '--no-headers']));
  }
  await writeArtifact(storage, job);
  kubectl(['annotate', 'pod', pod.metadata!.name!, '-n', NAMESPACE, 'sim.lathe.dev/exit=0', '--overwrite']);
  kubectl(['wait', '--for=condition=Succeeded', `trainingrun/${name}`, '-n', NAMESPACE, '--timeout=120s']);
  say('the run Succeeded:');
  process.stdout.write(kubectl(['get', 'trainingruns', '-n', NAMESPACE]));

  const [isvc] = load('examples/inferenceservice-smol-llama.yaml').filter((d) => d.kind === 'InferenceService');
  if (isvc) {
    isvc.metadata.namespace = NAMESPACE;
    say(`serving it: applying InferenceService ${NAMESPACE}/${isvc.metadata.name}`);
    kubectl(['apply', '-f', '-'], JSON.stringify(isvc));
    kubectl(['wait', '--for=condition=Ready', `inferenceservice/${isvc.metadata.name}`, '-n', NAMESPACE, '--timeout=120s']);
    process.stdout.write(kubectl(['get', 'inferenceservices', '-n', NAMESPACE]));
  }
  say('done. The cluster and the operator keep running: explore with');
  say(`  export KUBECONFIG=${process.env.KUBECONFIG}; kubectl get ml -A; kubectl describe trainingrun ${name} -n ${NAMESPACE}`);
  say('  the operator logs to .cluster/logs/operator.log; `make cluster-down` stops everything');
}

main().catch((err: unknown) => {
  process.stderr.write(`[demo] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
