// spec.expose rendered and read back, without a cluster: the Ingress (ALB defaults, TLS, overrides),
// the HTTPRoute, and the external URL from what the controllers publish.
import type { V1Ingress } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { InferenceService } from '../api/schema/inferenceservice.js';
import { configWith } from '../../../test/support/config.js';
import type { HttpRoute } from '../k8s/gateway-api.js';
import { httpRouteExposure, ingressExposure, renderHttpRoute, renderIngress } from './expose.js';
import { render } from './render.js';

const MODEL = 's3://b/models/x/1/checkpoint/';

function isvc(expose: InferenceService['spec']['expose'], extra: Partial<InferenceService['spec']> = {}): InferenceService {
  return {
    apiVersion: 'lathe.dev/v1alpha1',
    kind: 'InferenceService',
    metadata: { name: 'writer', namespace: 'ml', uid: 'uid-1', generation: 1 },
    spec: { model: { uri: MODEL }, task: 'text-generation', replicas: { min: 1 }, ...(expose ? { expose } : {}), ...extra },
  };
}
const rendered = (s: InferenceService) => render({ isvc: s, modelUri: MODEL, config: configWith() });
const child = { name: 'writer', namespace: 'ml', labels: { a: 'b' }, owner: [], servicePort: 80 };

describe('renderIngress', () => {
  it('routes the path prefix to the service\'s Service, owned and labelled like the other children', () => {
    const r = rendered(isvc({ ingress: { className: 'nginx', host: 'writer.models.example.com', path: '/v1' } }));
    const ing = r.ingress!;
    expect(ing).toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'writer', namespace: 'ml', labels: r.service.metadata!.labels } });
    expect(ing.metadata!.ownerReferences).toEqual(r.service.metadata!.ownerReferences);
    expect(ing.spec).toEqual({
      ingressClassName: 'nginx',
      rules: [{ host: 'writer.models.example.com', http: { paths: [{ path: '/v1', pathType: 'Prefix', backend: { service: { name: 'writer', port: { number: 80 } } } }] } }],
    });
    // Not an ALB: no ALB annotations, no annotations at all.
    expect(ing.metadata!.annotations).toBeUndefined();
    expect(r.httpRoute).toBeUndefined();
    expect(rendered(isvc(undefined)).ingress).toBeUndefined();
  });

  it("gives class alb the AWS Load Balancer Controller defaults: internal, IP targets, the readiness path as health check", () => {
    const ing = rendered(isvc({ ingress: { className: 'alb' } })).ingress!;
    expect(ing.metadata!.annotations).toEqual({
      'alb.ingress.kubernetes.io/scheme': 'internal',
      'alb.ingress.kubernetes.io/target-type': 'ip',
      'alb.ingress.kubernetes.io/healthcheck-path': '/readyz',
    });
    // The health check is the pods' own readiness probe path.
    const pod = rendered(isvc({ ingress: { className: 'alb' } })).deployment.spec!.template.spec!;
    expect(pod.containers[0]!.readinessProbe!.httpGet!.path).toBe(ing.metadata!.annotations!['alb.ingress.kubernetes.io/healthcheck-path']);
    // Defaults: path /, any host, no TLS.
    expect(ing.spec!.rules).toEqual([{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'writer', port: { number: 80 } } } }] } }]);
    expect(ing.spec!.tls).toBeUndefined();
  });

  it("lets the user's annotations win over the defaults, and adds TLS for the host", () => {
    const ing = renderIngress(
      {
        className: 'alb',
        host: 'writer.models.example.com',
        tls: {},
        annotations: { 'alb.ingress.kubernetes.io/scheme': 'internet-facing', 'alb.ingress.kubernetes.io/group.name': 'models' },
      },
      child,
    );
    expect(ing.metadata!.annotations).toMatchObject({ 'alb.ingress.kubernetes.io/scheme': 'internet-facing', 'alb.ingress.kubernetes.io/target-type': 'ip', 'alb.ingress.kubernetes.io/group.name': 'models' });
    // The ALB finds an ACM certificate for the TLS hosts: no Secret.
    expect(ing.spec!.tls).toEqual([{ hosts: ['writer.models.example.com'] }]);
    expect(renderIngress({ host: 'w.example.com', tls: { secretName: 'w-tls' } }, child).spec!.tls).toEqual([{ hosts: ['w.example.com'], secretName: 'w-tls' }]);
  });
});

