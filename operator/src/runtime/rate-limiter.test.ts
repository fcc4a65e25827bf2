import { describe, expect, it } from 'vitest';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  TokenBucket,
  defaultControllerRateLimiter,
  type Clock,
} from './rate-limiter.js';

function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles from 5 ms per key and caps at 1000 s', () => {
    const rl = new ItemExponentialFailureRateLimiter();
    expect([1, 2, 3, 4, 5].map(() => rl.when('a'))).toEqual([5, 10, 20, 40, 80]);
    expect(rl.numRequeues('a')).toBe(5);
    expect(rl.when('b')).toBe(5);
    for (let i = 0; i < 30; i++) rl.when('a');
    expect(rl.when('a')).toBe(1_000_000);
    // Far past 2^1023 the arithmetic overflows; the cap must still hold.
    for (let i = 0; i < 2000; i++) rl.when('a');
    expect(rl.when('a')).toBe(1_000_000);
  });

  it('forget resets a key', () => {
    const rl = new ItemExponentialFailureRateLimiter();
    rl.when('a');
    rl.when('a');
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
  });
});

describe('TokenBucket / BucketRateLimiter', () => {
  it('allows a burst of 100, then spaces at 10 qps, and refills over time', () => {
    const clock = manualClock();
    const rl = new BucketRateLimiter(10, 100, clock);
    for (let i = 0; i < 100; i++) expect(rl.when(`k${i}`)).toBe(0);
    expect(rl.when('x')).toBeCloseTo(100);
    expect(rl.when('y')).toBeCloseTo(200);
    clock.advance(10_000); // +100 tokens, capped at the burst, minus the 2 reserved ones
    for (let i = 0; i < 98; i++) expect(rl.when(`r${i}`)).toBe(0);
    expect(rl.when('z')).toBeCloseTo(100);
    expect(rl.numRequeues('x')).toBe(0);
  });

  it('tryTake never goes negative', () => {
    const clock = manualClock();
    const b = new TokenBucket(1, 2, clock);
    expect([b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, false]);
    clock.advance(999);
    expect(b.tryTake()).toBe(false);
    clock.advance(1);
    expect(b.tryTake()).toBe(true);
  });
});

describe('controller-runtime default limiter', () => {
  it('is the max of per-item backoff and the shared bucket', () => {
    const clock = manualClock();
    const rl = defaultControllerRateLimiter({ clock });
    expect(rl.when('a')).toBe(5);
    expect(rl.when('a')).toBe(10);
    // Exhaust the bucket with other keys: the bucket's delay now dominates a fresh key's 5 ms.
    for (let i = 0; i < 98; i++) rl.when(`k${i}`);
    expect(rl.when('fresh')).toBeCloseTo(100);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
  });

  it('MaxOf records the failure in every limiter', () => {
    const a = new ItemExponentialFailureRateLimiter(1, 1000);
    const b = new ItemExponentialFailureRateLimiter(3, 1000);
    const rl = new MaxOfRateLimiter(a, b);
    expect(rl.when('k')).toBe(3);
    expect(a.numRequeues('k')).toBe(1);
    expect(b.numRequeues('k')).toBe(1);
  });
});
