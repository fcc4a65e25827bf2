// The InferenceService metrics: services by readiness counted from the cache at scrape time, and the
// rollback counter the reconciler increments when it rolls a stalled model change back.
import type { V1Deployment, V1Ingress, V1ReplicaSet, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { T0, makeInferenceService } from '../../../test/support/builders.js';
import { configWith } from '../../../test/support/config.js';
import { FakeWriter, MemoryCache, RecordingEvents, TestClock } from '../../../test/support/fakes.js';
import type { InferenceService } from '../api/schema/inferenceservice.js';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { ANNOTATIONS, LABELS } from '../k8s/labels.js';
import { silentLogger } from '../runtime/logger.js';
import { createRegistry } from '../runtime/metrics.js';
import { INFERENCE_SERVICE_METRICS, inferenceServiceMetrics } from './metrics.js';
import { InferenceServiceReconciler } from './reconciler.js';

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await registry.getSingleMetric(name)!.get()).values) {
    out[Object.entries(v.labels).map(([k, l]) => `${k}=${l}`).join(',')] = v.value;
  }
  return out;
}

const ready = (status: 'True' | 'False', reason: string) => ({
  conditions: [{ type: 'Ready', status, reason, message: '', lastTransitionTime: T0.toISOString() }],
});

const V1 = 's3://lathe-artifacts/models/m/v1/checkpoint/';
const V2 = 's3://lathe-artifacts/models/m/v2/checkpoint/';

describe('InferenceService metrics', () => {
  it('counts services by namespace and Ready status and reason, from the cache at scrape time', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const services = new MemoryCache<InferenceService>([
      makeInferenceService('a').status(ready('True', 'Ready')).obj(),
      makeInferenceService('b').status(ready('True', 'Ready')).obj(),
      makeInferenceService('c').status(ready('False', 'RolledBack')).obj(),
      makeInferenceService('new').obj(),
    ]);
    inferenceServiceMetrics(registry, services);
    expect(await values(registry, INFERENCE_SERVICE_METRICS.services)).toEqual({
      'object_namespace=ml,ready=True,reason=Ready': 2,
      'object_namespace=ml,ready=False,reason=RolledBack': 1,
      'object_namespace=ml,ready=Unknown,reason=Unknown': 1,
    });
    services.set(makeInferenceService('c').status(ready('True', 'Ready')).obj());
    services.delete('ml', 'new');
    expect(await values(registry, INFERENCE_SERVICE_METRICS.services)).toEqual({ 'object_namespace=ml,ready=True,reason=Ready': 3 });
  });

  it('counts a rollback once, when the reconciler rolls a stalled model back', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const clock = new TestClock(T0.getTime());
    const isvc = makeInferenceService('chat').model(V2).generation(2).status({ lastReadyModelUri: V1, observedGeneration: 1 }).obj();
    const services = new MemoryCache<InferenceService>([isvc]);
    const stalled: V1Deployment = {
      metadata: { name: 'chat', namespace: 'ml', generation: 4, labels: { [LABELS.inferenceService]: 'chat' } },
      spec: { replicas: 1, selector: {}, template: { metadata: { annotations: { [ANNOTATIONS.modelUri]: V2 } } } },
      status: { observedGeneration: 4, replicas: 1, updatedReplicas: 1, readyReplicas: 0, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] },
    };
    const deployments = new MemoryCache<V1Deployment>([stalled]);
    const writer = new FakeWriter(clock.now);
    const v1Set: V1ReplicaSet = {
      metadata: { name: 'chat-v1', annotations: { 'deployment.kubernetes.io/revision': '3' } },
      spec: { selector: {}, template: { metadata: { annotations: { [ANNOTATIONS.modelUri]: V1 } }, spec: { containers: [] } } },
    };
    writer.server.set('/apis/apps/v1/namespaces/ml/replicasets', { items: [v1Set] });
    const reconciler = new InferenceServiceReconciler({
      config: configWith(),
      writer,
      events: new RecordingEvents(),
      logger: silentLogger(),
      services,
      runs: new MemoryCache<TrainingRun>(),
      deployments,
      kubeServices: new MemoryCache<V1Service>(),
      hpas: new MemoryCache<V2HorizontalPodAutoscaler>(),
      ingresses: new MemoryCache<V1Ingress>(),
      metrics: inferenceServiceMetrics(registry, services),
      now: clock.now,
    });
    expect(await values(registry, INFERENCE_SERVICE_METRICS.rollbacks)).toEqual({ 'object_namespace=ml': 0 });
    await reconciler.reconcile('ml/chat');
    expect(await values(registry, INFERENCE_SERVICE_METRICS.rollbacks)).toEqual({ 'object_namespace=ml': 1 });
    // The Deployment now serves the old model again; the rollback holds and is not counted again.
    deployments.set({ ...stalled, spec: { ...stalled.spec!, template: { metadata: { annotations: { [ANNOTATIONS.modelUri]: V1 } } } }, status: { observedGeneration: 4, replicas: 1, updatedReplicas: 1, readyReplicas: 1 } });
    await reconciler.reconcile('ml/chat');
    await reconciler.reconcile('ml/chat');
    expect(await values(registry, INFERENCE_SERVICE_METRICS.rollbacks)).toEqual({ 'object_namespace=ml': 1 });
  });
});
