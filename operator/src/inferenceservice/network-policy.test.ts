// The serving pods' NetworkPolicy: only the service's namespace, the ingress controllers and
// Prometheus reach the server port.
import { describe, expect, it } from 'vitest';
import type { InferenceService } from '../api/schema/inferenceservice.js';
import { configWith } from '../../../test/support/config.js';
import { render } from './render.js';

const MODEL = 's3://b/models/x/1/checkpoint/';
const isvc = (spec: Partial<InferenceService['spec']> = {}): InferenceService => ({
  apiVersion: 'lathe.dev/v1alpha1',
  kind: 'InferenceService',
  metadata: { name: 'writer', namespace: 'ml', uid: 'uid-1', generation: 1 },
  spec: { model: { uri: MODEL }, task: 'text-generation', replicas: { min: 1 }, ...spec },
});

describe('renderServingNetworkPolicy', () => {
  it('is rendered only with LATHE_NETWORK_POLICIES', () => {
    expect(render({ isvc: isvc(), modelUri: MODEL, config: configWith() }).networkPolicy).toBeUndefined();
  });

  it("admits the server port from the service's namespace, the ingress namespaces and CIDRs, and Prometheus", () => {
    const config = configWith({
      networkPolicies: true,
      networkPolicyIngressNamespaces: ['ingress-nginx', 'monitoring'],
      networkPolicyIngressCidrs: ['10.0.0.0/16'],
      networkPolicyPrometheusNamespaces: ['monitoring', 'ml'],
    });
    const r = render({ isvc: isvc({ runtime: { image: 'vllm/vllm-openai:v0.6.3', port: 8000 } }), modelUri: MODEL, config });
    const np = r.networkPolicy!;
    expect(np.metadata).toMatchObject({ name: 'writer', namespace: 'ml', labels: r.service.metadata!.labels, ownerReferences: r.service.metadata!.ownerReferences });
    expect(np.spec).toEqual({
      podSelector: { matchLabels: r.deployment.spec!.selector.matchLabels },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [
            { podSelector: {} },
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
            { ipBlock: { cidr: '10.0.0.0/16' } },
          ],
          // The container's port: policies apply after the Service's port is translated.
          ports: [{ protocol: 'TCP', port: 8000 }],
        },
      ],
    });
    // Its pod selector selects the serving pods.
    const podLabels = r.deployment.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels!)) expect(podLabels[k]).toBe(v);
  });

  it("with the operator's defaults admits only the service's own namespace (the chart adds Prometheus in monitoring)", () => {
    const np = render({ isvc: isvc(), modelUri: MODEL, config: configWith({ networkPolicies: true }) }).networkPolicy!;
    expect(np.spec.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 8080 }] }]);
  });

  it('admits the operator\'s namespace only for a canary rollout, whose analysis reads the pods\' /metrics', () => {
    const config = configWith({ networkPolicies: true, leaseNamespace: 'lathe-system' });
    const peers = (spec: Partial<InferenceService['spec']>) => render({ isvc: isvc(spec), modelUri: MODEL, config }).networkPolicy!.spec.ingress![0]!.from;
    expect(JSON.stringify(peers({}))).not.toContain('lathe-system');
    expect(peers({ rollout: { strategy: 'Canary', steps: [{ weight: 10 }] } })).toContainEqual({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'lathe-system' } } });
  });
});
