// The thin, effectful half of the TrainingRun controller. One pass: read the caches, make the one
// child that is missing, look at S3 when the phase calls for it, then write status once, and only
// if it changed. Level-triggered: any pass can be repeated after a crash without harm. Each policy
// lives in a file of its own (attempts, suspend, queueing, preemptions, progress, artifacts,
// first-status, model-ref); this file only puts them in order.
import type { CoreV1Event, V1Job, V1Pod } from '@kubernetes/client-node';
import { CONDITION_TYPES, KINDS, PLURALS } from '../api/constants.js';
import type { TrainingRun, TrainingRunStatus } from '../api/schema/trainingrun.js';
import type { ObjectStore } from '../aws/s3-store.js';
import type { OperatorConfig } from '../config/operator-config.js';
import type { EventRecorder } from '../runtime/events.js';
import type { KubeWriter } from '../k8s/kube-writer.js';
import { RESOURCES } from '../k8s/resources.js';
import { workloadOf, type Workload } from '../k8s/kueue.js';
import { LABELS } from '../k8s/labels.js';
import { FAILED_CREATE, REJECTED_RETRY_MS, childRejection, jobCreateFailure, needsAPerson } from '../k8s/pod-create-failure.js';
import { StatusOverlay } from '../k8s/status-overlay.js';
import { statusEqual } from '../k8s/status-equal.js';
import { keyOf, objectKey, type IndexedCache, type ObjectCache } from '../runtime/informer.js';
import type { Logger } from '../runtime/logger.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { recordCompleted, recordFailed, type Recording } from './artifacts.js';
import { attemptForMissingJob } from './attempts.js';
import type { BurstTracker } from './burst.js';
import { firstStatusDelay } from './first-status.js';
import { resolveModel } from './model-ref.js';
import { jobName } from './names.js';
import { desiredStatus, isTerminal, jobCondition, stalled, type Observation } from './observe.js';
import { planRun, type RunPlan } from './plan.js';
import type { TrainingRunMetrics } from './metrics.js';
import { PreemptionCounter } from './preemptions.js';
import { kueuePreemptions } from './queueing.js';
import { ProgressPoller } from './progress.js';
import { REASONS } from './reasons.js';
import { buildRecord, writeRecord } from './records.js';
import { render } from './render.js';
import { syncSuspend } from './suspend.js';

export interface TrainingRunReconcilerDeps {
  config: OperatorConfig;
  writer: Pick<KubeWriter, 'exists' | 'createJob' | 'createService' | 'createObject' | 'patchJob' | 'patchWorkload' | 'applyStatus'>;
  store: ObjectStore;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
  runs: ObjectCache<TrainingRun>;
  jobs: ObjectCache<V1Job>;
  /** Indexed by Job (k8s/job-pods.ts). */
  pods: IndexedCache<V1Pod>;
  /** Jobs' FailedCreate Events (the only way a Job says it cannot create pods). */
  jobEvents: ObjectCache<CoreV1Event>;
  /** Kueue's Workloads, when the operator reads them (LATHE_KUEUE). */
  /** Indexed by the uid of their Job (k8s/kueue.ts). */
  workloads?: IndexedCache<Workload>;
  /** Shared with the Event recorder: both hold their writes while a burst's Jobs are created. */
  burst: BurstTracker;
  /** lathe_trainingrun_preemptions_total (trainingrun/metrics.ts); tests may leave it out. */
  metrics?: TrainingRunMetrics;
  now?: () => Date;
}

export class TrainingRunReconciler {
  private readonly overlay = new StatusOverlay<TrainingRunStatus>();
  private readonly preemptions = new PreemptionCounter();
  private readonly progress: ProgressPoller;
  private readonly now: () => Date;

  constructor(private readonly d: TrainingRunReconcilerDeps) {
    this.now = d.now ?? (() => new Date());
    this.progress = new ProgressPoller(d.store, { pollMs: d.config.progressPollMs, qps: d.config.progressQps, now: this.now, logger: d.logger });
  }

  /** Called by the informer wiring: our own status writes are visible once the cache catches up. */
  observeRun(run: TrainingRun): void {
    this.overlay.observe(objectKey(run), run.metadata.resourceVersion);
    if (!run.status?.phase && !run.metadata.deletionTimestamp && !this.d.jobs.get(run.metadata.namespace, jobName(run.metadata.name!, 1))) this.d.burst.arrived(objectKey(run));
  }

