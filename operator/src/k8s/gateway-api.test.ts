import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../client/errors.js';
import { requireGatewayApi, slimHttpRoute } from './gateway-api.js';
import { slimIngress } from './slim.js';

const client = (answer: () => Promise<unknown>) => ({ get: <T>() => answer() as Promise<T> });

describe('requireGatewayApi (LATHE_GATEWAY_API=true at start-up)', () => {
  it('passes when the API server serves httproutes', async () => {
    await expect(requireGatewayApi(client(() => Promise.resolve({ resources: [{ name: 'gateways' }, { name: 'httproutes' }] })))).resolves.toBeUndefined();
  });
  it('stops start-up with one line saying what to do when the CRD is missing', async () => {
    const missing = client(() => Promise.reject(new KubeApiError(404, { reason: 'NotFound', message: 'the server could not find the requested resource' })));
    await expect(requireGatewayApi(missing)).rejects.toThrow(
      "LATHE_GATEWAY_API=true, but the API server does not serve gateway.networking.k8s.io/v1 httproutes: install the Gateway API CRDs (v1.0 or later, standard channel) first, or turn HTTPRoute support off (LATHE_GATEWAY_API=false; the chart's gatewayApi.enabled=false)",
    );
    // Gateways alone (no HTTPRoute CRD) are not enough.
    await expect(requireGatewayApi(client(() => Promise.resolve({ resources: [{ name: 'gateways' }] })))).rejects.toThrow('does not serve');
  });
  it('passes other errors through (an unreachable API server is not "not installed")', async () => {
    await expect(requireGatewayApi(client(() => Promise.reject(new KubeApiError(403, { reason: 'Forbidden', message: 'forbidden' }))))).rejects.toThrow('forbidden');
  });
});

describe('what the caches keep', () => {
  it('of an HTTPRoute: metadata and the parents\' conditions, not the spec', () => {
    const slim = slimHttpRoute({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'w', namespace: 'ml', annotations: { 'lathe.dev/applied-hash': 'h' }, managedFields: [{}] },
      spec: { parentRefs: [{ name: 'gw' }], hostnames: ['w.example.com'] },
      status: { parents: [{ parentRef: { name: 'gw' }, controllerName: 'x', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 1 }] }] },
    });
    expect(slim.spec).toBeUndefined();
    expect(slim.metadata).toEqual({ name: 'w', namespace: 'ml', annotations: { 'lathe.dev/applied-hash': 'h' } });
    expect(slim.status!.parents![0]!.conditions).toEqual([{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', observedGeneration: 1 }]);
  });
  it('of an Ingress: metadata and the load balancer addresses', () => {
    const slim = slimIngress({
      metadata: { name: 'w', namespace: 'ml' },
      spec: { rules: [{ host: 'w.example.com' }] },
      status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com', ports: [{ port: 80, protocol: 'TCP' }] }] } },
    });
    expect(slim.spec).toBeUndefined();
    expect(slim.status).toEqual({ loadBalancer: { ingress: [{ hostname: 'lb.example.com' }] } });
  });
});
