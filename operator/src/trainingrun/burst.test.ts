import { describe, expect, it } from 'vitest';
import { BURST_QUIET_MS, BurstTracker, MAX_DEFER_MS } from './burst.js';

function tracker() {
  let t = 1_000_000;
  const b = new BurstTracker(() => t);
  return { b, advance: (ms: number) => void (t += ms), now: () => t };
}

describe('BurstTracker', () => {
  it('is quiet with no new runs', () => {
    const { b, now } = tracker();
    expect(b.active()).toBe(false);
    expect(b.shouldDefer(now())).toBe(false);
  });

  it('stays on while any new run waits for its first pass, however long ago it arrived', () => {
    const { b, advance, now } = tracker();
    b.arrived('ns/a');
    b.arrived('ns/b');
    advance(BURST_QUIET_MS * 5);
    b.reconciled('ns/a');
    expect(b.backlog).toBe(1);
    expect(b.active()).toBe(true);
    b.reconciled('ns/b');
    expect(b.active()).toBe(false);
    expect(b.shouldDefer(now())).toBe(false);
  });

  it('stays on for a quiet period after the newest arrival, for clients creating runs one by one', () => {
    const { b, advance } = tracker();
    b.arrived('ns/a');
    b.reconciled('ns/a');
    expect(b.active()).toBe(true);
    advance(BURST_QUIET_MS - 1);
    expect(b.active()).toBe(true);
    advance(1);
    expect(b.active()).toBe(false);
  });

  it('defers a write at most MAX_DEFER_MS, even in an endless burst', () => {
    const { b, advance, now } = tracker();
    const since = now();
    b.arrived('ns/stuck'); // e.g. its Job create keeps failing
    advance(MAX_DEFER_MS - 1);
    expect(b.shouldDefer(since)).toBe(true);
    advance(1);
    expect(b.shouldDefer(since)).toBe(false);
  });
});
