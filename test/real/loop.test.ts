// The whole loop in real containers on the real node (hack/node.sh), through the operator, with the
// images `make images` built from the project's Dockerfiles: a tiny model fine-tuned in a trainer
// pod, its outputs turned into status and a run record, a bad dataset failing with the trainer's own
// message, then the model served by the inference image and answering a completion through its
// Service. Everything runs in a namespace that enforces Pod Security "restricted", as the trainer
// and server do on EKS (read-only root, UID 10001, no capabilities); only the GPUs are missing
// (gpus: 0), which is why the kwok nodes stay for GPU scheduling.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, ensureCrds, kubectl, waitFor } from '../support/cluster.js';
import { chat, complete, describePod, REAL_NODE, followLogs, startLoopSuite, stopLoopSuite, tinyRun, tinyService, withPortForward, type LoopSuite, type Seed } from '../support/real-node.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const s3 = new S3Client({ forcePathStyle: true });
const group = { group: 'lathe.dev', version: 'v1alpha1' } as const;
let ns = '';
let seed: Seed;

interface Status {
  phase?: string;
  preemptions?: number;
  message?: string;
  progress?: { epoch?: number; epochs?: number; loss?: number };
  artifact?: { uri?: string; metadataUri?: string; recordUri?: string };
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

async function status(plural: 'trainingruns' | 'inferenceservices', name: string): Promise<Status> {
  const obj = (await custom.getNamespacedCustomObject({ ...group, namespace: ns, plural, name })) as { status?: Status };
  return obj.status ?? {};
}

async function createRun(body: object): Promise<void> {
  await custom.createNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', body });
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

/** `wait`, with the states of the pods `selector` picks added to its error: what a failure needs. */
async function withPodStates<T>(selector: string, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    const states = (await pods(selector)).map(describePod).join('\n');
    throw new Error(`${(err as Error).message}\npods:\n${states}`, { cause: err });
  }
}

/**
 * Waits until the run has finished and fails at once when it ended in the other phase (waitFor
 * retries a check that throws, so the end is returned and judged after the wait).
 */
async function waitRun(name: string, phase: 'Succeeded' | 'Failed', timeoutMs: number): Promise<Status> {
  const s = await withPodStates(
    `lathe.dev/training-run=${name}`,
    waitFor(`TrainingRun ${name} to finish`, async () => {
      const st = await status('trainingruns', name);
      return st.phase === 'Succeeded' || st.phase === 'Failed' ? st : undefined;
    }, timeoutMs, 1000),
  );
  if (s.phase !== phase) throw new Error(`TrainingRun ${name} ended ${s.phase}, not ${phase}: ${s.message}`);
  return s;
}

const tiny = (name: string, spec: Record<string, unknown> = {}) => tinyRun(name, seed).spec(spec).manifest();

let suite: LoopSuite | undefined;

beforeAll(async () => {
  suite = await startLoopSuite(core, 'real', ensureCrds);
  ({ ns, seed } = suite);
});

afterAll(() => stopLoopSuite(core, suite));

describe('the whole loop in real pods', () => {
  const run = 'tiny-stories';

  it('fine-tunes a tiny model in a real trainer pod to Succeeded, with loss falling, checkpoints, metadata.json and run.json', async () => {
    await createRun(tiny(run));
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
    // Intermediate checkpoints were written beside the final weights (one per epoch here).
    const prefix = s.artifact!.uri!.replace(/^s3:\/\/[^/]+\//, '').replace(/checkpoint\/$/, 'checkpoints/');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'lathe-artifacts', Prefix: prefix }));
    expect(listed.Contents?.some((o) => o.Key?.endsWith('/COMPLETE'))).toBe(true);
    const record = await s3Json(s.artifact!.recordUri!);
    expect(record).toMatchObject({ phase: 'Succeeded' });
  });

  it('fails a run whose dataset does not exist at once, with the trainer’s one-line message in status', async () => {
    const name = 'no-dataset';
    await createRun(tiny(name, { dataset: { uri: `s3://lathe-datasets/real/${ns}/absent.jsonl` }, retries: 3 }));
    const s = await waitRun(name, 'Failed', 180_000);
    expect(s.message).toMatch(/absent\.jsonl/);
    // Bad input is not retried (the trainer's exit code 2 fails the Job at once).
    expect(await pods(`lathe.dev/training-run=${name}`)).toHaveLength(1);
  });

  it('runs two workers as DDP over gloo, rendezvous through the headless Service, on an image-classification dataset', async () => {
    const name = 'stripes-ddp';
    await createRun(tiny(name, {
        model: undefined,
        task: 'image-classification',
        dataset: { uri: seed.images },
        workers: 2,
        hyperparameters: { epochs: 2, batchSize: 8, learningRate: 0.01, imageSize: 16, evalFraction: 0.25 },
        resources: { gpus: 0, cpu: '500m', memory: '2Gi' },
      }));
    await waitRun(name, 'Succeeded', 300_000);
    const workers = await pods(`lathe.dev/training-run=${name}`);
    expect(workers.map((p) => p.spec?.nodeName)).toEqual([REAL_NODE, REAL_NODE]);
    for (const p of workers) {
      expect(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, describePod(p)).toBe(0);
      // Each worker's torchrun joined the same two-process group, found through pod 0's DNS name.
      expect(kubectl(['logs', '-n', ns, p.metadata!.name!])).toMatch(/joined process group: backend=gloo world_size=2/);
    }
  });

  it('an evicted trainer saves a checkpoint on SIGTERM and the next pod resumes from it: a preemption, not a failure', async () => {
    const name = 'evicted';
    // Enough epochs that the run is still training when it is evicted.
    await createRun(tiny(name, { hyperparameters: { epochs: 400, batchSize: 8, learningRate: 0.01, maxSeqLength: 16, seed: 1 } }));
    const first = await waitFor('the first trainer pod to be in epoch 3', async () => {
      const [p] = await pods(`lathe.dev/training-run=${name}`);
      return p && p.status?.phase === 'Running' && /epoch 3\//.test(kubectl(['logs', '-n', ns, p.metadata!.name!])) ? p : undefined;
    }, 180_000, 1000);
    // The evicted pod is deleted once it stops, so what it said on its way out is read as it runs.
    const firstLogs = followLogs(ns, first.metadata!.name!);
    // What a drain or a spot interruption handler does: the Eviction API, then the kubelet's SIGTERM.
    await core.createNamespacedPodEviction({ name: first.metadata!.name!, namespace: ns, body: { metadata: { name: first.metadata!.name!, namespace: ns } } });
    const second = await waitFor('a second trainer pod', async () => (await pods(`lathe.dev/training-run=${name}`)).find((p) => p.metadata!.uid !== first.metadata!.uid && p.status?.phase === 'Running'), 180_000, 1000);
    firstLogs.stop();
    expect(firstLogs.text()).toMatch(/interrupted by SIGTERM; checkpoint saved/);
    const saved = [...firstLogs.text().matchAll(/checkpoint saved: \S+ \(epoch (\d+), step (\d+)\)/g)].at(-1);
    expect(saved, firstLogs.text().slice(-2000)).toBeDefined();
    // The next pod starts from exactly the step saved on SIGTERM.
    const resumed = await waitFor('the second pod to resume from a checkpoint', () => /resuming from checkpoint \S+ \(epoch (\d+), step (\d+)\)/.exec(kubectl(['logs', '-n', ns, second.metadata!.name!])), 120_000, 1000);
    expect([resumed[1], resumed[2]]).toEqual([saved![1], saved![2]]);
    const s = await waitFor('the preemption in status', async () => {
      const st = await status('trainingruns', name);
      return (st.preemptions ?? 0) >= 1 ? st : undefined;
    }, 60_000, 1000);
    expect(s.preemptions).toBe(1);
    expect(s.phase).toBe('Running');
    await custom.deleteNamespacedCustomObject({ ...group, namespace: ns, plural: 'trainingruns', name });
  });

  it('serves the trained model: Ready once loaded, answering a chat completion through its Service (port-forward) as UID 10001', async () => {
    const name = 'tiny-writer';
    await custom.createNamespacedCustomObject({
      ...group,
      namespace: ns,
      plural: 'inferenceservices',
      body: tinyService(name, { trainingRun: run }),
    });
    await withPodStates(
      `lathe.dev/inference-service=${name}`,
      waitFor(`InferenceService ${name} to be Ready`, async () => {
        const s = await status('inferenceservices', name);
        return s.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      }, 240_000, 1000),
    );

    const [pod] = (await pods(`lathe.dev/inference-service=${name}`)).filter((p) => p.status?.phase === 'Running');
    expect(pod?.spec?.nodeName).toBe(REAL_NODE);
    expect(kubectl(['exec', '-n', ns, pod!.metadata!.name!, '--', 'id', '-u']).trim()).toBe('10001');

    // Ready means loaded: the kubelet's readiness probe is the server's /readyz, which answers 200
    // only once the model is in memory, and the server's own gauge says so.
    expect(pod!.spec!.containers[0]!.readinessProbe?.httpGet?.path).toBe('/readyz');
    const metrics = await withPortForward(ns, `pod/${pod!.metadata!.name!}`, 8080, async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(metrics).toMatch(/^lathe_model_ready 1(\.0)?$/m);
    expect(Number(/^lathe_model_load_seconds ([\d.e+-]+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    const reply = await chat(ns, name, 'the red cat');
    process.stdout.write(`[real] chat: "the red cat" -> "${reply}"\n`);
    expect(reply.length).toBeGreaterThan(0);
  });

  it('rolls a change to a model that cannot load back to the model that served, which keeps answering', async () => {
    const name = 'tiny-writer';
    await custom.patchNamespacedCustomObject({
      ...group,
      namespace: ns,
      plural: 'inferenceservices',
      name,
      body: [
        { op: 'replace', path: '/spec/model', value: { uri: seed.broken } },
        { op: 'add', path: '/spec/progressDeadlineSeconds', value: 30 },
      ],
    }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    const s = await waitFor('the rollback', async () => {
      const st = await status('inferenceservices', name);
      return st.conditions?.some((c) => c.type === 'RolledBack' && c.status === 'True') ? st : undefined;
    }, 180_000, 1000);
    expect(s.conditions?.find((c) => c.type === 'RolledBack')?.message).toMatch(/rolled back to s3:\/\/lathe-artifacts\//);
    // The pods that serve are the old model's, ready, on the real node.
    await waitFor('only ready pods of the old model', async () => {
      const all = await pods(`lathe.dev/inference-service=${name}`);
      return all.length > 0 && all.every((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 120_000, 1000);
    expect((await complete(ns, name, 'the big dog')).length).toBeGreaterThan(0);
  });
});

