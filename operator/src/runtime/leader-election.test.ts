import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaderElector, type LeaseLock, type LeaseRecord, type StoppedReason } from './leader-election.js';
import { silentLogger } from './logger.js';
import { createRegistry } from './metrics.js';

/** A Lease with the API server's optimistic concurrency: writes must carry the current resourceVersion. */
class MemoryLease {
  record: LeaseRecord | undefined;
  rv = 0;
  writes = 0;

  lock(): LeaseLock & { partitioned: boolean } {
    const conflict = (): Error => Object.assign(new Error('Conflict'), { code: 409 });
    const lock = {
      partitioned: false,
      get: () => {
        if (lock.partitioned) return Promise.reject(new Error('connect ETIMEDOUT'));
        return Promise.resolve(this.record ? { record: { ...this.record }, resourceVersion: String(this.rv) } : undefined);
      },
      create: (record: LeaseRecord) => {
        if (lock.partitioned) return Promise.reject(new Error('connect ETIMEDOUT'));
        if (this.record) return Promise.reject(conflict());
        return Promise.resolve(this.write(record));
      },
      update: (record: LeaseRecord, resourceVersion: string) => {
        if (lock.partitioned) return Promise.reject(new Error('connect ETIMEDOUT'));
        if (resourceVersion !== String(this.rv)) return Promise.reject(conflict());
        return Promise.resolve(this.write(record));
      },
      describe: () => 'test/lease',
    };
    return lock;
  }

  private write(record: LeaseRecord): { record: LeaseRecord; resourceVersion: string } {
    this.record = { ...record };
    this.rv++;
    this.writes++;
    return { record: { ...record }, resourceVersion: String(this.rv) };
  }
}

interface Candidate {
  elector: LeaderElector;
  lock: ReturnType<MemoryLease['lock']>;
  events: string[];
}

describe('LeaderElector', () => {
  let lease: MemoryLease;
  let candidates: Candidate[];
  const registry = createRegistry({ defaultMetrics: false });

  function candidate(identity: string): Candidate {
    const lock = lease.lock();
    const events: string[] = [];
    const elector = new LeaderElector({
      lock,
      name: 'lathe-operator',
      identity,
      logger: silentLogger(),
      registry: identity === 'a' ? registry : undefined,
      random: () => 0,
      onStartedLeading: () => events.push('started'),
      onStoppedLeading: (reason: StoppedReason) => events.push(`stopped:${reason}`),
    });
    const c = { elector, lock, events };
    candidates.push(c);
    return c;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    lease = new MemoryLease();
    candidates = [];
  });
  afterEach(async () => {
    for (const c of candidates) {
      c.lock.partitioned = false;
      const stopping = c.elector.stop();
      await vi.advanceTimersByTimeAsync(3000);
      await stopping;
    }
    vi.useRealTimers();
  });

  it('exactly one of two candidates leads, and keeps renewing', async () => {
    const a = candidate('a');
    const b = candidate('b');
    a.elector.start();
    b.elector.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(lease.record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    const acquired = lease.record!.acquireTime;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(lease.record!.renewTime).toBeGreaterThan(Date.now() - 2_500);
    expect(lease.record!.acquireTime).toBe(acquired);
    expect(b.elector.currentLeader()).toBe('a');
    expect(a.events).toEqual(['started']);
    expect(b.events).toEqual([]);
    const status = await registry.getSingleMetric('leader_election_master_status')!.get();
    expect(status.values.find((v) => v.labels.name === 'lathe-operator')?.value).toBe(1);
  });

  it('release() lets the standby take over on its next retry, without waiting for expiry', async () => {
    const a = candidate('a');
    const b = candidate('b');
    a.elector.start();
    await vi.advanceTimersByTimeAsync(100);
    b.elector.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(a.elector.isLeader()).toBe(true);
    await a.elector.stop();
    expect(lease.record!.holderIdentity).toBe('');
    expect(a.events).toEqual(['started', 'stopped:released']);
    await vi.advanceTimersByTimeAsync(2_000); // one retry period, far less than the 15 s lease
    expect(b.elector.isLeader()).toBe(true);
    expect(lease.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('a leader that cannot renew steps down after renewDeadline; the standby takes over after the lease expires', async () => {
    const a = candidate('a');
    const b = candidate('b');
    a.elector.start();
    await vi.advanceTimersByTimeAsync(100);
    b.elector.start();
    await vi.advanceTimersByTimeAsync(100);
    const lastRenew = lease.record!.renewTime;
    a.lock.partitioned = true;
    await vi.advanceTimersByTimeAsync(9_000);
    expect(a.elector.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(a.events).toEqual(['started', 'stopped:lost']);
    expect(a.elector.isLeader()).toBe(false);
    // b saw the last renewal at about lastRenew, so it must wait the full 15 s from then.
    expect(b.elector.isLeader()).toBe(false);
    const waitUntil = lastRenew + 15_000;
    while (!b.elector.isLeader()) await vi.advanceTimersByTimeAsync(100);
    expect(Date.now()).toBeGreaterThanOrEqual(waitUntil);
    expect(Date.now()).toBeLessThan(waitUntil + 5_000);
    expect(lease.record).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('rejects inconsistent timings', () => {
    expect(
      () => new LeaderElector({ lock: lease.lock(), name: 'x', logger: silentLogger(), leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
    ).toThrow(/leaseDuration/);
  });
});
