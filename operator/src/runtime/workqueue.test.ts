import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRegistry } from './metrics.js';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.js';
import { WorkQueue } from './workqueue.js';

async function metricValue(registry: ReturnType<typeof createRegistry>, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const data = await metric.get();
  const match = data.values.find(
    (v) => !('metricName' in v && v.metricName !== name) && Object.entries(labels).every(([k, val]) => v.labels[k] === val),
  );
  return match?.value;
}

describe('WorkQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('queues a key at most once and hands keys out in FIFO order', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('never hands a key being processed to a second worker, and re-queues it on done()', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a'); // a change arrives mid-reconcile
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined = 'pending';
    const waiting = q.get().then((k) => (second = k));
    await vi.advanceTimersByTimeAsync(0);
    expect(second).toBe('pending');
    q.done('a');
    await waiting;
    expect(second).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('done() without a re-add does not re-queue', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    await q.get();
    q.done('a');
    expect(q.len()).toBe(0);
    q.add('a');
    expect(q.len()).toBe(1);
  });

  it('get() waits for an add', async () => {
    const q = new WorkQueue({ name: 't' });
    const p = q.get();
    q.add('x');
    expect(await p).toBe('x');
    expect(q.isProcessing('x')).toBe(true);
  });

  it('addAfter delays, and the earliest deadline wins for duplicates', async () => {
    const q = new WorkQueue({ name: 't' });
    q.addAfter('a', 1000);
    q.addAfter('a', 300);
    q.addAfter('a', 2000);
    q.addAfter('b', 500);
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(299);
    expect(q.len()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(q.len()).toBe(1);
    expect(await q.get()).toBe('a');
    await vi.advanceTimersByTimeAsync(200);
    expect(await q.get()).toBe('b');
    // Nothing else fires later: the 1000 and 2000 ms duplicates were superseded.
    q.done('a');
    q.done('b');
    await vi.advanceTimersByTimeAsync(5000);
    expect(q.len()).toBe(0);
    expect(q.waitingLen()).toBe(0);
  });

  it('addAfter with a non-positive delay adds at once', () => {
    const q = new WorkQueue({ name: 't' });
    q.addAfter('a', 0);
    expect(q.len()).toBe(1);
  });

  it('addRateLimited backs off per key until forget()', async () => {
    const q = new WorkQueue({ name: 't', rateLimiter: new ItemExponentialFailureRateLimiter(100, 10_000) });
    const readyAfter = async (): Promise<number> => {
      q.addRateLimited('a');
      let waited = 0;
      while (q.len() === 0) {
        await vi.advanceTimersByTimeAsync(10);
        waited += 10;
      }
      await q.get();
      q.done('a');
      return waited;
    };
    expect(await readyAfter()).toBe(100);
    expect(await readyAfter()).toBe(200);
    expect(await readyAfter()).toBe(400);
    expect(q.numRequeues('a')).toBe(3);
    q.forget('a');
    expect(await readyAfter()).toBe(100);
  });

  it('shutDown resolves waiting and later get() with undefined and ignores adds', async () => {
    const q = new WorkQueue({ name: 't' });
    const p = q.get();
    q.shutDown();
    expect(await p).toBeUndefined();
    q.add('a');
    q.addAfter('b', 10);
    expect(q.len()).toBe(0);
    expect(await q.get()).toBeUndefined();
  });

  it('shutDownWithDrain waits for keys in processing', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    await q.get();
    let drained: boolean | undefined;
    const p = q.shutDownWithDrain(10_000).then((d) => (drained = d));
    await vi.advanceTimersByTimeAsync(100);
    expect(drained).toBeUndefined();
    q.done('a');
    await p;
    expect(drained).toBe(true);
  });

  it('shutDownWithDrain gives up after its timeout', async () => {
    const q = new WorkQueue({ name: 't' });
    q.add('a');
    await q.get();
    const p = q.shutDownWithDrain(1000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await p).toBe(false);
  });

  it('exports controller-runtime workqueue metrics', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const q = new WorkQueue({ name: 'trainingrun', registry });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(await metricValue(registry, 'workqueue_depth', { name: 'trainingrun' })).toBe(2);
    expect(await metricValue(registry, 'workqueue_adds_total', { name: 'trainingrun' })).toBe(2);
    await vi.advanceTimersByTimeAsync(1500);
    await q.get();
    expect(await metricValue(registry, 'workqueue_depth', { name: 'trainingrun' })).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(await metricValue(registry, 'workqueue_unfinished_work_seconds', { name: 'trainingrun' })).toBeCloseTo(2);
    expect(await metricValue(registry, 'workqueue_longest_running_processor_seconds', { name: 'trainingrun' })).toBeCloseTo(2);
    q.done('a');
    q.addRateLimited('c');
    expect(await metricValue(registry, 'workqueue_retries_total', { name: 'trainingrun' })).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain('workqueue_queue_duration_seconds_count{name="trainingrun"} 1');
    expect(text).toContain('workqueue_work_duration_seconds_count{name="trainingrun"} 1');
    expect(text).toContain('workqueue_queue_duration_seconds_sum{name="trainingrun"} 1.5');
    expect(text).toContain('workqueue_work_duration_seconds_sum{name="trainingrun"} 2');
    // A second queue on the same registry shares the families under its own label.
    const q2 = new WorkQueue({ name: 'inferenceservice', registry });
    q2.add('x');
    expect(await metricValue(registry, 'workqueue_depth', { name: 'inferenceservice' })).toBe(1);
  });
});
