// Builders of the objects tests make, as jobset's pkg/util/testing/wrappers.go: a readable chain
// (`makeTrainingRun('r').workers(2).spot().obj()`) over an object that is valid by default, so a
// test names only what it is about. Used by unit tests of the reconcilers and by the suites that
// talk to a cluster.
import type { V1Deployment, V1Job, V1Pod } from '@kubernetes/client-node';
import type { InferenceService } from '../../operator/src/api/schema/inferenceservice.js';
import type { TrainingRun, TrainingRunStatus } from '../../operator/src/api/schema/trainingrun.js';
import { KUEUE_LABELS, SUSPENDED_BY_LATHE, type Workload, type WorkloadCondition } from '../../operator/src/k8s/kueue.js';
import { LABELS } from '../../operator/src/k8s/labels.js';
import { TRAINER_CONTAINER } from '../../operator/src/trainingrun/trainer-contract.js';

export const T0 = new Date('2026-11-22T12:00:00Z');

export class TrainingRunBuilder {
  private readonly run: TrainingRun;
  private namespaced = false;

  constructor(name: string) {
    this.run = {
      apiVersion: 'lathe.dev/v1alpha1',
      kind: 'TrainingRun',
      metadata: { name, namespace: 'ml', uid: `uid-${name}`, generation: 1, resourceVersion: '1', creationTimestamp: T0 },
      spec: { model: 'hf://BEE-spoke-data/smol_llama-101M-GQA', task: 'text-generation', dataset: { uri: 's3://lathe-datasets/tinystories.jsonl' } },
    };
  }

  namespace(ns: string): this {
    this.run.metadata.namespace = ns;
    this.namespaced = true;
    return this;
  }
  uid(uid: string): this {
    this.run.metadata.uid = uid;
    return this;
  }
  generation(g: number): this {
    this.run.metadata.generation = g;
    return this;
  }
  created(at: Date): this {
    this.run.metadata.creationTimestamp = at;
    return this;
  }
  dataset(uri: string): this {
    this.run.spec.dataset = { uri };
    return this;
  }
  task(task: TrainingRun['spec']['task']): this {
    this.run.spec.task = task;
    return this;
  }
  hyperparameters(h: NonNullable<TrainingRun['spec']['hyperparameters']>): this {
    this.run.spec.hyperparameters = { ...this.run.spec.hyperparameters, ...h };
    return this;
  }
  /** cpu, memory, gpus (merged over what is set). */
  resources(r: NonNullable<TrainingRun['spec']['resources']>): this {
    this.run.spec.resources = { ...this.run.spec.resources, ...r };
    return this;
  }
  podAnnotations(a: Record<string, string>): this {
    const pm = this.run.spec.podMetadata ?? {};
    this.run.spec.podMetadata = { ...pm, annotations: { ...pm.annotations, ...a } };
    return this;
  }
  /**
   * Every optional field of the spec set to a valid value (the admission and schema tests: the API
   * server and the zod schemas must accept all of it and prune nothing).
   */
  everyField(): this {
    this.run.spec = {
      model: 'hf://BEE-spoke-data/smol_llama-101M-GQA',
      task: 'text-generation',
      dataset: { uri: 's3://ml-data/tinystories.jsonl' },
      hyperparameters: { epochs: 3, batchSize: 8, learningRate: 5.0e-5, extra: { scheduler: 'cosine' } },
      workers: 2,
      resources: { gpus: 1, cpu: '4', memory: '16Gi' },
      spot: true,
      maxRuntime: '2h',
      retries: 2,
      queue: 'team-a',
      workloadPriorityClassName: 'high-priority',
      ttlAfterFinished: '1h',
      suspend: true,
      outputModel: 'smol-llama-stories',
      podMetadata: { labels: { 'cost-center': 'ml-research' }, annotations: { 'example.com/note': 'hello world' } },
      nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A10G' },
      tolerations: [
        { key: 'example.com/dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1a', 'us-east-1b'] }] }],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 50, preference: { matchExpressions: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['g5.xlarge'] }] } },
          ],
        },
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { 'lathe.dev/training-run': this.run.metadata.name! } } } },
          ],
        },
      },
      priorityClassName: 'ml-batch',
    };
    return this;
  }
  /** Any other spec fields, set over what is there (for the rarer ones without a method of their own). */
  spec(fields: Partial<TrainingRun['spec']>): this {
    Object.assign(this.run.spec, structuredClone(fields));
    return this;
  }
  model(model: string): this {
    this.run.spec.model = model;
    return this;
  }
  workers(n: number): this {
    this.run.spec.workers = n;
    return this;
  }
  gpus(n: number): this {
    this.run.spec.resources = { ...this.run.spec.resources, gpus: n };
    return this;
  }
  spot(): this {
    this.run.spec.spot = true;
    return this;
  }
  suspend(on = true): this {
    this.run.spec.suspend = on;
    return this;
  }
  queue(name: string): this {
    this.run.spec.queue = name;
    return this;
  }
  workloadPriority(name: string): this {
    this.run.spec.workloadPriorityClassName = name;
    return this;
  }
  retries(n: number): this {
    this.run.spec.retries = n;
    return this;
  }
  status(status: TrainingRunStatus): this {
    this.run.status = status;
    return this;
  }
  obj(): TrainingRun {
    return structuredClone(this.run);
  }
  /**
   * The object as a user sends it to the API server: no uid, resourceVersion, generation or
   * creationTimestamp, and no namespace unless one was given (the request's path names it).
   */
  manifest(): TrainingRun & { metadata: { name: string } } {
    const { name, namespace } = this.run.metadata;
    return { ...structuredClone(this.run), metadata: this.namespaced ? { name: name!, namespace } : { name: name! } };
  }
}

