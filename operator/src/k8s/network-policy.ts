// networking.k8s.io/v1 NetworkPolicy as it goes over the wire. client-node's V1NetworkPolicy spells
// `from` as `_from` (its serializer renames it); Lathe's client sends plain JSON, so its own type.
import type { KubernetesObject, V1IPBlock, V1LabelSelector, V1NetworkPolicyPort } from '@kubernetes/client-node';

export interface NetworkPolicyPeer {
  podSelector?: V1LabelSelector;
  namespaceSelector?: V1LabelSelector;
  ipBlock?: V1IPBlock;
}

export interface NetworkPolicy extends KubernetesObject {
  spec: {
    podSelector: V1LabelSelector;
    policyTypes: ('Ingress' | 'Egress')[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: V1NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: V1NetworkPolicyPort[] }[];
  };
}

/** Set on every namespace by the API server (since Kubernetes 1.21): selects a namespace by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function namespacePeer(namespace: string): NetworkPolicyPeer {
  return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } };
}
