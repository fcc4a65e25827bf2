// Recording a finished Job: metadata.json read and validated, the artifact and run.json written,
// before the run may show Succeeded or Failed. An S3 outage never ends a run (it is retried); a
// metadata.json still missing or invalid long after the Job completed is the trainer's failure.
import type { ObjectStore } from '../aws/s3-store.js';
import type { Logger } from '../runtime/logger.js';
import type { ArtifactState, Observation } from './observe.js';
import type { RunPlan } from './plan.js';
import { REASONS } from './reasons.js';
import { buildRecord, recordSuccess, writeRecord } from './records.js';

/**
 * How long after its Job completed a run may lack a valid metadata.json before it fails. S3
 * writes are atomic and the trainer writes metadata.json before it exits, so a missing or invalid
 * file that persists this long is the trainer's failure, not a delay; S3 outages never end a run.
 */
export const METADATA_GRACE_MS = 10 * 60_000;

/** Retry interval while S3 can't be read or written; the work queue's backoff handles API errors. */
export const S3_RETRY_MS = 5_000;

/** The longest wait between reads of a metadata.json that is missing or invalid. */
export const METADATA_RETRY_MAX_MS = 60_000;

/**
 * When to read a missing or invalid metadata.json again, `sinceMs` after the Job completed: about
 * as long again (S3_RETRY_MS at first, so the wait doubles), at most METADATA_RETRY_MAX_MS, and
 * never past the end of the grace period. A trainer writes metadata.json before it exits, so a
 * file not there at once is rare and seldom there 5 s later; a fixed 5 s made a thousand runs
 * whose trainer wrote nothing 200 S3 reads a second for ten minutes (the bench's burst measured it).
 */
export function metadataRetryMs(sinceMs: number): number {
  const backoff = Math.min(METADATA_RETRY_MAX_MS, Math.max(S3_RETRY_MS, sinceMs));
  return Math.max(1_000, Math.min(backoff, METADATA_GRACE_MS - sinceMs + 1_000));
}

export interface RecordingDeps {
  store: ObjectStore;
  now: () => Date;
  log: Logger;
}

export interface Recording {
  artifact?: ArtifactState;
  /** Set while something is still to be written or read: pass again after this long. */
  retryAfterMs?: number;
}

type Observed = Pick<Observation, 'attempt' | 'jobName' | 'preemptions' | 'job'>;

/** The Job completed: record the artifact, or, past the grace period, the trainer's failure. */
export async function recordCompleted(d: RecordingDeps, plan: RunPlan, obs: Observed): Promise<Recording> {
  const now = d.now();
  const artifact = await recordSuccess(d.store, plan.location, buildRecord(plan, obs, 'Succeeded', undefined, now));
  const problem = artifact.problem;
  if (!problem) return { artifact };
  const completion = obs.job?.status?.completionTime;
  const completedAt = completion ? new Date(completion).getTime() : now.getTime();
  if (problem.reason !== REASONS.S3Unavailable && now.getTime() - completedAt > METADATA_GRACE_MS) {
    try {
      await writeRecord(d.store, plan.location, buildRecord(plan, obs, 'Failed', problem.message, now));
      return { artifact: { ...artifact, final: true } };
    } catch (err) {
      d.log.warn('run record not written', { err });
      return { artifact, retryAfterMs: S3_RETRY_MS };
    }
  }
  d.log.warn('artifact not recorded yet', problem);
  return { artifact, retryAfterMs: problem.reason === REASONS.S3Unavailable ? S3_RETRY_MS : metadataRetryMs(now.getTime() - completedAt) };
}

/** The Job failed: the record must exist before the run shows Failed, so a failed write keeps it active. */
export async function recordFailed(d: RecordingDeps, plan: RunPlan, obs: Observed, message: string | undefined): Promise<Recording> {
  try {
    await writeRecord(d.store, plan.location, buildRecord(plan, obs, 'Failed', message, d.now()));
    return {};
  } catch (err) {
    d.log.warn('run record not written', { err });
    return { artifact: { problem: { reason: REASONS.S3Unavailable, message: `writing run.json: ${String(err)}` } }, retryAfterMs: S3_RETRY_MS };
  }
}
