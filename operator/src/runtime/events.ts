// Kubernetes Events for the objects Lathe manages, so every phase transition shows up in
// `kubectl describe trainingrun ...`. Follows client-go's record package where it matters:
//  - identical events (same object uid, type, reason, message) aggregate into one Event whose
//    `count` and `lastTimestamp` grow, instead of one Event per occurrence; the Event name is
//    derived from those fields, so even a restarted operator finds and bumps the same Event;
//  - a per-object token bucket (client-go: burst 25, one per 5 minutes) and a global one stop a
//    hot reconcile loop from flooding the API server;
//  - recording never throws and never blocks the reconcile: writes run in the background, in
//    order, and failures are logged;
//  - writes can be held back for a while (`hold`): while a burst of runs waits for its Jobs, an
//    Event that nobody reads yet should not take the API server's time from them.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { CONTENT_TYPES, resourcePath, type KubeClient } from '../client/kube-client.js';
import type { Logger } from './logger.js';
import { TokenBucket, systemClock, type Clock } from './rate-limiter.js';
import { statusCode } from '../client/errors.js';

export type EventType = 'Normal' | 'Warning';

export const REPORTING_COMPONENT = 'lathe-operator';

/** The three calls the recorder needs; a test can substitute them. */
export interface EventSink {
  create(namespace: string, event: CoreV1Event): Promise<void>;
  /** Returns the stored event's count, or undefined if it does not exist. */
  getCount(namespace: string, name: string): Promise<number | undefined>;
  patchCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void>;
}

export function kubeEventSink(client: KubeClient): EventSink {
  const path = (namespace: string, name?: string) => resourcePath({ version: 'v1', plural: 'events', namespace, ...(name ? { name } : {}) });
  return {
    async create(namespace, event) {
      await client.create(path(namespace), event);
    },
    async getCount(namespace, name) {
      try {
        const ev = await client.get<CoreV1Event>(path(namespace, name));
        return ev.count ?? 1;
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw err;
      }
    },
    async patchCount(namespace, name, count, lastTimestamp) {
      // JSON patch: "add" also replaces, and the two fields change together.
      await client.patch(
        path(namespace, name),
        [
          { op: 'add', path: '/count', value: count },
          { op: 'add', path: '/lastTimestamp', value: lastTimestamp.toISOString() },
        ],
        CONTENT_TYPES.jsonPatch,
      );
    },
  };
}

export interface EventRecorderOptions {
  sink: EventSink;
  logger: Logger;
  /** reportingInstance; defaults to the pod's hostname. */
  instance?: string;
  clock?: Clock;
  /** Per involved object; client-go's spam filter is burst 25, refill 1 per 300 s. */
  perObjectBurst?: number;
  perObjectQps?: number;
  /** Across all objects. */
  globalBurst?: number;
  globalQps?: number;
  /** Events accepted but not yet written; beyond this new ones are dropped. */
  maxPending?: number;
  /** While this returns true, writes wait (each at most `maxHoldMs` after it was recorded). */
  hold?: () => boolean;
  maxHoldMs?: number;
  /** How long to wait between looks at `hold`; tests shorten it. */
  holdPollMs?: number;
}

/** `<name>.<16 hex of sha256(uid,type,reason,message)>`, cut to fit a 253-char object name. */
export function eventName(obj: KubernetesObject, type: EventType, reason: string, message: string): string {
  const hash = createHash('sha256')
    .update([obj.metadata?.uid ?? '', type, reason, message].join('\x00'))
    .digest('hex')
    .slice(0, 16);
  const base = (obj.metadata?.name ?? 'unknown').slice(0, 253 - 17);
  return `${base}.${hash}`;
}

// Bounds the per-object buckets and known counts: an operator that touches many objects must not
// grow without limit. Map iteration order gives a cheap LRU.
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
  delete(key: string): void {
    this.map.delete(key);
  }
}

