// What the console knows, kept current: the TrainingRuns and InferenceServices (list-then-watch),
// the run records in S3 (re-read every RECORDS_EVERY_MS and after a run is deleted), and for a run
// page the things read on demand (Events, the metrics history). Every failure becomes a Problem
// shown on the page; none stops the console.
import type { CoreV1Event } from '@kubernetes/client-node';
import type { InferenceService } from '../../../operator/src/api/schema/inferenceservice.js';
import type { TrainingRun } from '../../../operator/src/api/schema/trainingrun.js';
import { resourcePath } from '../../../operator/src/client/kube-client.js';
import { runLocation } from '../../../operator/src/trainingrun/names.js';
import { CliError, apiError, s3Error } from '../errors.js';
import { storedRuns } from '../history.js';
import { runRows, type RunRow, type StoredRun } from '../runs.js';
import { EVENTS, INFERENCE_SERVICES, TRAINING_RUNS, type Session } from '../session.js';
import { LiveCollection } from './live.js';
import { servingServices, type Problem, type RunDetail } from './views.js';

const RECORDS_EVERY_MS = 30_000;

export type Change = { kind: 'trainingruns' | 'inferenceservices'; namespace?: string; name?: string } | { kind: 'records' } | { kind: 'connection'; problem?: Problem };

export function problemOf(err: unknown): Problem {
  const e = err instanceof CliError ? err : new CliError((err as Error)?.message ?? String(err));
  return { message: e.message, hint: e.hint };
}

export class ConsoleState {
  readonly runs: LiveCollection<TrainingRun>;
  readonly services: LiveCollection<InferenceService>;
  private stored: StoredRun[] = [];
  recordsProblem: Problem | undefined;
  private recordsTimer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private lastConnection = '';

  constructor(private readonly session: Session, readonly namespace: string | undefined, private readonly notify: (c: Change) => void) {
    const path = (r: typeof TRAINING_RUNS) => resourcePath({ ...r, ...(namespace ? { namespace } : {}) });
    const relay = (kind: 'trainingruns' | 'inferenceservices') => (c: { type: string; obj?: { metadata: { namespace?: string; name?: string } } }) => {
      this.connectionChanged();
      if (c.type === 'PROBLEM') return;
      this.notify({ kind, ...(c.obj?.metadata.namespace ? { namespace: c.obj.metadata.namespace } : {}), ...(c.obj?.metadata.name ? { name: c.obj.metadata.name } : {}) });
      // A deleted run's record is its only trace: read the records again so it shows as deleted.
      if (kind === 'trainingruns' && c.type === 'DELETED') void this.readRecords();
    };
    this.runs = new LiveCollection<TrainingRun>(session.client, { path: path(TRAINING_RUNS), onChange: relay('trainingruns') });
    this.services = new LiveCollection<InferenceService>(session.client, { path: path(INFERENCE_SERVICES), onChange: relay('inferenceservices') });
  }

  start(): void {
    this.runs.start();
    this.services.start();
    void this.readRecords();
    this.recordsTimer = setInterval(() => void this.readRecords(), RECORDS_EVERY_MS);
  }

  stop(): void {
    this.runs.stop();
    this.services.stop();
    clearInterval(this.recordsTimer);
  }

  /** The API server's problem, as the page should say it (undefined: connected). */
  apiProblem(): Problem | undefined {
    const err = this.runs.problem ?? this.services.problem;
    return err === undefined ? undefined : problemOf(apiError(err, this.session.client.access.server, 'watching TrainingRuns and InferenceServices'));
  }

  private connectionChanged(): void {
    const p = this.apiProblem();
    const key = p?.message ?? '';
    if (key === this.lastConnection) return;
    this.lastConnection = key;
    this.notify({ kind: 'connection', ...(p ? { problem: p } : {}) });
  }

  /** Reads the run records again; a second call while one runs waits for that one. */
  readRecords(): Promise<void> {
    this.reading ??= (async () => {
      try {
        const warnings: string[] = [];
        const next = await storedRuns(this.session, (w) => warnings.push(w));
        const changed = JSON.stringify(next.map((s) => s.prefixUri)) !== JSON.stringify(this.stored.map((s) => s.prefixUri));
        this.stored = next;
        this.recordsProblem = warnings.length ? { message: `${warnings.length} run record(s) in s3://${this.session.bucket}/models/ could not be read`, hint: warnings.slice(0, 3).join('; ') } : undefined;
        if (changed) this.notify({ kind: 'records' });
      } catch (err) {
        this.recordsProblem = problemOf(err instanceof CliError ? err : s3Error(err, `s3://${this.session.bucket}/models/`));
        this.notify({ kind: 'records' });
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }

  rows(now: Date): RunRow[] {
    return runRows(this.runs.list(), this.stored, this.namespace, now);
  }

  serviceList(): InferenceService[] {
    const key = (s: InferenceService) => `${s.metadata.namespace}/${s.metadata.name}`;
    return this.services.list().sort((a, b) => key(a).localeCompare(key(b)));
  }

  findService(namespace: string, name: string): InferenceService | undefined {
    return this.services.list().find((s) => s.metadata.namespace === namespace && s.metadata.name === name);
  }

  /** Everything a run page shows, read now; problems are reported in it, never thrown. */
  async runDetail(namespace: string, name: string, uid: string | undefined): Promise<RunDetail> {
    const live = uid ? undefined : this.runs.list().find((r) => r.metadata.namespace === namespace && r.metadata.name === name);
    const stored = live ? undefined : this.stored
      .filter((s) => s.record.trainingRun.namespace === namespace && s.record.trainingRun.name === name && (!uid || s.record.trainingRun.uid === uid))
      .sort((a, b) => b.record.createdAt.localeCompare(a.record.createdAt))[0];
    const detail: RunDetail = { namespace, name, events: [], servedBy: [], ...(live ? { run: live } : {}), ...(stored ? { stored } : {}) };
    if (!live && !stored) return detail;
    const artifact = live?.status?.artifact?.uri ?? stored?.record.artifact?.uri;
    detail.servedBy = servingServices(namespace, name, artifact, this.services.list());
    const prefix = live
      ? (live.status?.runId ? runLocation(this.session.bucket, live.spec.outputModel ?? name, live.status.runId).keyPrefix : undefined)
      : stored!.prefixUri.replace(/^s3:\/\/[^/]+\//, '');
    const [events, history] = await Promise.allSettled([
      live ? this.session.list<CoreV1Event>(EVENTS, namespace, `reading the Events of TrainingRun ${name}`, { fieldSelector: `involvedObject.kind=TrainingRun,involvedObject.name=${name}` }) : Promise.resolve([]),
      prefix ? this.session.metricsHistory(prefix) : Promise.resolve(undefined),
    ]);
    if (events.status === 'fulfilled') {
      detail.events = events.value
        .filter((e) => !live || !e.involvedObject.uid || e.involvedObject.uid === live.metadata.uid)
        .sort((a, b) => String(b.lastTimestamp ?? b.eventTime ?? '').localeCompare(String(a.lastTimestamp ?? a.eventTime ?? '')));
    } else detail.eventsProblem = problemOf(events.reason);
    if (history.status === 'fulfilled') {
      if (history.value) detail.history = history.value;
    } else detail.historyProblem = problemOf(history.reason);
    return detail;
  }
}
