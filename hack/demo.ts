// `make demo`: the main job on the local environment. The cluster and the operator are already up
// (the Makefile starts them). Where the machine runs the real node (hack/node.sh), the demo is the
// real thing: a tiny model (built from a config and put in the local S3, since no weights can be
// downloaded here) is fine-tuned in a real trainer pod with live progress, served by the inference
// image, and asked for a completion. Where it cannot, the demo says so in one line and plays the
// trainer's part instead (kwok's pods run no code, so it writes to S3 what trainer-image/ writes).
import { readFileSync } from 'node:fs';
import { CoreV1Api, BatchV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubectl, waitFor } from '../test/support/cluster.js';
import { s3, writeArtifact, writeProgress } from '../test/support/sim-trainer.js';
import { complete, createS3Secret, ON_REAL_NODE, requireRealNode, seedTinyModel } from '../test/support/real-node.js';

const NAMESPACE = 'ml';
const say = (msg: string) => process.stdout.write(`[demo] ${msg}\n`);

interface Manifest {
  kind?: string;
  metadata: { name: string; namespace?: string };
  spec: Record<string, unknown> & { podMetadata?: { annotations?: Record<string, string> }; hyperparameters?: Record<string, number> };
}

function load(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Manifest).filter(Boolean);
}

const kc = new KubeConfig();
kc.loadFromDefault();
const core = kc.makeApiClient(CoreV1Api);
const batch = kc.makeApiClient(BatchV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);
const crd = { group: 'lathe.dev', version: 'v1alpha1', namespace: NAMESPACE } as const;

async function ignoreExisting(create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch {
    // already there from an earlier demo
  }
}

/** Deletes an object from an earlier demo and waits until it is gone, so this one starts fresh. */
async function replace(plural: string, name: string): Promise<void> {
  try {
    await custom.deleteNamespacedCustomObject({ ...crd, plural, name });
  } catch {
    return; // first demo
  }
  await waitFor(`the previous demo's ${name} to go`, async () => {
    try {
      await custom.getNamespacedCustomObject({ ...crd, plural, name });
      return false;
    } catch {
      return true;
    }
  });
}

async function setUp(real: boolean): Promise<void> {
  kubectl(['apply', '--server-side', '-f', 'examples/namespace.yaml']);
  for (const sa of ['lathe-trainer', 'lathe-inference']) {
    await ignoreExisting(() => core.createNamespacedServiceAccount({ namespace: NAMESPACE, body: { metadata: { name: sa } } }));
  }
  if (real) {
    // The local S3 server's keys, which the operator hands to pods (LATHE_POD_ENV_SECRET); on EKS
    // pods get IRSA instead and no such Secret exists.
    await ignoreExisting(() => createS3Secret(core, NAMESPACE));
  }
}

/** Prints `kubectl get trainingrun` whenever the line changes, until the run has finished. */
async function watchRun(name: string, timeoutMs: number): Promise<string> {
  let last = '';
  return waitFor(`TrainingRun ${name} to finish`, () => {
    const line = kubectl(['get', 'trainingrun', name, '-n', NAMESPACE, '--no-headers']);
    if (line !== last) process.stdout.write(line);
    last = line;
    const phase = /\b(Succeeded|Failed)\b/.exec(line)?.[1];
    return phase;
  }, timeoutMs, 1000);
}

