// TrainingRun end to end, with the operator running as a process: the lifecycle a data scientist
// sees in `kubectl get trainingruns`, and the failure modes that must lose nothing.
import { CustomObjectsApi, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTrainingRun } from '../support/builders.js';
import { clients, createNamespace, deleteNamespace, ensureCrds, kubectl, waitFor } from '../support/cluster.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { statusCode } from '../../operator/src/client/errors.js';
import { jobEnv, s3, writeArtifact, writeProgress } from '../support/sim-trainer.js';
import { TORCHRUN_ENV, TRAINER_ENV } from '../../operator/src/trainingrun/trainer-contract.js';

const { kc, core, batch } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const storage = s3();
let ns = '';
let operator: OperatorProcess;

interface Run {
  metadata: { name: string; uid: string; generation?: number };
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    runId?: string;
    message?: string;
    attempts?: number;
    preemptions?: number;
    failures?: number;
    jobName?: string;
    observedGeneration?: number;
    progress?: { epoch?: number; epochs?: number; loss?: number; summary?: string };
    artifact?: { uri?: string; metadataUri?: string; recordUri?: string };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const HOLD = { 'sim.lathe.dev/hold': 'true' };

function trainingRun(name: string, spec: Record<string, unknown> = {}) {
  return makeTrainingRun(name)
    .hyperparameters({ epochs: 2, batchSize: 4, learningRate: 0.0005 })
    .resources({ gpus: 1, cpu: '1', memory: '2Gi' })
    .podAnnotations(HOLD)
    .spec(spec)
    .manifest();
}

async function create(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await custom.createNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: ns, plural: 'trainingruns', body: trainingRun(name, spec) });
}

async function get(name: string): Promise<Run> {
  return (await custom.getNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: ns, plural: 'trainingruns', name })) as Run;
}

async function waitPhase(name: string, phase: string, timeoutMs = 60_000): Promise<Run> {
  return waitFor(`TrainingRun ${name} to be ${phase}`, async () => {
    const r = await get(name);
    return r.status?.phase === phase ? r : undefined;
  }, timeoutMs);
}

async function jobOf(name: string, attempt = 1): Promise<V1Job> {
  return waitFor(`Job ${name}-${attempt}`, () => batch.readNamespacedJob({ name: `${name}-${attempt}`, namespace: ns }));
}

