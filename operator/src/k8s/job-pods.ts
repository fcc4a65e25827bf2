// The pods of a Job, found through the pod informer's index (InformerSpec.indexBy) instead of a scan
// of every cached pod: a reconcile of each run read all of them, so a burst of N running runs cost
// N² label reads.
import type { V1Pod } from '@kubernetes/client-node';
import { keyOf } from '../runtime/informer.js';

/** The Job that made `pod`, as namespace/name: what the pod cache is indexed by. */
export function jobOfPod(pod: V1Pod): string | undefined {
  const labels = pod.metadata?.labels;
  // batch.kubernetes.io/job-name since Kubernetes 1.27; job-name, the older label, beside it.
  const job = labels?.['batch.kubernetes.io/job-name'] ?? labels?.['job-name'];
  return job === undefined ? undefined : keyOf(pod.metadata?.namespace, job);
}