async function realLoop(): Promise<void> {
  const [run] = load('examples/trainingrun-smol-llama.yaml').filter((d) => d.kind === 'TrainingRun');
  const [isvc] = load('examples/inferenceservice-smol-llama.yaml').filter((d) => d.kind === 'InferenceService');
  if (!run || !isvc) throw new Error('examples/ lacks the smol-llama TrainingRun or InferenceService');
  say('seeding a tiny Llama (built from a config) and a stories dataset in the local S3 (no weights can be downloaded here)');
  const seed = seedTinyModel('demo');
  // The example as a user on this machine would change it: the tiny model instead of the Hub's,
  // CPU instead of a GPU (the real node has none), and the real node instead of a GPU node pool.
  const name = run.metadata.name;
  const spec = { ...run.spec, model: seed.model, dataset: { uri: seed.dataset }, spot: false, resources: { gpus: 0, cpu: '1', memory: '3Gi' }, ...ON_REAL_NODE };
  spec.hyperparameters = { epochs: 4, batchSize: 8, learningRate: 0.01, maxSeqLength: 16, seed: 42 };
  await replace('trainingruns', name);
  say(`applying TrainingRun ${NAMESPACE}/${name} (examples/trainingrun-smol-llama.yaml on the tiny model, gpus: 0, on the real node)`);
  kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'lathe.dev/v1alpha1', kind: 'TrainingRun', metadata: { name, namespace: NAMESPACE }, spec }));
  const phase = await watchRun(name, 600_000);
  if (phase !== 'Succeeded') throw new Error(`the run ${phase}: kubectl describe trainingrun ${name} -n ${NAMESPACE}`);
  process.stdout.write(kubectl(['get', 'trainingruns', '-n', NAMESPACE]));

  const svc = isvc.metadata.name;
  await replace('inferenceservices', svc);
  say(`serving it: applying InferenceService ${NAMESPACE}/${svc} (gpus: 0, on the real node)`);
  const svcSpec = { ...isvc.spec, replicas: { min: 1, max: 1 }, resources: { gpus: 0, cpu: '1', memory: '3Gi' }, ...ON_REAL_NODE };
  kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'lathe.dev/v1alpha1', kind: 'InferenceService', metadata: { name: svc, namespace: NAMESPACE }, spec: svcSpec }));
  kubectl(['wait', '--for=condition=Ready', `inferenceservice/${svc}`, '-n', NAMESPACE, '--timeout=300s']);
  process.stdout.write(kubectl(['get', 'inferenceservices', '-n', NAMESPACE]));

  say(`asking it for a completion: kubectl port-forward service/${svc}, then POST /v1/completions`);
  const prompt = 'the quick fox';
  say(`prompt: "${prompt}" -> completion: "${await complete(NAMESPACE, svc, prompt, 12)}"`);
}

async function simulatedLoop(): Promise<void> {
  const storage = s3();
  const [run] = load('examples/trainingrun-smol-llama.yaml').filter((d) => d.kind === 'TrainingRun');
  if (!run) throw new Error('examples/trainingrun-smol-llama.yaml has no TrainingRun');
  const name = run.metadata.name;
  // The pod is held running until the simulated trainer has written its outputs.
  run.spec.podMetadata = { annotations: { ...(run.spec.podMetadata?.annotations ?? {}), 'sim.lathe.dev/hold': 'true' } };
  run.metadata.namespace = NAMESPACE;
  await replace('trainingruns', name);
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
    await replace('inferenceservices', isvc.metadata.name);
    say(`serving it: applying InferenceService ${NAMESPACE}/${isvc.metadata.name}`);
    kubectl(['apply', '-f', '-'], JSON.stringify(isvc));
    kubectl(['wait', '--for=condition=Ready', `inferenceservice/${isvc.metadata.name}`, '-n', NAMESPACE, '--timeout=120s']);
    process.stdout.write(kubectl(['get', 'inferenceservices', '-n', NAMESPACE]));
  }
}

async function main(): Promise<void> {
  let real = true;
  try {
    await requireRealNode(core);
  } catch {
    real = false;
    say(`the real node is not running here (${process.env.LATHE_DEMO_NODE_WHY ?? 'see hack/node.sh check'}): simulating the trainer on the kwok nodes instead`);
  }
  await setUp(real);
  await (real ? realLoop() : simulatedLoop());
  say('done. The cluster and the operator keep running: explore with');
  say(`  export KUBECONFIG=${process.env.KUBECONFIG}; kubectl get ml -A; kubectl describe trainingruns -n ${NAMESPACE}`);
  say('  the operator logs to .cluster/logs/operator.log; `make cluster-down` stops everything');
}

main().catch((err: unknown) => {
  process.stderr.write(`[demo] failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
