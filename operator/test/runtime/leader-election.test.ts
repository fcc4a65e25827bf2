// Two electors over a real coordination.k8s.io Lease, with short timings: one leads; the other takes
// over at once after release(), and after expiry when the leader stops renewing.
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LeaderElector, LeaseNamespaceMissing, kubeLeaseLock, type LeaseLock, type StoppedReason } from '../../src/runtime/leader-election.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createTestNamespace, sleep, waitFor, type TestNamespace } from '../../../test/support/cluster.js';

const LEASE = 'lathe-operator-leader';
const timings = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 250 };

describe('LeaderElector against the API server', () => {
  let ns: TestNamespace;
  let electors: LeaderElector[] = [];
  const logger = createLogger({ level: process.env.LATHE_LOG_LEVEL ? undefined : 'error' });

  beforeAll(async () => {
    ns = await createTestNamespace('lathe-leader');
  });
  afterAll(async () => {
    await ns?.cleanup();
  });
  afterEach(async () => {
    await Promise.all(electors.map((e) => e.stop()));
    electors = [];
  });

  function elector(identity: string, lock: LeaseLock, events: string[]): LeaderElector {
    const e = new LeaderElector({
      lock,
      name: LEASE,
      identity,
      logger,
      ...timings,
      onStartedLeading: () => events.push(`${identity} started`),
      onStoppedLeading: (reason: StoppedReason) => events.push(`${identity} stopped:${reason}`),
    });
    electors.push(e);
    return e;
  }

  it('one of two replicas leads; the other takes over after release and after expiry', async () => {
    const leases = ns.kc.makeApiClient(CoordinationV1Api);
    const events: string[] = [];
    const a = elector('replica-a', kubeLeaseLock(ns.client, ns.name, LEASE), events);
    a.start();
    await waitFor('a to lead', () => a.isLeader(), 10_000, 20);
    const b = elector('replica-b', kubeLeaseLock(ns.client, ns.name, LEASE), events);
    b.start();
    await sleep(1_500); // several retry periods
    expect(b.isLeader()).toBe(false);
    expect(b.currentLeader()).toBe('replica-a');

    let lease = await leases.readNamespacedLease({ name: LEASE, namespace: ns.name });
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-a', leaseDurationSeconds: 3, leaseTransitions: 0 });
    // MicroTime fields written with microseconds; renewTime advances while a renews.
    const renew1 = Date.parse(String(lease.spec!.renewTime));
    expect(Number.isNaN(renew1)).toBe(false);

    // Graceful shutdown of a: b must not wait for the 3 s lease to run out.
    const released = Date.now();
    await a.stop();
    await waitFor('b to take over after release', () => b.isLeader(), 2_000, 20);
    expect(Date.now() - released).toBeLessThan(2_000);
    lease = await leases.readNamespacedLease({ name: LEASE, namespace: ns.name });
    expect(lease.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });

    // b loses its connection to the API server (its writes fail): it must step down after the
    // renew deadline, and a new replica c may lead only once the lease expired.
    let partitioned = false;
    const realLock = kubeLeaseLock(ns.client, ns.name, LEASE);
    const flaky: LeaseLock = {
      get: () => (partitioned ? Promise.reject(new Error('ETIMEDOUT')) : realLock.get()),
      create: (r) => (partitioned ? Promise.reject(new Error('ETIMEDOUT')) : realLock.create(r)),
      update: (r, rv) => (partitioned ? Promise.reject(new Error('ETIMEDOUT')) : realLock.update(r, rv)),
      describe: () => realLock.describe(),
    };
    await b.stop(); // hand over to a flaky-connected b2 first
    const b2 = elector('replica-b2', flaky, events);
    b2.start();
    await waitFor('b2 to lead', () => b2.isLeader(), 5_000, 20);
    const c = elector('replica-c', kubeLeaseLock(ns.client, ns.name, LEASE), events);
    c.start();
    await sleep(500);
    partitioned = true;
    const cut = Date.now();
    await waitFor('b2 to step down', () => events.includes('replica-b2 stopped:lost'), 5_000, 20);
    expect(Date.now() - cut).toBeLessThan(timings.renewDeadlineMs + 1_000);
    await waitFor('c to take over after expiry', () => c.isLeader(), 10_000, 20);
    // c waited for the lease to expire (3 s from b2's last renewal, which was < 250 ms before the cut).
    expect(Date.now() - cut).toBeGreaterThanOrEqual(timings.leaseDurationMs - timings.retryPeriodMs - 100);
    lease = await leases.readNamespacedLease({ name: LEASE, namespace: ns.name });
    expect(lease.spec?.holderIdentity).toBe('replica-c');
    expect(events).toEqual([
      'replica-a started',
      'replica-a stopped:released',
      'replica-b started',
      'replica-b stopped:released',
      'replica-b2 started',
      'replica-b2 stopped:lost',
      'replica-c started',
    ]);
  });

  it('stops campaigning with one clear error when the Lease namespace does not exist', async () => {
    const missing = `${ns.name}-missing`;
    const errors: Error[] = [];
    const lines: string[] = [];
    const e = new LeaderElector({
      lock: kubeLeaseLock(ns.client, missing, LEASE),
      name: LEASE,
      identity: 'replica-a',
      logger: createLogger({ level: 'warn', stream: { write: (line: string) => lines.push(line) } }),
      ...timings,
      onFatal: (err) => errors.push(err),
    });
    electors.push(e);
    e.start();
    await waitFor('the elector to give up', () => errors.length > 0, 5_000, 20);
    await sleep(4 * timings.retryPeriodMs);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(LeaseNamespaceMissing);
    expect(errors[0]!.message).toContain(`the Lease namespace "${missing}" does not exist`);
    expect(errors[0]!.message).toContain('LATHE_LEASE_NAMESPACE');
    expect(lines).toEqual([]); // not the old "lease read/write failed" warning every retry period
    expect(e.isLeader()).toBe(false);
  });
});
