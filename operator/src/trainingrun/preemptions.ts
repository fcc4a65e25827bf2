// Preemptions: pods ended by a spot interruption, a drain or a higher-priority pod. The Job's
// podFailurePolicy ignores them (they do not use up spec.retries); the run counts them, once each.
import type { V1Pod } from '@kubernetes/client-node';

/** A pod ended by a spot interruption, drain or preemption (the Job ignores it; we count it). */
export function isDisrupted(pod: V1Pod): boolean {
  return Boolean(pod.status?.conditions?.some((c) => c.type === 'DisruptionTarget' && c.status === 'True'));
}

/**
 * The status count plus disrupted pods not counted yet. A pod is remembered as counted only once a
 * status carrying it is written (commit), so a pass that ends early or fails to write never loses one.
 */
export class PreemptionCounter {
  /** Disrupted pods already counted, per run; bounded by the pods a run has at once. */
  private readonly counted = new Map<string, Set<string>>();

  count(k: string, pods: readonly V1Pod[], counted: number): { count: number; uids: string[] } {
    const seen = this.counted.get(k);
    const uids = pods.filter((p) => isDisrupted(p) && !seen?.has(p.metadata?.uid ?? '')).map((p) => p.metadata?.uid ?? '');
    return { count: counted + uids.length, uids };
  }

  commit(k: string, uids: readonly string[]): void {
    if (uids.length === 0) return;
    let seen = this.counted.get(k);
    if (!seen) this.counted.set(k, (seen = new Set()));
    for (const uid of uids) seen.add(uid);
  }

  forget(k: string): void {
    this.counted.delete(k);
  }
}
