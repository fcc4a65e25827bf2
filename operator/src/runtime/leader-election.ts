// Leader election on a coordination.k8s.io Lease, following client-go's leaderelection package so
// a Lathe replica and any client-go tool read the Lease the same way. Two replicas can run; only the
// leader starts controllers. Mutual exclusion comes from the API server's optimistic concurrency:
// every write carries the resourceVersion that was read, and a 409 means another replica wrote
// first this round.
//
// Expiry is judged by the local clock from when *this* replica last saw the record change (as
// client-go does), never by comparing renewTime with the local clock, so clock skew between nodes
// can't make two leaders.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { V1Lease } from '@kubernetes/client-node';
import { resourcePath, type KubeClient } from '../client/kube-client.js';
import type { Gauge, Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { getOrCreateGauge } from './metrics.js';
import { systemClock, type Clock } from './rate-limiter.js';
import { statusCode } from '../client/errors.js';

export interface LeaseRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** ms since epoch */
  acquireTime: number;
  /** ms since epoch */
  renewTime: number;
  leaseTransitions: number;
}

export interface ObservedLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** Storage of the election record. Writes throw an error with `code: 409` on a lost race. */
export interface LeaseLock {
  get(): Promise<ObservedLease | undefined>;
  create(record: LeaseRecord): Promise<ObservedLease>;
  update(record: LeaseRecord, resourceVersion: string): Promise<ObservedLease>;
  describe(): string;
}

function toMillis(t: unknown): number {
  if (t instanceof Date) return t.getTime();
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? 0 : ms;
  }
  return 0;
}

function fromLease(lease: V1Lease): ObservedLease {
  const spec = lease.spec ?? {};
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: toMillis(spec.acquireTime),
      renewTime: toMillis(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}

/** metav1.MicroTime's wire format: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function toLeaseSpec(record: LeaseRecord) {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: microTime(record.acquireTime),
    renewTime: microTime(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}

/** A LeaseLock on a real coordination.k8s.io/v1 Lease. */
export function kubeLeaseLock(client: KubeClient, namespace: string, name: string): LeaseLock {
  const resource = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespace };
  const leases = resourcePath(resource);
  const lease = resourcePath({ ...resource, name });
  return {
    async get() {
      try {
        return fromLease(await client.get<V1Lease>(lease));
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw err;
      }
    },
    async create(record) {
      try {
        return fromLease(await client.create<V1Lease>(leases, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: toLeaseSpec(record) }));
      } catch (err) {
        // A create into a collection is 404 only when the namespace is missing: no retry mends that.
        if (statusCode(err) === 404) throw new LeaseNamespaceMissing(namespace);
        throw err;
      }
    },
    async update(record, resourceVersion) {
      return fromLease(
        await client.replace<V1Lease>(lease, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, resourceVersion }, spec: toLeaseSpec(record) }),
      );
    },
    describe: () => `${namespace}/${name}`,
  };
}

export type StoppedReason = 'lost' | 'released';

/**
 * The Lease's namespace does not exist. Retrying would log a warning every retry period forever
 * (an operator started out of a cluster before its namespace exists); controller-runtime refuses
 * to start without a leader-election namespace, and so does this: the elector stops and reports it.
 */
export class LeaseNamespaceMissing extends Error {
  constructor(readonly namespace: string) {
    super(
      `leader election: the Lease namespace "${namespace}" does not exist; create it (kubectl create namespace ${namespace}), ` +
        'set LATHE_LEASE_NAMESPACE to one that exists, or set LATHE_LEADER_ELECTION=false to run a single replica without a Lease',
    );
    this.name = 'LeaseNamespaceMissing';
  }
}

export interface LeaderElectorOptions {
  lock: LeaseLock;
  /** The `name` label of leader_election_master_status, e.g. the Lease name. */
  name: string;
  /** Defaults to `<hostname>_<uuid>`, as controller-runtime does. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
  random?: () => number;
  onStartedLeading?: () => void;
  /**
   * Leadership ended: 'lost' (renewal failed past renewDeadline: the caller should exit at once,
   * as controller-runtime does, since another replica may already be leading) or 'released'.
   */
  onStoppedLeading?: (reason: StoppedReason) => void;
  onNewLeader?: (identity: string) => void;
  /** Campaigning stopped for good (LeaseNamespaceMissing): the caller should stop starting up. */
  onFatal?: (err: Error) => void;
}

export class LeaderElector {
  readonly identity: string;
  private readonly lock: LeaseLock;
  private readonly name: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly status: Gauge<'name'> | undefined;
  private readonly callbacks: Pick<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading' | 'onNewLeader' | 'onFatal'>;

