import type { CoreV1Event, KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { EventRecorder, eventName, type EventSink } from './events.js';
import { createLogger, silentLogger } from './logger.js';
import type { Clock } from './rate-limiter.js';

class MemorySink implements EventSink {
  readonly events = new Map<string, CoreV1Event>();
  creates = 0;
  patches = 0;
  failNext = 0;

  create(namespace: string, event: CoreV1Event): Promise<void> {
    this.creates++;
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(Object.assign(new Error('Internal'), { code: 500 }));
    }
    const key = `${namespace}/${event.metadata.name}`;
    if (this.events.has(key)) return Promise.reject(Object.assign(new Error('AlreadyExists'), { code: 409 }));
    this.events.set(key, structuredClone(event));
    return Promise.resolve();
  }
  getCount(namespace: string, name: string): Promise<number | undefined> {
    return Promise.resolve(this.events.get(`${namespace}/${name}`)?.count);
  }
  patchCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void> {
    this.patches++;
    const ev = this.events.get(`${namespace}/${name}`);
    if (!ev) return Promise.reject(Object.assign(new Error('NotFound'), { code: 404 }));
    ev.count = count;
    ev.lastTimestamp = lastTimestamp;
    return Promise.resolve();
  }
}

const run: KubernetesObject = {
  apiVersion: 'lathe.dev/v1alpha1',
  kind: 'TrainingRun',
  metadata: { name: 'smol', namespace: 'ml', uid: '1111-2222', resourceVersion: '7' },
};

function clock(): Clock & { advance(ms: number): void } {
  let t = Date.parse('2026-01-01T00:00:00Z');
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('EventRecorder', () => {
  it('creates a core/v1 Event naming the involved object', async () => {
    const sink = new MemorySink();
    const rec = new EventRecorder({ sink, logger: silentLogger(), instance: 'pod-1', clock: clock() });
    expect(rec.record(run, 'Normal', 'Created', 'created Job smol-1')).toBe(true);
    await rec.flush();
    const [ev] = [...sink.events.values()];
    expect(ev).toMatchObject({
      metadata: { namespace: 'ml', name: eventName(run, 'Normal', 'Created', 'created Job smol-1') },
      involvedObject: { apiVersion: 'lathe.dev/v1alpha1', kind: 'TrainingRun', name: 'smol', namespace: 'ml', uid: '1111-2222' },
      type: 'Normal',
      reason: 'Created',
      message: 'created Job smol-1',
      count: 1,
      source: { component: 'lathe-operator' },
      reportingComponent: 'lathe-operator',
      reportingInstance: 'pod-1',
    });
    expect(ev!.metadata.name).toMatch(/^smol\.[0-9a-f]{16}$/);
  });

  it('aggregates repeats into count + lastTimestamp, also across recorder restarts (409 path)', async () => {
    const sink = new MemorySink();
    const c = clock();
    const rec = new EventRecorder({ sink, logger: silentLogger(), clock: c });
    rec.record(run, 'Warning', 'BackOff', 'job failed');
    c.advance(1000);
    rec.record(run, 'Warning', 'BackOff', 'job failed');
    await rec.flush();
    expect(sink.events.size).toBe(1);
    const ev = [...sink.events.values()][0]!;
    expect(ev.count).toBe(2);
    expect(ev.lastTimestamp!.getTime() - ev.firstTimestamp!.getTime()).toBe(1000);

    // A new process knows nothing locally: create → 409 → read count → patch.
    const rec2 = new EventRecorder({ sink, logger: silentLogger(), clock: c });
    rec2.record(run, 'Warning', 'BackOff', 'job failed');
    await rec2.flush();
    expect(ev.count).toBe(3);
    // A different message is a different event.
    rec2.record(run, 'Warning', 'BackOff', 'job failed again');
    await rec2.flush();
    expect(sink.events.size).toBe(2);
  });

  it('re-creates an event that expired', async () => {
    const sink = new MemorySink();
    const rec = new EventRecorder({ sink, logger: silentLogger(), clock: clock() });
    rec.record(run, 'Normal', 'Running', 'started');
    await rec.flush();
    sink.events.clear(); // the API server's event TTL removed it
    rec.record(run, 'Normal', 'Running', 'started');
    await rec.flush();
    expect([...sink.events.values()][0]!.count).toBe(1);
  });

  it('rate-limits per object so a hot loop cannot flood the API', async () => {
    const sink = new MemorySink();
    const c = clock();
    const rec = new EventRecorder({ sink, logger: silentLogger(), clock: c, perObjectBurst: 5, perObjectQps: 1 });
    const accepted = Array.from({ length: 20 }, (_, i) => rec.record(run, 'Normal', 'Tick', `n=${i}`));
    expect(accepted.filter(Boolean)).toHaveLength(5);
    // Another object has its own budget.
    expect(rec.record({ ...run, metadata: { ...run.metadata, name: 'other', uid: 'u2' } }, 'Normal', 'Tick', 'x')).toBe(true);
    c.advance(1000);
    expect(rec.record(run, 'Normal', 'Tick', 'later')).toBe(true);
    await rec.flush();
    expect(sink.creates).toBe(7);
  });

  it('logs write failures and never throws to the caller', async () => {
    const sink = new MemorySink();
    sink.failNext = 1;
    const lines: string[] = [];
    const rec = new EventRecorder({ sink, logger: createLogger({ level: 'info', stream: { write: (s: string) => lines.push(s) } }), clock: clock() });
    expect(() => rec.record(run, 'Normal', 'Created', 'x')).not.toThrow();
    rec.record(run, 'Normal', 'Created', 'y');
    await expect(rec.flush()).resolves.toBeUndefined();
    expect(lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg === 'could not record event')).toHaveLength(1);
    expect(sink.events.size).toBe(1);
  });

  it('holds writes while asked to, and no longer than maxHoldMs after recording', async () => {
    const sink = new MemorySink();
    const c = clock();
    let holding = true;
    const rec = new EventRecorder({ sink, logger: silentLogger(), clock: c, hold: () => holding, maxHoldMs: 1000, holdPollMs: 1 });
    rec.record(run, 'Normal', 'Created', 'first');
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.creates).toBe(0);
    holding = false;
    await rec.flush();
    expect(sink.creates).toBe(1);

    // A hold that never ends gives way once the event is maxHoldMs old.
    holding = true;
    rec.record(run, 'Normal', 'Created', 'second');
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.creates).toBe(1);
    c.advance(1000);
    await rec.flush();
    expect(sink.creates).toBe(2);

    // At shutdown, release() ends every hold at once.
    rec.record(run, 'Normal', 'Created', 'third');
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.creates).toBe(2);
    rec.release();
    await rec.flush();
    expect(sink.creates).toBe(3);
  });

  it('keeps event names within the 253-character limit', () => {
    const long = { ...run, metadata: { ...run.metadata, name: 'x'.repeat(253) } };
    expect(eventName(long, 'Normal', 'r', 'm').length).toBeLessThanOrEqual(253);
  });
});
