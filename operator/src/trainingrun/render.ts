// The pure half of the TrainingRun controller: from a TrainingRun (and the operator's settings) to
// the objects that should exist. No I/O, no clock, no randomness: the same input renders the same
// bytes, which is what makes create-once-and-409 safe and what the unit tests pin down.
import type { V1EnvVar, V1Job, V1PodSpec, V1Service } from '@kubernetes/client-node';
import { KINDS } from '../api/constants.js';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { parseDurationSeconds } from '../api/duration.js';
import type { OperatorConfig } from '../config/operator-config.js';
import { containerResources, controllerReference } from '../k8s/children.js';
import { ANNOTATIONS, LABELS, MANAGED_BY } from '../k8s/labels.js';
import { KUEUE_LABELS } from '../k8s/kueue.js';
import type { NetworkPolicy } from '../k8s/network-policy.js';
import { restrictedContainerSecurity, restrictedPodSecurity, scratchVolumes } from '../k8s/pod-security.js';
import { placement } from '../k8s/scheduling.js';
import { podS3Access } from '../k8s/pod-s3.js';
import { workerServiceName } from './names.js';
import { renderWorkersNetworkPolicy } from './network-policy.js';
import type { RunPlan } from './plan.js';
import { MASTER_PORT, TORCHRUN_ENV, TRAINER_BAD_INPUT_EXIT_CODE, TRAINER_CONTAINER, TRAINER_ENV } from './trainer-contract.js';

export interface RenderInput {
  /** The run, its defaults, id, S3 prefix and attempt (plan.ts). */
  plan: RunPlan;
  config: Pick<OperatorConfig, 'trainerImage' | 'trainerServiceAccount' | 's3Bucket' | 'trainerGracePeriodSeconds' | 'podS3Endpoint' | 'podEnvSecret'> &
    Partial<Pick<OperatorConfig, 'networkPolicies'>>;
  /** spec.model with `run://` references resolved to the referenced run's artifact URI. */
  modelUri: string;
}

export interface RenderedRun {
  job: V1Job;
  /** Headless Service for worker DNS; only when workers > 1. */
  service?: V1Service;
  /** Only pods of the run reach its pods; when workers > 1 and LATHE_NETWORK_POLICIES (network-policy.ts). */
  networkPolicy?: NetworkPolicy;
}

export function runLabels(run: TrainingRun): Record<string, string> {
  return {
    [LABELS.name]: 'lathe-trainer',
    [LABELS.component]: 'training',
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.partOf]: 'lathe',
    [LABELS.trainingRun]: run.metadata.name!,
  };
}

/**
 * Kueue's labels on the Job: the queue (only once the run is not suspended, so that a run created
 * suspended is not submitted until it resumes) and the WorkloadPriorityClass.
 */
function kueueLabels(run: TrainingRun): Record<string, string> {
  const { queue, suspend, workloadPriorityClassName } = run.spec;
  if (!queue) return {};
  return {
    ...(suspend ? {} : { [KUEUE_LABELS.queueName]: queue }),
    ...(workloadPriorityClassName ? { [KUEUE_LABELS.priorityClass]: workloadPriorityClassName } : {}),
  };
}

