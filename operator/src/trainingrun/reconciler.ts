// The thin, effectful half of the TrainingRun controller. One pass: read the caches, make the one
// child that is missing, look at S3 when the phase calls for it, then write status once, and only
// if it changed. Level-triggered: any pass can be repeated after a crash without harm.
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import { KINDS, PLURALS } from '../api/constants.js';
import type { TrainingRun, TrainingRunProgress, TrainingRunStatus } from '../api/trainingrun.js';
import type { ObjectStore } from '../aws/s3-store.js';
import type { OperatorConfig } from '../config/operator-config.js';
import type { EventRecorder } from '../runtime/events.js';
import type { KubeWriter } from '../k8s/kube-writer.js';
import { statusCode } from '../client/errors.js';
import { resourcePath } from '../client/kube-client.js';
import { LABELS } from '../k8s/labels.js';
import { FAILED_CREATE, jobCreateFailure } from '../k8s/pod-create-failure.js';
import { RESOURCES } from '../k8s/resources.js';
import { StatusOverlay } from '../k8s/status-overlay.js';
import { keyOf, objectKey, type ResilientInformer } from '../runtime/informer.js';
import type { Logger } from '../runtime/logger.js';
import { TokenBucket } from '../runtime/rate-limiter.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { jobName, modelRunName, runId, runLocation } from './names.js';
import { desiredStatus, isDisrupted, isTerminal, jobCondition, type Observation } from './observe.js';
import { readProgress, recordSuccess, writeRecord, type RunRecord } from './records.js';
import { effectiveSpec, render } from './render.js';
import type { BurstTracker } from './burst.js';
import { statusEqual } from '../k8s/status-equal.js';

export interface TrainingRunReconcilerDeps {
  config: OperatorConfig;
  writer: KubeWriter;
  store: ObjectStore;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
  runs: ResilientInformer<TrainingRun>;
  jobs: ResilientInformer<V1Job>;
  pods: ResilientInformer<V1Pod>;
  /** Jobs' FailedCreate Events (the only way a Job says it cannot create pods). */
  jobEvents: ResilientInformer<CoreV1Event>;
  /** Shared with the Event recorder: both hold their writes while a burst's Jobs are created. */
  burst: BurstTracker;
  now?: () => Date;
}

/** How long a new run's first status may wait for its pods to start (see reconcile). */
const FIRST_STATUS_DELAY_MS = 2_000;

/**
 * How long after its Job completed a run may lack a valid metadata.json before it fails. S3
 * writes are atomic and the trainer writes metadata.json before it exits, so a missing or invalid
 * file that persists this long is the trainer's failure, not a delay; S3 outages never end a run.
 */
export const METADATA_GRACE_MS = 10 * 60_000;

/** Retry interval while S3 can't be read or written; the work queue's backoff handles API errors. */
const S3_RETRY_MS = 5_000;

export class TrainingRunReconciler {
  private readonly overlay = new StatusOverlay<TrainingRunStatus>();
  private readonly lastProgressPoll = new Map<string, number>();
  /** Disrupted pods already counted, per run; bounded by the pods a run has at once. */
  private readonly countedDisruptions = new Map<string, Set<string>>();
  private readonly progressBucket: TokenBucket;
  private readonly now: () => Date;

  constructor(private readonly d: TrainingRunReconcilerDeps) {
    this.progressBucket = new TokenBucket(d.config.progressQps, Math.max(1, Math.ceil(d.config.progressQps)));
    this.now = d.now ?? (() => new Date());
  }

  /** Called by the informer wiring: our own status writes are visible once the cache catches up. */
  observeRun(run: TrainingRun): void {
    this.overlay.observe(objectKey(run), run.metadata.resourceVersion);
    if (!run.status?.phase && !run.metadata.deletionTimestamp && !this.d.jobs.get(run.metadata.namespace, jobName(run.metadata.name!, 1))) this.d.burst.arrived(objectKey(run));
  }

  forget(k: string): void {
    this.d.burst.reconciled(k);
    this.overlay.forget(k);
    this.lastProgressPoll.delete(k);
    this.countedDisruptions.delete(k);
  }

  async reconcile(k: string): Promise<ReconcileResult | void> {
    try {
      return await this.pass(k);
    } finally {
      // Created its Job, or waits on something other than this operator (or failed and will be
      // retried with backoff): either way it no longer holds a burst open.
      this.d.burst.reconciled(k);
    }
  }

