import { describe, expect, it } from 'vitest';
import { slimHttpRoute } from './gateway-api.js';
import { slimIngress } from './slim.js';

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
