// spec.expose, the pure half: the Ingress or HTTPRoute in front of the service's Service, and the
// external URL read back from what the controllers published. The Ingress's load balancer address
// is on the Ingress (status.loadBalancer.ingress[]); a Gateway's address is on the Gateway, not the
// route, so an HTTPRoute's URL is its first hostname once a Gateway accepted it.
import type { V1Ingress, V1OwnerReference } from '@kubernetes/client-node';
import { DEFAULTS } from '../api/constants.js';
import type { HttpRouteExpose, InferenceService, IngressExpose } from '../api/schema/inferenceservice.js';
import { GATEWAY_GROUP, GATEWAY_VERSION, type HttpRoute } from '../k8s/gateway-api.js';

/** The IngressClass of the AWS Load Balancer Controller (its Helm chart creates it). */
export const ALB_INGRESS_CLASS = 'alb';

export const ALB_ANNOTATIONS = {
  scheme: 'alb.ingress.kubernetes.io/scheme',
  targetType: 'alb.ingress.kubernetes.io/target-type',
  healthcheckPath: 'alb.ingress.kubernetes.io/healthcheck-path',
} as const;

/**
 * What an Ingress of class alb gets unless spec.expose.ingress.annotations says otherwise: an
 * internal load balancer (a model endpoint is private until someone decides otherwise), pod IPs as
 * targets (the Service stays ClusterIP; instance targets would need a NodePort), and the server's
 * readiness path as the health check, so the ALB sends nothing to a pod whose model is not loaded.
 */
export function albDefaults(): Record<string, string> {
  return {
    [ALB_ANNOTATIONS.scheme]: 'internal',
    [ALB_ANNOTATIONS.targetType]: 'ip',
    [ALB_ANNOTATIONS.healthcheckPath]: DEFAULTS.readinessPath,
  };
}

interface Child {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  owner: V1OwnerReference[];
  /** The Service's port the route sends to. */
  servicePort: number;
}

export function renderIngress(spec: IngressExpose, c: Child): V1Ingress {
  const annotations = { ...(spec.className === ALB_INGRESS_CLASS ? albDefaults() : {}), ...(spec.annotations ?? {}) };
  const path = spec.path ?? DEFAULTS.exposePath;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: c.name,
      namespace: c.namespace,
      labels: c.labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: c.owner,
    },
    spec: {
      ...(spec.className ? { ingressClassName: spec.className } : {}),
      ...(spec.tls ? { tls: [{ hosts: [spec.host!], ...(spec.tls.secretName ? { secretName: spec.tls.secretName } : {}) }] } : {}),
      rules: [
        {
          ...(spec.host ? { host: spec.host } : {}),
          http: { paths: [{ path, pathType: 'Prefix', backend: { service: { name: c.name, port: { number: c.servicePort } } } }] },
        },
      ],
    },
  };
}

export function renderHttpRoute(spec: HttpRouteExpose, c: Child): HttpRoute {
  return {
    apiVersion: `${GATEWAY_GROUP}/${GATEWAY_VERSION}`,
    kind: 'HTTPRoute',
    metadata: { name: c.name, namespace: c.namespace, labels: c.labels, ownerReferences: c.owner },
    spec: {
      parentRefs: spec.parentRefs.map((p) => ({
        group: GATEWAY_GROUP,
        kind: 'Gateway',
        name: p.name,
        ...(p.namespace ? { namespace: p.namespace } : {}),
        ...(p.sectionName ? { sectionName: p.sectionName } : {}),
        ...(p.port ? { port: p.port } : {}),
      })),
      ...(spec.hostnames?.length ? { hostnames: spec.hostnames } : {}),
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: spec.path ?? DEFAULTS.exposePath } }],
          backendRefs: [{ group: '', kind: 'Service', name: c.name, port: c.servicePort }],
        },
      ],
    },
  };
}

/** What status says about spec.expose: the URL when there is one, and the Exposed condition. */
export interface Exposure {
  exposed: boolean;
  reason: string;
  message: string;
  externalUrl?: string;
}

