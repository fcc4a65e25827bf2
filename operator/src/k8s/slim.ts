// What the informer caches keep of each child kind: only the fields the reconcilers read. A Job's
// or pod's full spec (the pod template, env, volumes, probes) is most of its size and is never
// read back, since the desired object is always re-rendered from the parent; dropping it is what
// keeps thousands of cached runs within the operator's memory budget (see `make bench`).
import type { CoreV1Event, KubernetesObject, V1Deployment, V1Ingress, V1Job, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';

function slimMeta(m: V1ObjectMeta | undefined): V1ObjectMeta {
  if (!m) return {};
  const out: V1ObjectMeta = {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    generation: m.generation,
    creationTimestamp: m.creationTimestamp,
  };
  if (m.deletionTimestamp) out.deletionTimestamp = m.deletionTimestamp;
  if (m.labels) out.labels = m.labels;
  if (m.annotations) out.annotations = m.annotations;
  return out;
}

/** Jobs: identity, labels, suspend, status (conditions, counts, times). */
export function slimJob(job: V1Job): V1Job {
  return {
    apiVersion: job.apiVersion,
    kind: job.kind,
    metadata: slimMeta(job.metadata),
    spec: { suspend: job.spec?.suspend, template: {} },
    status: job.status,
  };
}

/** Pods: identity, labels, annotations, and status (phase, conditions, container states). */
export function slimPod(pod: V1Pod): V1Pod {
  const s = pod.status;
  return {
    apiVersion: pod.apiVersion,
    kind: pod.kind,
    metadata: slimMeta(pod.metadata),
    status: s
      ? {
          phase: s.phase,
          conditions: s.conditions,
          containerStatuses: s.containerStatuses?.map((c) => ({ name: c.name, image: '', imageID: '', ready: c.ready, restartCount: c.restartCount, state: c.state })),
        }
      : undefined,
  };
}

/** Deployments: replicas, the template's metadata (which model it serves), status. */
export function slimDeployment(d: V1Deployment): V1Deployment {
  return {
    apiVersion: d.apiVersion,
    kind: d.kind,
    metadata: slimMeta(d.metadata),
    spec: d.spec
      ? { replicas: d.spec.replicas, selector: d.spec.selector, template: { metadata: d.spec.template.metadata } }
      : undefined,
    status: d.status,
  };
}

/** Events (only Jobs' FailedCreate are watched): whose they are, what they say, and when. */
export function slimEvent(e: CoreV1Event): CoreV1Event {
  const o = e.involvedObject;
  const out: CoreV1Event = {
    metadata: slimMeta(e.metadata),
    involvedObject: { kind: o.kind, namespace: o.namespace, name: o.name, uid: o.uid },
  };
  for (const k of ['reason', 'message', 'firstTimestamp', 'lastTimestamp', 'eventTime', 'series', 'count'] as const) {
    if (e[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = e[k];
  }
  return out;
}

/** Ingresses: the metadata and the addresses the controller published (status.externalUrl). */
export function slimIngress(ing: V1Ingress): V1Ingress {
  const lb = ing.status?.loadBalancer?.ingress;
  return {
    apiVersion: ing.apiVersion,
    kind: ing.kind,
    metadata: slimMeta(ing.metadata),
    ...(lb ? { status: { loadBalancer: { ingress: lb.map((a) => ({ ...(a.hostname ? { hostname: a.hostname } : {}), ...(a.ip ? { ip: a.ip } : {}) })) } } } : {}),
  };
}

/** Services and HPAs: only the metadata (the applied-hash annotation and owner labels). */
export function slimToMetadata<T extends KubernetesObject>(obj: T): T {
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: slimMeta(obj.metadata) } as T;
}

/** Lathe's own objects are kept whole but for managedFields and kubectl's copy of the last apply. */
export function slimCustomResource<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  const annotations = obj.metadata?.annotations;
  if (annotations?.['kubectl.kubernetes.io/last-applied-configuration'] !== undefined) {
    delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  }
  return obj;
}
