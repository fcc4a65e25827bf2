// Queued runs (spec.queue): Kueue admits the Job, and the Job's Workload says why it waits. This
// policy reads that Workload into the run's phase and message, counts Kueue's preemptions, and
// implements spec.suspend through Kueue's own switch (Workload spec.active), since Kueue owns the
// Job's `suspend` and resumes a Job suspended behind its back at once.
//
// A run created suspended is not submitted at all: its Job has no queue-name label, so Kueue
// ignores it and its `suspend` is Lathe's; resuming adds the label. That needs no Workload access
// and cannot race Kueue's admission (a Workload deactivated after the fact may already have pods).
import type { V1Job } from '@kubernetes/client-node';
import type { TrainingRun, TrainingRunStatus } from '../api/schema/trainingrun.js';
import type { KubeWriter } from '../k8s/kube-writer.js';
import {
  KUEUE_LABELS,
  SUSPENDED_BY_LATHE,
  WORKLOAD_CONDITIONS,
  WORKLOAD_REASONS,
  isActive,
  preemptionCount,
  workloadCondition,
  type Workload,
} from '../k8s/kueue.js';
import type { EventRecorder } from '../runtime/events.js';
import { REASONS } from './reasons.js';

type QueuePhase = { phase: 'Queued' | 'Suspended'; reason: string; message: string };

/** Queue reasons a person must act on (kstatus Stalled): Kueue will not admit the run as things are. */
export const QUEUE_BLOCKED_REASONS: readonly string[] = [REASONS.LocalQueueNotFound, REASONS.Inadmissible, REASONS.WorkloadDeactivated, REASONS.SuspendNeedsKueue];

/** The Job has been given to Kueue (it carries the queue-name label). */
export function submitted(job: V1Job): boolean {
  return Boolean(job.metadata?.labels?.[KUEUE_LABELS.queueName]);
}

/**
 * What a queued run whose Job is suspended shows. `workload` is undefined when Kueue has not made
 * one yet, or when the operator does not read Workloads (`watched` false: LATHE_KUEUE off).
 */
export function queuedPhase(run: TrainingRun, job: V1Job, workload: Workload | undefined, watched: boolean): QueuePhase {
  const queue = run.spec.queue!;
  const ns = run.metadata.namespace!;
  if (!submitted(job)) {
    return run.spec.suspend
      ? { phase: 'Suspended', reason: REASONS.Suspended, message: `the run is suspended (spec.suspend); it is submitted to Kueue LocalQueue ${queue} when resumed` }
      : { phase: 'Queued', reason: REASONS.WaitingForAdmission, message: `submitting the Job to Kueue LocalQueue ${queue}` };
  }
  if (run.spec.suspend) {
    if (!watched) return { phase: 'Queued', reason: REASONS.SuspendNeedsKueue, message: suspendNeedsKueue(queue) };
    return { phase: 'Suspended', reason: REASONS.Suspended, message: 'the run is suspended (spec.suspend); its Kueue Workload is deactivated and out of the queue' };
  }
  if (!watched) {
    return {
      phase: 'Queued',
      reason: REASONS.WaitingForAdmission,
      message: `waiting for Kueue to admit the Job from LocalQueue ${queue} (the operator does not read Kueue Workloads; with the chart's kueue.enabled it shows Kueue's reason here)`,
    };
  }
  if (!workload) return { phase: 'Queued', reason: REASONS.WaitingForAdmission, message: `waiting for Kueue to create the Job's Workload (LocalQueue ${queue})` };
  const name = workload.metadata!.name!;
  if (!isActive(workload)) {
    if (workload.metadata?.annotations?.[SUSPENDED_BY_LATHE]) {
      return { phase: 'Queued', reason: REASONS.WaitingForAdmission, message: `resuming: re-activating Kueue Workload ${name}` };
    }
    const why = workloadCondition(workload, WORKLOAD_CONDITIONS.Evicted)?.message;
    return {
      phase: 'Queued',
      reason: REASONS.WorkloadDeactivated,
      message:
        `Kueue Workload ${name} is deactivated${why ? ` (${why})` : ''} and will not be admitted: re-activate it with ` +
        `kubectl patch workloads.kueue.x-k8s.io ${name} -n ${ns} --type=merge -p '{"spec":{"active":true}}', or delete the run`,
    };
  }
  const reserved = workloadCondition(workload, WORKLOAD_CONDITIONS.QuotaReserved);
  const admitted = workloadCondition(workload, WORKLOAD_CONDITIONS.Admitted);
  const clusterQueue = workload.status?.admission?.clusterQueue;
  if (admitted?.status === 'True') return { phase: 'Queued', reason: REASONS.WaitingForAdmission, message: `admitted by Kueue to ClusterQueue ${clusterQueue ?? '?'}; starting the pods` };
  if (reserved?.status === 'True') {
    return { phase: 'Queued', reason: REASONS.WaitingForAdmission, message: `quota reserved in ClusterQueue ${clusterQueue ?? '?'}; waiting for Kueue's admission checks` };
  }
  const kueueSays = reserved?.message ?? 'waiting for quota';
  if (reserved?.reason === WORKLOAD_REASONS.Inadmissible) {
    const missing = /LocalQueue \S+ doesn't exist/.test(kueueSays);
    return {
      phase: 'Queued',
      reason: missing ? REASONS.LocalQueueNotFound : REASONS.Inadmissible,
      message: missing
        ? `Kueue cannot admit the Job: ${kueueSays}: create LocalQueue ${queue} in namespace ${ns}, or recreate the run with an existing spec.queue`
        : `Kueue cannot admit the Job: ${kueueSays} (kubectl describe localqueue ${queue} -n ${ns}, and its ClusterQueue)`,
    };
  }
  const preempted = workloadCondition(workload, WORKLOAD_CONDITIONS.Preempted);
  if (preempted?.status === 'True') {
    return { phase: 'Queued', reason: REASONS.Preempted, message: `preempted by Kueue (${preempted.message ?? preempted.reason}); waiting to be admitted again: ${kueueSays}` };
  }
  return { phase: 'Queued', reason: REASONS.WaitingForAdmission, message: `waiting for Kueue to admit the Job from LocalQueue ${queue}: ${kueueSays}` };
}

