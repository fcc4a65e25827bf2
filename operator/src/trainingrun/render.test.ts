import type { V1Container } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import scheduling from '../../../schemas/scheduling.json' with { type: 'json' };
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { makeTrainingRun } from '../../../test/support/builders.js';
import { configWith } from '../../../test/support/config.js';
import { hyperparametersJson, render as renderPlan, type RenderInput } from './render.js';
import { planRun } from './plan.js';
import { TORCHRUN_ENV, TRAINER_ENV } from './trainer-contract.js';
import { jobName, runId } from './names.js';

const config = configWith({ trainerImage: 'registry.example/lathe-trainer:1.0', s3Bucket: 'artifacts' });

/** The run these tests render: a fixed uid and creation time, so the run id is known. */
const smol = (name = 'smol') =>
  makeTrainingRun(name).uid('0b6f3c1e-1111-2222-3333-444455556666').created(new Date('2026-11-22T15:42:10Z')).dataset('s3://ml-data/tinystories.jsonl');

/** render() of `run` at `attempt`, planned as the reconciler plans it. */
function render(input: Omit<RenderInput, 'plan'> & { run: TrainingRun; attempt: number }) {
  const { run, attempt, ...rest } = input;
  return renderPlan({ ...rest, plan: planRun(run, rest.config.s3Bucket, attempt) });
}

function trainer(r: ReturnType<typeof render>): V1Container {
  return r.job.spec!.template.spec!.containers[0]!;
}