export const makeTrainingRun = (name: string) => new TrainingRunBuilder(name);

export class JobBuilder {
  private readonly job: V1Job;

  constructor(name: string) {
    this.job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'ml', uid: `uid-${name}`, creationTimestamp: T0, labels: {} }, spec: { template: {} }, status: {} };
  }

  /** Owned by (labelled for) TrainingRun `run`. */
  run(run: string): this {
    this.job.metadata!.labels![LABELS.trainingRun] = run;
    return this;
  }
  created(at: Date): this {
    this.job.metadata!.creationTimestamp = at;
    return this;
  }
  suspended(on = true): this {
    this.job.spec!.suspend = on;
    return this;
  }
  /** Submitted to Kueue: carries the queue-name label (suspended until admitted). */
  submittedTo(queue: string): this {
    this.job.metadata!.labels![KUEUE_LABELS.queueName] = queue;
    this.job.spec!.suspend = true;
    return this;
  }
  complete(at: Date = T0): this {
    this.job.status = { ...this.job.status, completionTime: at, conditions: [{ type: 'Complete', status: 'True' }] };
    return this;
  }
  /** Pods of the Job that failed so far (the Job controller's count), while it goes on. */
  failures(n: number): this {
    this.job.status = { ...this.job.status, failed: n };
    return this;
  }
  failed(reason = 'BackoffLimitExceeded'): this {
    this.job.status = { ...this.job.status, failed: this.job.status?.failed ?? 1, conditions: [{ type: 'Failed', status: 'True', reason }] };
    return this;
  }
  obj(): V1Job {
    return structuredClone(this.job);
  }
}

export const makeJob = (name: string) => new JobBuilder(name);

export class PodBuilder {
  private readonly pod: V1Pod;

  constructor(name: string) {
    this.pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ml', uid: `uid-${name}`, creationTimestamp: T0, labels: {} }, status: { phase: 'Pending' } };
  }

  /** A pod of Job `job` of TrainingRun `run`, labelled as the Job controller and the operator label them. */
  of(job: string, run: string): this {
    Object.assign(this.pod.metadata!.labels!, { 'job-name': job, 'batch.kubernetes.io/job-name': job, [LABELS.trainingRun]: run });
    return this;
  }
  phase(phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed'): this {
    this.pod.status!.phase = phase;
    return this;
  }
  created(at: Date): this {
    this.pod.metadata!.creationTimestamp = at;
    return this;
  }
  /** The trainer exited with `code`, its last line `message` in the termination log (a real failure). */
  exited(code: number, message = ''): this {
    this.pod.status = {
      ...this.pod.status,
      phase: code === 0 ? 'Succeeded' : 'Failed',
      containerStatuses: [{ name: TRAINER_CONTAINER, image: 'trainer', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: code, ...(message ? { message } : {}) } } }],
    };
    return this;
  }
  /** Ended by a spot interruption, drain or preemption. */
  disrupted(): this {
    this.pod.status = { ...this.pod.status, phase: 'Failed', conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' }] };
    return this;
  }
  obj(): V1Pod {
    return structuredClone(this.pod);
  }
}

export const makePod = (name: string) => new PodBuilder(name);

export class InferenceServiceBuilder {
  private readonly isvc: InferenceService;

