// What the real-pods suite needs beyond the e2e suite's helpers: the real node, the images built by
// `make images`, a namespace that enforces Pod Security "restricted" with the S3 keys the local
// pods use, and the tiny model and dataset seeded in S3 (no weights can be downloaded here).
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import type { TrainingRun } from '../../operator/src/api/schema/trainingrun.js';
import { makeTrainingRun } from './builders.js';
import { createNamespace, deleteNamespace, repoRoot, waitFor } from './cluster.js';
import { withPortForward } from '../../cli/src/port-forward.js';
import { startOperator, type OperatorProcess } from './operator-process.js';

export { withPortForward };

/** hack/node.sh's node: its label and taint, which only pods that ask for it tolerate. */
export const REAL_NODE = 'lathe-node';
export const ON_REAL_NODE: Pick<TrainingRun['spec'], 'nodeSelector' | 'tolerations'> = {
  nodeSelector: { 'lathe.dev/node-pool': 'local' },
  tolerations: [{ key: 'lathe.dev/real-node', operator: 'Exists', effect: 'NoSchedule' }],
};

/** The names hack/images.sh load gives the images in the node's containerd. */
export function imageRef(image: 'operator' | 'trainer' | 'inference'): string {
  return execFileSync(path.join(repoRoot, 'hack/images.sh'), ['ref', image], { encoding: 'utf8' }).trim();
}

/**
 * Fails (never skips) when the node is not there: this suite exists to run real pods. A node that
 * is there gets a minute to report Ready (a kubelet just restarted, e.g. by `make cluster`).
 */
export async function requireRealNode(core: CoreV1Api): Promise<void> {
  const isReady = async () => {
    try {
      const node = await core.readNode({ name: REAL_NODE });
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    } catch {
      return undefined; // absent
    }
  };
  let ready = await isReady();
  for (let i = 0; ready === false && i < 60; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    ready = await isReady();
  }
  if (!ready) throw new Error(`node ${REAL_NODE} is not Ready: this suite needs the real node (make cluster on a machine where \`hack/node.sh check\` says it is available, then make images)`);
}

/** The Secret the operator's LATHE_POD_ENV_SECRET names: the local S3 server's keys (never on EKS). */
export const S3_SECRET = process.env.LATHE_POD_ENV_SECRET ?? 'lathe-s3-credentials';

