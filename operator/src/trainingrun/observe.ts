// The other pure half of the TrainingRun controller: from what exists (the attempt's Job, the run's
// pods, what the trainer wrote to S3) to the status the run should show. The reconciler compares
// the result with the current status and writes only a difference.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { CONDITION_TYPES, TERMINAL_PHASES } from '../api/constants.js';
import type { TrainingRun, TrainingRunProgress, TrainingRunStatus } from '../api/schema/trainingrun.js';
import { setCondition, type Condition } from '../k8s/conditions.js';
import { needsAPerson, type CreateFailure } from '../k8s/pod-create-failure.js';
import type { Workload } from '../k8s/kueue.js';
import { QUEUE_BLOCKED_REASONS, queuedPhase, submitted } from './queueing.js';
import { REASONS } from './reasons.js';
import { TRAINER_CONTAINER } from './trainer-contract.js';

export type Phase = NonNullable<TrainingRunStatus['phase']>;

/** What the trainer's records in S3 say, as far as the reconciler looked. */
export interface ArtifactState {
  /** The run record and artifact are written: the run may show Succeeded. */
  recorded?: { uri: string; metadataUri: string; recordUri: string };
  /** Why the artifact could not be recorded yet (S3 outage, malformed metadata.json, ...). */
  problem?: { reason: string; message: string };
  /** The problem is final: the trainer finished long ago and left no valid metadata.json. */
  final?: boolean;
}

export interface Observation {
  run: TrainingRun;
  job: V1Job | undefined;
  /** Pods of the current attempt's Job. */
  pods: V1Pod[];
  attempt: number;
  jobName: string;
  gpus: number;
  preemptions: number;
  progress?: TrainingRunProgress;
  artifact?: ArtifactState;
  /** The run has been Running before (a later Pending pod is a replacement, not a new start). */
  started?: boolean;
  /** The Job's controller cannot create its pods (a FailedCreate Event newer than every pod). */
  createFailure?: CreateFailure;
  /** The API server refused the Job or Service rendered from this spec (400/422). */
  rejected?: { reason: string; message: string };
  /** The Job's Kueue Workload (queued runs, when the operator reads Workloads). */
  workload?: Workload;
  /** What status.queue records of that Workload (queueing.ts kueuePreemptions). */
  queue?: NonNullable<TrainingRunStatus['queue']>;
  /** The operator reads Kueue Workloads (LATHE_KUEUE): a queued run's status can say what Kueue says. */
  kueue?: boolean;
  /** Set while the referenced `run://` model is not ready; the run waits. */
  waitingFor?: { reason: string; message: string };
  now: Date;
}

export function isTerminal(phase: string | undefined): phase is 'Succeeded' | 'Failed' {
  return (TERMINAL_PHASES as readonly string[]).includes(phase ?? '');
}