export class EventRecorder {
  private readonly sink: EventSink;
  private readonly log: Logger;
  private readonly instance: string;
  private readonly clock: Clock;
  private readonly perObjectBurst: number;
  private readonly perObjectQps: number;
  private readonly global: TokenBucket;
  private readonly buckets = new Lru<TokenBucket>(4096);
  private readonly counts = new Lru<number>(4096);
  private readonly maxPending: number;
  private readonly hold: () => boolean;
  private readonly maxHoldMs: number;
  private readonly holdPollMs: number;
  private pending = 0;
  private released = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(options: EventRecorderOptions) {
    this.sink = options.sink;
    this.log = options.logger.child({ component: 'events' });
    this.instance = options.instance ?? hostname();
    this.clock = options.clock ?? systemClock;
    this.perObjectBurst = options.perObjectBurst ?? 25;
    this.perObjectQps = options.perObjectQps ?? 1 / 300;
    this.global = new TokenBucket(options.globalQps ?? 5, options.globalBurst ?? 50, this.clock);
    this.maxPending = options.maxPending ?? 1000;
    this.hold = options.hold ?? (() => false);
    this.maxHoldMs = options.maxHoldMs ?? 30_000;
    this.holdPollMs = options.holdPollMs ?? 250;
  }

  /**
   * Records an event on `obj` in the background. Returns whether it was accepted (false when
   * rate-limited or the backlog is full); the write's own failure is only logged.
   */
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): boolean {
    const meta = obj.metadata;
    if (!meta?.name) {
      this.log.warn('event for an object without a name dropped', { reason });
      return false;
    }
    const objKey = `${obj.kind ?? ''}/${meta.namespace ?? ''}/${meta.name}/${meta.uid ?? ''}`;
    let bucket = this.buckets.get(objKey);
    if (!bucket) {
      bucket = new TokenBucket(this.perObjectQps, this.perObjectBurst, this.clock);
      this.buckets.set(objKey, bucket);
    }
    if (this.pending >= this.maxPending || !bucket.tryTake() || !this.global.tryTake()) {
      this.log.debug('event dropped by rate limit', { object: objKey, reason });
      return false;
    }
    this.pending++;
    const at = new Date(this.clock.now());
    this.chain = this.chain
      .then(() => this.heldUntil(at.getTime()))
      .then(() => this.write(obj, type, reason, message, at))
      .catch((err: unknown) => this.log.warn('could not record event', { object: objKey, reason, err }))
      .finally(() => {
        this.pending--;
      });
    return true;
  }

  /** Resolves when every accepted event has been written (or has failed). */
  flush(): Promise<void> {
    return this.chain;
  }

  /**
   * Stops holding writes, for good: at shutdown, a burst that will never be worked off must not
   * keep held Events (and the Lease release after them) waiting out their maxHoldMs.
   */
  release(): void {
    this.released = true;
  }

  private async heldUntil(recordedAt: number): Promise<void> {
    while (!this.released && this.hold() && this.clock.now() - recordedAt < this.maxHoldMs) {
      await new Promise((resolve) => setTimeout(resolve, this.holdPollMs));
    }
  }

  private async write(obj: KubernetesObject, type: EventType, reason: string, message: string, at: Date): Promise<void> {
    const meta = obj.metadata!;
    // Events live in the involved object's namespace; cluster-scoped objects use "default" as
    // client-go does.
    const namespace = meta.namespace || 'default';
    const name = eventName(obj, type, reason, message);
    const cacheKey = `${namespace}/${name}`;
    const known = this.counts.get(cacheKey);
    if (known !== undefined && (await this.bump(namespace, name, cacheKey, known, at))) return;

    const event: CoreV1Event = {
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: meta.name,
        namespace: meta.namespace,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
      type,
      reason,
      // events.k8s.io/v1 caps `note` at 1 KiB; keep to that so the event reads the same in both APIs.
      message: message.length > 1024 ? message.slice(0, 1021) + '...' : message,
      count: 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: REPORTING_COMPONENT, host: this.instance },
      reportingComponent: REPORTING_COMPONENT,
      reportingInstance: this.instance,
    };
    try {
      await this.sink.create(namespace, event);
      this.counts.set(cacheKey, 1);
      return;
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
    }
    // Already exists (recorded before this process started, or by the other replica): bump it.
    const count = await this.sink.getCount(namespace, name);
    if (count === undefined) {
      await this.sink.create(namespace, event);
      this.counts.set(cacheKey, 1);
      return;
    }
    await this.bump(namespace, name, cacheKey, count, at);
  }

  /** count+1 and lastTimestamp; false if the Event is gone (expired by the API server's TTL). */
  private async bump(namespace: string, name: string, cacheKey: string, count: number, at: Date): Promise<boolean> {
    try {
      await this.sink.patchCount(namespace, name, count + 1, at);
      this.counts.set(cacheKey, count + 1);
      return true;
    } catch (err) {
      if (statusCode(err) === 404) {
        this.counts.delete(cacheKey);
        return false;
      }
      throw err;
    }
  }
}