/** The Secret named S3_SECRET in `namespace`, with the local S3 server's keys from .cluster/s3.env. */
export async function createS3Secret(core: CoreV1Api, namespace: string): Promise<void> {
  const env = (k: string) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set: run with .cluster/s3.env exported (make test-real, make demo)`);
    return v;
  };
  await core.createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: S3_SECRET },
      stringData: { AWS_ACCESS_KEY_ID: env('AWS_ACCESS_KEY_ID'), AWS_SECRET_ACCESS_KEY: env('AWS_SECRET_ACCESS_KEY'), AWS_REGION: env('AWS_REGION') },
    },
  });
}

/**
 * A namespace enforcing "restricted", with the local S3 keys and the workload ServiceAccounts (as
 * the Helm chart creates them; pass [] where the chart itself will).
 */
export async function restrictedNamespace(core: CoreV1Api, prefix: string, serviceAccounts = ['lathe-trainer', 'lathe-inference']): Promise<string> {
  const labels = {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
  };
  const ns = await createNamespace(core, prefix, labels, serviceAccounts);
  await createS3Secret(core, ns);
  return ns;
}

export interface Seed {
  /** The tiny LM, a save_pretrained directory. */
  model: string;
  /** JSON lines of stories for it. */
  dataset: string;
  /** An ImageFolder of two classes, for image-classification. */
  images: string;
  /** The smallest Sana Sprint pipeline (text-to-image), random weights. */
  imageModel: string;
  /** A model directory whose config.json is garbage: no server can load it. */
  broken: string;
}

/**
 * A TrainingRun of the seeded tiny model on the real node: three epochs of the stories on CPU
 * (gpus: 0), the trainer image's defaults otherwise. Tests change what they are about.
 */
export function tinyRun(name: string, seed: Seed) {
  return makeTrainingRun(name)
    .model(seed.model)
    .dataset(seed.dataset)
    .hyperparameters({ epochs: 3, batchSize: 8, learningRate: 0.01, maxSeqLength: 16, seed: 1 })
    .resources({ gpus: 0, cpu: '1', memory: '3Gi' })
    .spec(ON_REAL_NODE);
}

/**
 * An InferenceService of a tiny model on the real node: one replica on CPU (gpus: 0). `model` is the
 * spec's model (`{uri}` or `{trainingRun}`).
 */
export function tinyService(name: string, model: Record<string, string>, task = 'text-generation'): Record<string, unknown> {
  return {
    apiVersion: 'lathe.dev/v1alpha1',
    kind: 'InferenceService',
    metadata: { name },
    spec: { model, task, replicas: { min: 1, max: 1 }, resources: { gpus: 0, cpu: '1', memory: '3Gi' }, ...ON_REAL_NODE },
  };
}

/** Builds the tiny models and datasets (hack/seed.py) under s3://lathe-datasets/<prefix>/. */
export function seedTinyModel(prefix: string): Seed {
  const venv = execFileSync(path.join(repoRoot, 'hack/python-env.sh'), { encoding: 'utf8' }).trim();
  const out = execFileSync(path.join(venv, 'bin/python'), [path.join(repoRoot, 'hack/seed.py'), prefix], { encoding: 'utf8' });
  return JSON.parse(out) as Seed;
}

/** The one-line state of a pod, for failure messages. */
export function describePod(pod: V1Pod): string {
  const cs = pod.status?.containerStatuses?.[0];
  const state = cs?.state?.waiting ?? cs?.state?.terminated ?? cs?.state?.running;
  return `${pod.metadata?.name} on ${pod.spec?.nodeName ?? '-'}: ${pod.status?.phase} ${JSON.stringify(state ?? {})}`;
}

/** `kubectl logs -f` of a pod, collected while it runs: what a pod said before it was deleted. */
export function followLogs(namespace: string, pod: string): { text: () => string; stop: () => void } {
  const proc = spawn('kubectl', ['logs', '-f', '-n', namespace, pod], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return { text: () => out, stop: () => proc.kill() };
}

/** POST `body` to `path` of an InferenceService through a port-forward to its Service; the JSON answer. */
async function post<T>(namespace: string, service: string, path: string, body: unknown): Promise<T> {
  return withPortForward(namespace, `service/${service}`, 80, async (port) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${path} of ${service} failed: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  });
}

/** POST /v1/completions, greedy: the generated text. */
export async function complete(namespace: string, service: string, prompt: string, maxTokens = 8): Promise<string> {
  const body = await post<{ choices?: { text?: string }[] }>(namespace, service, '/v1/completions', { model: service, prompt, max_tokens: maxTokens, temperature: 0 });
  return body.choices?.[0]?.text ?? '';
}

/** POST /v1/chat/completions with one user message, greedy: the assistant's reply. */
export async function chat(namespace: string, service: string, message: string, maxTokens = 8): Promise<string> {
  const body = await post<{ choices?: { message?: { role?: string; content?: string } }[] }>(namespace, service, '/v1/chat/completions', {
    model: service,
    messages: [{ role: 'user', content: message }],
    max_tokens: maxTokens,
    temperature: 0,
  });
  const reply = body.choices?.[0]?.message;
  if (reply?.role !== 'assistant') throw new Error(`no assistant message in ${JSON.stringify(body)}`);
  return reply.content ?? '';
}

/**
 * Deletes a namespace and waits until it is gone: its pods are real processes, and the suites that
 * run after this one should not share the two cores with trainers and servers still stopping.
 */
export async function deleteNamespaceAndWait(core: CoreV1Api, name: string): Promise<void> {
  await deleteNamespace(core, name);
  await waitFor(`namespace ${name} to be gone`, async () => {
    try {
      await core.readNamespace({ name });
      return false;
    } catch {
      return true;
    }
  }, 180_000, 1000);
}

/** What a real-pods suite of the whole loop starts with: its namespace, the seeded tiny model, an operator. */
export interface LoopSuite {
  ns: string;
  seed: Seed;
  operator: OperatorProcess;
}

/**
 * The real node checked, the CRDs applied, a restricted namespace `<prefix>-…` with the tiny model
 * seeded for it, and an operator using the local images that polls progress every second.
 */
export async function startLoopSuite(core: CoreV1Api, prefix: string, ensureCrds: () => void): Promise<LoopSuite> {
  await requireRealNode(core);
  ensureCrds();
  const ns = await restrictedNamespace(core, prefix);
  const seed = seedTinyModel(`${prefix}/${ns}`);
  const operator = await startOperator({
    env: { LATHE_TRAINER_IMAGE: imageRef('trainer'), LATHE_INFERENCE_IMAGE: imageRef('inference'), LATHE_PROGRESS_POLL_MS: '1000' },
  });
  return { ns, seed, operator };
}

/** Stops what startLoopSuite started, the namespace's pods included. */
export async function stopLoopSuite(core: CoreV1Api, suite: LoopSuite | undefined): Promise<void> {
  await suite?.operator.stop();
  if (suite?.ns) await deleteNamespaceAndWait(core, suite.ns);
}