  private observed: ObservedLease | undefined;
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastReportedLeader: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.lock = options.lock;
    this.name = options.name;
    this.identity = options.identity ?? `${hostname()}_${randomUUID()}`;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadlineMs <= this.retryPeriodMs * 1.2) throw new Error('renewDeadline must be greater than retryPeriod*1.2');
    this.log = options.logger.child({ lease: options.lock.describe(), identity: this.identity });
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.callbacks = options;
    if (options.registry) {
      this.status = getOrCreateGauge(options.registry, {
        name: 'leader_election_master_status',
        help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.',
        labelNames: ['name'],
      });
      this.status.set({ name: this.name }, 0);
    }
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The holder this replica last observed (may be stale by up to a retry period). */
  currentLeader(): string | undefined {
    return this.observed?.record.holderIdentity || undefined;
  }

  /** Starts campaigning in the background; callbacks report the outcome. */
  start(): void {
    if (this.loop) throw new Error('leader elector already started');
    this.loop = this.run().catch((err: unknown) => {
      if (err instanceof LeaseNamespaceMissing && this.callbacks.onFatal) this.callbacks.onFatal(err);
      else this.log.error('leader election loop crashed', { err });
    });
  }

  /** Stops campaigning/renewing and, if leading, releases the Lease so a standby takes over now. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.release();
  }

  /**
   * Empties holderIdentity (keeping leaseTransitions), as client-go's ReleaseOnCancel does: a
   * standby sees an empty holder and acquires on its next retry instead of waiting for expiry.
   */
  async release(): Promise<boolean> {
    if (!this.leading || !this.observed) return false;
    const now = this.clock.now();
    const record: LeaseRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: this.observed.record.leaseTransitions,
    };
    let released = false;
    try {
      this.observed = await this.lock.update(record, this.observed.resourceVersion);
      this.observedAt = now;
      released = true;
      this.log.info('released leadership');
    } catch (err) {
      this.log.warn('could not release lease', { err });
    }
    this.setLeading(false, 'released');
    return released;
  }

  private async run(): Promise<void> {
    // Acquire: retry with jitter (client-go: JitterUntil(retryPeriod, 1.2)).
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) break;
      await this.sleep(this.retryPeriodMs * (1 + 1.2 * this.random()));
    }
    if (this.stopped) return;
    this.log.info('acquired leadership');
    this.setLeading(true);

    // Renew every retryPeriod; give up once renewDeadline has passed since the last success.
    let lastRenew = this.clock.now();
    while (!this.stopped) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopped) return;
      const deadline = lastRenew + this.renewDeadlineMs;
      const remaining = deadline - this.clock.now();
      const ok = remaining > 0 && (await this.withTimeout(this.tryAcquireOrRenew(), remaining));
      if (this.stopped) return;
      if (ok) {
        lastRenew = this.clock.now();
      } else if (this.clock.now() >= deadline) {
        this.log.error('failed to renew lease before the deadline; leadership lost', { renewDeadlineMs: this.renewDeadlineMs });
        this.setLeading(false, 'lost');
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clock.now();
    const desired = (acquireTime: number, transitions: number): LeaseRecord => ({
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime,
      renewTime: now,
      leaseTransitions: transitions,
    });
    try {
      const current = await this.lock.get();
      if (!current) {
        this.observed = await this.lock.create(desired(now, 0));
        this.observedAt = this.clock.now();
        this.reportLeader(this.identity);
        return true;
      }
      const prev = this.observed;
      if (
        !prev ||
        prev.resourceVersion !== current.resourceVersion ||
        prev.record.holderIdentity !== current.record.holderIdentity ||
        prev.record.renewTime !== current.record.renewTime
      ) {
        this.observed = current;
        this.observedAt = this.clock.now();
      }
      const holder = current.record.holderIdentity;
      this.reportLeader(holder);
      const expiresAt = this.observedAt + current.record.leaseDurationSeconds * 1000;
      if (holder !== '' && holder !== this.identity && expiresAt > now) return false;
      const record =
        holder === this.identity
          ? desired(current.record.acquireTime, current.record.leaseTransitions)
          : desired(now, current.record.leaseTransitions + 1);
      this.observed = await this.lock.update(record, current.resourceVersion);
      this.observedAt = this.clock.now();
      this.reportLeader(this.identity);
      return true;
    } catch (err) {
      if (err instanceof LeaseNamespaceMissing) throw err;
      if (statusCode(err) === 409) this.log.debug('lost a lease write race', {});
      else this.log.warn('lease read/write failed', { err });
      return false;
    }
  }

  private reportLeader(identity: string): void {
    if (identity === this.lastReportedLeader) return;
    this.lastReportedLeader = identity;
    if (identity !== '') this.log.info('new leader observed', { leader: identity });
    try {
      this.callbacks.onNewLeader?.(identity);
    } catch (err) {
      this.log.error('onNewLeader threw', { err });
    }
  }

  private setLeading(leading: boolean, reason?: StoppedReason): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.status?.set({ name: this.name }, leading ? 1 : 0);
    try {
      if (leading) this.callbacks.onStartedLeading?.();
      else this.callbacks.onStoppedLeading?.(reason ?? 'lost');
    } catch (err) {
      this.log.error('leader election callback threw', { err });
    }
  }

  private withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        () => {
          clearTimeout(timer);
          resolve(false);
        },
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
