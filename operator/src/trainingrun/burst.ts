// Jobs first. When many runs arrive at once, what their users wait for is the Jobs; a first status,
// an Event or an initial run record can follow a few seconds later. On a busy API server every such
// write delays somebody's Job, so while a burst is on they wait (each at most MAX_DEFER_MS).
//
// A burst is on while a run that has never been reconciled is waiting in the queue, and for a
// short quiet period after the newest one arrived: a client creating runs one after another leaves
// gaps between them shorter than that.

/** How long after the newest new run a burst still counts as on. */
export const BURST_QUIET_MS = 1_000;
/** The longest any deferred write waits for a burst to end. */
export const MAX_DEFER_MS = 30_000;

export class BurstTracker {
  /** Runs seen without a status or a Job that no pass has reconciled yet. */
  private readonly waiting = new Set<string>();
  private lastArrival = -Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  /** A run without a status or a Job was seen (from the informer's handlers). */
  arrived(key: string): void {
    this.waiting.add(key);
    this.lastArrival = this.now();
  }

  /** A pass over the run has finished: it has its Job, or waits on something other than us. */
  reconciled(key: string): void {
    this.waiting.delete(key);
  }

  /** Runs waiting for their first pass. */
  get backlog(): number {
    return this.waiting.size;
  }

  active(): boolean {
    return this.waiting.size > 0 || this.now() - this.lastArrival < BURST_QUIET_MS;
  }

  /** Whether a write first wanted at `sinceMs` should wait now: during a burst, up to MAX_DEFER_MS. */
  shouldDefer(sinceMs: number): boolean {
    return this.active() && this.now() - sinceMs < MAX_DEFER_MS;
  }
}
