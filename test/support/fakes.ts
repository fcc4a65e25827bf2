// In-memory stand-ins for what a reconciler talks to, for unit tests without a cluster: an informer
// cache, the writer (recording every write and answering as the API server would), the object
// store (with an outage switch) and the Event recorder. Each keeps only what the tests assert on.
import type { KubernetesObject, V1Deployment, V1Job, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { ObjectStore } from '../../operator/src/aws/s3-store.js';
import { KubeApiError } from '../../operator/src/client/errors.js';
import { resourcePath, type Resource } from '../../operator/src/client/kube-client.js';
import type { KubeWriter } from '../../operator/src/k8s/kube-writer.js';
import type { Workload } from '../../operator/src/k8s/kueue.js';
import type { EventRecorder } from '../../operator/src/runtime/events.js';
import { keyOf, type IndexedCache } from '../../operator/src/runtime/informer.js';

export class MemoryCache<T extends KubernetesObject> implements IndexedCache<T> {
  private readonly objects = new Map<string, T>();

  /** `indexBy`: the informer's index (InformerSpec.indexBy), which byIndex() reads as the informer's does. */
  constructor(objs: T[] = [], private readonly indexBy?: (obj: T) => string | undefined) {
    for (const o of objs) this.set(o);
  }
  set(obj: T): void {
    this.objects.set(keyOf(obj.metadata?.namespace, obj.metadata?.name ?? ''), obj);
  }
  delete(namespace: string, name: string): void {
    this.objects.delete(keyOf(namespace, name));
  }
  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.get(keyOf(namespace, name));
  }
  list(namespace?: string): T[] {
    return [...this.objects.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }
  byIndex(value: string): T[] {
    const indexBy = this.indexBy;
    if (!indexBy) throw new Error('MemoryCache.byIndex: this cache was made without the informer\'s indexBy');
    return [...this.objects.values()].filter((o) => indexBy(o) === value);
  }
}

export interface Write {
  verb: 'create' | 'patch' | 'apply' | 'delete';
  kind: string;
  name: string;
  body?: unknown;
}

type WriterPart = Pick<
  KubeWriter,
  'exists' | 'list' | 'createJob' | 'createService' | 'patchJob' | 'patchWorkload' | 'applyStatus' | 'applyDeployment' | 'applyService' | 'applyHpa' | 'deleteHpa' | 'applyObject' | 'createObject' | 'deleteObject'
>;

/** Kinds of the plurals the generic writes take, as the writes are recorded. */
const KIND_OF: Record<string, string> = { ingresses: 'Ingress', httproutes: 'HTTPRoute', networkpolicies: 'NetworkPolicy' };

/** The writer: every write recorded; creates answer 409 for a name that exists, as the API does. */
export class FakeWriter implements WriterPart {
  readonly writes: Write[] = [];
  /** Objects that exist on the "server" (what a GET finds), by API path. */
  readonly server = new Map<string, unknown>();
  /** Writes of these kinds fail with this error, as the API server refuses an invalid object. */
  readonly refuse = new Map<string, Error>();
  private rv = 100;

  /** `now` stamps created objects' creationTimestamp, as the API server does. */
  constructor(private readonly now: () => Date = () => new Date()) {}

  /** What a GET of `path` answers; 404 when nothing is there. */
  get<T>(path: string): Promise<T> {
    const found = this.server.get(path);
    if (found === undefined) return Promise.reject(new KubeApiError(404, { reason: 'NotFound', message: `${path} not found` }));
    return Promise.resolve(found as T);
  }

  exists(resource: Resource, namespace: string, name: string): Promise<boolean> {
    return Promise.resolve(this.server.has(resourcePath({ ...resource, namespace, name })));
  }

  list<T>(resource: Resource, namespace: string): Promise<T[]> {
    return Promise.resolve((this.server.get(resourcePath({ ...resource, namespace })) as { items: T[] } | undefined)?.items ?? []);
  }

  writesOf(verb: Write['verb'], kind?: string): Write[] {
    return this.writes.filter((w) => w.verb === verb && (kind === undefined || w.kind === kind));
  }

  createJob(job: V1Job): Promise<V1Job | undefined> {
    if (this.refuse.has('Job')) return Promise.reject(this.refuse.get('Job')!);
    const path = resourcePath({ group: 'batch', version: 'v1', plural: 'jobs', namespace: job.metadata!.namespace!, name: job.metadata!.name! });
    this.writes.push({ verb: 'create', kind: 'Job', name: job.metadata!.name!, body: job });
    if (this.server.has(path)) return Promise.resolve(undefined); // 409, as KubeWriter reports it
    const created = { ...job, metadata: { ...job.metadata, uid: `uid-${job.metadata!.name}`, resourceVersion: String(++this.rv), creationTimestamp: this.now() } };
    this.server.set(path, created);
    return Promise.resolve(created);
  }
  createService(svc: V1Service): Promise<V1Service | undefined> {
    this.writes.push({ verb: 'create', kind: 'Service', name: svc.metadata!.name!, body: svc });
    return Promise.resolve(svc);
  }
  patchJob(_namespace: string, name: string, patch: object): Promise<V1Job> {
    this.writes.push({ verb: 'patch', kind: 'Job', name, body: patch });
    return Promise.resolve({ metadata: { name } });
  }
  patchWorkload(_namespace: string, name: string, patch: object): Promise<Workload> {
    this.writes.push({ verb: 'patch', kind: 'Workload', name, body: patch });
    return Promise.resolve({ metadata: { name } });
  }
  applyStatus(_plural: string, kind: string, _namespace: string, name: string, status: object): Promise<Record<string, unknown>> {
    this.writes.push({ verb: 'apply', kind: `${kind}/status`, name, body: status });
    return Promise.resolve({ metadata: { resourceVersion: String(++this.rv) }, status });
  }
  applyDeployment(d: V1Deployment): Promise<V1Deployment> {
    if (this.refuse.has('Deployment')) return Promise.reject(this.refuse.get('Deployment')!);
    this.writes.push({ verb: 'apply', kind: 'Deployment', name: d.metadata!.name!, body: d });
    return Promise.resolve(d);
  }
  applyService(svc: V1Service): Promise<V1Service> {
    this.writes.push({ verb: 'apply', kind: 'Service', name: svc.metadata!.name!, body: svc });
    return Promise.resolve(svc);
  }
  applyHpa(hpa: V2HorizontalPodAutoscaler): Promise<V2HorizontalPodAutoscaler> {
    this.writes.push({ verb: 'apply', kind: 'HorizontalPodAutoscaler', name: hpa.metadata!.name!, body: hpa });
    return Promise.resolve(hpa);
  }
  deleteHpa(_namespace: string, name: string): Promise<void> {
    this.writes.push({ verb: 'delete', kind: 'HorizontalPodAutoscaler', name });
    return Promise.resolve();
  }
  applyObject<T extends KubernetesObject>(_resource: Resource, obj: T): Promise<T> {
    if (this.refuse.has(obj.kind!)) return Promise.reject(this.refuse.get(obj.kind!)!);
    this.writes.push({ verb: 'apply', kind: obj.kind!, name: obj.metadata!.name!, body: obj });
    return Promise.resolve(obj);
  }
  createObject<T extends KubernetesObject>(resource: Resource, obj: T): Promise<T | undefined> {
    this.writes.push({ verb: 'create', kind: obj.kind!, name: obj.metadata!.name!, body: obj });
    const path = resourcePath({ ...resource, namespace: obj.metadata!.namespace!, name: obj.metadata!.name! });
    if (this.server.has(path)) return Promise.resolve(undefined); // 409
    this.server.set(path, obj);
    return Promise.resolve(obj);
  }
  deleteObject(resource: Resource, _namespace: string, name: string): Promise<void> {
    this.writes.push({ verb: 'delete', kind: KIND_OF[resource.plural] ?? resource.plural, name });
    return Promise.resolve();
  }
}

/** An object store; `down` makes every call fail as an unreachable S3 endpoint does. */
export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, unknown>();
  down = false;

  private check(): void {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:19000');
  }
  async getJson(bucket: string, key: string): Promise<unknown> {
    await Promise.resolve();
    this.check();
    return structuredClone(this.objects.get(`${bucket}/${key}`));
  }
  async putJson(bucket: string, key: string, value: unknown, opts: { ifAbsent?: boolean } = {}): Promise<void> {
    await Promise.resolve();
    this.check();
    if (opts.ifAbsent && this.objects.has(`${bucket}/${key}`)) return;
    this.objects.set(`${bucket}/${key}`, structuredClone(value));
  }
  headBucket(): Promise<void> {
    return this.down ? Promise.reject(new Error('unreachable')) : Promise.resolve();
  }
}

export interface RecordedEvent {
  name: string;
  type: string;
  reason: string;
  message: string;
}

export class RecordingEvents implements Pick<EventRecorder, 'record'> {
  readonly events: RecordedEvent[] = [];
  record(obj: KubernetesObject, type: 'Normal' | 'Warning', reason: string, message: string): boolean {
    this.events.push({ name: obj.metadata?.name ?? '', type, reason, message });
    return true;
  }
  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }
}

/** A clock the test moves. */
export class TestClock {
  constructor(private t: number) {}
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}
