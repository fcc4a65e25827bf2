// Requeue rate limiting with controller-runtime's defaults
// (workqueue.DefaultTypedControllerRateLimiter): per-item exponential backoff 5 ms → 1000 s,
// combined by max with a shared 10 qps / burst 100 token bucket. The per-item part stops one broken
// object from retrying hot; the bucket stops many broken objects together from hammering the API.

export interface Clock {
  /** Milliseconds; only differences are used. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface RateLimiter {
  /** How long (ms) to wait before `key` may be processed again; each call counts as one failure. */
  when(key: string): number;
  /** Clears `key`'s failure history (after a success). */
  forget(key: string): void;
  numRequeues(key: string): number;
}

export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseDelayMs = 5,
    private readonly maxDelayMs = 1_000_000,
  ) {}

  when(key: string): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    // 2^exp overflows to Infinity past ~1023; the cap handles it either way.
    const backoff = this.baseDelayMs * 2 ** exp;
    return Math.min(backoff, this.maxDelayMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/**
 * golang.org/x/time/rate semantics for Reserve().Delay(): the bucket may go negative, and the
 * returned delay is how long until that reservation's token exists. Reservations are never
 * cancelled, so bursts of failures spread out at `qps`.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.qps) / 1000);
  }

  /** Takes one token and returns the wait (ms) until it is really available. */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  /** Takes one token only if available now; for callers that drop rather than wait (events). */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class BucketRateLimiter implements RateLimiter {
  private readonly bucket: TokenBucket;

  constructor(qps = 10, burst = 100, clock: Clock = systemClock) {
    this.bucket = new TokenBucket(qps, burst, clock);
  }

  when(_key: string): number {
    return this.bucket.reserve();
  }
  forget(_key: string): void {}
  numRequeues(_key: string): number {
    return 0;
  }
}

export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must see the call (each one records it), so no early exit.
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.when(key));
    return max;
  }

  forget(key: string): void {
    for (const l of this.limiters) l.forget(key);
  }

  numRequeues(key: string): number {
    let max = 0;
    for (const l of this.limiters) max = Math.max(max, l.numRequeues(key));
    return max;
  }
}

export interface ControllerRateLimiterOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  clock?: Clock;
}

export function defaultControllerRateLimiter(options: ControllerRateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialFailureRateLimiter(options.baseDelayMs ?? 5, options.maxDelayMs ?? 1_000_000),
    new BucketRateLimiter(options.qps ?? 10, options.burst ?? 100, options.clock ?? systemClock),
  );
}
