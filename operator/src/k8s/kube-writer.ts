// Every write the operator makes to the API server goes through here, so that the writes can be
// counted (lathe_api_writes_total, which `make bench` reads to check "6 or fewer per run" and "zero
// at rest") and so that the reconcilers never spell a patch content type themselves.
import type { KubernetesObject, V1Deployment, V1Job, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Counter, Registry } from 'prom-client';
import { GROUP, VERSION } from '../api/constants.js';
import { statusCode } from '../client/errors.js';
import { CONTENT_TYPES, resourcePath, type KubeClient, type Resource } from '../client/kube-client.js';
import { getOrCreateCounter } from '../runtime/metrics.js';
import { FIELD_MANAGER } from './labels.js';
import type { Workload } from './kueue.js';
import { RESOURCES } from './resources.js';

export type WriteVerb = 'create' | 'patch' | 'apply' | 'delete';

export class KubeWriter {
  private readonly writes: Counter<'resource' | 'verb' | 'code'>;

  /** `client` is public for reads, which are not counted. */
  constructor(
    readonly client: KubeClient,
    registry: Registry,
  ) {
    this.writes = getOrCreateCounter(registry, {
      name: 'lathe_api_writes_total',
      help: 'Write requests the operator sent to the API server, by resource, verb and HTTP outcome.',
      labelNames: ['resource', 'verb', 'code'],
    });
  }

  /**
   * Whether the object exists on the API server (not the cache): a read, not counted. The
   * reconcilers read through these two rather than the client, so they never import client/.
   */
  async exists(resource: Resource, namespace: string, name: string): Promise<boolean> {
    try {
      await this.client.get(resourcePath({ ...resource, namespace, name }));
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }

  /** The objects of a kind in a namespace with a label selector, from the API server: a read, not counted. */
  async list<T>(resource: Resource, namespace: string, labelSelector: string): Promise<T[]> {
    return (await this.client.get<{ items: T[] }>(resourcePath({ ...resource, namespace }), { labelSelector })).items;
  }

  /** Runs one write and counts it; also used for the writes the EventRecorder makes. */
  async count<T>(resource: string, verb: WriteVerb, call: () => Promise<T>): Promise<T> {
    try {
      const out = await call();
      this.writes.inc({ resource, verb, code: '2xx' });
      return out;
    } catch (err) {
      this.writes.inc({ resource, verb, code: String(statusCode(err) ?? 'error') });
      throw err;
    }
  }

  /** Creates the object; returns undefined when it already exists (409), which callers treat as done. */
  async createJob(job: V1Job): Promise<V1Job | undefined> {
    const path = resourcePath({ ...RESOURCES.jobs, namespace: job.metadata!.namespace! });
    return ignoreConflict(this.count('jobs', 'create', () => this.client.create<V1Job>(path, job, { fieldManager: FIELD_MANAGER })));
  }

  async createService(svc: V1Service): Promise<V1Service | undefined> {
    const path = resourcePath({ ...RESOURCES.services, namespace: svc.metadata!.namespace! });
    return ignoreConflict(this.count('services', 'create', () => this.client.create<V1Service>(path, svc, { fieldManager: FIELD_MANAGER })));
  }

  async patchJob(namespace: string, name: string, patch: object): Promise<V1Job> {
    const path = resourcePath({ ...RESOURCES.jobs, namespace, name });
    return this.count('jobs', 'patch', () => this.client.patch<V1Job>(path, patch, CONTENT_TYPES.mergePatch, { fieldManager: FIELD_MANAGER }));
  }

  /** Merge patch of a Kueue Workload: only `spec.active` and Lathe's annotation (trainingrun/queueing.ts). */
  async patchWorkload(namespace: string, name: string, patch: object): Promise<Workload> {
    const path = resourcePath({ ...RESOURCES.workloads, namespace, name });
    return this.count('workloads', 'patch', () => this.client.patch<Workload>(path, patch, CONTENT_TYPES.mergePatch, { fieldManager: FIELD_MANAGER }));
  }

  /** Server-side apply of a whole object under Lathe's one field manager. */
  async applyDeployment(d: V1Deployment): Promise<V1Deployment> {
    const path = objectPath(RESOURCES.deployments, d);
    return this.count('deployments', 'apply', () => this.client.apply<V1Deployment>(path, d, FIELD_MANAGER));
  }

  async applyService(svc: V1Service): Promise<V1Service> {
    const path = objectPath(RESOURCES.services, svc);
    return this.count('services', 'apply', () => this.client.apply<V1Service>(path, svc, FIELD_MANAGER));
  }

  async applyHpa(hpa: V2HorizontalPodAutoscaler): Promise<V2HorizontalPodAutoscaler> {
    const path = objectPath(RESOURCES.horizontalPodAutoscalers, hpa);
    return this.count('horizontalpodautoscalers', 'apply', () => this.client.apply<V2HorizontalPodAutoscaler>(path, hpa, FIELD_MANAGER));
  }

  async deleteHpa(namespace: string, name: string): Promise<void> {
    await ignoreNotFound(this.count('horizontalpodautoscalers', 'delete', () => this.client.delete(resourcePath({ ...RESOURCES.horizontalPodAutoscalers, namespace, name }))));
  }

  /** Server-side apply of a child of any other kind (Ingress, HTTPRoute, NetworkPolicy), counted by its plural. */
  async applyObject<T extends KubernetesObject>(resource: Resource, obj: T): Promise<T> {
    return this.count(resource.plural, 'apply', () => this.client.apply<T>(objectPath(resource, obj), obj, FIELD_MANAGER));
  }

  /** Creates a child of any other kind once; undefined when it already exists (409). */
  async createObject<T extends KubernetesObject>(resource: Resource, obj: T): Promise<T | undefined> {
    const path = resourcePath({ ...resource, namespace: obj.metadata!.namespace! });
    return ignoreConflict(this.count(resource.plural, 'create', () => this.client.create<T>(path, obj, { fieldManager: FIELD_MANAGER })));
  }

  /** Deletes a child of any other kind; gone already is fine. */
  async deleteObject(resource: Resource, namespace: string, name: string): Promise<void> {
    await ignoreNotFound(this.count(resource.plural, 'delete', () => this.client.delete(resourcePath({ ...resource, namespace, name }))));
  }

  /**
   * Server-side apply of a custom resource's status subresource. The body carries only status, so
   * this manager owns exactly the status fields it sets, and spec is never touched.
   */
  async applyStatus(plural: string, kind: string, namespace: string, name: string, status: object): Promise<Record<string, unknown>> {
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, namespace }, status };
    const path = resourcePath({ group: GROUP, version: VERSION, plural, namespace, name, subresource: 'status' });
    return this.count(plural, 'apply', () => this.client.apply<Record<string, unknown>>(path, body, FIELD_MANAGER));
  }
}

function objectPath(resource: Resource, obj: { metadata?: { namespace?: string; name?: string } }): string {
  return resourcePath({ ...resource, namespace: obj.metadata!.namespace!, name: obj.metadata!.name! });
}

async function ignoreConflict<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (statusCode(err) === 409) return undefined;
    throw err;
  }
}

async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw err;
  }
}
