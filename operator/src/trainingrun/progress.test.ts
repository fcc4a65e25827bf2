import { describe, expect, it } from 'vitest';
import { MemoryStore, TestClock } from '../../../test/support/fakes.js';
import { silentLogger } from '../runtime/logger.js';
import { runLocation } from './names.js';
import { ProgressPoller } from './progress.js';

const loc = (id: string) => runLocation('b', 'm', id);

describe('ProgressPoller', () => {
  function poller(qps: number) {
    const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
    const store = new MemoryStore();
    let reads = 0;
    const counting = { ...store, getJson: (b: string, k: string) => (reads++, store.getJson(b, k)), putJson: store.putJson.bind(store), headBucket: store.headBucket.bind(store) };
    return { clock, p: new ProgressPoller(counting, { pollMs: 15_000, qps, now: clock.now, logger: silentLogger() }), reads: () => reads };
  }

  it('reads each run at most once per poll interval', async () => {
    const { clock, p, reads } = poller(100);
    await p.poll('ml/a', loc('a'), false);
    await p.poll('ml/a', loc('a'), false);
    expect(reads()).toBe(1);
    clock.advance(15_000);
    await p.poll('ml/a', loc('a'), false);
    expect(reads()).toBe(2);
  });

  it('caps reads across runs at the QPS budget, but a final read always happens', async () => {
    const { p, reads } = poller(2);
    for (const r of ['a', 'b', 'c', 'd', 'e']) await p.poll(`ml/${r}`, loc(r), false);
    expect(reads()).toBe(2); // the bucket holds ceil(qps) tokens
    await p.poll('ml/f', loc('f'), true);
    expect(reads()).toBe(3);
  });

  it('a read refused for the budget leaves no debt: a second later, qps more runs are read', async () => {
    const { clock, p, reads } = poller(2);
    // Far more runs due than the budget allows, as in a burst of a thousand running runs.
    for (let i = 0; i < 50; i++) await p.poll(`ml/r${i}`, loc(`r${i}`), false);
    expect(reads()).toBe(2);
    clock.advance(1000);
    for (let i = 50; i < 100; i++) await p.poll(`ml/r${i}`, loc(`r${i}`), false);
    expect(reads()).toBe(4);
  });

  it('requeues running runs no sooner than the budget can read them all, and back to the interval once they finish', async () => {
    const clock = new TestClock(Date.parse('2026-11-22T12:00:00Z'));
    const p = new ProgressPoller(new MemoryStore(), { pollMs: 1000, qps: 20, now: clock.now, logger: silentLogger() });
    expect(p.requeueMs()).toBe(1000);
    for (let i = 0; i < 1000; i++) await p.poll(`ml/r${i}`, loc(`r${i}`), false);
    clock.advance(1000);
    expect(p.requeueMs()).toBe(50_000); // 1,000 runs at 20 reads a second
    // Half of them finish (no longer asked for): after two of the current intervals they stop counting.
    for (let t = 0; t < 100; t += 25) {
      clock.advance(25_000);
      for (let i = 0; i < 500; i++) await p.poll(`ml/r${i}`, loc(`r${i}`), false);
    }
    expect(p.requeueMs()).toBe(25_000);
    p.forget('ml/r0');
    clock.advance(1000);
    expect(p.requeueMs()).toBe(24_950);
    clock.advance(200_000);
    expect(p.requeueMs()).toBe(1000);
  });
});
