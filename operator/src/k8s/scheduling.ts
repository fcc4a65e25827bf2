// GPU and spot placement. The constants come from schemas/scheduling.json, which the kwok nodes and
// the Terraform node groups are checked against, so a toleration here always matches a real taint.
import type { V1Affinity, V1Toleration } from '@kubernetes/client-node';
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
export function spotAffinity(): V1Affinity {
  return {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          preference: {
            matchExpressions: [{ key: scheduling.capacityTypeLabel, operator: 'In', values: [scheduling.spotCapacityType] }],
          },
        },
      ],
    },
  };
}
