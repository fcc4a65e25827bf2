// Unit tests of the informer wrapper over an in-memory ListWatch: the fake plays the API server's
// list/watch protocol (resourceVersions, events, errors, closes), and the tests drive its failures
// with fake timers.
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResilientInformer, objectKey, splitKey, stripManagedFields, type InformerOptions } from './informer.js';
import type { ListWatch, WatchErrorStatus, WatchEventType } from './list-watch.js';
import { createLogger, type Logger } from './logger.js';
import { createRegistry } from './metrics.js';

interface Obj extends KubernetesObject {
  data?: string;
}

interface FakeWatch {
  rv: string;
  onEvent: (type: WatchEventType, obj: Obj | WatchErrorStatus) => void;
  onDone: (err?: unknown) => void;
  aborted: boolean;
}

class FakeListWatch implements ListWatch<Obj> {
  rv = 100;
  readonly store = new Map<string, Obj>();
  lists = 0;
  listFailures = 0;
  watchRejections = 0;
  readonly watches: FakeWatch[] = [];

  async list(): Promise<{ items: Obj[]; resourceVersion: string }> {
    this.lists++;
    await Promise.resolve();
    if (this.listFailures > 0) {
      this.listFailures--;
      throw new Error('list failed');
    }
    return { items: [...this.store.values()].map((o) => structuredClone(o)), resourceVersion: String(this.rv) };
  }

  async watch(rv: string, onEvent: FakeWatch['onEvent'], onDone: FakeWatch['onDone']): Promise<{ abort(): void }> {
    await Promise.resolve();
    if (this.watchRejections > 0) {
      this.watchRejections--;
      throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    }
    const w: FakeWatch = { rv, onEvent, onDone, aborted: false };
    this.watches.push(w);
    return { abort: () => void (w.aborted = true) };
  }

  get active(): FakeWatch | undefined {
    const w = this.watches.at(-1);
    return w && !w.aborted ? w : undefined;
  }

  /** Changes the store; `silently` skips the watch event (a change the informer missed). */
  upsert(name: string, data: string, silently = false): Obj {
    this.rv++;
    const obj: Obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ns', resourceVersion: String(this.rv) }, data };
    const existed = this.store.has(name);
    this.store.set(name, obj);
    if (!silently) this.active?.onEvent(existed ? 'MODIFIED' : 'ADDED', structuredClone(obj));
    return obj;
  }

  remove(name: string, silently = false): void {
    const obj = this.store.get(name);
    if (!obj) return;
    this.rv++;
    this.store.delete(name);
    if (!silently) this.active?.onEvent('DELETED', { ...structuredClone(obj), metadata: { ...obj.metadata, resourceVersion: String(this.rv) } });
  }

  bookmark(): void {
    this.active?.onEvent('BOOKMARK', { metadata: { resourceVersion: String(this.rv) } });
  }
}

interface Recorded {
  events: string[];
  updates: Array<[Obj, Obj]>;
}

function record(inf: ResilientInformer<Obj>): Recorded {
  const r: Recorded = { events: [], updates: [] };
  inf.on('add', (o) => r.events.push(`add ${o.metadata?.name} ${o.data}`));
  inf.on('update', (a, b) => {
    r.updates.push([a, b]);
    r.events.push(`update ${b.metadata?.name} ${a.data}->${b.data}`);
  });
  inf.on('delete', (o) => r.events.push(`delete ${o.metadata?.name}`));
  return r;
}