async function podsOf(job: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` })).items;
}

async function runningPods(job: string, n = 1): Promise<V1Pod[]> {
  return waitFor(`${n} running pod(s) of ${job}`, async () => {
    const pods = (await podsOf(job)).filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
    return pods.length >= n ? pods : undefined;
  });
}

/** The simulated container exits: 0 succeeds, anything else fails (with a termination message). */
function exitPods(pods: V1Pod[], code: number, message = ''): void {
  for (const p of pods) {
    const annotations = [`sim.lathe.dev/exit=${code}`, ...(message ? [`sim.lathe.dev/message=${message}`] : [])];
    kubectl(['annotate', 'pod', '-n', ns, p.metadata!.name!, '--overwrite', ...annotations]);
  }
}

beforeAll(async () => {
  ensureCrds();
  ns = await createNamespace(core, 'e2e-runs', { 'pod-security.kubernetes.io/enforce': 'restricted' }, ['lathe-trainer']);
  operator = await startOperator();
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(core, ns);
});

describe('TrainingRun', () => {
  it('runs a single-worker run to Succeeded with progress and the artifact recorded in S3', async () => {
    await create('single');
    const job = await jobOf('single');
    expect(job.metadata!.ownerReferences![0]).toMatchObject({ kind: 'TrainingRun', name: 'single', controller: true });
    const [pod] = await runningPods('single-1');
    const running = await waitPhase('single', 'Running');
    expect(running.status!.runId).toMatch(/^\d{8}-\d{6}-[a-z0-9]{6}$/);
    expect(jobEnv(job)[TRAINER_ENV.runId]).toBe(running.status!.runId);

    await writeProgress(storage, job, { epoch: 1, epochs: 2, step: 10, loss: 2.5 });
    const withProgress = await waitFor('progress in status', async () => {
      const r = await get('single');
      return r.status?.progress?.summary === '1/2' ? r : undefined;
    });
    expect(withProgress.status!.progress).toMatchObject({ epoch: 1, epochs: 2, loss: 2.5 });

    const { checkpointUri } = await writeArtifact(storage, job);
    exitPods([pod!], 0);
    const done = await waitPhase('single', 'Succeeded');
    expect(done.status!.artifact).toMatchObject({ uri: checkpointUri, metadataUri: `${jobEnv(job)[TRAINER_ENV.outputUri]}metadata.json` });
    expect(done.status!.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Ready', status: 'True' }),
        expect.objectContaining({ type: 'Succeeded', status: 'True' }),
      ]),
    );
    expect(done.status!.observedGeneration).toBe(done.metadata.generation);

    // The durable record outlives the TrainingRun.
    const { recordUri } = done.status!.artifact!;
    const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(recordUri!)!;
    const record = JSON.parse(await (await storage.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }))).Body!.transformToString()) as Record<string, unknown>;
    expect(record).toMatchObject({ runId: done.status!.runId, phase: 'Succeeded', attempts: 1, trainingRun: { name: 'single', namespace: ns } });

    // `kubectl wait` works on the standard condition.
    kubectl(['wait', '-n', ns, '--for=condition=Succeeded', 'trainingrun/single', '--timeout=5s']);

    // A finished run stays finished when its (only mutable) field changes afterwards.
    kubectl(['patch', 'trainingrun', 'single', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    const after = await waitFor('the new generation acknowledged', async () => {
      const r = await get('single');
      return r.status?.observedGeneration === r.metadata.generation ? r : undefined;
    });
    expect(after.metadata.generation).toBe((done.metadata.generation ?? 1) + 1);
    expect(after.status!.phase).toBe('Succeeded');
    expect(after.status!.artifact).toEqual(done.status!.artifact);
  });

  it('starts a run from another run\'s model once that run succeeds', async () => {
    await create('base');
    const baseJob = await jobOf('base');
    const [pod] = await runningPods('base-1');
    await create('tuned', { model: 'run://base' });
    const waiting = await waitFor('tuned to say what it waits for', async () => {
      const r = await get('tuned');
      return r.status?.message?.includes('waiting for TrainingRun base') ? r : undefined;
    });
    expect(waiting.status!.phase).toBe('Pending');
    await expect(batch.readNamespacedJob({ name: 'tuned-1', namespace: ns })).rejects.toMatchObject({ code: 404 });

    const { checkpointUri } = await writeArtifact(storage, baseJob);
    exitPods([pod!], 0);
    await waitPhase('base', 'Succeeded');
    // The base run's phase change re-queues its dependent at once (no resync in between).
    const tunedJob = await jobOf('tuned');
    expect(jobEnv(tunedJob)[TRAINER_ENV.modelUri]).toBe(checkpointUri);
  });

  it('runs two workers as an Indexed Job with torchrun rendezvous env', async () => {
    await create('ddp', { task: 'image-classification', model: undefined, dataset: { uri: 'builtin:mnist' }, workers: 2 });
    const job = await jobOf('ddp');
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 2, parallelism: 2 });
    const env = jobEnv(job);
    expect(env).toMatchObject({ [TORCHRUN_ENV.nnodes]: '2', [TORCHRUN_ENV.nprocPerNode]: '1', [TORCHRUN_ENV.masterAddr]: 'ddp-1-0.ddp', [TORCHRUN_ENV.masterPort]: '29500' });
    const svc = await core.readNamespacedService({ name: 'ddp', namespace: ns });
    expect(svc.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    const pods = await runningPods('ddp-1', 2);
    expect(pods.map((p) => p.metadata!.annotations!['batch.kubernetes.io/job-completion-index']).sort()).toEqual(['0', '1']);
    expect(new Set(pods.map((p) => p.spec!.hostname))).toEqual(new Set(['ddp-1-0', 'ddp-1-1']));
    await writeArtifact(storage, job);
    exitPods(pods, 0);
    await waitPhase('ddp', 'Succeeded');
  });

  it('shows a run that asks for more GPUs than any node has as Pending, with the scheduler\'s reason', async () => {
    await create('too-big', { resources: { gpus: 16 } });
    const r = await waitFor('unschedulable reason', async () => {
      const run = await get('too-big');
      return run.status?.phase === 'Pending' && run.status.message?.includes('nvidia.com/gpu') ? run : undefined;
    });
    expect(r.status!.message).toMatch(/Insufficient nvidia\.com\/gpu/);
    expect(r.status!.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'False', reason: 'Unschedulable' })]));
  });

  it('counts a spot eviction as a preemption, not a failure, and still succeeds', async () => {
    await create('spot', { spot: true, retries: 0 });
    const [pod] = await runningPods('spot-1');
    expect(pod!.spec!.tolerations).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'lathe.dev/spot' })]));
    // The Eviction API is what a drain or a spot-termination handler uses.
    await core.createNamespacedPodEviction({ name: pod!.metadata!.name!, namespace: ns, body: { metadata: { name: pod!.metadata!.name!, namespace: ns } } });
    const replacement = await waitFor('a replacement pod', async () => {
      const pods = (await podsOf('spot-1')).filter((p) => p.metadata!.uid !== pod!.metadata!.uid && p.status?.phase === 'Running');
      return pods[0];
    });
    const preempted = await waitFor('a preemption in status', async () => {
      const r = await get('spot');
      return (r.status?.preemptions ?? 0) >= 1 ? r : undefined;
    });
    expect(preempted.status!.phase).not.toBe('Failed');
    await writeArtifact(storage, await jobOf('spot'));
    exitPods([replacement], 0);
    const done = await waitPhase('spot', 'Succeeded');
    expect(done.status!.preemptions).toBe(1);
    expect(done.status!.attempts).toBe(1);
  });

  it('fails a run whose trainer rejects its input, with the trainer\'s message, without retrying', async () => {
    await create('bad-input', { retries: 3 });
    const [pod] = await runningPods('bad-input-1');
    exitPods([pod!], 2, 'lathe-trainer: error: dataset s3://lathe-datasets/missing.jsonl does not exist');
    const r = await waitPhase('bad-input', 'Failed');
    expect(r.status!.message).toContain('dataset s3://lathe-datasets/missing.jsonl does not exist');
    expect(r.status!.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Failed', status: 'True', reason: 'PodFailurePolicy' })]));
    expect((await podsOf('bad-input-1')).length).toBe(1);
  });

  it('retries a real failure up to spec.retries, then fails with "too many failures" and the trainer\'s last error', async () => {
    await create('flaky', { retries: 1 });
    const [first] = await runningPods('flaky-1');
    exitPods([first!], 1, 'RuntimeError: CUDA out of memory');
    // Within spec.retries: the Job starts another pod; the run stays Running on attempt 1 and counts the failure.
    const retried = await waitFor('the retried pod', async () => {
      const pods = (await podsOf('flaky-1')).filter((p) => p.status?.phase === 'Running' && p.metadata!.name !== first!.metadata!.name);
      return pods[0];
    }, 90_000);
    const counted = await waitFor('one failure in status', async () => {
      const r = await get('flaky');
      return r.status?.failures === 1 ? r : undefined;
    });
    expect(counted.status).toMatchObject({ phase: 'Running', attempts: 1, preemptions: 0 });
    exitPods([retried], 1, 'RuntimeError: loss is NaN');
    const r = await waitPhase('flaky', 'Failed', 90_000);
    const message = 'the trainer failed more often than spec.retries allows: RuntimeError: loss is NaN';
    expect(r.status).toMatchObject({ message, attempts: 1, failures: 2, jobName: 'flaky-1' });
    expect(r.status!.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message })]));
    // The retries were the Job's, not new attempts.
    expect(await batch.readNamespacedJob({ name: 'flaky-2', namespace: ns }).then(() => true, () => false)).toBe(false);
    expect((await podsOf('flaky-1')).length).toBe(2);
  });

  it('starts a new attempt when someone deletes the Job of a running run', async () => {
    await create('job-deleted');
    await runningPods('job-deleted-1');
    await waitPhase('job-deleted', 'Running');
    await batch.deleteNamespacedJob({ name: 'job-deleted-1', namespace: ns, propagationPolicy: 'Background' });
    const job2 = await jobOf('job-deleted', 2);
    const r = await waitFor('attempt 2 in status', async () => {
      const run = await get('job-deleted');
      return run.status?.attempts === 2 ? run : undefined;
    });
    expect(r.status!.jobName).toBe('job-deleted-2');
    expect(jobEnv(job2)[TRAINER_ENV.runId]).toBe(r.status!.runId);
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=job-deleted' });
    expect(events.items.some((e) => e.reason === 'JobDeleted')).toBe(true);
  });

  it('suspends and resumes a run: its pods go, it rests (kstatus Current), and a new pod starts', async () => {
    await create('pausable');
    const [before] = await runningPods('pausable-1');
    kubectl(['patch', 'trainingrun', 'pausable', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    const suspended = await waitPhase('pausable', 'Suspended');
    expect((await batch.readNamespacedJob({ name: 'pausable-1', namespace: ns })).spec!.suspend).toBe(true);
    // At rest: `kubectl wait`/Flux/kpt read Reconciling=False and Stalled=False as done.
    expect(suspended.status!.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Suspended', status: 'True' }),
        expect.objectContaining({ type: 'Reconciling', status: 'False' }),
        expect.objectContaining({ type: 'Stalled', status: 'False' }),
      ]),
    );
    await waitFor('the pods of the suspended Job to be gone', async () => ((await podsOf('pausable-1')).length === 0 ? true : undefined));
    kubectl(['patch', 'trainingrun', 'pausable', '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    const [after] = await runningPods('pausable-1');
    expect(after!.metadata!.uid).not.toBe(before!.metadata!.uid);
    const resumed = await waitPhase('pausable', 'Running');
    expect(resumed.status!.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Reconciling', status: 'True' })]));
  });

  it('says when its Job cannot create pods (no trainer ServiceAccount), and starts once the account exists', async () => {
    const bare = await createNamespace(core, 'e2e-no-sa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    try {
      const ref = { group: 'lathe.dev', version: 'v1alpha1', namespace: bare, plural: 'trainingruns' };
      await custom.createNamespacedCustomObject({ ...ref, body: trainingRun('no-sa') });
      const ready = (r: Run) => r.status?.conditions?.find((c) => c.type === 'Ready');
      const blocked = await waitFor('FailedCreate in the run\'s status', async () => {
        const r = (await custom.getNamespacedCustomObject({ ...ref, name: 'no-sa' })) as Run;
        return ready(r)?.reason === 'FailedCreate' ? r : undefined;
      });
      expect(blocked.status!.phase).toBe('Pending');
      expect(blocked.status!.message).toContain('Job no-sa-1 cannot create pods');
      expect(blocked.status!.message).toContain('serviceaccount "lathe-trainer" not found');
      expect(blocked.status!.message).toContain("add it to the chart's trainingNamespaces");
      expect(blocked.status!.conditions).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ type: 'Stalled', status: 'True', reason: 'FailedCreate' }),
          expect.objectContaining({ type: 'Reconciling', status: 'False' }),
        ]),
      );
      const warning = await waitFor('a FailedCreate Warning on the run', async () => {
        const events = await core.listNamespacedEvent({ namespace: bare, fieldSelector: 'involvedObject.kind=TrainingRun,involvedObject.name=no-sa' });
        return events.items.find((e) => e.reason === 'FailedCreate' && e.type === 'Warning');
      });
      expect(warning.message).toContain('serviceaccount "lathe-trainer" not found');

      await core.createNamespacedServiceAccount({ namespace: bare, body: { metadata: { name: 'lathe-trainer' } } });
      const running = await waitFor('the run to start once the ServiceAccount exists', async () => {
        const r = (await custom.getNamespacedCustomObject({ ...ref, name: 'no-sa' })) as Run;
        return r.status?.phase === 'Running' ? r : undefined;
      }, 120_000);
      expect(ready(running)?.reason).toBe('Training');
      expect(running.status!.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Stalled', status: 'False' })]));
    } finally {
      await deleteNamespace(core, bare);
    }
  });

  it('creates a queued run suspended for Kueue and shows it Queued', async () => {
    await create('queued', { queue: 'team-a' });
    const job = await jobOf('queued');
    expect(job.metadata!.labels!['kueue.x-k8s.io/queue-name']).toBe('team-a');
    expect(job.spec!.suspend).toBe(true);
    await waitPhase('queued', 'Queued');
  });

  it('deletes the Job with the run, and keeps the S3 record', async () => {
    await create('deleted');
    const job = await jobOf('deleted');
    const [pod] = await runningPods('deleted-1');
    const { checkpointUri } = await writeArtifact(storage, job);
    exitPods([pod!], 0);
    const done = await waitPhase('deleted', 'Succeeded');
    await custom.deleteNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: ns, plural: 'trainingruns', name: 'deleted' });
    // Gone means 404, not any error (a timeout or a 500 is not "gone").
    const gone = async (read: () => Promise<unknown>) => {
      try {
        await read();
        return false;
      } catch (err) {
        if (statusCode(err) === 404) return true;
        throw err;
      }
    };
    await waitFor('the run to be deleted', () => gone(() => get('deleted')));
    await waitFor('the Job to be garbage-collected', () => gone(() => batch.readNamespacedJob({ name: 'deleted-1', namespace: ns })));
    // What the run left in S3 outlives it: its record, the trainer's metadata and the weights.
    const read = async (uri: string) => {
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri)!;
      return (await storage.send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }))).Body!.transformToString();
    };
    const record = JSON.parse(await read(done.status!.artifact!.recordUri!)) as Record<string, unknown>;
    expect(record).toMatchObject({ runId: done.status!.runId, phase: 'Succeeded', trainingRun: { name: 'deleted', namespace: ns } });
    const metadata = JSON.parse(await read(done.status!.artifact!.metadataUri!)) as Record<string, unknown>;
    expect(metadata).toMatchObject({ runId: done.status!.runId, artifact: { uri: checkpointUri } });
    expect((await read(`${checkpointUri}model.safetensors`)).length).toBeGreaterThan(0);
  });

  it('creates no duplicate Job when the operator restarts mid-run, and finishes the run', async () => {
    await create('restart');
    const [pod] = await runningPods('restart-1');
    await waitPhase('restart', 'Running');
    await operator.stop();
    const job = await jobOf('restart');
    await writeArtifact(storage, job);
    exitPods([pod!], 0);
    operator = await startOperator();
    await waitPhase('restart', 'Succeeded');
    const jobs = (await batch.listNamespacedJob({ namespace: ns, labelSelector: 'lathe.dev/training-run=restart' })).items;
    expect(jobs.map((j) => j.metadata!.name)).toEqual(['restart-1']);
  });

  it('prints the columns a person looks for', () => {
    const out = kubectl(['get', 'trainingruns', '-n', ns]);
    const header = out.split('\n')[0]!.split(/\s{2,}/).map((s) => s.trim());
    expect(header).toEqual(['NAME', 'MODEL', 'PHASE', 'PROGRESS', 'LOSS', 'GPUS', 'AGE']);
    const single = out.split('\n').find((l) => l.startsWith('single '))!;
    expect(single).toMatch(/hf:\/\/BEE-spoke-data\/smol_llama-101M-GQA\s+Succeeded\s+1\/2\s+2\.5\s+1\s/);
  });
});
