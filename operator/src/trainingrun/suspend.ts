// spec.suspend: mirrored onto the attempt's Job (Job suspend stops its pods; resuming starts new
// ones, which resume from the newest checkpoint). Queued runs go through Kueue (queueing.ts): Kueue
// owns their Job's suspend.
import type { V1Job } from '@kubernetes/client-node';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import type { Workload } from '../k8s/kueue.js';
import type { KubeWriter } from '../k8s/kube-writer.js';
import type { EventRecorder } from '../runtime/events.js';
import { jobCondition } from './observe.js';
import { syncQueuedSuspend } from './queueing.js';
import { REASONS } from './reasons.js';

export async function syncSuspend(
  d: { writer: Pick<KubeWriter, 'patchJob' | 'patchWorkload'>; events: Pick<EventRecorder, 'record'> },
  run: TrainingRun,
  job: V1Job,
  workload?: Workload,
): Promise<void> {
  if (jobCondition(job, 'Complete') || jobCondition(job, 'Failed')) return;
  if (run.spec.queue) return syncQueuedSuspend(d, run, job, workload);
  const want = run.spec.suspend ?? false;
  if ((job.spec?.suspend ?? false) === want) return;
  await d.writer.patchJob(job.metadata!.namespace!, job.metadata!.name!, { spec: { suspend: want } });
  d.events.record(run, 'Normal', want ? REASONS.Suspended : REASONS.Resumed, want ? 'suspended the Job; pods are stopped' : 'resumed the Job from the newest checkpoint');
}
