// The run's S3 side: read what the trainer wrote (progress.json while running, metadata.json at the
// end) and keep the operator's own record (run.json). The record is written before the run shows
// Succeeded or Failed, so a finished run in the API always has its history in S3.
import { parseMetadata, parseProgress } from '../api/metadata.js';
import type { TrainingRun, TrainingRunProgress } from '../api/schema/trainingrun.js';
import type { ObjectStore } from '../aws/s3-store.js';
import type { ArtifactState, Observation } from './observe.js';
import { RUN_FILES, type RunLocation } from './names.js';
import type { RunPlan } from './plan.js';
import { REASONS } from './reasons.js';

export const RUN_RECORD_SCHEMA_VERSION = 1;

export interface RunRecord {
  schemaVersion: number;
  runId: string;
  trainingRun: { name: string; namespace: string; uid: string; generation: number };
  spec: TrainingRun['spec'];
  phase: string;
  attempts: number;
  preemptions: number;
  failures: number;
  jobName: string;
  createdAt: string;
  startTime?: string;
  completionTime?: string;
  message?: string;
  artifact?: { uri: string; metadataUri: string };
  recordedAt: string;
}

/** The record of `plan` in `phase`, from what the pass observed (run.json, less recordedAt). */
export function buildRecord(
  plan: RunPlan,
  obs: Pick<Observation, 'attempt' | 'jobName' | 'preemptions' | 'job'>,
  phase: string,
  message: string | undefined,
  now: Date,
): Omit<RunRecord, 'recordedAt'> {
  const { run } = plan;
  const record: Omit<RunRecord, 'recordedAt'> = {
    schemaVersion: RUN_RECORD_SCHEMA_VERSION,
    runId: plan.runId,
    trainingRun: { name: run.metadata.name!, namespace: run.metadata.namespace!, uid: run.metadata.uid!, generation: run.metadata.generation ?? 0 },
    spec: run.spec,
    phase,
    attempts: obs.attempt,
    preemptions: obs.preemptions,
    failures: obs.job?.status?.failed ?? 0,
    jobName: obs.jobName,
    createdAt: new Date(run.metadata.creationTimestamp ?? 0).toISOString(),
  };
  const start = run.status?.startTime ?? obs.job?.status?.startTime;
  if (start) record.startTime = new Date(start).toISOString();
  if (phase === 'Succeeded' || phase === 'Failed') record.completionTime = new Date(obs.job?.status?.completionTime ?? now).toISOString();
  if (message) record.message = message;
  return record;
}

export async function readProgress(store: ObjectStore, loc: RunLocation): Promise<TrainingRunProgress | undefined> {
  const raw = await store.getJson(loc.bucket, loc.keyPrefix + RUN_FILES.progress);
  if (raw === undefined) return undefined;
  const parsed = parseProgress(raw);
  if (!parsed.ok) return undefined; // A half-updated or foreign file is skipped; the next poll retries.
  const p = parsed.value;
  const progress: TrainingRunProgress = {
    epoch: p.epoch,
    epochs: p.epochs,
    step: p.step,
    summary: `${p.epoch}/${p.epochs}`,
    updatedAt: new Date(p.updatedAt).toISOString(),
  };
  if (p.totalSteps !== undefined) progress.totalSteps = p.totalSteps;
  if (typeof p.loss === 'number') progress.loss = roundLoss(p.loss);
  if (p.evalMetric) progress.evalMetric = { name: p.evalMetric.name, value: p.evalMetric.value };
  return progress;
}

/** Four significant digits: enough for a person, and it keeps tiny float jitter from rewriting status. */
function roundLoss(loss: number): number {
  return Number(loss.toPrecision(4));
}

/**
 * Reads and validates metadata.json. Returns `recorded` only once run.json is also written; every
 * failure comes back as a `problem` (retried by the caller with backoff), never as a thrown error.
 */
export async function recordSuccess(store: ObjectStore, loc: RunLocation, record: Omit<RunRecord, 'recordedAt' | 'artifact'>): Promise<ArtifactState> {
  const metadataKey = loc.keyPrefix + RUN_FILES.metadata;
  const metadataUri = `s3://${loc.bucket}/${metadataKey}`;
  let raw: unknown;
  try {
    raw = await store.getJson(loc.bucket, metadataKey);
  } catch (err) {
    return { problem: problemOf(err, `reading ${metadataUri}`) };
  }
  if (raw === undefined) {
    return { problem: { reason: REASONS.MetadataMissing, message: `the Job completed but ${metadataUri} does not exist` } };
  }
  const parsed = parseMetadata(raw);
  if (!parsed.ok) {
    return { problem: { reason: REASONS.MetadataInvalid, message: `${metadataUri} is invalid: ${parsed.errors.slice(0, 5).join('; ')}` } };
  }
  if (parsed.value.runId !== record.runId) {
    return { problem: { reason: REASONS.MetadataInvalid, message: `${metadataUri} belongs to run ${parsed.value.runId}, not ${record.runId}` } };
  }
  const artifact = { uri: parsed.value.artifact.uri, metadataUri };
  try {
    await writeRecord(store, loc, { ...record, artifact });
  } catch (err) {
    return { problem: problemOf(err, 'writing run.json') };
  }
  return { recorded: { ...artifact, recordUri: `s3://${loc.bucket}/${loc.keyPrefix}${RUN_FILES.record}` } };
}

/** `ifAbsent`: the record of a started run, which must never replace one already there (a final one). */
export async function writeRecord(store: ObjectStore, loc: RunLocation, record: Omit<RunRecord, 'recordedAt'>, opts: { ifAbsent?: boolean } = {}): Promise<void> {
  const full: RunRecord = { ...record, recordedAt: new Date().toISOString() };
  await store.putJson(loc.bucket, loc.keyPrefix + RUN_FILES.record, full, opts);
}

function problemOf(err: unknown, doing: string): { reason: string; message: string } {
  const e = err as { name?: string; message?: string };
  if (e?.name === 'MalformedObjectError') return { reason: REASONS.MetadataInvalid, message: e.message ?? String(err) };
  return { reason: REASONS.S3Unavailable, message: `${doing}: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}` };
}
