// A list+watch cache that never stops on its own. client-node's makeInformer stops for good on any
// watch error other than 410, never resyncs, requests no bookmarks and lets a throwing handler
// become an unhandled rejection; its 1.x watches also have no client-side timeout, so a connection
// that dies silently (no FIN, e.g. through a NAT or LB) leaves the cache frozen. This wrapper owns
// the loop instead: list → watch from the list's resourceVersion → on any end, back off and watch
// again (relisting when the version is too old), with a watchdog for silent stalls, a periodic
// full relist that repairs whatever a missed event broke, and a periodic resync so level-triggered
// reconcilers revisit every object.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Counter, Gauge, Registry } from 'prom-client';
import { Backoff, type BackoffOptions } from './backoff.js';
import { isGone, type ListWatch, type WatchErrorStatus, type WatchEventType, type WatchHandle } from './list-watch.js';
import type { Logger } from './logger.js';
import { getOrCreateCounter, getOrCreateGauge } from './metrics.js';

export type AddHandler<T> = (obj: T) => void;
export type UpdateHandler<T> = (oldObj: T, newObj: T) => void;
export type DeleteHandler<T> = (obj: T) => void;

export interface InformerOptions<T extends KubernetesObject> {
  /** The `informer` metric label and log field, e.g. 'trainingruns'. */
  name: string;
  listWatch: ListWatch<T>;
  logger: Logger;
  /** Registry for lathe_informer_* metrics. */
  metrics?: Registry;
  /** Re-emit `update(obj, obj)` for every cached object this often; 0 disables. */
  resyncMs: number;
  /** Full relist (cache repair) this often; 0 disables. */
  relistMs: number;
  /**
   * Restart the watch when nothing (event or bookmark) arrived for this long. The API server
   * sends a bookmark about once a minute on a healthy watch, so use a few minutes.
   */
  watchdogMs: number;
  backoff?: BackoffOptions;
  /**
   * Applied to every object before it is cached and dispatched (e.g. stripManagedFields). Must be
   * idempotent: a ListWatch may already have applied it to listed items.
   */
  transform?: (obj: T) => T;
  /**
   * One secondary index, as client-go's indexers: the value an object is found under by
   * byIndex() (undefined: not indexed). A reconciler that looked its children up with list() and a
   * filter read every cached object each pass, which is quadratic in a burst.
   */
  indexBy?: (obj: T) => string | undefined;
}

/** Sensible production timings; tests pass short ones. */
export const DEFAULT_INFORMER_TIMINGS = { resyncMs: 10 * 60_000, relistMs: 30 * 60_000, watchdogMs: 3 * 60_000 } as const;

export type RestartReason = 'watch_error' | 'watch_closed' | 'gone' | 'watchdog' | 'list_error';
type WatchEnd = RestartReason | 'relist' | 'stopped';

