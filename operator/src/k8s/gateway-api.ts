// The Gateway API's HTTPRoute, as far as Lathe writes and reads it. A route is applied for
// spec.expose.httpRoute only with LATHE_GATEWAY_API=true; its status says which Gateways accepted
// it (status.parents[].conditions), but not their addresses: those are on the Gateway, which Lathe
// neither reads nor needs RBAC for.
import type { KubernetesObject } from '@kubernetes/client-node';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** HTTPRoute is GA (v1) since Gateway API v1.0. */
export const GATEWAY_VERSION = 'v1';

export interface RouteCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface ParentReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  sectionName?: string;
  port?: number;
}

export interface HttpRoute extends KubernetesObject {
  spec?: {
    parentRefs?: ParentReference[];
    hostnames?: string[];
    rules?: {
      matches?: { path?: { type?: string; value?: string } }[];
      backendRefs?: { group?: string; kind?: string; name: string; port?: number }[];
    }[];
  };
  status?: { parents?: { parentRef: ParentReference; controllerName?: string; conditions?: RouteCondition[] }[] };
}

/** What the cache keeps of an HTTPRoute: metadata (the applied hash) and which parents accepted it. */
export function slimHttpRoute(r: HttpRoute): HttpRoute {
  const m = r.metadata ?? {};
  return {
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      generation: m.generation,
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: m.annotations } : {}),
    },
    ...(r.status?.parents
      ? {
          status: {
            parents: r.status.parents.map((p) => ({
              parentRef: p.parentRef,
              ...(p.controllerName ? { controllerName: p.controllerName } : {}),
              conditions: (p.conditions ?? []).map(({ type, status, reason, message, observedGeneration }) => ({ type, status, reason, message, observedGeneration })),
            })),
          },
        }
      : {}),
  };
}
