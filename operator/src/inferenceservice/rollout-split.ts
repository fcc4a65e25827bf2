// The traffic split of a canary rollout without a mesh: the stable and the canary Deployment sit
// behind the one Service, which spreads connections over the ready pods of both, so the canary's
// share of the traffic is its share of the pods. The canary runs on top of the stable replicas (the
// stable Deployment is not scaled down while the canary is judged, so a bad canary never costs
// serving capacity); its replicas are the count whose share is nearest the step's weight, and at
// least one. That is coarse with few replicas: one stable pod gives 50% at any weight. Pure.

export interface Split {
  /** Replicas of the stable Deployment (unchanged: the spec's count, or the autoscaler's). */
  stable: number;
  /** Replicas of the canary Deployment. */
  canary: number;
  /** The canary's share of the pods, in whole percent: what the Service splits by. */
  share: number;
}

/** The canary's share of `stable + canary` pods, in whole percent. */
export function shareOf(stable: number, canary: number): number {
  const total = stable + canary;
  return total === 0 ? 0 : Math.round((100 * canary) / total);
}

/**
 * Canary replicas for `weight` percent beside `stable` stable replicas: c with c / (stable + c)
 * nearest `weight` (c = stable × w / (100 − w), rounded), never below 1. Admission keeps weight in
 * 1..99 and stable at least 1 (spec.replicas.min with a canary).
 */
export function splitReplicas(stable: number, weight: number): Split {
  if (!Number.isInteger(stable) || stable < 0) throw new Error(`stable replicas must be a whole number >= 0, got ${stable}`);
  if (!Number.isInteger(weight) || weight < 1 || weight > 99) throw new Error(`a canary weight must be 1 to 99 percent, got ${weight}`);
  const canary = Math.max(1, Math.round((stable * weight) / (100 - weight)));
  return { stable, canary, share: shareOf(stable, canary) };
}
