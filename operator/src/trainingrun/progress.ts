// Progress polling: a running run's progress.json, read at most every progressPollMs per run and
// within a global read budget (progressQps), so thousands of running runs cost a bounded S3 rate.
import type { TrainingRunProgress } from '../api/schema/trainingrun.js';
import type { ObjectStore } from '../aws/s3-store.js';
import type { Logger } from '../runtime/logger.js';
import { TokenBucket } from '../runtime/rate-limiter.js';
import type { RunLocation } from './names.js';
import { readProgress } from './records.js';

export class ProgressPoller {
  private readonly lastPoll = new Map<string, number>();
  /** When each run last asked to be read (read or not): the runs currently due, for requeueMs. */
  private readonly asked = new Map<string, number>();
  private due = { at: Number.NEGATIVE_INFINITY, intervalMs: 0 };
  private readonly bucket: TokenBucket;

  constructor(
    private readonly store: ObjectStore,
    private readonly o: { pollMs: number; qps: number; now: () => Date; logger: Logger },
  ) {
    this.bucket = new TokenBucket(o.qps, Math.max(1, Math.ceil(o.qps)), { now: () => o.now().getTime() });
  }

  /** The newest progress, or undefined when not due, over budget, or unreadable. `final` reads regardless. */
  async poll(k: string, loc: RunLocation, final: boolean): Promise<TrainingRunProgress | undefined> {
    const last = this.lastPoll.get(k) ?? 0;
    const nowMs = this.o.now().getTime();
    if (!final) this.asked.set(k, nowMs);
    if (!final && nowMs - last < this.o.pollMs * 0.9) return undefined;
    // Over the global S3 read budget: skip this read without taking a token. (reserve() would
    // book one in the future for a read that never happens; with a thousand runs due each interval
    // the debt outgrew the refill and starved every later read.)
    if (!final && !this.bucket.tryTake()) return undefined;
    this.lastPoll.set(k, nowMs);
    try {
      return await readProgress(this.store, loc);
    } catch (err) {
      this.o.logger.debug('progress not readable', { trainingRun: k, err });
      return undefined;
    }
  }

  /**
   * When to look at a running run again: the poll interval, or longer when more runs are due than
   * the S3 budget reads in one interval (runs ÷ qps). Requeueing every run each interval regardless
   * made 1,000 running runs about 1,000 reconciles a second (the bench's 1 s interval) for at most
   * 20 reads. Runs not asked for within two intervals (finished, suspended, gone) stop counting; the
   * count is refreshed at most once a second.
   */
  requeueMs(): number {
    const nowMs = this.o.now().getTime();
    if (nowMs - this.due.at >= 1000) {
      const window = 2 * Math.max(this.o.pollMs, this.due.intervalMs);
      for (const [k, at] of this.asked) if (nowMs - at > window) this.asked.delete(k);
      this.due = { at: nowMs, intervalMs: Math.max(this.o.pollMs, Math.ceil((this.asked.size / this.o.qps) * 1000)) };
    }
    return this.due.intervalMs;
  }

  forget(k: string): void {
    this.lastPoll.delete(k);
    this.asked.delete(k);
  }
}
