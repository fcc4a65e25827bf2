// What each controller's setup is given (controller-runtime's Manager, as SetupWithManager sees it):
// the process's shared writer, Event recorder, object store and settings, and informers shared by
// name, so two controllers watching the same kind share one cache and one watch.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { ObjectStore } from './aws/s3-store.js';
import type { Resource } from './client/kube-client.js';
import type { OperatorConfig } from './config/operator-config.js';
import type { KubeWriter } from './k8s/kube-writer.js';
import type { EventRecorder } from './runtime/events.js';
import type { ResilientInformer } from './runtime/informer.js';
import type { Logger } from './runtime/logger.js';
import type { ReconcileFn } from './runtime/controller.js';
import type { WorkQueue } from './runtime/workqueue.js';
import type { BurstTracker } from './trainingrun/burst.js';

/** One watched kind: what is listed and watched, and what the cache keeps of each object. */
export interface InformerSpec<T extends KubernetesObject> {
  /** The informer's name in metrics and logs; also what makes two requests the same informer. */
  name: string;
  resource: Resource;
  labelSelector?: string;
  fieldSelector?: string;
  /** What the cache keeps (k8s/slim.ts); the default drops managedFields. */
  transform?: (obj: T) => T;
  /** The cache's one secondary index (InformerOptions.indexBy), read with byIndex(). */
  indexBy?: (obj: T) => string | undefined;
}

export interface ControllerContext {
  config: OperatorConfig;
  logger: Logger;
  registry: Registry;
  writer: KubeWriter;
  events: EventRecorder;
  store: ObjectStore;
  /** Jobs first: status, Event and record writes wait while a burst of new runs gets its Jobs. */
  burst: BurstTracker;
  /** The process's informer for `spec`, created on first request. */
  informer<T extends KubernetesObject>(spec: InformerSpec<T>): ResilientInformer<T>;
}

/** What a controller's setup returns: its queue (filled by the watches it declared) and its reconcile. */
export interface ControllerSetup {
  name: string;
  queue: WorkQueue;
  reconcile: ReconcileFn;
}