export const EXPOSE_REASONS = {
  AddressPublished: 'AddressPublished',
  WaitingForAddress: 'WaitingForAddress',
  RouteAccepted: 'RouteAccepted',
  RouteNotAccepted: 'RouteNotAccepted',
  WaitingForGateway: 'WaitingForGateway',
  GatewayAPIDisabled: 'GatewayAPIDisabled',
} as const;

function joinUrl(scheme: string, host: string, path: string): string {
  return `${scheme}://${host}${path === '/' ? '' : path}`;
}

/** The Ingress's URL once its controller published a load balancer address. */
export function ingressExposure(spec: IngressExpose, ing: V1Ingress | undefined): Exposure {
  const lb = ing?.status?.loadBalancer?.ingress?.find((a) => a.hostname || a.ip);
  const klass = spec.className ? `class ${spec.className}` : 'the default class';
  if (!lb) {
    return {
      exposed: false,
      reason: EXPOSE_REASONS.WaitingForAddress,
      message: `waiting for the Ingress controller (${klass}) to publish an address on Ingress ${ing?.metadata?.name ?? '(not yet created)'}`,
    };
  }
  const address = lb.hostname ?? (lb.ip!.includes(':') ? `[${lb.ip}]` : lb.ip!);
  const url = joinUrl(spec.tls ? 'https' : 'http', spec.host ?? address, spec.path ?? DEFAULTS.exposePath);
  return { exposed: true, reason: EXPOSE_REASONS.AddressPublished, message: `exposed at ${url} (load balancer ${address})`, externalUrl: url };
}

/**
 * The HTTPRoute's URL once a Gateway accepted it (a parent's Accepted=True): its first hostname
 * without a wildcard. Without one the URL is the Gateway's address, which only the Gateway shows.
 */
export function httpRouteExposure(spec: HttpRouteExpose, route: HttpRoute | undefined): Exposure {
  const parents = route?.status?.parents ?? [];
  const gw = (p: { parentRef: { name: string; namespace?: string } }) => `${p.parentRef.namespace ?? route?.metadata?.namespace ?? ''}/${p.parentRef.name}`;
  const accepted = parents.filter((p) => p.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True'));
  if (accepted.length === 0) {
    const refused = parents.map((p) => ({ p, c: p.conditions?.find((c) => c.type === 'Accepted' && c.status === 'False') })).find((x) => x.c);
    if (refused) {
      return {
        exposed: false,
        reason: EXPOSE_REASONS.RouteNotAccepted,
        message: `Gateway ${gw(refused.p)} did not accept HTTPRoute ${route?.metadata?.name}: ${refused.c!.reason ?? ''}${refused.c!.message ? ` (${refused.c!.message})` : ''}`,
      };
    }
    const wanted = spec.parentRefs.map((p) => `${p.namespace ?? route?.metadata?.namespace ?? ''}/${p.name}`).join(', ');
    return { exposed: false, reason: EXPOSE_REASONS.WaitingForGateway, message: `waiting for Gateway ${wanted} to accept HTTPRoute ${route?.metadata?.name ?? '(not yet created)'}` };
  }
  const names = accepted.map(gw).join(', ');
  const host = spec.hostnames?.find((h) => !h.startsWith('*'));
  if (!host) {
    return {
      exposed: true,
      reason: EXPOSE_REASONS.RouteAccepted,
      message: `accepted by Gateway ${names}; with no hostname the URL is the Gateway's address (kubectl get gateway)`,
    };
  }
  const url = joinUrl(spec.scheme ?? 'https', host, spec.path ?? DEFAULTS.exposePath);
  return { exposed: true, reason: EXPOSE_REASONS.RouteAccepted, message: `exposed at ${url} (accepted by Gateway ${names})`, externalUrl: url };
}

export function gatewayApiDisabled(isvc: InferenceService): Exposure {
  return {
    exposed: false,
    reason: EXPOSE_REASONS.GatewayAPIDisabled,
    message: `spec.expose.httpRoute of ${isvc.metadata.name} needs the Gateway API: install its CRDs and start the operator with LATHE_GATEWAY_API=true (the chart's gatewayApi.enabled)`,
  };
}
