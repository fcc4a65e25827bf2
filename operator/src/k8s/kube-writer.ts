// Every write the operator makes to the API server goes through here, so that the writes can be
// counted (lathe_api_writes_total, which `make bench` reads to check "6 or fewer per run" and "zero
// at rest") and so that the reconcilers never spell a patch content type themselves.
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
  type V1Job,
  type V1Service,
  type V2HorizontalPodAutoscaler,
} from '@kubernetes/client-node';
import type { Counter, Registry } from 'prom-client';
import { GROUP, VERSION } from '../api/constants.js';
import { statusCode } from '../runtime/api-errors.js';
import { getOrCreateCounter } from '../runtime/metrics.js';
import { FIELD_MANAGER } from './labels.js';

export type WriteVerb = 'create' | 'patch' | 'apply' | 'delete';

export class KubeWriter {
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
  readonly apps: AppsV1Api;
  readonly autoscaling: AutoscalingV2Api;
  readonly custom: CustomObjectsApi;
  private readonly writes: Counter<'resource' | 'verb' | 'code'>;

  constructor(kc: KubeConfig, registry: Registry) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.apps = kc.makeApiClient(AppsV1Api);
    this.autoscaling = kc.makeApiClient(AutoscalingV2Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.writes = getOrCreateCounter(registry, {
      name: 'lathe_api_writes_total',
      help: 'Write requests the operator sent to the API server, by resource, verb and HTTP outcome.',
      labelNames: ['resource', 'verb', 'code'],
    });
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
    return ignoreConflict(
      this.count('jobs', 'create', () =>
        this.batch.createNamespacedJob({ namespace: job.metadata!.namespace!, body: job, fieldManager: FIELD_MANAGER }),
      ),
    );
  }

  async createService(svc: V1Service): Promise<V1Service | undefined> {
    return ignoreConflict(
      this.count('services', 'create', () =>
        this.core.createNamespacedService({ namespace: svc.metadata!.namespace!, body: svc, fieldManager: FIELD_MANAGER }),
      ),
    );
  }

  async patchJob(namespace: string, name: string, patch: object): Promise<V1Job> {
    return this.count('jobs', 'patch', () =>
      this.batch.patchNamespacedJob({ namespace, name, body: patch, fieldManager: FIELD_MANAGER }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    );
  }

  /** Server-side apply of a whole object under Lathe's one field manager. */
  async applyDeployment(d: V1Deployment): Promise<V1Deployment> {
    return this.count('deployments', 'apply', () =>
      this.apps.patchNamespacedDeployment(
        { namespace: d.metadata!.namespace!, name: d.metadata!.name!, body: d, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
    );
  }

  async applyService(svc: V1Service): Promise<V1Service> {
    return this.count('services', 'apply', () =>
      this.core.patchNamespacedService(
        { namespace: svc.metadata!.namespace!, name: svc.metadata!.name!, body: svc, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
    );
  }

  async applyHpa(hpa: V2HorizontalPodAutoscaler): Promise<V2HorizontalPodAutoscaler> {
    return this.count('horizontalpodautoscalers', 'apply', () =>
      this.autoscaling.patchNamespacedHorizontalPodAutoscaler(
        { namespace: hpa.metadata!.namespace!, name: hpa.metadata!.name!, body: hpa, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      ),
    );
  }

  async deleteHpa(namespace: string, name: string): Promise<void> {
    await ignoreNotFound(this.count('horizontalpodautoscalers', 'delete', () => this.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ namespace, name })));
  }

  /**
   * Server-side apply of a custom resource's status subresource. The body carries only status, so
   * this manager owns exactly the status fields it sets, and spec is never touched.
   */
  async applyStatus(plural: string, kind: string, namespace: string, name: string, status: object): Promise<Record<string, unknown>> {
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name, namespace }, status };
    return this.count(plural, 'apply', async () =>
      (await this.custom.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, namespace, plural, name, body, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      )) as Record<string, unknown>,
    );
  }
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
