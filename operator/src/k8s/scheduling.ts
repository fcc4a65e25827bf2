// GPU and spot placement, and how it merges with the placement a user asks for. The constants come
// from schemas/scheduling.json, which the kwok nodes and the Terraform node groups are checked
// against, so a toleration here always matches a real taint.
import type { V1Affinity, V1NodeAffinity, V1PodSpec, V1PreferredSchedulingTerm, V1Toleration } from '@kubernetes/client-node';
import scheduling from '../../../schemas/scheduling.json' with { type: 'json' };

export const SCHEDULING = scheduling;

export function gpuTolerations(opts: { gpus: number; spot: boolean }): V1Toleration[] {
  const out: V1Toleration[] = [];
  if (opts.gpus > 0) {
    out.push({ key: scheduling.gpuTaint.key, operator: 'Exists', effect: scheduling.gpuTaint.effect });
  }
  if (opts.spot) {
    out.push({ key: scheduling.spotTaint.key, operator: 'Exists', effect: scheduling.spotTaint.effect });
  }
  return out;
}

/**
 * `spot: true` means "may run on spot": prefer spot capacity (cheaper) but fall back to on-demand
 * rather than wait, which is what a data scientist asking for a run expects.
 */
function spotPreference(): V1PreferredSchedulingTerm {
  return {
    weight: 100,
    preference: {
      matchExpressions: [{ key: scheduling.capacityTypeLabel, operator: 'In', values: [scheduling.spotCapacityType] }],
    },
  };
}

/** What a TrainingRun or InferenceService spec may say about where its pods go. */
export interface UserPlacement {
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  affinity?: V1Affinity;
  priorityClassName?: string;
}

export type Placement = Pick<V1PodSpec, 'nodeSelector' | 'tolerations' | 'affinity' | 'priorityClassName'>;

/**
 * The scheduling fields of a pod: Lathe's GPU and spot placement merged with the user's.
 *   - tolerations: Lathe's (GPU taint, spot taint) first, then the user's; exact duplicates once.
 *   - nodeSelector, priorityClassName: the user's, as written (Kueue may add its flavor's
 *     nodeSelector keys to a queued Job later; that is its job).
 *   - affinity: podAffinity, podAntiAffinity and the required node terms are the user's, as written;
 *     the preferred node terms are the user's followed by Lathe's spot preference.
 * Only fields with content are returned, so a spec without placement renders the same bytes as
 * before these fields existed (an InferenceService's Deployment keeps its applied hash).
 */
export function placement(own: { gpus: number; spot: boolean }, user: UserPlacement): Placement {
  const tolerations = mergeTolerations(gpuTolerations(own), user.tolerations);
  const affinity = mergeAffinity(user.affinity, own.spot);
  return {
    ...(user.nodeSelector && Object.keys(user.nodeSelector).length > 0 ? { nodeSelector: { ...user.nodeSelector } } : {}),
    ...(tolerations.length ? { tolerations } : {}),
    ...(affinity ? { affinity } : {}),
    ...(user.priorityClassName ? { priorityClassName: user.priorityClassName } : {}),
  };
}

/**
 * `own` then `user`, each toleration once. Two tolerations are duplicates when they say the same
 * thing after the API server's reading of absent fields (no key is '', no operator is Equal): a
 * user who copies Lathe's GPU toleration into the spec must not get it twice.
 */
export function mergeTolerations(own: V1Toleration[], user: V1Toleration[] = []): V1Toleration[] {
  const seen = new Set<string>();
  const out: V1Toleration[] = [];
  for (const t of [...own, ...user]) {
    const id = JSON.stringify([t.key ?? '', t.operator ?? 'Equal', t.value ?? '', t.effect ?? '', t.tolerationSeconds ?? null]);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ ...t });
  }
  return out;
}

/**
 * The user's affinity with Lathe's spot preference appended to its preferred node terms. The
 * scheduler adds up the weights of every preferred term a node matches, so the order changes
 * nothing; appending keeps the user's terms where they wrote them.
 */
export function mergeAffinity(user: V1Affinity | undefined, spot: boolean): V1Affinity | undefined {
  const required = user?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const preferred = [...(user?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []), ...(spot ? [spotPreference()] : [])];
  const nodeAffinity: V1NodeAffinity = {
    ...(required ? { requiredDuringSchedulingIgnoredDuringExecution: required } : {}),
    ...(preferred.length ? { preferredDuringSchedulingIgnoredDuringExecution: preferred } : {}),
  };
  const merged: V1Affinity = {
    ...(Object.keys(nodeAffinity).length ? { nodeAffinity } : {}),
    ...(user?.podAffinity ? { podAffinity: user.podAffinity } : {}),
    ...(user?.podAntiAffinity ? { podAntiAffinity: user.podAntiAffinity } : {}),
  };
  return Object.keys(merged).length ? merged : undefined;
}
