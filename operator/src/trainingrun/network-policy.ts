// The NetworkPolicy of a distributed run's pods (LATHE_NETWORK_POLICIES): they accept traffic only
// from pods of the same run. That covers the rendezvous port (torchrun's c10d store on worker 0)
// and the collectives' own connections (gloo and NCCL open ephemeral ports between ranks, so the
// policy cannot name a port without breaking them). Pure; created once with the headless Service.
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { NetworkPolicy } from '../k8s/network-policy.js';
import { LABELS } from '../k8s/labels.js';

export function renderWorkersNetworkPolicy(c: { name: string; namespace: string; runName: string; labels: Record<string, string>; owner: V1OwnerReference[] }): NetworkPolicy {
  const sameRun = { matchLabels: { [LABELS.trainingRun]: c.runName } };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: c.name, namespace: c.namespace, labels: c.labels, ownerReferences: c.owner },
    spec: {
      podSelector: sameRun,
      policyTypes: ['Ingress'],
      ingress: [{ from: [{ podSelector: sameRun }] }],
    },
  };
}