  forget(k: string): void {
    this.d.burst.reconciled(k);
    this.overlay.forget(k);
    this.progress.forget(k);
    this.preemptions.forget(k);
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
    // A finished run's message is its Ready condition's: a second writer that changed one (a tool,
    // a person with kubectl) is undone from the other, with no read of the Job, which may be gone.
    const ready = current?.conditions?.find((c) => c.type === CONDITION_TYPES.Ready);
    const overwritten = ready !== undefined && current?.message !== ready.message;
    // At rest: a finished run whose status describes this generation needs nothing, not even a read.
    if (isTerminal(current?.phase) && current?.observedGeneration === generation && !overwritten) return;

    const log = this.d.logger.child({ trainingRun: k });
    if (isTerminal(current?.phase) && current) {
      // A finished run stays finished whatever changes later (only spec.suspend may, and there is
      // nothing left to suspend; its Job may be gone after its TTL): acknowledge the generation.
      const conditions = current.conditions?.map((c) => ({ ...c, observedGeneration: generation }));
      const restored = { ...current, ...(ready ? { message: ready.message } : {}), observedGeneration: generation, ...(conditions ? { conditions } : {}) };
      await this.writeStatus(run, current, restored, log);
      return;
    }
    let plan = planRun(run, this.d.config.s3Bucket, Math.max(current?.attempts ?? 1, 1));
    let job = this.d.jobs.get(namespace, plan.jobName);
    const model = resolveModel(this.d.runs, run);
    const obs: Observation = {
      run,
      job,
      pods: [],
      attempt: plan.attempt,
      jobName: plan.jobName,
      gpus: plan.gpus,
      preemptions: current?.preemptions ?? 0,
      started: current?.phase === 'Running',
      kueue: this.d.workloads !== undefined,
      now: this.now(),
    };
    let recording: Recording = {};
    let requeueAfterMs: number | undefined;
    let newPreemptions: string[] = [];
    let kueuePreempted = 0;

    if ('waiting' in model) {
      obs.waitingFor = model.waiting; // The referenced run's own status change re-queues this one.
    } else {
      if (job) {
        const workload = run.spec.queue && this.d.workloads && job.metadata?.uid ? workloadOf(this.d.workloads.byIndex(job.metadata.uid), job.metadata.uid) : undefined;
        if (workload) obs.workload = workload;
        await syncSuspend(this.d, run, job, workload);
      } else {
        plan = await attemptForMissingJob({ reads: this.d.writer, events: this.d.events, log }, plan, current);
        Object.assign(obs, { attempt: plan.attempt, jobName: plan.jobName });
        try {
          job = obs.job = await this.createChildren(plan, model.uri, log);
        } catch (err) {
          const rejected = childRejection(err, `Job ${plan.jobName}`);
          if (!rejected) throw err;
          // Shown, not looped on: tried again after a while (an edit of the spec re-queues at once).
          obs.rejected = rejected;
          requeueAfterMs = REJECTED_RETRY_MS;
        }
      }
      if (job) {
        obs.pods = this.podsOf(namespace, plan.jobName);
        if (job.metadata?.uid) obs.createFailure = jobCreateFailure({ name: plan.jobName, uid: job.metadata.uid }, this.d.jobEvents.list(namespace), obs.pods);
        const preempted = this.preemptions.count(k, obs.pods, current?.preemptions ?? 0);
        const queued = kueuePreemptions(obs.workload, current);
        kueuePreempted = queued.added;
        obs.preemptions = preempted.count + queued.added;
        if (queued.queue) obs.queue = queued.queue;
        newPreemptions = preempted.uids;

        const deps = { store: this.d.store, now: this.now, log };
        if (jobCondition(job, 'Complete')) {
          recording = await recordCompleted(deps, plan, obs);
          obs.progress = await this.progress.poll(k, plan.location, true);
        } else if (jobCondition(job, 'Failed')) {
          recording = await recordFailed(deps, plan, obs, desiredStatus(obs, current).message);
        } else if (obs.pods.some((p) => p.status?.phase === 'Running')) {
          obs.progress = await this.progress.poll(k, plan.location, false);
          requeueAfterMs = this.progress.requeueMs();
        }
        if (recording.artifact) obs.artifact = recording.artifact;
        requeueAfterMs = recording.retryAfterMs ?? requeueAfterMs;
      }
    }

    let desired: TrainingRunStatus = { ...desiredStatus(obs, current), runId: plan.runId };
    const jobCreatedAt = obs.job?.metadata?.creationTimestamp ? new Date(obs.job.metadata.creationTimestamp).getTime() : -Infinity;
    const wait = firstStatusDelay({ current, desired, urgent: Boolean(obs.waitingFor || obs.rejected) || newPreemptions.length > 0 || kueuePreempted > 0, jobCreatedAt, now: this.now().getTime(), burst: this.d.burst });
    if (wait !== undefined) return { requeueAfterMs: wait };
    if (obs.artifact?.problem && jobCondition(job, 'Failed')) {
      // Not Failed until the record is safe; the Job's failure is still what the user reads.
      desired = { ...desired, phase: 'Running', message: `${desired.message} (recording: ${obs.artifact.problem.message})` };
    }
    await this.writeStatus(run, current, desired, log);
    if (kueuePreempted > 0) this.d.events.record(run, 'Warning', REASONS.Preempted, `preempted by Kueue: ${desired.message ?? ''}`);
    if (!current?.phase && !isTerminal(desired.phase)) this.writeInitialRecord(plan, obs, desired, log);
    this.preemptions.commit(k, newPreemptions);
    if (newPreemptions.length > 0) this.d.metrics?.preemptions.inc({ object_namespace: namespace, source: 'pod' }, newPreemptions.length);
    if (kueuePreempted > 0) this.d.metrics?.preemptions.inc({ object_namespace: namespace, source: 'kueue' }, kueuePreempted);
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }

  private async createChildren(plan: RunPlan, modelUri: string, log: Logger): Promise<V1Job> {
    const rendered = render({ plan, config: this.d.config, modelUri });
    if (rendered.service) await this.d.writer.createService(rendered.service);
    // LATHE_NETWORK_POLICIES: only the run's own pods reach its workers (created once, like the Service).
    if (rendered.networkPolicy) await this.d.writer.createObject(RESOURCES.networkPolicies, rendered.networkPolicy);
    const created = await this.d.writer.createJob(rendered.job);
    if (created) {
      this.d.events.record(plan.run, 'Normal', REASONS.JobCreated, `created Job ${plan.jobName} (attempt ${plan.attempt})`);
      log.info('job created', { job: plan.jobName, attempt: plan.attempt });
    }
    // 409: it exists (created by an earlier pass whose status write was lost); the cache will show it.
    return created ?? rendered.job;
  }

  /**
   * The record of a started run, written with its first status (after the Jobs of a burst): best
   * effort, since the final record is written before the run can finish.
   */
  private writeInitialRecord(plan: RunPlan, obs: Observation, desired: TrainingRunStatus, log: Logger): void {
    // Only where no record is yet: a write still in flight (the SDK retrying through an S3 outage,
    // or sent by a process since killed) can land after the final record, which it must not replace.
    writeRecord(this.d.store, plan.location, buildRecord(plan, obs, desired.phase ?? 'Pending', undefined, this.now()), { ifAbsent: true }).catch((err: unknown) =>
      log.warn('initial run record not written', { err }),
    );
  }

  private podsOf(namespace: string, job: string): V1Pod[] {
    return this.d.pods.byIndex(keyOf(namespace, job));
  }

  private async writeStatus(run: TrainingRun, current: TrainingRunStatus | undefined, desired: TrainingRunStatus, log: Logger): Promise<void> {
    if (current && statusEqual(current, desired)) return;
    const k = objectKey(run);
    const updated = await this.d.writer.applyStatus(PLURALS.TrainingRun, KINDS.TrainingRun, run.metadata.namespace!, run.metadata.name!, desired);
    const rv = (updated.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
    this.overlay.wrote(k, desired, rv);
    // Every phase change is an Event, except a run's first, uneventful Pending: JobCreated said it.
    // Pods or a Job that cannot be created are a Warning of their own, whatever the phase.
    const reason = conditionReason(desired);
    const quietStart = !current?.phase && desired.phase === 'Pending' && ([REASONS.CreatingJob, REASONS.PodsPending] as string[]).includes(String(reason));
    if (reason && stalled(reason) && conditionReason(current) !== reason) {
      this.d.events.record(run, 'Warning', reason, desired.message ?? '');
      log.warn(reason === FAILED_CREATE ? 'pods cannot be created' : needsAPerson(reason) ? 'the API server refused the Job' : 'Kueue will not admit the run', { message: desired.message });
    } else if (current?.phase !== desired.phase && !quietStart) {
      const type = desired.phase === 'Failed' ? 'Warning' : 'Normal';
      if (desired.phase === 'Failed') this.d.metrics?.failed.inc({ object_namespace: run.metadata.namespace ?? '' });
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
