// Exponential backoff with jitter for reconnect loops (informer watches). Jitter matters: after an
// API server restart every replica's watches fail at once, and without it they all come back in
// the same millisecond (kubernetes-client/javascript#1933 is that flood).

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
  /** Each delay is stretched by up to this fraction at random (0.2 → +0..20 %). */
  jitter?: number;
  /** A connection that stayed healthy this long resets the backoff to `initialMs`. */
  resetAfterMs?: number;
  /** Injected for deterministic tests; defaults to Math.random. */
  random?: () => number;
}

export const DEFAULT_BACKOFF: Required<Omit<BackoffOptions, 'random'>> = {
  initialMs: 200,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
  resetAfterMs: 60_000,
};

export class Backoff {
  private attempt = 0;
  readonly resetAfterMs: number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.factor = options.factor ?? DEFAULT_BACKOFF.factor;
    this.jitter = options.jitter ?? DEFAULT_BACKOFF.jitter;
    this.resetAfterMs = options.resetAfterMs ?? DEFAULT_BACKOFF.resetAfterMs;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt (ms); each call escalates. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.attempt);
    this.attempt++;
    return Math.round(base * (1 + this.jitter * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
