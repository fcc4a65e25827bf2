// Cached objects repeat a few strings thousands of times: condition types, statuses, reasons and
// messages, phases, the timestamps of a burst, label values, the model and dataset of a sweep.
// JSON.parse gives every occurrence its own copy; sharing one copy halves the heap a cached run
// takes (5,000 runs: 9.8 MB against 5.2 MB in a probe). Strings that are unique per object (uid,
// resourceVersion, names) are not under these keys and are left alone.

/** Keys whose string values repeat across objects. */
const SHARED_KEYS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'type',
  'status',
  'reason',
  'message',
  'phase',
  'creationTimestamp',
  'lastTransitionTime',
  'lastProbeTime',
  'lastUpdateTime',
  'startTime',
  'completionTime',
  'startedAt',
  'finishedAt',
  'updatedAt',
  'model',
  'task',
  'uri',
  'summary',
  'cpu',
  'memory',
]);
/** Maps whose values are all worth sharing (their keys are property names, which V8 already shares). */
const SHARED_MAPS = new Set(['labels', 'annotations']);
const MAX_LENGTH = 256;

/**
 * A bounded pool: when it is full it starts over, so strings that stop recurring (yesterday's
 * timestamps) do not stay in it; objects already cached keep the copies they share.
 */
export class StringPool {
  private readonly pool = new Map<string, string>();

  constructor(private readonly max = 4096) {}

  get size(): number {
    return this.pool.size;
  }

  share(s: string): string {
    if (s.length > MAX_LENGTH) return s;
    const known = this.pool.get(s);
    if (known !== undefined) return known;
    if (this.pool.size >= this.max) this.pool.clear();
    this.pool.set(s, s);
    return s;
  }

  /** Replaces, in place, the repeating strings of `obj` with the pool's copies; returns `obj`. */
  shareIn<T>(obj: T): T {
    this.walk(obj, false);
    return obj;
  }

  private walk(value: unknown, all: boolean): void {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const v: unknown = value[i];
        if (typeof v === 'string') {
          if (all) value[i] = this.share(v);
        } else if (v !== null && typeof v === 'object') this.walk(v, false);
      }
      return;
    }
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const v = record[key];
      if (typeof v === 'string') {
        if (all || SHARED_KEYS.has(key)) record[key] = this.share(v);
      } else if (v !== null && typeof v === 'object') {
        this.walk(v, SHARED_MAPS.has(key));
      }
    }
  }
}
