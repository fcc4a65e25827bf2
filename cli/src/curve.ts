// `kubectl lathe curve RUN`: the run's metrics-history.json (what the trainer keeps beside
// progress.json) as a table over steps, for live runs and for deleted ones (found by their records).
import type { MetricsHistory } from '../../operator/src/api/metadata.js';
import type { TrainingRun } from '../../operator/src/api/schema/trainingrun.js';
import { runLocation } from '../../operator/src/trainingrun/names.js';
import { CliError } from './errors.js';
import { storedRuns } from './history.js';
import { TRAINING_RUNS, type Session } from './session.js';
import { formatTable } from './table.js';

const num = (v: unknown) => (typeof v === 'number' ? String(Number(v.toPrecision(4))) : '-');

/** The history as rows, at most `rows` of them spread evenly over it (last point included); pure. */
export function formatCurve(history: MetricsHistory, rows: number): string {
  const points = history.points;
  const pick = points.length <= rows ? points : Array.from({ length: rows }, (_, i) => points[Math.round((i * (points.length - 1)) / Math.max(1, rows - 1))]!);
  const extra = [...new Set(points.flatMap((p) => Object.keys(p).filter((k) => !['step', 'epoch', 'time', 'loss', 'learningRate', 'evalLoss'].includes(k))))].sort();
  return formatTable(
    ['STEP', 'EPOCH', 'LOSS', 'LEARNING-RATE', 'EVAL-LOSS', ...extra.map((k) => k.toUpperCase())],
    pick.map((p) => [String(p.step), String(p.epoch), num(p.loss), num(p.learningRate), num(p.evalLoss), ...extra.map((k) => num(p[k]))]),
  );
}

/** The key prefix of the run's S3 records: of the live object, else of its newest stored record. */
async function runPrefix(session: Session, namespace: string, name: string, progress: (l: string) => void): Promise<string> {
  const run = await session.find<TrainingRun>(TRAINING_RUNS, namespace, name, `reading TrainingRun ${name}`);
  if (run?.status?.runId) return runLocation(session.bucket, run.spec.outputModel ?? name, run.status.runId).keyPrefix;
  if (run) throw new CliError(`TrainingRun ${name} has no run id yet (it is ${run.status?.phase ?? 'Pending'})`, 'the operator assigns it on its first pass: try again in a moment');
  progress(`no TrainingRun ${name} in ${namespace}: looking for its record in s3://${session.bucket}/models/`);
  const found = (await storedRuns(session, (l) => progress(`warning: ${l}`)))
    .filter((s) => s.record.trainingRun.name === name && s.record.trainingRun.namespace === namespace)
    .sort((a, b) => b.record.createdAt.localeCompare(a.record.createdAt))[0];
  if (!found) throw new CliError(`no TrainingRun ${name} in namespace ${namespace}, and no record of one in s3://${session.bucket}/models/`, 'kubectl lathe runs -A --history lists every run');
  return found.prefixUri.replace(/^s3:\/\/[^/]+\//, '');
}

export async function curve(session: Session, o: { namespace: string; run: string; rows: number; out: NodeJS.WritableStream; progress: (l: string) => void }): Promise<MetricsHistory> {
  const prefix = await runPrefix(session, o.namespace, o.run, o.progress);
  const history = await session.metricsHistory(prefix);
  if (!history) throw new CliError(`TrainingRun ${o.run} has no metrics history (s3://${session.bucket}/${prefix}metrics-history.json)`, 'the trainer writes it from its first progress write on; runs trained by an older trainer image have none');
  o.out.write(formatCurve(history, o.rows));
  return history;
}
