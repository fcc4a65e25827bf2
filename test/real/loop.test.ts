// The whole loop in real containers on the real node (hack/node.sh), through the operator, with the
// images `make images` built from the project's Dockerfiles: a tiny model fine-tuned in a trainer
// pod, its outputs turned into status and a run record, a bad dataset failing with the trainer's own
// message, then the model served by the inference image and answering a completion through its
// Service. Everything runs in a namespace that enforces Pod Security "restricted", as the trainer
// and server do on EKS (read-only root, UID 10001, no capabilities); only the GPUs are missing
// (gpus: 0), which is why the kwok nodes stay for GPU scheduling.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, deleteNamespace, ensureCrds, kubectl, trainingRunManifest, waitFor } from '../e2e/support.js';
import { startOperator, type OperatorProcess } from '../e2e/operator-process.js';
import { describePod, imageRef, ON_REAL_NODE, REAL_NODE, requireRealNode, restrictedNamespace, seedTinyModel, type Seed } from './support.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const s3 = new S3Client({ forcePathStyle: true });
const group = { group: 'lathe.dev', version: 'v1alpha1' } as const;
let ns = '';
let seed: Seed;
let operator: OperatorProcess | undefined;

interface Status {
  phase?: string;
  message?: string;
  progress?: { epoch?: number; epochs?: number; loss?: number };
  artifact?: { uri?: string; metadataUri?: string; recordUri?: string };
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

async function status(plural: 'trainingruns' | 'inferenceservices', name: string): Promise<Status> {
  const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural, name })) as { status?: Status };
  return obj.status ?? {};
}

async function pods(selector: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
}

async function s3Json(uri: string): Promise<Record<string, unknown>> {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new Error(`not an s3:// URI: ${uri}`);
  const res = await s3.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
  return JSON.parse(await res.Body!.transformToString()) as Record<string, unknown>;
}

/** Waits for a phase, failing early (with the pods' states) when the run ends in another one. */
async function waitRun(name: string, phase: 'Succeeded' | 'Failed', timeoutMs: number): Promise<Status> {
  try {
    return await waitFor(`TrainingRun ${name} to be ${phase}`, async () => {
      const s = await status('trainingruns', name);
      if (s.phase && ['Succeeded', 'Failed'].includes(s.phase) && s.phase !== phase) throw new Error(`run ended ${s.phase}: ${s.message}`);
      return s.phase === phase ? s : undefined;
    }, timeoutMs, 1000);
  } catch (err) {
    const states = (await pods(`lathe.dev/training-run=${name}`)).map(describePod).join('\n');
    throw new Error(`${(err as Error).message}\npods:\n${states}`, { cause: err });
  }
}

const tiny = (name: string, spec: Record<string, unknown> = {}) =>
  trainingRunManifest(name, {
    model: seed.model,
    dataset: { uri: seed.dataset },
    hyperparameters: { epochs: 3, batchSize: 8, learningRate: 0.01, maxSeqLength: 16, seed: 1 },
    resources: { gpus: 0, cpu: '1', memory: '3Gi' },
    ...ON_REAL_NODE,
    ...spec,
  });

beforeAll(async () => {
  await requireRealNode(core);
  ensureCrds();
  ns = await restrictedNamespace(core, 'real');
  seed = seedTinyModel(`real/${ns}`);
  operator = await startOperator({
    env: { LATHE_TRAINER_IMAGE: imageRef('trainer'), LATHE_INFERENCE_IMAGE: imageRef('inference'), LATHE_PROGRESS_POLL_MS: '1000' },
  });
});

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(core, ns);
});

describe('the whole loop in real pods', () => {
  const run = 'tiny-stories';

  it('fine-tunes a tiny model in a real trainer pod to Succeeded, with loss falling, checkpoints, metadata.json and run.json', async () => {
    await custom.createNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', body: tiny(run) });
    const s = await waitRun(run, 'Succeeded', 300_000);

    const [pod] = await pods(`lathe.dev/training-run=${run}`);
    expect(pod?.spec?.nodeName).toBe(REAL_NODE);
    expect(pod?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    // kubectl logs reaches the kubelet through the API server.
    expect(kubectl(['logs', '-n', ns, pod!.metadata!.name!])).toMatch(/epoch/i);

    expect(s.artifact?.uri).toMatch(/^s3:\/\/lathe-artifacts\/models\/tiny-stories\/.+\/checkpoint\/$/);
    const metadata = (await s3Json(s.artifact!.metadataUri!)) as { metrics: { epochs: { loss: number }[] }; files: unknown[] };
    const losses = metadata.metrics.epochs.map((e) => e.loss);
    expect(losses).toHaveLength(3);
    expect(losses[2]!).toBeLessThan(losses[0]!);
    expect(metadata.files.length).toBeGreaterThan(0);
    const record = await s3Json(s.artifact!.recordUri!);
    expect(record).toMatchObject({ phase: 'Succeeded' });
  });

  it('fails a run whose dataset does not exist at once, with the trainer’s one-line message in status', async () => {
    const name = 'no-dataset';
    await custom.createNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', body: tiny(name, { dataset: { uri: `s3://lathe-datasets/real/${ns}/absent.jsonl` }, retries: 3 }) });
    const s = await waitRun(name, 'Failed', 180_000);
    expect(s.message).toMatch(/absent\.jsonl/);
    // Bad input is not retried (the trainer's exit code 2 fails the Job at once).
    expect(await pods(`lathe.dev/training-run=${name}`)).toHaveLength(1);
  });

  it('serves the trained model: Ready once loaded, answering a completion through its Service (port-forward) as UID 10001', async () => {
    const name = 'tiny-writer';
    await custom.createNamespacedCustomObject({
      ...group,
      namespace: ns,
      plural: 'inferenceservices',
      body: {
        apiVersion: 'lathe.dev/v1alpha1',
        kind: 'InferenceService',
        metadata: { name },
        spec: { model: { trainingRun: run }, task: 'text-generation', replicas: { min: 1, max: 1 }, resources: { gpus: 0, cpu: '1', memory: '3Gi' }, ...ON_REAL_NODE },
      },
    });
    await waitFor(`InferenceService ${name} to be Ready`, async () => {
      const s = await status('inferenceservices', name);
      return s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 240_000, 1000).catch(async (err: unknown) => {
      const states = (await pods(`lathe.dev/inference-service=${name}`)).map(describePod).join('\n');
      throw new Error(`${(err as Error).message}\npods:\n${states}`, { cause: err });
    });

    const [pod] = (await pods(`lathe.dev/inference-service=${name}`)).filter((p) => p.status?.phase === 'Running');
    expect(pod?.spec?.nodeName).toBe(REAL_NODE);
    expect(kubectl(['exec', '-n', ns, pod!.metadata!.name!, '--', 'id', '-u']).trim()).toBe('10001');

    const forward = spawn('kubectl', ['port-forward', '-n', ns, `service/${name}`, ':80'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        forward.stdout.on('data', (b: Buffer) => {
          const m = /127\.0\.0\.1:(\d+)/.exec(b.toString());
          if (m) resolve(Number(m[1]));
        });
        forward.on('exit', (code) => reject(new Error(`kubectl port-forward exited ${code}`)));
      });
      const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: name, prompt: 'the red cat', max_tokens: 8 }),
      });
      const body = (await res.json()) as { choices?: { text?: string }[] };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.choices?.[0]?.text?.length).toBeGreaterThan(0);
    } finally {
      forward.kill();
      await once(forward, 'exit').catch(() => undefined);
    }
  });
});