function env(c: V1Container): Record<string, string | undefined> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath}`]));
}

describe('render', () => {
  it('names the Job <run>-<attempt>, owned by the run, with a deterministic run id', () => {
    const r = render({ run: smol().obj(), attempt: 2, config, modelUri: 'hf://BEE-spoke-data/smol_llama-101M-GQA' });
    expect(r.job.metadata!.name).toBe('smol-2');
    expect(jobName('smol', 2)).toBe('smol-2');
    expect(r.job.metadata!.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'TrainingRun', name: 'smol', uid: smol().obj().metadata.uid, controller: true, blockOwnerDeletion: true }),
    ]);
    const id = runId(smol().obj().metadata);
    expect(id).toMatch(/^20261122-154210-[0-9a-f]{6}$/);
    expect(runId(smol().obj().metadata)).toBe(id);
    expect(env(trainer(r))[TRAINER_ENV.runId]).toBe(id);
    // The same input renders the same object: a repeated create is a 409, never a different Job.
    expect(render({ run: smol().obj(), attempt: 2, config, modelUri: 'hf://BEE-spoke-data/smol_llama-101M-GQA' })).toEqual(r);
  });

  it('asks for GPUs as nvidia.com/gpu limits and tolerates the GPU taint only when GPUs are asked', () => {
    const gpu = render({ run: smol().spec({ resources: { gpus: 2, cpu: '8', memory: '32Gi' } }).obj(), attempt: 1, config, modelUri: 'x' });
    expect(trainer(gpu).resources).toEqual({
      requests: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '2' },
      limits: { memory: '32Gi', 'nvidia.com/gpu': '2' },
    });
    expect(gpu.job.spec!.template.spec!.tolerations).toEqual([{ key: scheduling.gpuTaint.key, operator: 'Exists', effect: 'NoSchedule' }]);

    const cpu = render({ run: smol().spec({ resources: { gpus: 0 } }).obj(), attempt: 1, config, modelUri: 'x' });
    expect(trainer(cpu).resources!.limits).not.toHaveProperty('nvidia.com/gpu');
    expect(cpu.job.spec!.template.spec!.tolerations).toBeUndefined();
  });

  it('tolerates spot and prefers spot capacity when spot is allowed', () => {
    const r = render({ run: smol().spec({ spot: true, resources: { gpus: 1 } }).obj(), attempt: 1, config, modelUri: 'x' });
    const pod = r.job.spec!.template.spec!;
    expect(pod.tolerations).toContainEqual({ key: scheduling.spotTaint.key, operator: 'Exists', effect: 'NoSchedule' });
    expect(pod.affinity!.nodeAffinity!.preferredDuringSchedulingIgnoredDuringExecution![0]!.preference.matchExpressions).toEqual([
      { key: scheduling.capacityTypeLabel, operator: 'In', values: [scheduling.spotCapacityType] },
    ]);
    const onDemand = render({ run: smol().spec({ resources: { gpus: 1 } }).obj(), attempt: 1, config, modelUri: 'x' }).job.spec!.template.spec!;
    expect(onDemand.affinity).toBeUndefined();
    expect(onDemand.tolerations!.some((t) => t.key === scheduling.spotTaint.key)).toBe(false);
  });

  it('merges the spec\'s nodeSelector, tolerations, affinity and priorityClassName with the GPU and spot placement', () => {
    const zone = { key: 'topology.kubernetes.io/zone', operator: 'In' as const, values: ['us-east-1a'] };
    const pod = render({
      run: smol().spec({
        spot: true,
        resources: { gpus: 1 },
        nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A10G' },
        tolerations: [
          { key: scheduling.gpuTaint.key, operator: 'Exists', effect: 'NoSchedule' }, // the same as Lathe's: once
          { key: 'example.com/dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' },
          { key: 'example.com/dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' },
        ],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [zone] }] },
            preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'example.com/fast-disk', operator: 'Exists' }] } }],
          },
          podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { team: 'nlp' } } }] },
        },
        priorityClassName: 'ml-batch',
      }).obj(),
      attempt: 1,
      config,
      modelUri: 'x',
    }).job.spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ 'nvidia.com/gpu.product': 'NVIDIA-A10G' });
    expect(pod.priorityClassName).toBe('ml-batch');
    expect(pod.tolerations).toEqual([
      { key: scheduling.gpuTaint.key, operator: 'Exists', effect: 'NoSchedule' },
      { key: scheduling.spotTaint.key, operator: 'Exists', effect: 'NoSchedule' },
      { key: 'example.com/dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' },
    ]);
    expect(pod.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [zone] }] },
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 10, preference: { matchExpressions: [{ key: 'example.com/fast-disk', operator: 'Exists' }] } },
          { weight: 100, preference: { matchExpressions: [{ key: scheduling.capacityTypeLabel, operator: 'In', values: [scheduling.spotCapacityType] }] } },
        ],
      },
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { team: 'nlp' } } }] },
    });
  });

  it('renders no scheduling fields the spec does not ask for', () => {
    const pod = render({ run: smol().spec({ nodeSelector: {}, tolerations: [] }).obj(), attempt: 1, config, modelUri: 'x' }).job.spec!.template.spec!;
    for (const field of ['nodeSelector', 'tolerations', 'affinity', 'priorityClassName']) expect(pod).not.toHaveProperty(field);
    // Without spot, the user's affinity is all there is.
    const own = render({ run: smol().spec({ affinity: { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } } }).obj(), attempt: 1, config, modelUri: 'x' });
    expect(own.job.spec!.template.spec!.affinity).toEqual({ podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } });
  });

  it('gives the trainer no S3 endpoint and no Secret by default (IRSA), and both when configured', () => {
    const irsa = trainer(render({ run: smol().obj(), attempt: 1, config, modelUri: 'x' }));
    expect(env(irsa)).not.toHaveProperty('AWS_ENDPOINT_URL_S3');
    expect(irsa.envFrom).toBeUndefined();

    const minio = configWith({ ...config, podS3Endpoint: 'http://minio.lathe-system:9000', podEnvSecret: 'lathe-s3' });
    const c = trainer(render({ run: smol().obj(), attempt: 1, config: minio, modelUri: 'x' }));
    expect(env(c).AWS_ENDPOINT_URL_S3).toBe('http://minio.lathe-system:9000');
    // Not optional: a missing Secret must keep the pod from starting, visibly.
    expect(c.envFrom).toEqual([{ secretRef: { name: 'lathe-s3' } }]);
  });

  it('maps deadlines, retries, TTL and disruptions onto the Job', () => {
    const r = render({ run: smol().spec({ maxRuntime: '1h30m', retries: 3, ttlAfterFinished: '2h' }).obj(), attempt: 1, config, modelUri: 'x' });
    expect(r.job.spec!.activeDeadlineSeconds).toBe(5400);
    expect(r.job.spec!.backoffLimit).toBe(3);
    expect(r.job.spec!.ttlSecondsAfterFinished).toBe(7200);
    expect(r.job.spec!.template.spec!.restartPolicy).toBe('Never');
    expect(r.job.spec!.podFailurePolicy!.rules).toEqual([
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      { action: 'FailJob', onExitCodes: { containerName: 'trainer', operator: 'In', values: [2] } },
    ]);
    const plain = render({ run: smol().obj(), attempt: 1, config, modelUri: 'x' }).job.spec!;
    expect(plain.activeDeadlineSeconds).toBeUndefined();
    expect(plain.ttlSecondsAfterFinished).toBeUndefined();
  });

  it('gives the trainer LATHE_TRAINER_GRACE_PERIOD_SECONDS (default 120) between SIGTERM and SIGKILL to checkpoint', () => {
    // The kubelet sends SIGTERM on a spot interruption, drain or suspend and waits this long; the
    // trainer saves a checkpoint and exits 143 within it (trainer-image/tests/test_text_generation.py).
    const pod = (c: typeof config) => render({ run: smol().obj(), attempt: 1, config: c, modelUri: 'x' }).job.spec!.template.spec!;
    expect(configWith().trainerGracePeriodSeconds).toBe(120);
    expect(pod(configWith()).terminationGracePeriodSeconds).toBe(120);
    expect(pod(configWith({ trainerGracePeriodSeconds: 600 })).terminationGracePeriodSeconds).toBe(600);
    expect(pod(configWith({ trainerGracePeriodSeconds: 0 })).terminationGracePeriodSeconds).toBe(0);
  });

  it('passes the trainer contract in the environment', () => {
    const r = render({
      run: smol().spec({ hyperparameters: { epochs: 3, batchSize: 8, learningRate: 5e-5, extra: { scheduler: 'cosine' } }, outputModel: 'stories' }).obj(),
      attempt: 1,
      config,
      modelUri: 'hf://BEE-spoke-data/smol_llama-101M-GQA',
    });
    const e = env(trainer(r));
    expect(e).toMatchObject({
      [TRAINER_ENV.task]: 'text-generation',
      [TRAINER_ENV.modelUri]: 'hf://BEE-spoke-data/smol_llama-101M-GQA',
      [TRAINER_ENV.modelName]: 'stories',
      [TRAINER_ENV.datasetUri]: 's3://ml-data/tinystories.jsonl',
      [TRAINER_ENV.attempt]: '1',
      [TRAINER_ENV.runName]: 'smol',
      [TRAINER_ENV.namespace]: 'ml',
    });
    expect(e[TRAINER_ENV.outputUri]).toMatch(/^s3:\/\/artifacts\/models\/stories\/20261122-154210-[0-9a-f]{6}\/$/);
    expect(JSON.parse(e[TRAINER_ENV.hyperparameters]!)).toEqual({ epochs: 3, batchSize: 8, learningRate: 5e-5, scheduler: 'cosine' });
    expect(e).not.toHaveProperty(TORCHRUN_ENV.nnodes);
    expect(r.service).toBeUndefined();
    expect(r.job.spec!.completionMode).toBe('NonIndexed');
  });

  it('renders several workers as an Indexed Job with torchrun rendezvous through a headless Service', () => {
    const r = render({ run: smol('mnist').workers(3).gpus(2).obj(), attempt: 1, config, modelUri: 'scratch' });
    expect(r.job.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3 });
    const e = env(trainer(r));
    expect(e).toMatchObject({
      [TORCHRUN_ENV.nnodes]: '3',
      [TORCHRUN_ENV.nprocPerNode]: '2',
      [TORCHRUN_ENV.nodeRank]: "fieldRef:metadata.annotations['batch.kubernetes.io/job-completion-index']",
      [TORCHRUN_ENV.masterAddr]: 'mnist-1-0.mnist',
      [TORCHRUN_ENV.masterPort]: '29500',
    });
    expect(r.job.spec!.template.spec!.subdomain).toBe('mnist');
    expect(r.service!.metadata!.name).toBe('mnist');
    expect(r.service!.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true, selector: { 'lathe.dev/training-run': 'mnist' } });
  });

  it('creates a queued Job suspended with the Kueue queue label', () => {
    const r = render({ run: smol().spec({ queue: 'team-a', resources: { gpus: 1 } }).obj(), attempt: 1, config, modelUri: 'x' });
    expect(r.job.metadata!.labels!['kueue.x-k8s.io/queue-name']).toBe('team-a');
    expect(r.job.spec!.suspend).toBe(true);
    // Kueue needs requests on every container to account the Workload.
    expect(trainer(r).resources!.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String), 'nvidia.com/gpu': '1' });
    expect(render({ run: smol().obj(), attempt: 1, config, modelUri: 'x' }).job.spec!.suspend).toBe(false);
    expect(render({ run: smol().spec({ suspend: true }).obj(), attempt: 1, config, modelUri: 'x' }).job.spec!.suspend).toBe(true);
  });

  it('gives Kueue the WorkloadPriorityClass on the Job, and holds back the queue label of a run created suspended', () => {
    const prioritized = render({ run: smol().queue('team-a').workloadPriority('high').obj(), attempt: 1, config, modelUri: 'x' }).job;
    expect(prioritized.metadata!.labels!['kueue.x-k8s.io/priority-class']).toBe('high');
    // The pod template is not where Kueue reads it.
    expect(prioritized.spec!.template.metadata!.labels!['kueue.x-k8s.io/priority-class']).toBeUndefined();
    const suspended = render({ run: smol().queue('team-a').suspend().obj(), attempt: 1, config, modelUri: 'x' }).job;
    expect(suspended.metadata!.labels!['kueue.x-k8s.io/queue-name']).toBeUndefined();
    expect(suspended.spec!.suspend).toBe(true);
  });

  it('meets the restricted Pod Security profile with a read-only root filesystem', () => {
    const pod = render({ run: smol().obj(), attempt: 1, config, modelUri: 'x' }).job.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('lathe-trainer');
    const c = pod.containers[0]!;
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.volumeMounts!.map((m) => m.mountPath)).toEqual(expect.arrayContaining(['/tmp', '/dev/shm']));
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('copies podMetadata onto pods without letting it override Lathe labels', () => {
    const r = render({
      run: smol().spec({ podMetadata: { labels: { team: 'nlp', 'lathe.dev/training-run': 'spoof' }, annotations: { 'sim.lathe.dev/hold': 'true' } } }).obj(),
      attempt: 1,
      config,
      modelUri: 'x',
    });
    const meta = r.job.spec!.template.metadata!;
    expect(meta.labels).toMatchObject({ team: 'nlp', 'lathe.dev/training-run': 'smol' });
    expect(meta.annotations).toEqual({ 'sim.lathe.dev/hold': 'true' });
  });

  it('uses the image and command override of a custom task', () => {
    const r = render({ run: smol().spec({ task: 'custom', image: 'me/train:2', command: ['python', 'train.py'] }).obj(), attempt: 1, config, modelUri: 'x' });
    expect(trainer(r).image).toBe('me/train:2');
    expect(trainer(r).args).toEqual(['python', 'train.py']);
    expect(trainer(r).command).toBeUndefined();
    expect(trainer(render({ run: smol().obj(), attempt: 1, config, modelUri: 'x' })).image).toBe('registry.example/lathe-trainer:1.0');
  });

  it('serialises hyperparameters with sorted keys so the Job never differs between passes', () => {
    const a = hyperparametersJson(smol().spec({ hyperparameters: { learningRate: 0.1, epochs: 2 } }).obj());
    const b = hyperparametersJson(smol().spec({ hyperparameters: { epochs: 2, learningRate: 0.1 } }).obj());
    expect(a).toBe(b);
    expect(a).toBe('{"epochs":2,"learningRate":0.1}');
  });
});