export function render(input: RenderInput): RenderedRun {
  const { plan, config, modelUri } = input;
  const { run, spec, attempt, location } = plan;
  const name = run.metadata.name!;
  const namespace = run.metadata.namespace!;
  const id = plan.runId;
  const job = plan.jobName;
  const distributed = spec.workers > 1;
  const labels = { ...runLabels(run), [LABELS.runId]: id, [LABELS.attempt]: String(attempt) };
  const jobLabels = { ...labels, ...kueueLabels(run) };

  const s3 = podS3Access(config);
  const env: V1EnvVar[] = [
    { name: TRAINER_ENV.runId, value: id },
    { name: TRAINER_ENV.runName, value: name },
    { name: TRAINER_ENV.namespace, value: namespace },
    { name: TRAINER_ENV.attempt, value: String(attempt) },
    { name: TRAINER_ENV.task, value: spec.task },
    { name: TRAINER_ENV.modelUri, value: modelUri },
    { name: TRAINER_ENV.modelName, value: spec.modelSlug },
    { name: TRAINER_ENV.datasetUri, value: run.spec.dataset.uri },
    { name: TRAINER_ENV.outputUri, value: location.prefixUri },
    { name: TRAINER_ENV.hyperparameters, value: hyperparametersJson(run) },
    { name: TRAINER_ENV.hfHome, value: '/tmp/hf' },
    ...s3.env,
  ];
  if (distributed) {
    // Kubeflow's torchrun names (PET_*): rank from the Indexed Job's completion index, rendezvous on
    // pod 0's stable DNS name through the headless Service.
    env.push(
      { name: TORCHRUN_ENV.nnodes, value: String(spec.workers) },
      { name: TORCHRUN_ENV.nprocPerNode, value: String(Math.max(spec.gpus, 1)) },
      {
        name: TORCHRUN_ENV.nodeRank,
        valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${ANNOTATIONS.completionIndex}']` } },
      },
      { name: TORCHRUN_ENV.masterAddr, value: `${job}-0.${workerServiceName(name)}` },
      { name: TORCHRUN_ENV.masterPort, value: String(MASTER_PORT) },
    );
  }

  const podSpec: V1PodSpec = {
    restartPolicy: 'Never',
    serviceAccountName: config.trainerServiceAccount,
    // Training pods never call the Kubernetes API; IRSA's projected token is mounted separately.
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: config.trainerGracePeriodSeconds,
    securityContext: restrictedPodSecurity(),
    ...(distributed ? { subdomain: workerServiceName(name) } : {}),
    // The user's nodeSelector, tolerations, affinity and priorityClassName merged with the GPU and
    // spot placement (rules in k8s/scheduling.ts). A Job is only ever created, never compared with
    // what the cluster holds, so Kueue adding its flavor's nodeSelector later causes no drift.
    ...placement({ gpus: spec.gpus, spot: spec.spot }, run.spec),
    containers: [
      {
        name: TRAINER_CONTAINER,
        image: run.spec.image ?? config.trainerImage,
        // As args, not command: the trainer image's entrypoint (python -m lathe_trainer) wraps the
        // user's program with the run's environment and upload helpers (trainer-image/README.md).
        ...(run.spec.command ? { args: run.spec.command } : {}),
        env,
        ...(s3.envFrom.length ? { envFrom: s3.envFrom } : {}),
        ...(distributed ? { ports: [{ name: 'rendezvous', containerPort: MASTER_PORT }] } : {}),
        resources: containerResources(spec),
        securityContext: restrictedContainerSecurity(),
        // The trainer writes its one-line error here; the operator copies it into status.message.
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'FallbackToLogsOnError',
        volumeMounts: scratchVolumes.mounts,
      },
    ],
    volumes: scratchVolumes.volumes,
  };

  const maxRuntime = run.spec.maxRuntime ? parseDurationSeconds(run.spec.maxRuntime) : undefined;
  const ttl = run.spec.ttlAfterFinished ? parseDurationSeconds(run.spec.ttlAfterFinished) : undefined;

  const rendered: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: job, namespace, labels: jobLabels, ownerReferences: [controllerReference(KINDS.TrainingRun, run)] },
    spec: {
      completions: spec.workers,
      parallelism: spec.workers,
      completionMode: distributed ? 'Indexed' : 'NonIndexed',
      backoffLimit: spec.retries,
      // Kueue owns `suspend` of a submitted Job from creation on (queueing.ts); otherwise it mirrors spec.suspend.
      suspend: run.spec.queue ? true : spec.suspend,
      ...(maxRuntime !== undefined ? { activeDeadlineSeconds: maxRuntime } : {}),
      ...(ttl !== undefined ? { ttlSecondsAfterFinished: ttl } : {}),
      podFailurePolicy: {
        rules: [
          // Spot interruptions, drains and preemption don't consume retries: the pod is replaced and
          // the trainer resumes from its newest checkpoint.
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          // Bad input (the trainer's exit code 2) fails at once: retrying cannot help.
          {
            action: 'FailJob',
            onExitCodes: { containerName: TRAINER_CONTAINER, operator: 'In', values: [TRAINER_BAD_INPUT_EXIT_CODE] },
          },
        ],
      },
      template: {
        metadata: {
          labels: { ...(run.spec.podMetadata?.labels ?? {}), ...labels },
          ...(run.spec.podMetadata?.annotations ? { annotations: { ...run.spec.podMetadata.annotations } } : {}),
        },
        spec: podSpec,
      },
    },
  };

  const result: RenderedRun = { job: rendered };
  if (distributed) {
    result.service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: workerServiceName(name), namespace, labels: runLabels(run), ownerReferences: [controllerReference(KINDS.TrainingRun, run)] },
      spec: {
        clusterIP: 'None',
        // Rendezvous happens before any worker is Ready, so DNS must answer for unready pods too.
        publishNotReadyAddresses: true,
        selector: { [LABELS.trainingRun]: name },
        ports: [{ name: 'rendezvous', port: MASTER_PORT, targetPort: MASTER_PORT }],
      },
    };
    if (config.networkPolicies) {
      result.networkPolicy = renderWorkersNetworkPolicy({ name: workerServiceName(name), namespace, runName: name, labels: runLabels(run), owner: [controllerReference(KINDS.TrainingRun, run)] });
    }
  }
  return result;
}

/** LATHE_HYPERPARAMETERS: the known fields as JSON numbers, `extra` entries flattened beside them. */
export function hyperparametersJson(run: TrainingRun): string {
  const { extra, ...known } = run.spec.hyperparameters ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(extra ?? {})) out[k] = v;
  for (const [k, v] of Object.entries(known)) if (v !== undefined) out[k] = v;
  return JSON.stringify(out, Object.keys(out).sort());
}