  private async pass(k: string): Promise<ReconcileResult | void> {
    const [namespace, name] = k.split('/') as [string, string];
    const cached = this.d.runs.get(namespace, name);
    if (!cached || cached.metadata.deletionTimestamp) {
      // Children go with the run through owner references; the S3 records stay by design.
      this.forget(k);
      return;
    }
    const current = this.overlay.current(k, cached.status, cached.metadata.resourceVersion);
    const run: TrainingRun = { ...cached, status: current };
    const generation = run.metadata.generation ?? 0;
    // At rest: a finished run whose status describes this generation needs nothing, not even a read.
    if (isTerminal(current?.phase) && current?.observedGeneration === generation) return;

    const log = this.d.logger.child({ trainingRun: k });
    if (isTerminal(current?.phase) && current) {
      // A finished run stays finished whatever changes later (only spec.suspend may, and there is
      // nothing left to suspend; its Job may be gone after its TTL): acknowledge the generation.
      const conditions = current.conditions?.map((c) => ({ ...c, observedGeneration: generation }));
      await this.writeStatus(run, current, { ...current, observedGeneration: generation, ...(conditions ? { conditions } : {}) }, log);
      return;
    }
    const spec = effectiveSpec(run);
    const id = runId(run.metadata);
    const loc = runLocation(this.d.config.s3Bucket, spec.modelSlug, id);
    let attempt = Math.max(current?.attempts ?? 1, 1);
    let job = this.d.jobs.get(namespace, jobName(name, attempt));

    // Resolve `run://` models before anything is created.
    const model = this.resolveModel(run);
    const obs: Observation = {
      run,
      job,
      pods: [],
      attempt,
      jobName: jobName(name, attempt),
      gpus: spec.workers * spec.gpus,
      preemptions: current?.preemptions ?? 0,
      started: current?.phase === 'Running',
      now: this.now(),
    };
    let requeueAfterMs: number | undefined;
    let newPreemptions: string[] = [];

    if ('waiting' in model) {
      obs.waitingFor = model.waiting;
      requeueAfterMs = undefined; // The referenced run's own status change re-queues this one.
    } else if (!isTerminal(current?.phase)) {
      if (!job) {
        const created = current?.jobName === jobName(name, attempt) && !(await this.jobExists(namespace, jobName(name, attempt)));
        if (created && current?.phase && current.phase !== 'Pending') {
          // Someone deleted the Job of a live run. Silently succeeding or vanishing would lose the
          // run; a new attempt resumes from the newest checkpoint in S3 and says why.
          attempt += 1;
          this.d.events.record(run, 'Warning', 'JobDeleted', `Job ${jobName(name, attempt - 1)} was deleted while the run was ${current.phase}; starting attempt ${attempt}`);
          log.warn('job deleted while active; new attempt', { attempt });
        }
        job = await this.createChildren(run, attempt, model.uri, log);
        obs.attempt = attempt;
        obs.jobName = jobName(name, attempt);
        obs.job = job;
      } else {
        await this.syncSuspend(run, job);
      }
      obs.pods = this.podsOf(namespace, obs.jobName);
      if (job.metadata?.uid) {
        obs.createFailure = jobCreateFailure({ name: obs.jobName, uid: job.metadata.uid }, this.d.jobEvents.list(namespace), obs.pods);
      }
      const preempted = this.countPreemptions(k, obs.pods, current?.preemptions ?? 0);
      obs.preemptions = preempted.count;
      newPreemptions = preempted.uids;

      if (jobCondition(job, 'Complete')) {
        obs.artifact = await recordSuccess(this.d.store, loc, this.record(run, id, obs, 'Succeeded'));
        const problem = obs.artifact.problem;
        const completedAt = job.status?.completionTime ? new Date(job.status.completionTime).getTime() : this.now().getTime();
        if (problem && problem.reason !== 'S3Unavailable' && this.now().getTime() - completedAt > METADATA_GRACE_MS) {
          try {
            await writeRecord(this.d.store, loc, this.record(run, id, obs, 'Failed', problem.message));
            obs.artifact.final = true;
          } catch (err) {
            log.warn('run record not written', { err });
            requeueAfterMs = S3_RETRY_MS;
          }
        } else if (problem) {
          log.warn('artifact not recorded yet', problem);
          requeueAfterMs = S3_RETRY_MS;
        }
        obs.progress = await this.pollProgress(k, loc, true);
      } else if (jobCondition(job, 'Failed')) {
        const failed = desiredStatus(obs, current);
        try {
          await writeRecord(this.d.store, loc, this.record(run, id, obs, 'Failed', failed.message));
        } catch (err) {
          // The record must exist before the run shows Failed: keep the run active and retry.
          obs.artifact = { problem: { reason: 'S3Unavailable', message: `writing run.json: ${String(err)}` } };
          requeueAfterMs = S3_RETRY_MS;
          log.warn('run record not written', { err });
        }
      } else if (obs.pods.some((p) => p.status?.phase === 'Running')) {
        obs.progress = await this.pollProgress(k, loc, false);
        requeueAfterMs = this.d.config.progressPollMs;
      }
    }

    let desired = desiredStatus(obs, current);
    desired.runId = id;
    // A new Job's pods usually start within a second, so a run's first status waits a moment after
    // its Job is created: "Pending, waiting for pods" is then never written for a state nobody
    // reads. And during a burst first statuses wait until the burst's Jobs exist (burst.ts).
    const jobCreatedAt = obs.job?.metadata?.creationTimestamp ? new Date(obs.job.metadata.creationTimestamp).getTime() : -Infinity;
    if (!current?.phase && !isTerminal(desired.phase) && !obs.waitingFor && newPreemptions.length === 0) {
      const fresh = this.now().getTime() - jobCreatedAt;
      if (fresh < FIRST_STATUS_DELAY_MS) return { requeueAfterMs: FIRST_STATUS_DELAY_MS - Math.max(fresh, 0) };
      if (this.d.burst.shouldDefer(jobCreatedAt)) return { requeueAfterMs: FIRST_STATUS_DELAY_MS };
    }
    if (obs.artifact?.problem && jobCondition(job, 'Failed')) {
      // Not Failed until the record is safe; the Job's failure is still what the user reads.
      desired = { ...desired, phase: 'Running', message: `${desired.message} (recording: ${obs.artifact.problem.message})` };
    }
    await this.writeStatus(run, current, desired, log);
    if (!current?.phase && !isTerminal(desired.phase)) {
      // The record of a started run, written with its first status (after the Jobs of a burst):
      // best effort, since the final record is written before the run can finish.
      writeRecord(this.d.store, loc, this.record(run, id, obs, desired.phase ?? 'Pending')).catch((err: unknown) => log.warn('initial run record not written', { err }));
    }
    this.commitPreemptions(k, newPreemptions);
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }

  private resolveModel(run: TrainingRun): { uri: string } | { waiting: { reason: string; message: string } } {
    const model = run.spec.model ?? 'scratch';
    const refName = modelRunName(model);
    if (refName === undefined) return { uri: model };
    const ref = this.d.runs.get(run.metadata.namespace, refName);
    if (!ref) return { waiting: { reason: 'ModelNotFound', message: `spec.model: TrainingRun ${refName} does not exist` } };
    if (ref.status?.phase === 'Failed') {
      return { waiting: { reason: 'ModelFailed', message: `spec.model: TrainingRun ${refName} failed; it has no model to start from` } };
    }
    const uri = ref.status?.phase === 'Succeeded' ? ref.status.artifact?.uri : undefined;
    if (!uri) return { waiting: { reason: 'WaitingForModel', message: `spec.model: waiting for TrainingRun ${refName} to succeed` } };
    return { uri };
  }

  private async jobExists(namespace: string, name: string): Promise<boolean> {
    // The cache may lag behind our own create; only the API server can say a Job is really gone.
    try {
      await this.d.writer.client.get(resourcePath({ ...RESOURCES.jobs, namespace, name }));
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  private async createChildren(run: TrainingRun, attempt: number, modelUri: string, log: Logger): Promise<V1Job> {
    const rendered = render({ run, attempt, config: this.d.config, modelUri });
    if (rendered.service) await this.d.writer.createService(rendered.service);
    const created = await this.d.writer.createJob(rendered.job);
    if (created) {
      this.d.events.record(run, 'Normal', 'JobCreated', `created Job ${rendered.job.metadata!.name} (attempt ${attempt})`);
      log.info('job created', { job: rendered.job.metadata!.name, attempt });
    }
    // 409: it exists (created by an earlier pass whose status write was lost); the cache will show it.
    return created ?? rendered.job;
  }

  private async syncSuspend(run: TrainingRun, job: V1Job): Promise<void> {
    if (run.spec.queue) return; // Kueue owns suspend of queued Jobs.
    const want = run.spec.suspend ?? false;
    if ((job.spec?.suspend ?? false) === want) return;
    if (jobCondition(job, 'Complete') || jobCondition(job, 'Failed')) return;
    await this.d.writer.patchJob(job.metadata!.namespace!, job.metadata!.name!, { spec: { suspend: want } });
    this.d.events.record(run, 'Normal', want ? 'Suspended' : 'Resumed', want ? 'suspended the Job; pods are stopped' : 'resumed the Job from the newest checkpoint');
  }

  private podsOf(namespace: string, job: string): V1Pod[] {
    return this.d.pods.list(namespace).filter((p) => p.metadata?.labels?.['job-name'] === job || p.metadata?.labels?.['batch.kubernetes.io/job-name'] === job);
  }

  /**
   * Preemptions: the status count plus disrupted pods not counted yet. A pod is remembered as
   * counted only once a status carrying it is written (commitPreemptions), so a pass that ends
   * early or fails to write never loses one.
   */
  private countPreemptions(k: string, pods: V1Pod[], counted: number): { count: number; uids: string[] } {
    const seen = this.countedDisruptions.get(k);
    const uids = pods.filter((p) => isDisrupted(p) && !seen?.has(p.metadata?.uid ?? '')).map((p) => p.metadata?.uid ?? '');
    return { count: counted + uids.length, uids };
  }

  private commitPreemptions(k: string, uids: string[]): void {
    if (uids.length === 0) return;
    let seen = this.countedDisruptions.get(k);
    if (!seen) this.countedDisruptions.set(k, (seen = new Set()));
    for (const uid of uids) seen.add(uid);
  }

  private async pollProgress(k: string, loc: ReturnType<typeof runLocation>, final: boolean): Promise<TrainingRunProgress | undefined> {
    const last = this.lastProgressPoll.get(k) ?? 0;
    const nowMs = this.now().getTime();
    if (!final && nowMs - last < this.d.config.progressPollMs * 0.9) return undefined;
    if (!final && this.progressBucket.reserve() > 0) return undefined; // Over the global S3 read budget.
    this.lastProgressPoll.set(k, nowMs);
    try {
      return await readProgress(this.d.store, loc);
    } catch (err) {
      this.d.logger.debug('progress not readable', { trainingRun: k, err });
      return undefined;
    }
  }

  private record(run: TrainingRun, id: string, obs: Pick<Observation, 'attempt' | 'jobName' | 'preemptions' | 'job'>, phase: string, message?: string): Omit<RunRecord, 'recordedAt'> {
    const record: Omit<RunRecord, 'recordedAt'> = {
      schemaVersion: 1,
      runId: id,
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
    if (phase === 'Succeeded' || phase === 'Failed') record.completionTime = new Date(obs.job?.status?.completionTime ?? this.now()).toISOString();
    if (message) record.message = message;
    return record;
  }

  private async writeStatus(run: TrainingRun, current: TrainingRunStatus | undefined, desired: TrainingRunStatus, log: Logger): Promise<void> {
    if (current && statusEqual(current, desired)) return;
    const k = objectKey(run);
    const updated = await this.d.writer.applyStatus(PLURALS.TrainingRun, KINDS.TrainingRun, run.metadata.namespace!, run.metadata.name!, desired);
    const rv = (updated.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    this.overlay.wrote(k, desired, rv);
    // Every phase change is an Event, except a run's first, uneventful Pending: JobCreated said it.
    // Pods that cannot be created are a Warning of their own, whatever the phase.
    const reason = conditionReason(desired);
    const quietStart = !current?.phase && desired.phase === 'Pending' && ['CreatingJob', 'PodsPending'].includes(String(reason));
    if (reason === FAILED_CREATE && conditionReason(current) !== FAILED_CREATE) {
      this.d.events.record(run, 'Warning', FAILED_CREATE, desired.message ?? '');
      log.warn('pods cannot be created', { message: desired.message });
    } else if (current?.phase !== desired.phase && !quietStart) {
      const type = desired.phase === 'Failed' ? 'Warning' : 'Normal';
      this.d.events.record(run, type, desired.phase ?? 'Unknown', desired.message ?? '');
      log.info('phase', { from: current?.phase ?? '', to: desired.phase, message: desired.message });
    }
  }
}

function conditionReason(status: TrainingRunStatus | undefined): string | undefined {
  return status?.conditions?.find((c) => c.type === 'Ready')?.reason;
}

/** Keys of the runs a child belongs to, for the informers' enqueue-only handlers. */
export function ownerRunKey(obj: { metadata?: { namespace?: string; labels?: Record<string, string> } }): string | undefined {
  const run = obj.metadata?.labels?.[LABELS.trainingRun];
  return run && obj.metadata?.namespace ? keyOf(obj.metadata.namespace, run) : undefined;
}
