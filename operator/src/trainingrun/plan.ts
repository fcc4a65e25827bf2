// The run's plan: its spec with the operator's defaults, its id, its S3 prefix, and the attempt's
// Job. Computed once per pass and handed to render, the records and the status, so the three never
// derive them apart.
import { DEFAULTS } from '../api/constants.js';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { jobName, runId, runLocation, type RunLocation } from './names.js';

/** Requests when spec.resources leaves them out, by task. */
const TASK_RESOURCES: Record<string, { cpu: string; memory: string }> = {
  'text-generation': { cpu: '4', memory: '16Gi' },
  'image-classification': { cpu: '2', memory: '8Gi' },
  custom: { cpu: '2', memory: '8Gi' },
};

/** The spec with the operator's defaults applied: what the Job is rendered from. */
function effectiveSpec(run: TrainingRun) {
  const spec = run.spec;
  const task = spec.task;
  const base = TASK_RESOURCES[task] ?? TASK_RESOURCES.custom!;
  return {
    task,
    workers: spec.workers ?? DEFAULTS.workers,
    gpus: spec.resources?.gpus ?? DEFAULTS.gpus,
    cpu: String(spec.resources?.cpu ?? base.cpu),
    memory: String(spec.resources?.memory ?? base.memory),
    spot: spec.spot ?? DEFAULTS.spot,
    retries: spec.retries ?? DEFAULTS.retries,
    suspend: spec.suspend ?? DEFAULTS.suspend,
    modelSlug: spec.outputModel ?? run.metadata.name!,
  };
}

export type EffectiveSpec = ReturnType<typeof effectiveSpec>;

export interface RunPlan {
  run: TrainingRun;
  spec: EffectiveSpec;
  runId: string;
  location: RunLocation;
  attempt: number;
  jobName: string;
  /** GPUs of the whole run (workers x GPUs each), as status shows them. */
  gpus: number;
}

export function planRun(run: TrainingRun, bucket: string, attempt: number): RunPlan {
  const spec = effectiveSpec(run);
  const id = runId(run.metadata);
  return {
    run,
    spec,
    runId: id,
    location: runLocation(bucket, spec.modelSlug, id),
    attempt,
    jobName: jobName(run.metadata.name!, attempt),
    gpus: spec.workers * spec.gpus,
  };
}

/** The same run at another attempt (a deleted Job's replacement). */
export function withAttempt(plan: RunPlan, attempt: number): RunPlan {
  return { ...plan, attempt, jobName: jobName(plan.run.metadata.name!, attempt) };
}
