// The serving pods' NetworkPolicy (LATHE_NETWORK_POLICIES): their server port accepts traffic only
// from pods of the service's own namespace, from the namespaces of in-cluster ingress controllers
// and Gateways, from CIDR blocks (an ALB with target-type ip connects from its own addresses in the
// VPC, not from a pod), and from Prometheus' namespaces; with a canary rollout also from the
// operator's namespace, which reads the canary pods' /metrics for its analysis. Nothing else
// reaches them. Pure.
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { OperatorConfig } from '../config/operator-config.js';
import { namespacePeer, type NetworkPolicy, type NetworkPolicyPeer } from '../k8s/network-policy.js';

export type NetworkPolicyConfig = Pick<OperatorConfig, 'networkPolicyIngressNamespaces' | 'networkPolicyIngressCidrs' | 'networkPolicyPrometheusNamespaces'>;

export function renderServingNetworkPolicy(
  c: { name: string; namespace: string; labels: Record<string, string>; owner: V1OwnerReference[]; podSelector: Record<string, string>; port: number; operatorNamespace?: string },
  config: NetworkPolicyConfig,
): NetworkPolicy {
  const operator = c.operatorNamespace ? [c.operatorNamespace] : [];
  const namespaces = [...new Set([...config.networkPolicyIngressNamespaces, ...config.networkPolicyPrometheusNamespaces, ...operator])].filter((ns) => ns !== c.namespace);
  const from: NetworkPolicyPeer[] = [
    // Every pod of the service's own namespace (clients next to it, the in-cluster URL).
    { podSelector: {} },
    ...namespaces.map(namespacePeer),
    ...[...new Set(config.networkPolicyIngressCidrs)].map((cidr) => ({ ipBlock: { cidr } })),
  ];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: c.name, namespace: c.namespace, labels: c.labels, ownerReferences: c.owner },
    spec: {
      podSelector: { matchLabels: c.podSelector },
      policyTypes: ['Ingress'],
      ingress: [{ from, ports: [{ protocol: 'TCP', port: c.port }] }],
    },
  };
}
