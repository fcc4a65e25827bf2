// Workers that drain a WorkQueue into a reconcile function, with controller-runtime's requeue rules
// and metric names (so its Grafana dashboards work unchanged):
//   throw            → addRateLimited (per-key exponential backoff), result="error"
//   {requeue: true}  → addRateLimited, result="requeue"
//   {requeueAfterMs} → forget + addAfter, result="requeue_after"
//   otherwise        → forget, result="success"
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from './metrics.js';
import { WorkQueue } from './workqueue.js';

export interface ReconcileResult {
  /** Reconcile again after this long even if nothing changes (e.g. poll a Job's progress). */
  requeueAfterMs?: number;
  /** Reconcile again soon, with the rate limiter's backoff (not an error). */
  requeue?: boolean;
}

export type ReconcileFn = (key: string) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  /** The `controller` metric label, e.g. 'trainingrun'. */
  name: string;
  reconcile: ReconcileFn;
  logger: Logger;
  /** Defaults to a new WorkQueue named after the controller. */
  queue?: WorkQueue;
  /** MaxConcurrentReconciles; default 1. */
  workers?: number;
  registry?: Registry;
  /** How long stop() waits for in-flight reconciles; default 30 s. */
  stopTimeoutMs?: number;
}

interface ControllerMetrics {
  total: Counter<'controller' | 'result'>;
  errors: Counter<'controller'>;
  time: Histogram<'controller'>;
  active: Gauge<'controller'>;
  max: Gauge<'controller'>;
}

// controller-runtime's pkg/internal/controller/metrics buckets.
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75,
  2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

function controllerMetrics(registry: Registry): ControllerMetrics {
  return {
    total: getOrCreateCounter(registry, {
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
    }),
    errors: getOrCreateCounter(registry, {
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
    }),
    time: getOrCreateHistogram(registry, {
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
    }),
    active: getOrCreateGauge(registry, {
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
    }),
    max: getOrCreateGauge(registry, {
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
    }),
  };
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcileFn: ReconcileFn;
  private readonly log: Logger;
  private readonly workers: number;
  private readonly stopTimeoutMs: number;
  private readonly metrics: ControllerMetrics | undefined;
  private running: Promise<void>[] = [];
  private started = false;
  private activeWorkers = 0;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.reconcileFn = options.reconcile;
    this.log = options.logger.child({ controller: options.name });
    this.workers = Math.max(1, options.workers ?? 1);
    this.stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
    this.queue = options.queue ?? new WorkQueue({ name: options.name, registry: options.registry });
    this.metrics = options.registry ? controllerMetrics(options.registry) : undefined;
    if (this.metrics) {
      this.metrics.max.set({ controller: this.name }, this.workers);
      this.metrics.active.set({ controller: this.name }, 0);
      // Pre-create the series so dashboards show 0 rather than "no data".
      for (const result of ['success', 'error', 'requeue', 'requeue_after']) this.metrics.total.inc({ controller: this.name, result }, 0);
      this.metrics.errors.inc({ controller: this.name }, 0);
    }
  }

  /** Convenience for event handlers: queue a key. */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    if (this.started) throw new Error(`controller ${this.name} already started`);
    this.started = true;
    this.log.info('starting workers', { workers: this.workers });
    for (let i = 0; i < this.workers; i++) this.running.push(this.worker());
  }

  /**
   * Stops handing out keys and waits (up to stopTimeoutMs) for in-flight reconciles, so a
   * half-done reconcile doesn't die mid-write. Resolves true if everything finished in time.
   */
  async stop(): Promise<boolean> {
    const drained = await this.queue.shutDownWithDrain(this.stopTimeoutMs);
    if (!drained) this.log.warn('reconciles still running at shutdown', { timeoutMs: this.stopTimeoutMs });
    else await Promise.all(this.running);
    this.running = [];
    return drained;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const labels = { controller: this.name };
    this.activeWorkers++;
    this.metrics?.active.set(labels, this.activeWorkers);
    const endTimer = this.metrics?.time.startTimer(labels);
    try {
      const result = await this.reconcileFn(key);
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfterMs);
        this.metrics?.total.inc({ ...labels, result: 'requeue_after' });
      } else if (result?.requeue) {
        this.queue.addRateLimited(key);
        this.metrics?.total.inc({ ...labels, result: 'requeue' });
      } else {
        this.queue.forget(key);
        this.metrics?.total.inc({ ...labels, result: 'success' });
      }
    } catch (err) {
      this.queue.addRateLimited(key);
      this.metrics?.total.inc({ ...labels, result: 'error' });
      this.metrics?.errors.inc(labels);
      this.log.error('reconcile failed', { key, err, requeues: this.queue.numRequeues(key) });
    } finally {
      endTimer?.();
      this.activeWorkers--;
      this.metrics?.active.set(labels, this.activeWorkers);
      this.queue.done(key);
    }
  }
}