export function jobCondition(job: V1Job | undefined, type: string) {
  return job?.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** The phase and the one-line reason a person needs to see. */
export function phaseOf(o: Observation): { phase: Phase; reason: string; message: string } {
  const { job, run } = o;
  if (o.waitingFor) return { phase: 'Pending', ...o.waitingFor };
  if (o.rejected) return { phase: 'Pending', ...o.rejected };
  if (!job) return { phase: 'Pending', reason: REASONS.CreatingJob, message: `creating Job ${o.jobName}` };

  const failed = jobCondition(job, 'Failed');
  if (failed) {
    const trainerMessage = terminationMessage(o.pods);
    const reason = failed.reason ?? REASONS.JobFailed;
    const base = failureText(reason, failed.message);
    return { phase: 'Failed', reason, message: trainerMessage ? `${base}: ${trainerMessage}` : base };
  }
  if (jobCondition(job, 'Complete')) {
    if (o.artifact?.recorded) return { phase: 'Succeeded', reason: REASONS.Succeeded, message: `model written to ${o.artifact.recorded.uri}` };
    if (o.artifact?.final && o.artifact.problem) return { phase: 'Failed', ...o.artifact.problem };
    const problem = o.artifact?.problem ?? { reason: REASONS.RecordingArtifact, message: 'training finished; reading metadata.json' };
    return { phase: 'Running', ...problem };
  }
  if (job.spec?.suspend) {
    if (run.spec.queue) return queuedPhase(run, job, o.workload, o.kueue ?? false);
    return { phase: 'Suspended', reason: REASONS.Suspended, message: 'the run is suspended (spec.suspend)' };
  }
  if (run.spec.queue && run.spec.suspend && submitted(job) && !o.kueue) {
    // Admitted and running: only Kueue's Workload switch could stop it, and the operator has no access.
    const { reason, message } = queuedPhase(run, job, undefined, false);
    return { phase: 'Running', reason, message };
  }
  const active = o.pods.filter((p) => !p.metadata?.deletionTimestamp);
  if (o.createFailure) {
    // Before "Training": one worker running while another cannot be created still trains nothing.
    const running = o.started || active.some((p) => p.status?.phase === 'Running');
    return { phase: running ? 'Running' : 'Pending', ...o.createFailure };
  }
  if (active.some((p) => p.status?.phase === 'Running')) {
    return { phase: 'Running', reason: REASONS.Training, message: `training (attempt ${o.attempt})` };
  }
  const pending = pendingReason(active);
  // Once training has started, a pod that finished before the Job noticed, or a replacement pod
  // after a preemption, is still part of a running run: the phase never goes back to Pending.
  if (o.started || o.pods.some((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed')) {
    return { phase: 'Running', reason: pending.reason === REASONS.PodsPending ? REASONS.Training : pending.reason, message: pending.reason === REASONS.PodsPending ? `training (attempt ${o.attempt})` : pending.message };
  }
  return { phase: 'Pending', ...pending };
}

/** Why pods are not running yet: the scheduler's words when it can't place them, image pulls, ... */
export function pendingReason(pods: V1Pod[]): { reason: string; message: string } {
  for (const pod of pods) {
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      return { reason: 'Unschedulable', message: scheduled.message ?? 'no node can run the pod' };
    }
  }
  for (const pod of pods) {
    for (const cs of pod.status?.containerStatuses ?? []) {
      const waiting = cs.state?.waiting;
      if (waiting?.reason && waiting.reason !== 'ContainerCreating') {
        return { reason: waiting.reason, message: waiting.message ?? waiting.reason };
      }
    }
  }
  return { reason: REASONS.PodsPending, message: pods.length ? 'waiting for pods to start' : 'waiting for the Job to create pods' };
}

function failureText(reason: string, message: string | undefined): string {
  switch (reason) {
    case 'DeadlineExceeded':
      return 'the run exceeded spec.maxRuntime';
    case 'BackoffLimitExceeded':
      return 'the trainer failed more often than spec.retries allows';
    case 'PodFailurePolicy':
      return 'the trainer rejected its input (exit code 2)';
    default:
      return message ?? reason;
  }
}

/** The trainer's one-line error (its termination message) from the newest failed pod. */
export function terminationMessage(pods: V1Pod[]): string | undefined {
  const failed = pods
    .filter((p) => p.status?.phase === 'Failed')
    .sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
  for (const pod of failed) {
    const cs = pod.status?.containerStatuses?.find((c) => c.name === TRAINER_CONTAINER) ?? pod.status?.containerStatuses?.[0];
    const msg = cs?.state?.terminated?.message?.trim();
    if (msg) return msg.split('\n').filter(Boolean).slice(-1)[0]!.slice(0, 1024);
  }
  return undefined;
}

/** Reasons a person must act on while the operator keeps watching: kstatus Stalled, a Warning Event. */
export function stalled(reason: string | undefined): boolean {
  return needsAPerson(reason) || QUEUE_BLOCKED_REASONS.includes(reason ?? '');
}

/** The status the run should have now. `current` supplies condition transition times. */
export function desiredStatus(o: Observation, current: TrainingRunStatus | undefined): TrainingRunStatus {
  const { phase, reason, message } = phaseOf(o);
  const generation = o.run.metadata.generation ?? 0;
  const job = o.job;
  const status: TrainingRunStatus = {
    phase,
    runId: current?.runId,
    observedGeneration: generation,
    attempts: o.attempt,
    jobName: o.jobName,
    gpus: o.gpus,
    preemptions: o.preemptions,
    failures: job?.status?.failed ?? current?.failures ?? 0,
    message,
  };
  const queue = o.queue ?? current?.queue;
  if (queue) status.queue = queue;
  const startTime = current?.startTime ?? job?.status?.startTime;
  if (startTime) status.startTime = new Date(startTime).toISOString();
  if (isTerminal(phase)) {
    status.completionTime = current?.completionTime ?? new Date(job?.status?.completionTime ?? o.now).toISOString();
  }
  const progress = o.progress ?? current?.progress;
  if (progress) status.progress = progress;
  if (o.artifact?.recorded) status.artifact = o.artifact.recorded;
  else if (current?.artifact) status.artifact = current.artifact;

  let conds: Condition[] = (current?.conditions) ?? [];
  const set = (type: string, s: 'True' | 'False', r: string, m: string) => {
    conds = setCondition(conds, { type, status: s, reason: r, message: m, observedGeneration: generation }, o.now);
  };
  const terminal = isTerminal(phase);
  set(CONDITION_TYPES.Ready, phase === 'Succeeded' ? 'True' : 'False', reason, message);
  // kstatus: a suspended run is at rest ("Current"), so Flux and `kpt live status` do not wait on
  // it; pods that cannot be created need a person ("Failed" until fixed; the Job keeps trying).
  const blocked = stalled(reason);
  set(CONDITION_TYPES.Reconciling, terminal || blocked || phase === 'Suspended' ? 'False' : 'True', reason, message);
  set(CONDITION_TYPES.Stalled, phase === 'Failed' || blocked ? 'True' : 'False', reason, message);
  if (terminal) {
    set(CONDITION_TYPES.Succeeded, phase === 'Succeeded' ? 'True' : 'False', reason, message);
    set(CONDITION_TYPES.Failed, phase === 'Failed' ? 'True' : 'False', reason, message);
  }
  set(CONDITION_TYPES.Queued, phase === 'Queued' ? 'True' : 'False', phase === 'Queued' ? reason : 'NotQueued', phase === 'Queued' ? message : '');
  set(CONDITION_TYPES.Suspended, phase === 'Suspended' ? 'True' : 'False', phase === 'Suspended' ? reason : 'NotSuspended', phase === 'Suspended' ? message : '');
  status.conditions = conds;
  return status;
}
