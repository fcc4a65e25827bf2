// When a new run's first status is written. A new Job's pods usually start within a second, so the
// first status waits a moment after the Job is created: "Pending, waiting for pods" is then never
// written for a state nobody reads. During a burst, first statuses wait until the burst's Jobs
// exist (burst.ts): Jobs first, then status.
import type { TrainingRunStatus } from '../api/schema/trainingrun.js';
import type { BurstTracker } from './burst.js';
import { isTerminal } from './observe.js';

/** How long a new run's first status may wait for its pods to start. */
export const FIRST_STATUS_DELAY_MS = 2_000;

/** Milliseconds to wait before writing this first status, or undefined to write it now. */
export function firstStatusDelay(o: {
  current: TrainingRunStatus | undefined;
  desired: TrainingRunStatus;
  /** The run waits on a `run://` model, or has a preemption to count: say so at once. */
  urgent: boolean;
  jobCreatedAt: number;
  now: number;
  burst: Pick<BurstTracker, 'shouldDefer'>;
}): number | undefined {
  if (o.current?.phase || isTerminal(o.desired.phase) || o.urgent) return undefined;
  const fresh = o.now - o.jobCreatedAt;
  if (fresh < FIRST_STATUS_DELAY_MS) return FIRST_STATUS_DELAY_MS - Math.max(fresh, 0);
  if (o.burst.shouldDefer(o.jobCreatedAt)) return FIRST_STATUS_DELAY_MS;
  return undefined;
}