  constructor(name: string) {
    this.isvc = {
      apiVersion: 'lathe.dev/v1alpha1',
      kind: 'InferenceService',
      metadata: { name, namespace: 'ml', uid: `uid-${name}`, generation: 1, resourceVersion: '1', creationTimestamp: T0 },
      spec: { task: 'text-generation', model: { uri: 's3://lathe-artifacts/models/m/v1/checkpoint/' }, replicas: { min: 1 } },
    };
  }

  model(uri: string): this {
    this.isvc.spec.model = { uri };
    return this;
  }
  /** Serves the artifact of TrainingRun `run` (spec.model.trainingRun). */
  modelFromRun(run: string): this {
    this.isvc.spec.model = { trainingRun: run };
    return this;
  }
  /** replicas.min, and max when it autoscales (max > min adds an HPA). */
  replicas(min: number, max?: number): this {
    this.isvc.spec.replicas = max === undefined ? { min } : { min, max };
    return this;
  }
  generation(g: number): this {
    this.isvc.metadata.generation = g;
    return this;
  }
  status(status: NonNullable<InferenceService['status']>): this {
    this.isvc.status = status;
    return this;
  }
  obj(): InferenceService {
    return structuredClone(this.isvc);
  }
}

export const makeInferenceService = (name: string) => new InferenceServiceBuilder(name);

/** A Deployment as the Deployment controller reports it. */
export function deploymentStatus(d: V1Deployment, status: NonNullable<V1Deployment['status']>): V1Deployment {
  return { ...d, status: { observedGeneration: d.metadata?.generation ?? 1, ...status } };
}

/** Kueue's Workload of a Job, in the states Kueue's own controllers put it. */
export class WorkloadBuilder {
  private readonly w: Workload;

  constructor(name: string) {
    this.w = { apiVersion: 'kueue.x-k8s.io/v1beta2', kind: 'Workload', metadata: { name, namespace: 'ml', uid: `uid-${name}` }, spec: { active: true, queueName: 'team-a' }, status: { conditions: [] } };
  }

  /** Owned by the Job with this uid (as Kueue's job reconciler makes it). */
  ownedBy(job: V1Job): this {
    this.w.metadata!.ownerReferences = [{ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata!.name!, uid: job.metadata!.uid!, controller: true }];
    return this;
  }
  private condition(c: WorkloadCondition): this {
    this.w.status!.conditions = [...(this.w.status!.conditions ?? []).filter((x) => x.type !== c.type), c];
    return this;
  }
  /** Waiting for quota, with Kueue's message. */
  pending(message: string): this {
    return this.condition({ type: 'QuotaReserved', status: 'False', reason: 'Pending', message });
  }
  inadmissible(message: string): this {
    return this.condition({ type: 'QuotaReserved', status: 'False', reason: 'Inadmissible', message });
  }
  admitted(clusterQueue = 'gpu'): this {
    this.w.status!.admission = { clusterQueue };
    this.condition({ type: 'QuotaReserved', status: 'True', reason: 'QuotaReserved', message: `Quota reserved in ClusterQueue ${clusterQueue}` });
    return this.condition({ type: 'Admitted', status: 'True', reason: 'Admitted', message: 'The workload is admitted' });
  }
  /** Evicted by a higher-priority workload `count` times so far, and waiting again. */
  preempted(count = 1, message = 'Preempted to accommodate a workload (UID: x, JobUID: y) due to prioritization in the ClusterQueue'): this {
    this.w.status!.schedulingStats = { evictions: [{ reason: 'Preempted', underlyingCause: 'InClusterQueue', count }] };
    this.condition({ type: 'Preempted', status: 'True', reason: 'InClusterQueue', message });
    this.condition({ type: 'Evicted', status: 'True', reason: 'Preempted', message });
    this.condition({ type: 'Admitted', status: 'False', reason: 'NoReservation', message: 'The workload has no reservation' });
    return this.pending('couldn\'t assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor gpu, 2 more needed');
  }
  /** spec.active false: by Lathe (spec.suspend), or by Kueue or a person. */
  inactive(byLathe = false, message = 'The workload is deactivated'): this {
    this.w.spec!.active = false;
    if (byLathe) this.w.metadata!.annotations = { [SUSPENDED_BY_LATHE]: 'true' };
    return this.condition({ type: 'Evicted', status: 'True', reason: 'Deactivated', message });
  }
  obj(): Workload {
    return structuredClone(this.w);
  }
}

export const makeWorkload = (name: string) => new WorkloadBuilder(name);
