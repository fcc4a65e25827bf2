import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Controller, type ReconcileResult } from './controller.js';
import { silentLogger } from './logger.js';
import { createRegistry } from './metrics.js';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.js';
import { WorkQueue } from './workqueue.js';

async function counter(registry: ReturnType<typeof createRegistry>, name: string, labels: Record<string, string>): Promise<number> {
  const data = await registry.getSingleMetric(name)!.get();
  return data.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value ?? 0;
}

describe('Controller', () => {
  let controller: Controller | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    vi.useRealTimers();
  });

  it('retries a failing reconcile with per-key backoff, then forgets the key on success', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const calls: number[] = [];
    const start = Date.now();
    let failures = 3;
    const queue = new WorkQueue({ name: 'tr', rateLimiter: new ItemExponentialFailureRateLimiter(100, 10_000) });
    controller = new Controller({
      name: 'tr',
      queue,
      registry,
      logger: silentLogger(),
      reconcile: async () => {
        calls.push(Date.now() - start);
        await Promise.resolve();
        if (failures-- > 0) throw new Error('API unavailable');
      },
    });
    controller.start();
    controller.enqueue('ns/a');
    await vi.advanceTimersByTimeAsync(1000);
    // 0, then +100, +200, +400 ms.
    expect(calls).toEqual([0, 100, 300, 700]);
    expect(queue.numRequeues('ns/a')).toBe(0);
    expect(await counter(registry, 'controller_runtime_reconcile_total', { controller: 'tr', result: 'error' })).toBe(3);
    expect(await counter(registry, 'controller_runtime_reconcile_total', { controller: 'tr', result: 'success' })).toBe(1);
    expect(await counter(registry, 'controller_runtime_reconcile_errors_total', { controller: 'tr' })).toBe(3);
    expect(await registry.metrics()).toContain('controller_runtime_reconcile_time_seconds_count{controller="tr"} 4');
  });

  it('requeueAfterMs reconciles again after the delay; requeue uses the rate limiter', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const calls: number[] = [];
    const start = Date.now();
    const results: Array<ReconcileResult | undefined> = [{ requeueAfterMs: 5000 }, { requeue: true }, undefined];
    controller = new Controller({
      name: 'tr',
      queue: new WorkQueue({ name: 'tr', rateLimiter: new ItemExponentialFailureRateLimiter(50, 10_000) }),
      registry,
      logger: silentLogger(),
      reconcile: () => {
        calls.push(Date.now() - start);
        return Promise.resolve(results.shift());
      },
    });
    controller.start();
    controller.enqueue('ns/a');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual([0, 5000, 5050]);
    expect(await counter(registry, 'controller_runtime_reconcile_total', { controller: 'tr', result: 'requeue_after' })).toBe(1);
    expect(await counter(registry, 'controller_runtime_reconcile_total', { controller: 'tr', result: 'requeue' })).toBe(1);
  });

  it('runs different keys in parallel but never one key twice at once', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const running = new Set<string>();
    let maxParallel = 0;
    let overlapSameKey = false;
    const done: string[] = [];
    controller = new Controller({
      name: 'tr',
      workers: 3,
      registry,
      logger: silentLogger(),
      reconcile: async (key) => {
        if (running.has(key)) overlapSameKey = true;
        running.add(key);
        maxParallel = Math.max(maxParallel, running.size);
        await new Promise((r) => setTimeout(r, 100));
        running.delete(key);
        done.push(key);
      },
    });
    controller.start();
    controller.enqueue('a');
    controller.enqueue('b');
    await vi.advanceTimersByTimeAsync(10);
    controller.enqueue('a'); // while a is being reconciled
    expect(await counter(registry, 'controller_runtime_active_workers', { controller: 'tr' })).toBe(2);
    expect(await counter(registry, 'controller_runtime_max_concurrent_reconciles', { controller: 'tr' })).toBe(3);
    await vi.advanceTimersByTimeAsync(500);
    expect(overlapSameKey).toBe(false);
    expect(maxParallel).toBe(2);
    expect(done.sort()).toEqual(['a', 'a', 'b']);
  });

  it('stop() waits for in-flight reconciles, and gives up after its timeout', async () => {
    let finished = false;
    controller = new Controller({
      name: 'tr',
      logger: silentLogger(),
      stopTimeoutMs: 5000,
      reconcile: async () => {
        await new Promise((r) => setTimeout(r, 1000));
        finished = true;
      },
    });
    controller.start();
    controller.enqueue('a');
    await vi.advanceTimersByTimeAsync(10);
    const stopped = controller.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(await stopped).toBe(true);
    expect(finished).toBe(true);

    const hung = new Controller({ name: 'hung', logger: silentLogger(), stopTimeoutMs: 500, reconcile: () => new Promise(() => undefined) });
    hung.start();
    hung.enqueue('a');
    await vi.advanceTimersByTimeAsync(10);
    const p = hung.stop();
    await vi.advanceTimersByTimeAsync(500);
    expect(await p).toBe(false);
  });
});
