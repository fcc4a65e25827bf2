// A keyed work queue with client-go's guarantees, because the reconcilers rely on them:
//  - a key is queued at most once however many events arrive (dirty set), so a burst of watch
//    events for one object costs one reconcile;
//  - a key is never handed to two workers at once (processing set), so reconciles of one object
//    never race each other;
//  - a key added while it is being processed is queued again when the worker calls done(), so the
//    change that arrived mid-reconcile is not lost.
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { exponentialBuckets, getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from './metrics.js';
import { defaultControllerRateLimiter, systemClock, type Clock, type RateLimiter } from './rate-limiter.js';

export interface WorkQueueOptions {
  /** The `name` label of the workqueue_* metrics; use the controller's name. */
  name: string;
  /** Defaults to controller-runtime's (5 ms → 1000 s per key, max'ed with 10 qps / 100 burst). */
  rateLimiter?: RateLimiter;
  registry?: Registry;
  clock?: Clock;
}

interface WorkQueueMetrics {
  depth: Gauge<'name'>;
  adds: Counter<'name'>;
  queueDuration: Histogram<'name'>;
  workDuration: Histogram<'name'>;
  retries: Counter<'name'>;
}

// The two "how stuck are we" gauges are computed at scrape time from every live queue of a registry
// (client-go refreshes them from a ticker; a scrape-time collect needs no timer).
const liveQueues = new WeakMap<Registry, Set<WorkQueue>>();

function queueMetrics(registry: Registry): WorkQueueMetrics {
  let live = liveQueues.get(registry);
  if (!live) {
    const queues = new Set<WorkQueue>();
    live = queues;
    liveQueues.set(registry, queues);
    getOrCreateGauge(registry, {
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and has not been observed by work_duration. Large values indicate stuck threads.',
      labelNames: ['name'],
      collect() {
        for (const q of queues) this.set({ name: q.name }, q.unfinishedWorkSeconds());
      },
    });
    getOrCreateGauge(registry, {
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name'],
      collect() {
        for (const q of queues) this.set({ name: q.name }, q.longestRunningProcessorSeconds());
      },
    });
  }
  // Buckets as controller-runtime's pkg/metrics/workqueue.go: 10 ns .. 1000 s.
  const buckets = exponentialBuckets(10e-9, 10, 12);
  return {
    depth: getOrCreateGauge(registry, { name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'] }),
    adds: getOrCreateCounter(registry, {
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
    }),
    queueDuration: getOrCreateHistogram(registry, {
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets,
    }),
    workDuration: getOrCreateHistogram(registry, {
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'],
      buckets,
    }),
    retries: getOrCreateCounter(registry, {
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
    }),
  };
}

export class WorkQueue {
  readonly name: string;
  private readonly rateLimiter: RateLimiter;
  private readonly clock: Clock;
  private readonly metrics: WorkQueueMetrics | undefined;
  private readonly registry: Registry | undefined;

  // FIFO of keys ready to hand out. A Set keeps insertion order and gives O(1) removal of the head.
  private readonly queue = new Set<string>();
  private readonly dirty = new Set<string>();
  /** key → when the worker got it (ms), for work_duration and the stuck-worker gauges. */
  private readonly processing = new Map<string, number>();
  /** key → when it was first queued (ms), for queue_duration. */
  private readonly addedAt = new Map<string, number>();
  /** key → when it becomes ready (ms); the earliest addAfter wins. */
  private readonly waiting = new Map<string, number>();
  private waitingTimer: NodeJS.Timeout | undefined;
  private waitingTimerAt = Infinity;

  private readonly getters: Array<(key: string | undefined) => void> = [];
  private drainWaiters: Array<() => void> = [];
  private shuttingDown = false;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter({ clock: this.clock });
    this.registry = options.registry;
    if (options.registry) {
      this.metrics = queueMetrics(options.registry);
      liveQueues.get(options.registry)?.add(this);
      this.metrics.depth.set({ name: this.name }, 0);
    }
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.adds.inc({ name: this.name });
    this.dirty.add(key);
    this.addedAt.set(key, this.clock.now());
    // Being processed: done() will queue it, so it can't reach a second worker meanwhile.
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds `key` after `delayMs`; a key already waiting keeps whichever deadline is earlier. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const current = this.waiting.get(key);
    if (current !== undefined && current <= readyAt) return;
    this.waiting.set(key, readyAt);
    if (readyAt < this.waitingTimerAt) this.armWaitingTimer(readyAt);
  }

  /** Adds `key` once the rate limiter says it may be retried. */
  addRateLimited(key: string): void {
    this.metrics?.retries.inc({ name: this.name });
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Ends rate limiting of `key` (call after a successful reconcile). It does not dequeue it. */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key to process, waiting for one; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.pop();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Marks `key` as processed; re-queues it if it was added meanwhile. */
  done(key: string): void {
    const startedAt = this.processing.get(key);
    if (startedAt === undefined) return;
    this.processing.delete(key);
    this.metrics?.workDuration.observe({ name: this.name }, (this.clock.now() - startedAt) / 1000);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
    if (this.processing.size === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Keys ready to be handed out (not counting delayed or in-process ones), like client-go's Len. */
  len(): number {
    return this.queue.size;
  }

  /** Keys waiting in addAfter/addRateLimited. */
  waitingLen(): number {
    return this.waiting.size;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops handing out keys: pending and future get() resolve undefined; adds are ignored. */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    if (this.waitingTimer) clearTimeout(this.waitingTimer);
    this.waitingTimer = undefined;
    this.waitingTimerAt = Infinity;
    this.waiting.clear();
    for (const g of this.getters.splice(0)) g(undefined);
    if (this.registry) liveQueues.get(this.registry)?.delete(this);
  }

  /**
   * shutDown, then resolves once every key handed out has been done() (or after `timeoutMs`),
   * so in-flight reconciles finish their writes before the process exits.
   */
  async shutDownWithDrain(timeoutMs = Infinity): Promise<boolean> {
    this.shutDown();
    if (this.processing.size === 0) return true;
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onDrained = (): void => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      this.drainWaiters.push(onDrained);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.drainWaiters = this.drainWaiters.filter((w) => w !== onDrained);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  unfinishedWorkSeconds(): number {
    const now = this.clock.now();
    let total = 0;
    for (const startedAt of this.processing.values()) total += now - startedAt;
    return total / 1000;
  }

  longestRunningProcessorSeconds(): number {
    const now = this.clock.now();
    let oldest = now;
    for (const startedAt of this.processing.values()) oldest = Math.min(oldest, startedAt);
    return (now - oldest) / 1000;
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) {
      this.startProcessing(key);
      getter(key);
      return;
    }
    this.queue.add(key);
    this.metrics?.depth.set({ name: this.name }, this.queue.size);
  }

  private pop(): string | undefined {
    const first = this.queue.values().next();
    if (first.done) return undefined;
    const key = first.value;
    this.queue.delete(key);
    this.metrics?.depth.set({ name: this.name }, this.queue.size);
    this.startProcessing(key);
    return key;
  }

  private startProcessing(key: string): void {
    const now = this.clock.now();
    const addedAt = this.addedAt.get(key);
    if (addedAt !== undefined) this.metrics?.queueDuration.observe({ name: this.name }, (now - addedAt) / 1000);
    this.addedAt.delete(key);
    this.dirty.delete(key);
    this.processing.set(key, now);
  }

  private armWaitingTimer(at: number): void {
    if (this.waitingTimer) clearTimeout(this.waitingTimer);
    this.waitingTimerAt = at;
    this.waitingTimer = setTimeout(() => this.releaseDue(), Math.max(0, at - this.clock.now()));
    // A pending requeue must not keep a stopping process alive.
    this.waitingTimer.unref();
  }

  // O(waiting) per firing; a few thousand delayed keys cost microseconds, and it avoids a heap.
  private releaseDue(): void {
    this.waitingTimer = undefined;
    this.waitingTimerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const [key, at] of this.waiting) {
      if (at <= now) {
        this.waiting.delete(key);
        this.add(key);
      } else if (at < next) {
        next = at;
      }
    }
    if (next !== Infinity && !this.shuttingDown) this.armWaitingTimer(next);
  }
}
