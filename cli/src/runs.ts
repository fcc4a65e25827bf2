// `kubectl lathe runs`: the TrainingRuns the API server has, and with --history the run records in
// S3 (run.json, metadata.json) of runs whose objects are gone. Pure: objects and records in, rows
// out; fetching is in cluster.ts and history.ts.
import { DEFAULTS } from '../../operator/src/api/constants.js';
import type { RunMetadata } from '../../operator/src/api/metadata.js';
import type { TrainingRun } from '../../operator/src/api/schema/trainingrun.js';
import type { RunRecord } from '../../operator/src/trainingrun/records.js';
import { formatTable, shortDuration } from './table.js';

export interface RunRow {
  namespace: string;
  name: string;
  phase: string;
  progress: string;
  loss: string;
  duration: string;
  gpus: string;
  artifact: string;
  /** `cluster`: the TrainingRun exists; `s3`: only its records are left. */
  source: 'cluster' | 's3';
  uid: string;
  /** For ordering: when the run was created. */
  createdAt: string;
}

/** A record read back from S3: run.json, and metadata.json when the run produced a model. */
export interface StoredRun {
  prefixUri: string;
  record: RunRecord;
  metadata?: RunMetadata;
}

function lossText(loss: number | undefined): string {
  return typeof loss === 'number' && Number.isFinite(loss) ? String(Number(loss.toPrecision(4))) : '-';
}

function durationText(start: string | undefined, end: string | undefined, now: Date): string {
  if (!start) return '-';
  const to = end ? Date.parse(end) : now.getTime();
  return shortDuration(to - Date.parse(start));
}

function gpusOf(spec: Partial<TrainingRun['spec']> | undefined): number {
  return (spec?.workers ?? DEFAULTS.workers) * (spec?.resources?.gpus ?? DEFAULTS.gpus);
}

export function rowOfRun(run: TrainingRun, now: Date): RunRow {
  const s = run.status ?? {};
  const p = s.progress;
  const steps = p?.step !== undefined && p.totalSteps ? ` step ${p.step}/${p.totalSteps}` : '';
  return {
    namespace: run.metadata.namespace ?? '',
    name: run.metadata.name ?? '',
    phase: s.phase ?? 'Pending',
    progress: p?.summary ? `${p.summary}${steps}` : '-',
    loss: lossText(p?.loss),
    duration: durationText(s.startTime, s.completionTime, now),
    gpus: String(s.gpus ?? gpusOf(run.spec)),
    artifact: s.artifact?.uri ?? '-',
    source: 'cluster',
    uid: run.metadata.uid ?? '',
    createdAt: new Date(run.metadata.creationTimestamp ?? 0).toISOString(),
  };
}

export function rowOfStored(stored: StoredRun, now: Date): RunRow {
  const { record, metadata } = stored;
  const epochs = metadata?.metrics.epochs.length;
  const planned = record.spec?.hyperparameters?.epochs;
  return {
    namespace: record.trainingRun.namespace,
    name: record.trainingRun.name,
    phase: record.phase,
    progress: epochs !== undefined ? `${epochs}/${planned ?? epochs}` : '-',
    loss: lossText(metadata?.metrics.final.loss),
    duration: durationText(record.startTime, record.completionTime ?? record.recordedAt, now),
    gpus: String(gpusOf(record.spec)),
    artifact: record.artifact?.uri ?? metadata?.artifact.uri ?? '-',
    source: 's3',
    uid: record.trainingRun.uid,
    createdAt: record.createdAt,
  };
}

/**
 * The rows to print: every live run, then (with `stored`) each recorded run whose object is gone
 * (a record whose uid no live run has: a run deleted and created again under the same name is
 * two runs), newest first within each, filtered to `namespace` unless it is undefined (-A).
 */
export function runRows(live: readonly TrainingRun[], stored: readonly StoredRun[] | undefined, namespace: string | undefined, now: Date): RunRow[] {
  const byNewest = (a: RunRow, b: RunRow) => b.createdAt.localeCompare(a.createdAt) || a.name.localeCompare(b.name);
  const rows = live.map((r) => rowOfRun(r, now)).sort(byNewest);
  if (!stored) return rows;
  const liveUids = new Set(rows.map((r) => r.uid));
  const gone = stored
    .filter((s) => !liveUids.has(s.record.trainingRun.uid) && (namespace === undefined || s.record.trainingRun.namespace === namespace))
    .map((s) => rowOfStored(s, now))
    .sort(byNewest);
  return [...rows, ...gone];
}

export function formatRuns(rows: readonly RunRow[], opts: { allNamespaces: boolean; history: boolean }): string {
  const headers = [...(opts.allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'PROGRESS', 'LOSS', 'DURATION', 'GPUS', 'ARTIFACT', ...(opts.history ? ['OBJECT'] : [])];
  const cells = rows.map((r) => [
    ...(opts.allNamespaces ? [r.namespace] : []),
    r.name,
    r.phase,
    r.progress,
    r.loss,
    r.duration,
    r.gpus,
    r.artifact,
    ...(opts.history ? [r.source === 'cluster' ? 'present' : 'deleted'] : []),
  ]);
  return formatTable(headers, cells);
}

/** Whether a parsed run.json has what a row needs (the operator writes it; foreign files are skipped). */
export function isRunRecord(value: unknown): value is RunRecord {
  const v = value as Partial<RunRecord> | undefined;
  return (
    typeof v === 'object' && v !== null &&
    typeof v.runId === 'string' && typeof v.phase === 'string' && typeof v.createdAt === 'string' &&
    typeof v.trainingRun?.name === 'string' && typeof v.trainingRun.namespace === 'string' && typeof v.trainingRun.uid === 'string'
  );
}