describe('renderHttpRoute', () => {
  it('attaches to the Gateways and sends the path prefix to the Service', () => {
    const r = rendered(isvc({ httpRoute: { parentRefs: [{ name: 'public', namespace: 'gateway-system', sectionName: 'https' }, { name: 'internal' }], hostnames: ['writer.models.example.com'], path: '/v1' } }));
    expect(r.ingress).toBeUndefined();
    expect(r.httpRoute).toEqual({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'writer', namespace: 'ml', labels: r.service.metadata!.labels, ownerReferences: r.service.metadata!.ownerReferences },
      spec: {
        parentRefs: [
          { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateway-system', sectionName: 'https' },
          { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'internal' },
        ],
        hostnames: ['writer.models.example.com'],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v1' } }], backendRefs: [{ group: '', kind: 'Service', name: 'writer', port: 80 }] }],
      },
    });
    const bare = renderHttpRoute({ parentRefs: [{ name: 'gw', port: 443 }] }, child);
    expect(bare.spec!.hostnames).toBeUndefined();
    expect(bare.spec!.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw', port: 443 }]);
    expect(bare.spec!.rules![0]!.matches).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
  });
});

describe('ingressExposure', () => {
  const withAddress = (lb: { hostname?: string; ip?: string }[]): V1Ingress => ({ metadata: { name: 'writer' }, status: { loadBalancer: { ingress: lb } } });

  it('waits for the controller to publish an address', () => {
    expect(ingressExposure({ className: 'alb' }, undefined)).toEqual({ exposed: false, reason: 'WaitingForAddress', message: 'waiting for the Ingress controller (class alb) to publish an address on Ingress (not yet created)' });
    expect(ingressExposure({}, withAddress([]))).toMatchObject({ exposed: false, reason: 'WaitingForAddress', message: expect.stringContaining('the default class') });
  });

  it('shows the host when there is one, else the load balancer address, https with TLS', () => {
    const alb = withAddress([{ hostname: 'internal-k8s-ml-writer-1234.us-east-1.elb.amazonaws.com' }]);
    expect(ingressExposure({ className: 'alb' }, alb)).toEqual({
      exposed: true,
      reason: 'AddressPublished',
      externalUrl: 'http://internal-k8s-ml-writer-1234.us-east-1.elb.amazonaws.com',
      message: 'exposed at http://internal-k8s-ml-writer-1234.us-east-1.elb.amazonaws.com (load balancer internal-k8s-ml-writer-1234.us-east-1.elb.amazonaws.com)',
    });
    expect(ingressExposure({ host: 'writer.models.example.com', tls: {}, path: '/v1' }, alb).externalUrl).toBe('https://writer.models.example.com/v1');
    expect(ingressExposure({}, withAddress([{ ip: '203.0.113.7' }])).externalUrl).toBe('http://203.0.113.7');
    expect(ingressExposure({}, withAddress([{ ip: '2001:db8::7' }])).externalUrl).toBe('http://[2001:db8::7]');
  });
});

describe('httpRouteExposure', () => {
  const spec = { parentRefs: [{ name: 'public', namespace: 'gateway-system' }], hostnames: ['*.example.com', 'writer.models.example.com'], path: '/v1' };
  const route = (conditions: { type: string; status: 'True' | 'False'; reason?: string; message?: string }[]): HttpRoute => ({
    metadata: { name: 'writer', namespace: 'ml' },
    status: { parents: [{ parentRef: { name: 'public', namespace: 'gateway-system' }, controllerName: 'gateway.envoyproxy.io/gatewayclass-controller', conditions }] },
  });

  it('waits for a Gateway to accept the route', () => {
    expect(httpRouteExposure(spec, undefined)).toEqual({ exposed: false, reason: 'WaitingForGateway', message: 'waiting for Gateway gateway-system/public to accept HTTPRoute (not yet created)' });
    expect(httpRouteExposure(spec, route([]))).toMatchObject({ exposed: false, reason: 'WaitingForGateway' });
  });

  it("says why a Gateway refused it", () => {
    const refused = route([{ type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners', message: 'no listener allows routes from namespace ml' }]);
    expect(httpRouteExposure(spec, refused)).toEqual({
      exposed: false,
      reason: 'RouteNotAccepted',
      message: 'Gateway gateway-system/public did not accept HTTPRoute writer: NotAllowedByListeners (no listener allows routes from namespace ml)',
    });
  });

  it('shows the first hostname without a wildcard once accepted (https unless told), or says where the address is', () => {
    const accepted = route([{ type: 'Accepted', status: 'True', reason: 'Accepted' }]);
    expect(httpRouteExposure(spec, accepted)).toEqual({
      exposed: true,
      reason: 'RouteAccepted',
      externalUrl: 'https://writer.models.example.com/v1',
      message: 'exposed at https://writer.models.example.com/v1 (accepted by Gateway gateway-system/public)',
    });
    expect(httpRouteExposure({ ...spec, scheme: 'http' }, accepted).externalUrl).toBe('http://writer.models.example.com/v1');
    const noHost = httpRouteExposure({ parentRefs: spec.parentRefs }, accepted);
    expect(noHost).toMatchObject({ exposed: true, reason: 'RouteAccepted', message: expect.stringContaining("the URL is the Gateway's address") });
    expect(noHost.externalUrl).toBeUndefined();
  });
});
