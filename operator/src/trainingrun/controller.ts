// The TrainingRun controller's watches (its SetupWithManager): a run is reconciled when it changes,
// when its Job, pods, the Job's FailedCreate Events or (LATHE_KUEUE) its Kueue Workload change, and
// when the run its `run://` model names changes phase. Handlers only enqueue keys; all the work
// happens in reconcile.
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import type { ControllerContext, ControllerSetup } from '../controller-context.js';
import { INFORMERS } from '../informers.js';
import type { Workload } from '../k8s/kueue.js';
import { objectKey, type ResilientInformer } from '../runtime/informer.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { ModelDependents } from './dependents.js';
import { trainingRunMetrics } from './metrics.js';
import { TrainingRunReconciler, ownerRunKey } from './reconciler.js';

export function setupTrainingRunController(ctx: ControllerContext): ControllerSetup {
  const runs = ctx.informer(INFORMERS.trainingRuns);
  const jobs = ctx.informer(INFORMERS.jobs);
  const pods = ctx.informer(INFORMERS.pods);
  const jobEvents = ctx.informer(INFORMERS.jobEvents);
  const workloads = ctx.config.kueue ? ctx.informer(INFORMERS.workloads) : undefined;
  const queue = new WorkQueue({ name: 'trainingrun', registry: ctx.registry });
  const reconciler = new TrainingRunReconciler({
    config: ctx.config,
    writer: ctx.writer,
    store: ctx.store,
    events: ctx.events,
    logger: ctx.logger.child({ controller: 'trainingrun' }),
    runs,
    jobs,
    pods,
    jobEvents,
    ...(workloads ? { workloads } : {}),
    burst: ctx.burst,
    metrics: trainingRunMetrics(ctx.registry, runs),
  });

  const enqueue = (run: TrainingRun) => {
    reconciler.observeRun(run);
    queue.add(objectKey(run));
  };
  // Runs starting from a run's model wait on its phase: re-queued when that phase changes (or it
  // appears after the first list), not on every status write or resync.
  const dependents = new ModelDependents();
  const enqueueDependents = (run: TrainingRun) => {
    for (const k of dependents.of(run.metadata.namespace!, run.metadata.name!)) queue.add(k);
  };
  runs.on('add', (run) => {
    dependents.set(run);
    enqueue(run);
    if (runs.hasSynced()) enqueueDependents(run);
  });
  runs.on('update', (old, run) => {
    dependents.set(run);
    enqueue(run);
    if (old.status?.phase !== run.status?.phase) enqueueDependents(run);
  });
  runs.on('delete', (run) => {
    dependents.delete(run);
    queue.add(objectKey(run));
    enqueueDependents(run);
  });

  const enqueueOwner = (obj: KubernetesObject) => {
    const k = ownerRunKey(obj);
    if (k) queue.add(k);
  };
  for (const inf of [jobs, pods] as ResilientInformer<KubernetesObject>[]) {
    inf.on('add', enqueueOwner);
    inf.on('update', (_old, obj) => enqueueOwner(obj));
    inf.on('delete', enqueueOwner);
  }
  const enqueueEventsJobOwner = (e: CoreV1Event) => {
    const job = jobs.get(e.involvedObject.namespace ?? e.metadata?.namespace, e.involvedObject.name ?? '');
    if (job) enqueueOwner(job);
  };
  jobEvents.on('add', enqueueEventsJobOwner);
  jobEvents.on('update', (_old, e) => enqueueEventsJobOwner(e));
  // A Workload belongs to its Job (owner reference), the Job to its run.
  const enqueueWorkloadOwner = (w: Workload) => {
    const owner = w.metadata?.ownerReferences?.find((o) => o.kind === 'Job');
    const job = owner ? jobs.get(w.metadata?.namespace, owner.name) : undefined;
    if (job) enqueueOwner(job);
  };
  workloads?.on('add', enqueueWorkloadOwner);
  workloads?.on('update', (_old, w) => enqueueWorkloadOwner(w));
  workloads?.on('delete', enqueueWorkloadOwner);

  return { name: 'trainingrun', queue, reconcile: (k) => reconciler.reconcile(k) };
}
