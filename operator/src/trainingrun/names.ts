// Deterministic names and identifiers of a run's children and S3 records. Determinism is the whole
// point: a repeated create after a crash or a conflict is a 409, never a duplicate, and the run id
// is the same whoever computes it, so it never needs a write before the Job exists.
import { createHash } from 'node:crypto';
import type { V1ObjectMeta } from '@kubernetes/client-node';

const RUN_MODEL_PREFIX = 'run://';

/** The TrainingRun a `spec.model` of `run://<name>` starts from (same namespace), else undefined. */
export function modelRunName(model: string | undefined): string | undefined {
  return model?.startsWith(RUN_MODEL_PREFIX) ? model.slice(RUN_MODEL_PREFIX.length) : undefined;
}

/** `<run>-<attempt>`: the Job of one attempt (attempts are 1-based). */
export function jobName(runName: string, attempt: number): string {
  return `${runName}-${attempt}`;
}

/** The headless Service that gives distributed workers stable DNS names: the run's own name. */
export function workerServiceName(runName: string): string {
  return runName;
}

/**
 * `YYYYMMDD-HHMMSS-xxxxxx`: the UTC creation time of the TrainingRun and six characters of its
 * uid's hash. Derived, not random, so every operator replica and every restart agrees on it.
 */
export function runId(meta: Pick<V1ObjectMeta, 'creationTimestamp' | 'uid'>): string {
  const created = meta.creationTimestamp ? new Date(meta.creationTimestamp) : new Date(0);
  const iso = created.toISOString(); // 2026-11-22T15:42:10.000Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  const hash = createHash('sha256').update(meta.uid ?? '').digest('hex').slice(0, 6);
  return `${stamp}-${hash}`;
}

export interface RunLocation {
  /** `s3://<bucket>/models/<slug>/<runId>/` */
  prefixUri: string;
  bucket: string;
  /** Key prefix inside the bucket, ending in '/'. */
  keyPrefix: string;
}

export function runLocation(bucket: string, modelSlug: string, id: string): RunLocation {
  const keyPrefix = `models/${modelSlug}/${id}/`;
  return { bucket, keyPrefix, prefixUri: `s3://${bucket}/${keyPrefix}` };
}

export const RUN_FILES = {
  progress: 'progress.json',
  metadata: 'metadata.json',
  record: 'run.json',
  checkpoint: 'checkpoint/',
} as const;
