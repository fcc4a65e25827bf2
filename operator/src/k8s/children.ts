// What every child the operator renders shares: the controller owner reference that makes it go
// with its parent (and lets the informers map it back), and container resources with GPUs as the
// NVIDIA device plugin advertises them.
import type { V1OwnerReference, V1ResourceRequirements } from '@kubernetes/client-node';
import { API_VERSION } from '../api/constants.js';

/** The extended resource the NVIDIA device plugin advertises on GPU nodes. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

export function controllerReference(kind: string, parent: { metadata: { name?: string; uid?: string } }): V1OwnerReference {
  return { apiVersion: API_VERSION, kind, name: parent.metadata.name!, uid: parent.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/**
 * Requests cpu and memory; limits memory only (a CPU limit throttles data loaders and tokenizers
 * for nothing); GPUs, when asked for, in both (extended resources must be equal in the two).
 */
export function containerResources(r: { cpu: string; memory: string; gpus: number }): V1ResourceRequirements {
  const requests: Record<string, string> = { cpu: r.cpu, memory: r.memory };
  const limits: Record<string, string> = { memory: r.memory };
  if (r.gpus > 0) {
    requests[GPU_RESOURCE] = String(r.gpus);
    limits[GPU_RESOURCE] = String(r.gpus);
  }
  return { requests, limits };
}