/** client-go's MetaNamespaceKeyFunc: `namespace/name`, or `name` for cluster-scoped objects. */
/** The cache and work-queue key of an object: `namespace/name`, or `name` if cluster-scoped. */
export function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function objectKey(obj: KubernetesObject): string {
  return keyOf(obj.metadata?.namespace, obj.metadata?.name ?? '');
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/**
 * Drops metadata.managedFields, usually the largest part of an object and useless to a
 * reconciler; keeps a 5,000-object cache small.
 */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

interface InformerMetrics {
  restarts: Counter<'informer' | 'reason'>;
  lastEvent: Gauge<'informer'>;
  objects: Gauge<'informer'>;
}

function informerMetrics(registry: Registry): InformerMetrics {
  return {
    restarts: getOrCreateCounter(registry, {
      name: 'lathe_informer_restarts_total',
      help: 'Informer list/watch restarts, by reason (watch_error, watch_closed, gone, watchdog, list_error).',
      labelNames: ['informer', 'reason'],
    }),
    lastEvent: getOrCreateGauge(registry, {
      name: 'lathe_informer_last_event_timestamp_seconds',
      help: 'Unix time of the last watch event or bookmark the informer received.',
      labelNames: ['informer'],
    }),
    objects: getOrCreateGauge(registry, {
      name: 'lathe_informer_objects',
      help: 'Objects in the informer cache.',
      labelNames: ['informer'],
    }),
  };
}

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** What a reconciler reads of an informer: its cache, never the API (in-memory fakes in unit tests). */
export type ObjectCache<T extends KubernetesObject> = Pick<ResilientInformer<T>, 'get' | 'list'>;

/** An ObjectCache with its informer's secondary index (InformerOptions.indexBy). */
export type IndexedCache<T extends KubernetesObject> = Pick<ResilientInformer<T>, 'get' | 'list' | 'byIndex'>;

export class ResilientInformer<T extends KubernetesObject> {
  readonly name: string;
  private readonly listWatch: ListWatch<T>;
  private readonly log: Logger;
  private readonly metrics: InformerMetrics | undefined;
  private readonly resyncMs: number;
  private readonly relistMs: number;
  private readonly watchdogMs: number;
  private readonly backoff: Backoff;
  private readonly transform: (obj: T) => T;

  private readonly cache = new Map<string, T>();
  private readonly indexBy: ((obj: T) => string | undefined) | undefined;
  /** indexBy's value → the objects under it, by key. */
  private readonly index = new Map<string, Map<string, T>>();
  private readonly addHandlers: AddHandler<T>[] = [];
  private readonly updateHandlers: UpdateHandler<T>[] = [];
  private readonly deleteHandlers: DeleteHandler<T>[] = [];

  private resourceVersion = '';
  private synced = false;
  private started = false;
  private stopped = false;
  private loopRunning = false;
  private loop: Promise<void> | undefined;
  private relistRequested = false;
  private endWatch: ((reason: WatchEnd) => void) | undefined;
  private wakeSleep: (() => void) | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private syncWaiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private lastActivityAt = 0;

  constructor(options: InformerOptions<T> & { registry?: Registry }) {
    this.name = options.name;
    this.listWatch = options.listWatch;
    this.log = options.logger.child({ informer: options.name });
    const registry = options.metrics ?? options.registry;
    this.metrics = registry ? informerMetrics(registry) : undefined;
    this.resyncMs = options.resyncMs;
    this.relistMs = options.relistMs;
    this.watchdogMs = options.watchdogMs;
    this.backoff = new Backoff(options.backoff);
    this.transform = options.transform ?? ((o) => o);
    this.indexBy = options.indexBy;
  }

  on(event: 'add', handler: AddHandler<T>): this;
  on(event: 'update', handler: UpdateHandler<T>): this;
  on(event: 'delete', handler: DeleteHandler<T>): this;
  on(event: 'add' | 'update' | 'delete', handler: AddHandler<T> | UpdateHandler<T> | DeleteHandler<T>): this {
    if (event === 'add') this.addHandlers.push(handler as AddHandler<T>);
    else if (event === 'update') this.updateHandlers.push(handler);
    else this.deleteHandlers.push(handler as DeleteHandler<T>);
    return this;
  }

  /** Starts the loop; resolves after the first successful list (then hasSynced() is true). */
  start(): Promise<void> {
    if (this.started) throw new Error(`informer ${this.name} already started`);
    this.started = true;
    const synced = new Promise<void>((resolve, reject) => {
      this.syncWaiter = { resolve, reject };
    });
    this.loopRunning = true;
    this.loop = this.run()
      .catch((err: unknown) => this.log.error('informer loop crashed', { err }))
      .finally(() => {
        this.loopRunning = false;
      });
    if (this.resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), this.resyncMs);
      this.resyncTimer.unref();
    }
    if (this.relistMs > 0) {
      this.relistTimer = setInterval(() => this.requestRelist(), this.relistMs);
      this.relistTimer.unref();
    }
    return synced;
  }

  /** Stops watching and timers; resolves when the loop has exited. The cache stays readable. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.relistTimer) clearInterval(this.relistTimer);
    this.endWatch?.('stopped');
    this.wakeSleep?.();
    this.syncWaiter?.reject(new Error(`informer ${this.name} stopped before it synced`));
    this.syncWaiter = undefined;
    // A list request in flight can't be cancelled; its result is discarded, so don't wait for it.
    if (this.loop) await Promise.race([this.loop, new Promise((r) => setTimeout(r, 1000).unref())]);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** For /healthz: the loop is running (in a watch, a list or a backoff wait). */
  isAlive(): boolean {
    return this.started && !this.stopped && this.loopRunning;
  }

  /** The resourceVersion the next watch would start from. */
  lastSyncResourceVersion(): string {
    return this.resourceVersion;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(keyOf(namespace, name));
  }

  getByKey(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    const out: T[] = [];
    for (const obj of this.cache.values()) {
      if (namespace === undefined || obj.metadata?.namespace === namespace) out.push(obj);
    }
    return out;
  }

  /** The cached objects whose indexBy value is `value`; [] when the informer has no index. */
  byIndex(value: string): T[] {
    const bucket = this.index.get(value);
    return bucket ? [...bucket.values()] : [];
  }

  size(): number {
    return this.cache.size;
  }

  /** Ends the current watch and lists again (also what the relist timer does). */
  requestRelist(): void {
    if (this.stopped) return;
    this.relistRequested = true;
    this.endWatch?.('relist');
  }

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      let reason: WatchEnd;
      let healthySince: number | undefined;
      try {
        if (needList || this.relistRequested) {
          this.relistRequested = false;
          await this.listAndReplace();
          needList = false;
          if (this.stopped) break;
        }
        healthySince = Date.now();
        reason = await this.watchOnce();
      } catch (err) {
        this.log.warn('informer list failed', { err });
        reason = 'list_error';
      }
      if (this.stopped || reason === 'stopped') break;
      if (reason === 'relist') continue;
      if (reason === 'gone' || reason === 'list_error') needList = true;
      this.metrics?.restarts.inc({ informer: this.name, reason });
      if (healthySince !== undefined && Date.now() - healthySince >= this.backoff.resetAfterMs) this.backoff.reset();
      const delayMs = this.backoff.next();
      // A watch the server closed after its timeout is routine; everything else is worth a warning.
      const level = reason === 'watch_closed' ? 'debug' : 'warn';
      this.log[level]('informer restarting', { reason, delayMs, attempt: this.backoff.attempts, relist: needList });
      await this.sleep(delayMs);
    }
  }

  private async listAndReplace(): Promise<void> {
    const { items, resourceVersion } = await this.listWatch.list({ transform: this.transform });
    if (this.stopped) return;
    // Diff against the cache so a relist emits exactly the changes a broken watch missed.
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = this.transform(raw);
      const key = objectKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      this.store(key, obj, old);
      if (old === undefined) this.emitAdd(obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emitUpdate(old, obj);
    }
    for (const [key, old] of this.cache) {
      if (!seen.has(key)) {
        this.remove(key, old);
        this.emitDelete(old);
      }
    }
    this.resourceVersion = resourceVersion;
    this.metrics?.objects.set({ informer: this.name }, this.cache.size);
    this.log.debug('informer listed', { objects: this.cache.size, resourceVersion });
    if (!this.synced) {
      this.synced = true;
      this.syncWaiter?.resolve();
      this.syncWaiter = undefined;
    }
  }

  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let ended = false;
      let handle: WatchHandle | undefined;
      let watchdog: NodeJS.Timeout | undefined;

      const end = (reason: WatchEnd): void => {
        if (ended) return;
        ended = true;
        if (watchdog) clearTimeout(watchdog);
        if (this.endWatch === end) this.endWatch = undefined;
        try {
          handle?.abort();
        } catch (err) {
          this.log.debug('aborting watch failed', { err });
        }
        resolve(reason);
      };
      this.endWatch = end;

      // Armed before the watch call itself, which also covers a connect that never answers.
      const armWatchdog = (): void => {
        const wait = this.lastActivityAt + this.watchdogMs - Date.now();
        watchdog = setTimeout(() => {
          if (Date.now() - this.lastActivityAt >= this.watchdogMs) {
            this.log.warn('informer watch silent, restarting', { silentMs: Date.now() - this.lastActivityAt });
            end('watchdog');
          } else {
            armWatchdog();
          }
        }, Math.max(0, wait));
        watchdog.unref();
      };
      this.lastActivityAt = Date.now();
      if (this.watchdogMs > 0) armWatchdog();

      const onEvent = (type: WatchEventType, obj: T | WatchErrorStatus): void => {
        if (ended) return;
        this.lastActivityAt = Date.now();
        this.metrics?.lastEvent.set({ informer: this.name }, this.lastActivityAt / 1000);
        if (type === 'ERROR') {
          const status = obj as WatchErrorStatus;
          const gone = isGone(status);
          this.log[gone ? 'info' : 'warn']('informer watch error event', { code: status.code, reason: status.reason, message: status.message });
          end(gone ? 'gone' : 'watch_error');
          return;
        }
        this.applyEvent(type, obj as T);
      };

      const onDone = (err?: unknown): void => {
        if (ended) return;
        if (err) {
          const gone = isGone(err);
          if (!gone) this.log.warn('informer watch failed', { err });
          end(gone ? 'gone' : 'watch_error');
        } else {
          end('watch_closed');
        }
      };

      this.listWatch.watch(this.resourceVersion, onEvent, onDone).then(
        (h) => {
          if (ended) h.abort();
          else handle = h;
        },
        (err: unknown) => onDone(err ?? new Error('watch failed')),
      );
    });
  }

  private applyEvent(type: WatchEventType, raw: T): void {
    const rv = raw.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = this.transform(raw);
    const key = objectKey(obj);
    if (type === 'ADDED' || type === 'MODIFIED') {
      const old = this.cache.get(key);
      this.store(key, obj, old);
      if (old === undefined) this.emitAdd(obj);
      else this.emitUpdate(old, obj);
    } else if (type === 'DELETED') {
      this.remove(key, this.cache.get(key));
      this.emitDelete(obj);
    } else {
      this.log.debug('informer ignored unknown watch event', { type });
    }
    if (rv) this.resourceVersion = rv;
    this.metrics?.objects.set({ informer: this.name }, this.cache.size);
  }

  /** Caches `obj` under `key` (replacing `old`), keeping the index in step. */
  private store(key: string, obj: T, old: T | undefined): void {
    if (old !== undefined) this.unindex(key, old);
    this.cache.set(key, obj);
    const value = this.indexBy?.(obj);
    if (value === undefined) return;
    let bucket = this.index.get(value);
    if (!bucket) this.index.set(value, (bucket = new Map<string, T>()));
    bucket.set(key, obj);
  }

  private remove(key: string, old: T | undefined): void {
    if (old !== undefined) this.unindex(key, old);
    this.cache.delete(key);
  }

  private unindex(key: string, old: T): void {
    const value = this.indexBy?.(old);
    if (value === undefined) return;
    const bucket = this.index.get(value);
    bucket?.delete(key);
    if (bucket?.size === 0) this.index.delete(value);
  }

  private resync(): void {
    if (!this.synced || this.stopped) return;
    for (const obj of this.cache.values()) this.emitUpdate(obj, obj);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    }).finally(() => {
      this.wakeSleep = undefined;
    });
  }

  private emitAdd(obj: T): void {
    for (const h of this.addHandlers) this.call('add', () => h(obj));
  }

  private emitUpdate(oldObj: T, newObj: T): void {
    for (const h of this.updateHandlers) this.call('update', () => h(oldObj, newObj));
  }

  private emitDelete(obj: T): void {
    for (const h of this.deleteHandlers) this.call('delete', () => h(obj));
  }

  // Handlers should only enqueue keys; one that throws (or is async and rejects) is logged, and
  // neither stops the informer nor becomes an unhandled rejection that would kill the process.
  private call(event: string, fn: () => unknown): void {
    try {
      const result = fn();
      if (isPromiseLike(result)) {
        result.then(undefined, (err: unknown) => this.log.error('informer handler rejected', { event, err }));
      }
    } catch (err) {
      this.log.error('informer handler threw', { event, err });
    }
  }
}