function logCapture(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const logger = createLogger({ level: 'debug', stream: { write: (s: string) => out.push(s) } });
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

async function restarts(registry: ReturnType<typeof createRegistry>, reason: string): Promise<number> {
  const data = await registry.getSingleMetric('lathe_informer_restarts_total')!.get();
  return data.values.find((v) => v.labels.reason === reason && v.labels.informer === 'cms')?.value ?? 0;
}

const tick = (ms = 0): Promise<void> => vi.advanceTimersByTimeAsync(ms).then(() => undefined);

describe('ResilientInformer', () => {
  let fake: FakeListWatch;
  let registry: ReturnType<typeof createRegistry>;
  let log: ReturnType<typeof logCapture>;
  let informer: ResilientInformer<Obj> | undefined;

  function make(overrides: Partial<InformerOptions<Obj>> = {}): ResilientInformer<Obj> {
    informer = new ResilientInformer<Obj>({
      name: 'cms',
      listWatch: fake,
      logger: log.logger,
      metrics: registry,
      resyncMs: 0,
      relistMs: 0,
      watchdogMs: 0,
      // No jitter: delays are exactly 200, 400, 800 ... ms.
      backoff: { initialMs: 200, maxMs: 30_000, jitter: 0.2, random: () => 0, resetAfterMs: 60_000 },
      ...overrides,
    });
    return informer;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    fake = new FakeListWatch();
    registry = createRegistry({ defaultMetrics: false });
    log = logCapture();
  });
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    vi.useRealTimers();
  });

  it('lists, fills the cache, dispatches adds and watches from the list resourceVersion', async () => {
    fake.upsert('a', '1', true);
    fake.upsert('b', '1', true);
    const inf = make();
    const r = record(inf);
    expect(inf.hasSynced()).toBe(false);
    await inf.start();
    expect(inf.hasSynced()).toBe(true);
    expect(r.events).toEqual(['add a 1', 'add b 1']);
    expect(inf.get('ns', 'a')?.data).toBe('1');
    expect(inf.getByKey('ns/b')?.data).toBe('1');
    expect(inf.list('ns').map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    expect(inf.list('other')).toEqual([]);
    await tick();
    expect(fake.watches).toHaveLength(1);
    expect(fake.watches[0]!.rv).toBe('102');
    const objects = await registry.getSingleMetric('lathe_informer_objects')!.get();
    expect(objects.values[0]!.value).toBe(2);
  });

  it('dispatches add, update (old and new) and delete from watch events', async () => {
    fake.upsert('a', '1', true);
    const inf = make();
    const r = record(inf);
    await inf.start();
    await tick();
    fake.upsert('b', '1');
    fake.upsert('a', '2');
    fake.remove('b');
    expect(r.events).toEqual(['add a 1', 'add b 1', 'update a 1->2', 'delete b']);
    expect(r.updates[0]![0].metadata?.resourceVersion).toBe('101');
    expect(r.updates[0]![1].metadata?.resourceVersion).toBe('103');
    expect(inf.get('ns', 'b')).toBeUndefined();
    expect(inf.get('ns', 'a')?.data).toBe('2');
    expect(inf.lastSyncResourceVersion()).toBe('104');
    fake.bookmark();
    const last = await registry.getSingleMetric('lathe_informer_last_event_timestamp_seconds')!.get();
    expect(last.values[0]!.value).toBeCloseTo(Date.now() / 1000);
  });

  it('restarts the watch after a watch error, with exponential backoff, from the last resourceVersion', async () => {
    const inf = make();
    const r = record(inf);
    await inf.start();
    await tick();
    fake.upsert('a', '1');
    fake.active!.onDone(new Error('socket hang up'));
    expect(fake.watches[0]!.aborted).toBe(true);
    await tick(199);
    expect(fake.watches).toHaveLength(1);
    await tick(1);
    expect(fake.watches).toHaveLength(2);
    expect(fake.watches[1]!.rv).toBe('101'); // resumes, no relist
    expect(fake.lists).toBe(1);
    expect(await restarts(registry, 'watch_error')).toBe(1);

    // A second failure soon after waits twice as long.
    fake.active!.onDone(new Error('socket hang up'));
    await tick(399);
    expect(fake.watches).toHaveLength(2);
    await tick(1);
    expect(fake.watches).toHaveLength(3);
    expect(await restarts(registry, 'watch_error')).toBe(2);

    // Events on the new watch flow again; events on the dead one are ignored.
    fake.watches[0]!.onEvent('ADDED', { metadata: { name: 'ghost', namespace: 'ns', resourceVersion: '1' } });
    fake.upsert('b', '1');
    expect(r.events).toEqual(['add a 1', 'add b 1']);
    expect(log.lines().some((l) => l.msg === 'informer restarting' && l.reason === 'watch_error')).toBe(true);
  });

  it('treats a watch that fails to connect like a watch error', async () => {
    const inf = make();
    await inf.start();
    await tick();
    fake.watchRejections = 1;
    fake.active!.onDone(); // normal close → re-watch → connect refused → re-watch
    await tick(200);
    expect(await restarts(registry, 'watch_closed')).toBe(1);
    await tick(400);
    expect(await restarts(registry, 'watch_error')).toBe(1);
    expect(fake.active).toBeDefined();
    expect(fake.watches).toHaveLength(2);
  });

  it('resets the backoff after a healthy period', async () => {
    const inf = make();
    await inf.start();
    await tick();
    fake.active!.onDone(new Error('x'));
    await tick(200);
    fake.active!.onDone(new Error('x'));
    await tick(400);
    await tick(60_000); // healthy for a minute
    fake.active!.onDone(new Error('x'));
    await tick(199);
    expect(fake.watches).toHaveLength(3);
    await tick(1);
    expect(fake.watches).toHaveLength(4);
  });

  it('relists on 410 Gone and emits what the gap changed', async () => {
    fake.upsert('a', '1', true);
    fake.upsert('b', '1', true);
    const inf = make();
    const r = record(inf);
    await inf.start();
    await tick();
    // Changes the informer never saw as events:
    fake.upsert('a', '2', true);
    fake.remove('b', true);
    fake.upsert('c', '1', true);
    fake.active!.onEvent('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 102 (150)' });
    expect(fake.watches[0]!.aborted).toBe(true);
    await tick(200);
    expect(fake.lists).toBe(2);
    expect(r.events).toEqual(['add a 1', 'add b 1', 'update a 1->2', 'add c 1', 'delete b']);
    expect(fake.watches).toHaveLength(2);
    expect(fake.watches[1]!.rv).toBe(String(fake.rv));
    expect(await restarts(registry, 'gone')).toBe(1);
  });

  it('relists when the watch request itself fails with 410', async () => {
    const inf = make();
    await inf.start();
    await tick();
    fake.active!.onDone(Object.assign(new Error('Gone'), { statusCode: 410 }));
    await tick(200);
    expect(fake.lists).toBe(2);
    expect(await restarts(registry, 'gone')).toBe(1);
  });

  it('a non-410 ERROR event restarts the watch without relisting', async () => {
    const inf = make();
    await inf.start();
    await tick();
    fake.active!.onEvent('ERROR', { kind: 'Status', code: 500, message: 'internal error' });
    await tick(200);
    expect(fake.lists).toBe(1);
    expect(fake.watches).toHaveLength(2);
    expect(await restarts(registry, 'watch_error')).toBe(1);
  });

  it('the watchdog restarts a watch that went silent, but not one that receives bookmarks', async () => {
    const inf = make({ watchdogMs: 1000 });
    await inf.start();
    await tick();
    for (let i = 0; i < 5; i++) {
      await tick(600);
      fake.bookmark();
    }
    expect(fake.watches).toHaveLength(1);
    expect(await restarts(registry, 'watchdog')).toBe(0);
    await tick(1000);
    expect(fake.watches[0]!.aborted).toBe(true);
    expect(await restarts(registry, 'watchdog')).toBe(1);
    await tick(200);
    expect(fake.watches).toHaveLength(2);
    expect(fake.lists).toBe(1);
  });

  it('the watchdog also covers a watch call that never returns', async () => {
    const inf = make({ watchdogMs: 1000 });
    await inf.start();
    await tick();
    const original = fake.watch.bind(fake);
    fake.watch = () => new Promise<{ abort(): void }>(() => undefined); // connect hangs forever
    fake.active!.onDone(new Error('reset'));
    await tick(200);
    await tick(1000);
    expect(await restarts(registry, 'watchdog')).toBe(1);
    fake.watch = original;
    await tick(400);
    expect(fake.active).toBeDefined();
  });

  it('periodic relist repairs the cache without a watch error', async () => {
    fake.upsert('a', '1', true);
    const inf = make({ relistMs: 5000 });
    const r = record(inf);
    await inf.start();
    await tick();
    fake.upsert('a', '2', true);
    fake.upsert('z', '1', true);
    await tick(4999);
    expect(fake.lists).toBe(1);
    await tick(1);
    expect(fake.lists).toBe(2);
    expect(r.events).toEqual(['add a 1', 'update a 1->2', 'add z 1']);
    expect(fake.watches[0]!.aborted).toBe(true);
    expect(fake.watches).toHaveLength(2);
    // An unchanged relist emits nothing.
    await tick(5000);
    expect(fake.lists).toBe(3);
    expect(r.events).toHaveLength(3);
    expect(await restarts(registry, 'watch_error')).toBe(0);
  });

  it('resync re-emits update(obj, obj) for every cached object', async () => {
    fake.upsert('a', '1', true);
    fake.upsert('b', '1', true);
    const inf = make({ resyncMs: 1000 });
    const r = record(inf);
    await inf.start();
    await tick(1000);
    expect(r.events.filter((e) => e.startsWith('update'))).toEqual(['update a 1->1', 'update b 1->1']);
    expect(r.updates[0]![0]).toBe(r.updates[0]![1]);
    await tick(1000);
    expect(r.updates).toHaveLength(4);
  });

  it('a throwing or rejecting handler is logged and does not stop dispatch', async () => {
    fake.upsert('a', '1', true);
    const inf = make();
    const seen: string[] = [];
    inf.on('add', () => {
      throw new Error('handler bug');
    });
    // Misuse on purpose: an async handler that rejects must not become an unhandled rejection.
    inf.on('add', (async () => {
      await Promise.resolve();
      throw new Error('async handler bug');
    }) as unknown as (o: Obj) => void);
    inf.on('add', (o) => seen.push(o.metadata!.name!));
    await inf.start();
    await tick();
    fake.upsert('b', '1');
    await tick();
    expect(seen).toEqual(['a', 'b']);
    const errors = log.lines().filter((l) => l.level === 'error');
    expect(errors.filter((l) => l.msg === 'informer handler threw')).toHaveLength(2);
    expect(errors.filter((l) => l.msg === 'informer handler rejected')).toHaveLength(2);
    expect(inf.isAlive()).toBe(true);
  });

  it('retries a failing initial list with backoff; start() resolves once it succeeds', async () => {
    fake.listFailures = 2;
    const inf = make();
    let synced = false;
    const started = inf.start().then(() => (synced = true));
    await tick(199);
    expect(fake.lists).toBe(1);
    await tick(1);
    expect(fake.lists).toBe(2);
    expect(synced).toBe(false);
    await tick(400);
    await started;
    expect(synced).toBe(true);
    expect(await restarts(registry, 'list_error')).toBe(2);
  });

  it('stop() ends the watch, stops restarts and rejects a pending start()', async () => {
    fake.listFailures = 100;
    const inf = make();
    const started = inf.start();
    const rejected = expect(started).rejects.toThrow(/stopped before it synced/);
    await tick(1000);
    await inf.stop();
    await rejected;
    const lists = fake.lists;
    await tick(60_000);
    expect(fake.lists).toBe(lists);
    expect(inf.isAlive()).toBe(false);

    const fake2 = new FakeListWatch();
    fake = fake2;
    const inf2 = make();
    await inf2.start();
    await tick();
    await inf2.stop();
    expect(fake2.watches[0]!.aborted).toBe(true);
    await tick(60_000);
    expect(fake2.watches).toHaveLength(1);
  });

  it('keeps its index in step with watch events and relists: an object moves with its value and leaves with its delete', async () => {
    // Indexed by data: as pods by their Job.
    fake.upsert('a', 'x', true);
    fake.upsert('b', 'x', true);
    const inf = make({ indexBy: (o) => o.data });
    const names = (value: string) => inf.byIndex(value).map((o) => o.metadata?.name).sort();
    await inf.start();
    await tick();
    expect(names('x')).toEqual(['a', 'b']);
    fake.upsert('a', 'y'); // moves
    fake.upsert('c', 'y');
    expect(names('x')).toEqual(['b']);
    expect(names('y')).toEqual(['a', 'c']);
    fake.remove('c');
    expect(names('y')).toEqual(['a']);
    expect(inf.byIndex('y')[0]?.data).toBe('y'); // the cached object itself, as get() gives it
    // Changes missed by the watch are repaired by the relist, index included.
    fake.upsert('b', 'y', true);
    fake.remove('a', true);
    fake.active!.onEvent('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' });
    await tick(200);
    expect(names('x')).toEqual([]);
    expect(names('y')).toEqual(['b']);
    expect(inf.byIndex('never')).toEqual([]);
  });

  it('applies the transform before caching', async () => {
    fake.store.set('a', { metadata: { name: 'a', namespace: 'ns', resourceVersion: '1', managedFields: [{ manager: 'kubectl' }] } });
    const inf = make({ transform: stripManagedFields });
    await inf.start();
    expect(inf.get('ns', 'a')?.metadata?.managedFields).toBeUndefined();
  });
});

describe('keys', () => {
  it('are namespace/name, or name when cluster-scoped', () => {
    expect(objectKey({ metadata: { name: 'a', namespace: 'ns' } })).toBe('ns/a');
    expect(objectKey({ metadata: { name: 'node-1' } })).toBe('node-1');
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' });
    expect(splitKey('node-1')).toEqual({ namespace: undefined, name: 'node-1' });
  });
});
