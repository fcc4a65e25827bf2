// The operator runtime's public API: what the reconcilers and the entry point import.
export { createLogger, logLevelFromEnv, serializeError, silentLogger, isLogLevel } from './logger.js';
export type { Logger, LogLevel, LogFields, LogStream, LoggerOptions } from './logger.js';

export {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  TokenBucket,
  defaultControllerRateLimiter,
  systemClock,
} from './rate-limiter.js';
export type { Clock, RateLimiter, ControllerRateLimiterOptions } from './rate-limiter.js';

export { WorkQueue } from './workqueue.js';
export type { WorkQueueOptions } from './workqueue.js';

export { Backoff, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';

export { apiListWatch, isGone, KubeApiError } from './list-watch.js';
export type { ApiListWatchOptions, ListOptions, ListResult, ListWatch, WatchErrorStatus, WatchEventType, WatchHandle } from './list-watch.js';

export { DEFAULT_INFORMER_TIMINGS, ResilientInformer, keyOf, objectKey, splitKey, stripManagedFields } from './informer.js';
export type { AddHandler, DeleteHandler, InformerOptions, RestartReason, UpdateHandler } from './informer.js';

export { Controller } from './controller.js';
export type { ControllerOptions, ReconcileFn, ReconcileResult } from './controller.js';

export { LeaderElector, kubeLeaseLock } from './leader-election.js';
export type { LeaderElectorOptions, LeaseLock, LeaseRecord, ObservedLease, StoppedReason } from './leader-election.js';

export { createRegistry, exponentialBuckets, getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from './metrics.js';
export type { RegistryOptions } from './metrics.js';

export { HealthServer } from './health-server.js';
export type { HealthCheck, HealthServerOptions } from './health-server.js';

export { EventRecorder, REPORTING_COMPONENT, eventName, kubeEventSink } from './events.js';
export type { EventRecorderOptions, EventSink, EventType } from './events.js';
