// The InferenceService controller's metrics. The gauge is computed from the informer cache when
// Prometheus scrapes (every replica reports it from its warm cache: take max() over replicas); the
// counter is incremented by the reconciler when it rolls a service back (only the leader does).
// The services' namespace is the label object_namespace, not namespace: a scrape by the Prometheus
// Operator sets namespace to the operator's own (the target's), and would rename ours away.
import type { Counter, Registry } from 'prom-client';
import { CONDITION_TYPES } from '../api/constants.js';
import type { InferenceService } from '../api/schema/inferenceservice.js';
import { findCondition } from '../k8s/conditions.js';
import type { ObjectCache } from '../runtime/informer.js';
import { getOrCreateCounter, getOrCreateGauge } from '../runtime/metrics.js';

export const INFERENCE_SERVICE_METRICS = {
  services: 'lathe_inferenceservices',
  rollbacks: 'lathe_inferenceservice_rollbacks_total',
} as const;

export interface InferenceServiceMetrics {
  /** Rollbacks to the last ready model, by namespace (the reconciler increments it). */
  rollbacks: Counter<'object_namespace'>;
}

/** Ready's status ("True", "False"; "Unknown" before the first status) and reason. */
export function readinessOf(isvc: InferenceService): { ready: string; reason: string } {
  const ready = findCondition(isvc.status?.conditions, CONDITION_TYPES.Ready);
  return { ready: ready?.status ?? 'Unknown', reason: ready?.reason ?? 'Unknown' };
}

export function inferenceServiceMetrics(registry: Registry, services: ObjectCache<InferenceService>): InferenceServiceMetrics {
  getOrCreateGauge(registry, {
    name: INFERENCE_SERVICE_METRICS.services,
    help: 'InferenceServices by namespace and Ready condition (status and reason), counted in the operator\'s cache at scrape time. Every replica reports it: take max() over replicas.',
    labelNames: ['object_namespace', 'ready', 'reason'],
    collect() {
      this.reset();
      const counts = new Map<string, { object_namespace: string; ready: string; reason: string; n: number }>();
      for (const isvc of services.list()) {
        const namespace = isvc.metadata.namespace ?? '';
        const { ready, reason } = readinessOf(isvc);
        const key = `${namespace}\u0000${ready}\u0000${reason}`;
        const c = counts.get(key) ?? { object_namespace: namespace, ready, reason, n: 0 };
        c.n++;
        counts.set(key, c);
      }
      for (const { n, ...labels } of counts.values()) this.set(labels, n);
    },
  });
  return {
    rollbacks: getOrCreateCounter(registry, {
      name: INFERENCE_SERVICE_METRICS.rollbacks,
      help: 'Rollbacks of an InferenceService to the last model that was ready (its new model never became ready within the progress deadline), by namespace.',
      labelNames: ['object_namespace'],
      // A zero for every namespace with services, so increase() sees a namespace's first rollback.
      collect() {
        for (const isvc of services.list()) this.inc({ object_namespace: isvc.metadata.namespace ?? '' }, 0);
      },
    }),
  };
}
