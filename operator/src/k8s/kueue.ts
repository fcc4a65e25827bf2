// Kueue's Workload, as far as Lathe reads it. Kueue turns each queued Job into one Workload (owned
// by the Job) and keeps its admission state there: whether quota is reserved and why not, whether
// it was evicted or preempted, and `spec.active`, Kueue's own switch for stopping a workload. Lathe
// reads these to say what Kueue says, and writes only `spec.active` (spec.suspend of a queued run).
import type { KubernetesObject } from '@kubernetes/client-node';

export const KUEUE_GROUP = 'kueue.x-k8s.io';
/** v1beta2 is the storage version since Kueue v0.15; v0.19 serves both. */
export const KUEUE_VERSION = 'v1beta2';

/** Labels Kueue reads from a Job. */
export const KUEUE_LABELS = {
  queueName: 'kueue.x-k8s.io/queue-name',
  /** A WorkloadPriorityClass: the Workload's priority, without changing the pods' scheduling priority. */
  priorityClass: 'kueue.x-k8s.io/priority-class',
} as const;

/**
 * On a Workload Lathe deactivated for spec.suspend. Only these are re-activated on resume: a
 * Workload Kueue or a person deactivated stays so (Kueue's policy, e.g. a requeuing limit, wins).
 */
export const SUSPENDED_BY_LATHE = 'lathe.dev/suspended';

/** Kueue's condition types and reasons (apis/kueue/v1beta2/workload_types.go). */
export const WORKLOAD_CONDITIONS = {
  QuotaReserved: 'QuotaReserved',
  Admitted: 'Admitted',
  Evicted: 'Evicted',
  Preempted: 'Preempted',
  Finished: 'Finished',
} as const;
export const WORKLOAD_REASONS = {
  Inadmissible: 'Inadmissible',
  Pending: 'Pending',
  Preempted: 'Preempted',
  Deactivated: 'Deactivated',
} as const;

export interface WorkloadCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface Workload extends KubernetesObject {
  spec?: { active?: boolean; queueName?: string; podSets?: { name: string; count: number }[] };
  status?: {
    conditions?: WorkloadCondition[];
    admission?: { clusterQueue?: string };
    /** Cumulative evictions of this Workload by reason (Preempted, Deactivated, PodsReadyTimeout, ...). */
    schedulingStats?: { evictions?: { reason: string; underlyingCause?: string; count: number }[] };
  };
}

export function workloadCondition(w: Workload | undefined, type: string): WorkloadCondition | undefined {
  return w?.status?.conditions?.find((c) => c.type === type);
}

export function isActive(w: Workload): boolean {
  return w.spec?.active !== false;
}

/** How often Kueue preempted this Workload so far (its own cumulative count). */
export function preemptionCount(w: Workload | undefined): number {
  return (w?.status?.schedulingStats?.evictions ?? []).filter((e) => e.reason === WORKLOAD_REASONS.Preempted).reduce((n, e) => n + e.count, 0);
}

/** The Workload Kueue made for the Job with this uid (its controller owner). */
/** The uid of the Job a Workload was made for: what the Workload cache is indexed by (InformerSpec.indexBy). */
export function jobUidOfWorkload(w: Workload): string | undefined {
  return w.metadata?.ownerReferences?.find((o) => o.kind === 'Job')?.uid;
}

export function workloadOf(workloads: readonly Workload[], jobUid: string): Workload | undefined {
  return workloads.find((w) => w.metadata?.ownerReferences?.some((o) => o.uid === jobUid && o.kind === 'Job'));
}

/** What the cache keeps of a Workload: the owner, spec.active and the admission state. */
export function slimWorkload(w: Workload): Workload {
  const m = w.metadata ?? {};
  return {
    apiVersion: w.apiVersion,
    kind: w.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ...(m.annotations?.[SUSPENDED_BY_LATHE] ? { annotations: { [SUSPENDED_BY_LATHE]: m.annotations[SUSPENDED_BY_LATHE] } } : {}),
      ...(m.ownerReferences ? { ownerReferences: m.ownerReferences } : {}),
    },
    spec: {
      ...(w.spec?.active !== undefined ? { active: w.spec.active } : {}),
      ...(w.spec?.queueName ? { queueName: w.spec.queueName } : {}),
      ...(w.spec?.podSets ? { podSets: w.spec.podSets.map((p) => ({ name: p.name, count: p.count })) } : {}),
    },
    status: {
      ...(w.status?.conditions ? { conditions: w.status.conditions.map(({ type, status, reason, message, lastTransitionTime }) => ({ type, status, reason, message, lastTransitionTime })) } : {}),
      ...(w.status?.admission?.clusterQueue ? { admission: { clusterQueue: w.status.admission.clusterQueue } } : {}),
      ...(w.status?.schedulingStats?.evictions ? { schedulingStats: { evictions: w.status.schedulingStats.evictions } } : {}),
    },
  };
}