function suspendNeedsKueue(queue: string): string {
  return (
    `spec.suspend cannot stop a run already submitted to Kueue (LocalQueue ${queue}) unless the operator manages Kueue ` +
    "Workloads: install the chart with kueue.enabled (LATHE_KUEUE=true), or delete the run"
  );
}

/**
 * The run's Kueue bookkeeping for status and the preemptions Kueue made since it was last written:
 * Kueue counts evictions per Workload, and status remembers how many of this Workload's are counted
 * (so an operator restart neither loses nor repeats one).
 */
export function kueuePreemptions(workload: Workload | undefined, current: TrainingRunStatus | undefined): { queue?: NonNullable<TrainingRunStatus['queue']>; added: number } {
  if (!workload?.metadata?.name) return current?.queue ? { queue: current.queue, added: 0 } : { added: 0 };
  const total = preemptionCount(workload);
  const counted = current?.queue?.workload === workload.metadata.name ? (current.queue.preemptions ?? 0) : 0;
  const clusterQueue = workload.status?.admission?.clusterQueue ?? current?.queue?.clusterQueue;
  return {
    queue: { workload: workload.metadata.name, ...(clusterQueue ? { clusterQueue } : {}), preemptions: total },
    added: Math.max(0, total - counted),
  };
}

/** spec.suspend of a queued run, through the queue-name label (never submitted) or Workload spec.active. */
export async function syncQueuedSuspend(
  d: { writer: Pick<KubeWriter, 'patchJob' | 'patchWorkload'>; events: Pick<EventRecorder, 'record'> },
  run: TrainingRun,
  job: V1Job,
  workload: Workload | undefined,
): Promise<void> {
  const suspend = run.spec.suspend ?? false;
  const ns = job.metadata!.namespace!;
  if (!submitted(job)) {
    if (suspend) return;
    await d.writer.patchJob(ns, job.metadata!.name!, { metadata: { labels: { [KUEUE_LABELS.queueName]: run.spec.queue } } });
    d.events.record(run, 'Normal', REASONS.Resumed, `submitted Job ${job.metadata!.name!} to Kueue LocalQueue ${run.spec.queue!}`);
    return;
  }
  if (!workload) return; // Its arrival re-queues the run.
  const name = workload.metadata!.name!;
  if (suspend && isActive(workload)) {
    await d.writer.patchWorkload(ns, name, { metadata: { annotations: { [SUSPENDED_BY_LATHE]: 'true' } }, spec: { active: false } });
    d.events.record(run, 'Normal', REASONS.Suspended, `deactivated Kueue Workload ${name}: its pods are stopped and it leaves the queue`);
  } else if (!suspend && !isActive(workload) && workload.metadata?.annotations?.[SUSPENDED_BY_LATHE]) {
    await d.writer.patchWorkload(ns, name, { metadata: { annotations: { [SUSPENDED_BY_LATHE]: null } }, spec: { active: true } });
    d.events.record(run, 'Normal', REASONS.Resumed, `re-activated Kueue Workload ${name}: once admitted, the run resumes from its newest checkpoint`);
  }
}
