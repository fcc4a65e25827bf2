// The InferenceService controller's watches (its SetupWithManager): a service is reconciled when it
// changes, when its Deployment, Service, autoscaler, Ingress, HTTPRoute (LATHE_GATEWAY_API) or
// NetworkPolicy (LATHE_NETWORK_POLICIES) changes, and when the TrainingRun it serves changes phase. Handlers only enqueue keys; all the work happens in reconcile.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import type { ControllerContext, ControllerSetup } from '../controller-context.js';
import { INFORMERS } from '../informers.js';
import { LABELS } from '../k8s/labels.js';
import { keyOf, objectKey, type ResilientInformer } from '../runtime/informer.js';
import { WorkQueue } from '../runtime/workqueue.js';
import { inferenceServiceMetrics } from './metrics.js';
import { InferenceServiceReconciler } from './reconciler.js';

export function setupInferenceServiceController(ctx: ControllerContext): ControllerSetup {
  const services = ctx.informer(INFORMERS.inferenceServices);
  const runs = ctx.informer(INFORMERS.trainingRuns);
  const deployments = ctx.informer(INFORMERS.deployments);
  const kubeServices = ctx.informer(INFORMERS.services);
  const hpas = ctx.informer(INFORMERS.hpas);
  const ingresses = ctx.informer(INFORMERS.ingresses);
  const httpRoutes = ctx.config.gatewayApi ? ctx.informer(INFORMERS.httpRoutes) : undefined;
  const networkPolicies = ctx.config.networkPolicies ? ctx.informer(INFORMERS.networkPolicies) : undefined;
  const queue = new WorkQueue({ name: 'inferenceservice', registry: ctx.registry });
  const reconciler = new InferenceServiceReconciler({
    config: ctx.config,
    writer: ctx.writer,
    events: ctx.events,
    logger: ctx.logger.child({ controller: 'inferenceservice' }),
    services,
    runs,
    deployments,
    kubeServices,
    hpas,
    ingresses,
    ...(httpRoutes ? { httpRoutes } : {}),
    ...(networkPolicies ? { networkPolicies } : {}),
    metrics: inferenceServiceMetrics(ctx.registry, services),
  });

  services.on('add', (s) => {
    reconciler.observeService(s);
    queue.add(objectKey(s));
  });
  services.on('update', (_old, s) => {
    reconciler.observeService(s);
    queue.add(objectKey(s));
  });
  services.on('delete', (s) => queue.add(objectKey(s)));

  // A service serving a run waits on its phase: re-queued when that phase changes (or the run
  // appears after the first list), not on every status write or resync of the run.
  const enqueueServing = (run: TrainingRun) => {
    for (const k of reconciler.servicesReferencing(run.metadata.namespace!, run.metadata.name!)) queue.add(k);
  };
  runs.on('add', (run) => {
    if (runs.hasSynced()) enqueueServing(run);
  });
  runs.on('update', (old, run) => {
    if (old.status?.phase !== run.status?.phase) enqueueServing(run);
  });
  runs.on('delete', enqueueServing);

  const enqueueOwner = (obj: KubernetesObject) => {
    const name = obj.metadata?.labels?.[LABELS.inferenceService];
    if (name && obj.metadata?.namespace) queue.add(keyOf(obj.metadata.namespace, name));
  };
  const children = [deployments, kubeServices, hpas, ingresses, httpRoutes, networkPolicies].filter((i) => i !== undefined) as ResilientInformer<KubernetesObject>[];
  for (const inf of children) {
    inf.on('add', enqueueOwner);
    inf.on('update', (_old, obj) => enqueueOwner(obj));
    inf.on('delete', enqueueOwner);
  }

  return { name: 'inferenceservice', queue, reconcile: (k) => reconciler.reconcile(k) };
}
