// Attempts: each attempt of a run is one Job, `<run>-<attempt>`. The Job's own retries (spec.retries)
// stay within an attempt; a new attempt starts only when someone deleted the Job of a live run.
// Silently succeeding or vanishing would lose the run; the new attempt resumes from the newest
// checkpoint in S3 and says why.
import type { TrainingRunStatus } from '../api/schema/trainingrun.js';
import type { KubeWriter } from '../k8s/kube-writer.js';
import { RESOURCES } from '../k8s/resources.js';
import type { EventRecorder } from '../runtime/events.js';
import type { Logger } from '../runtime/logger.js';
import { withAttempt, type RunPlan } from './plan.js';
import { REASONS } from './reasons.js';

export interface AttemptDeps {
  /** Reads the API server, not the cache: the cache may lag behind our own create. */
  reads: Pick<KubeWriter, 'exists'>;
  events: Pick<EventRecorder, 'record'>;
  log: Logger;
}

/** The plan to create a Job for, when the current attempt's Job is not in the cache. */
export async function attemptForMissingJob(d: AttemptDeps, plan: RunPlan, current: TrainingRunStatus | undefined): Promise<RunPlan> {
  // A run that never showed more than Pending may simply not have its Job yet (or the cache lags).
  if (current?.jobName !== plan.jobName || !current.phase || current.phase === 'Pending') return plan;
  if (await d.reads.exists(RESOURCES.jobs, plan.run.metadata.namespace!, plan.jobName)) return plan;
  const next = withAttempt(plan, plan.attempt + 1);
  d.events.record(plan.run, 'Warning', REASONS.JobDeleted, `Job ${plan.jobName} was deleted while the run was ${current.phase}; starting attempt ${next.attempt}`);
  d.log.warn('job deleted while active; new attempt', { attempt: next.attempt });
  return next;
}
