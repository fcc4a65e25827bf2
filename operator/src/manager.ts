// The process around the controllers: informers (shared between controllers by name), leader
// election, the health and metrics server and the AWS access check. Each controller declares its
// own watches in its folder (trainingrun/controller.ts, inferenceservice/controller.ts). `main.ts`
// runs it as a process; the integration tests and the benchmark run it in-process the same way.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Gauge, Registry } from 'prom-client';
import type { KubeClient } from './client/kube-client.js';
import { checkAwsAccess, type AwsAccess } from './aws/identity.js';
import { MalformedObjectError, S3ObjectStore, type ObjectStore } from './aws/s3-store.js';
import type { OperatorConfig } from './config/operator-config.js';
import type { ControllerContext, InformerSpec } from './controller-context.js';
import { setupInferenceServiceController } from './inferenceservice/controller.js';
import { KubeWriter } from './k8s/kube-writer.js';
import { StringPool } from './k8s/shared-strings.js';
import { slimCustomResource } from './k8s/slim.js';
import { Controller } from './runtime/controller.js';
import { EventRecorder, kubeEventSink, type EventSink } from './runtime/events.js';
import { HealthServer } from './runtime/health-server.js';
import { requireOptionalApis } from './k8s/optional-apis.js';
import { DEFAULT_INFORMER_TIMINGS, ResilientInformer } from './runtime/informer.js';
import { LeaderElector, kubeLeaseLock } from './runtime/leader-election.js';
import { apiListWatch } from './runtime/list-watch.js';
import type { Logger } from './runtime/logger.js';
import { createRegistry, getOrCreateCounter, getOrCreateGauge } from './runtime/metrics.js';
import { BurstTracker } from './trainingrun/burst.js';
import { setupTrainingRunController } from './trainingrun/controller.js';

export interface ManagerOptions {
  client: KubeClient;
  config: OperatorConfig;
  logger: Logger;
  registry?: Registry;
  store?: ObjectStore;
  /** Informer timings; tests shorten them. */
  timings?: { resyncMs: number; relistMs: number; watchdogMs: number };
}

export class Manager {
  readonly registry: Registry;
  readonly health: HealthServer;
  readonly writer: KubeWriter;
  private readonly informersByName = new Map<string, ResilientInformer<KubernetesObject>>();
  private readonly controllers: Controller[] = [];
  private elector?: LeaderElector;
  private aws: AwsAccess | undefined;
  private readonly events: EventRecorder;
  private readonly store: ObjectStore;
  /** Jobs first: status, Event and record writes wait while a burst of new runs gets its Jobs. */
  private readonly burst = new BurstTracker();
  /** One pool for every informer's cache: Jobs, pods and runs share condition and label strings. */
  private readonly strings = new StringPool();
  private leading = false;
  private built = false;
  /** Settled when this replica first leads (or leader election fails for good). */
  private readonly leadership = deferred();
  private readonly awsAccess: Gauge<'bucket'>;

  constructor(private readonly o: ManagerOptions) {
    this.registry = o.registry ?? createRegistry();
    this.writer = new KubeWriter(o.client, this.registry);
    this.store = countingStore(o.store ?? new S3ObjectStore(), this.registry);
    this.events = new EventRecorder({ sink: countingSink(kubeEventSink(o.client), this.writer), logger: o.logger, hold: () => this.burst.active() });
    this.health = new HealthServer({ registry: this.registry, logger: o.logger, port: o.config.metricsPort });
    this.awsAccess = getOrCreateGauge(this.registry, {
      name: 'lathe_aws_access',
      help: '1 when the start-up check could reach the artifact bucket (S3 HeadBucket), else 0.',
      labelNames: ['bucket'],
    });
  }

  /** The process's informer for `spec`: one per name, shared by every controller that asks. */
  private informer<T extends KubernetesObject>(spec: InformerSpec<T>): ResilientInformer<T> {
    const existing = this.informersByName.get(spec.name);
    if (existing) return existing as unknown as ResilientInformer<T>;
    const timings = this.o.timings ?? { ...DEFAULT_INFORMER_TIMINGS, resyncMs: this.o.config.resyncMs };
    const namespaces = this.o.config.watchNamespaces;
    if (namespaces.length > 1) {
      throw new Error('LATHE_WATCH_NAMESPACES: watching several namespaces is not supported yet; give one namespace or none (all)');
    }
    const { resource, labelSelector, fieldSelector } = spec;
    const transform = spec.transform ?? slimCustomResource;
    const inf = new ResilientInformer<T>({
      name: spec.name,
      listWatch: apiListWatch<T>(this.o.client, {
        resource,
        ...(namespaces[0] ? { namespace: namespaces[0] } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
      }),
      logger: this.o.logger,
      registry: this.registry,
      metrics: this.registry,
      // Slim first, then share the strings that repeat across the cache (k8s/shared-strings.ts).
      transform: (obj) => this.strings.shareIn(transform(obj)),
      ...(spec.indexBy ? { indexBy: spec.indexBy } : {}),
      ...timings,
    });
    this.informersByName.set(spec.name, inf as unknown as ResilientInformer<KubernetesObject>);
    return inf;
  }

  /**
   * Builds informers, controllers and the leader elector (each controller declares its own
   * watches), which registers every metric the process exports; nothing runs and nothing is sent
   * yet. `start` calls it; the metric consistency test (test/observability/) calls it alone.
   */
  build(): void {
    if (this.built) return;
    this.built = true;
    const { config, logger } = this.o;
    const ctx: ControllerContext = {
      config,
      logger,
      registry: this.registry,
      writer: this.writer,
      events: this.events,
      store: this.store,
      burst: this.burst,
      informer: (spec) => this.informer(spec),
    };
    for (const setup of [setupTrainingRunController(ctx), setupInferenceServiceController(ctx)]) {
      this.controllers.push(new Controller({ name: setup.name, queue: setup.queue, reconcile: setup.reconcile, logger, workers: config.workers, registry: this.registry }));
    }
    if (config.leaderElection) {
      this.elector = new LeaderElector({
        lock: kubeLeaseLock(this.o.client, config.leaseNamespace, config.leaseName),
        name: config.leaseName,
        identity: config.identity,
        logger,
        registry: this.registry,
        onStartedLeading: () => {
          this.leading = true;
          this.leadership.resolve();
        },
        onFatal: (err) => this.leadership.reject(err),
        onStoppedLeading: (reason) => {
          if (reason === 'lost') {
            // Another replica may already lead: stop at once, as controller-runtime does.
            logger.error('leader election lost; exiting');
            process.exit(1);
          }
        },
      });
    }
  }

  /** Builds (once) and runs: health server, informers, then the controllers once leading. */
  async start(): Promise<void> {
    const { config, logger } = this.o;
    this.build();
    this.health.addReadinessCheck({ name: 'informers-synced', check: () => [...this.informersByName.values()].every((i) => i.hasSynced()) });
    this.health.addReadinessCheck({ name: 'aws-access', informational: true, check: () => this.aws?.bucketReachable ?? false });
    this.health.addLivenessCheck({ name: 'informers', check: () => true });
    await this.health.start();
    void this.checkAws();

    await requireOptionalApis(this.o.client, config);
    // Caches fill before leadership is won, so a standby takes over with warm caches.
    await Promise.all([...this.informersByName.values()].map((i) => i.start()));
    if (this.elector) {
      this.health.addReadinessCheck({ name: 'leader-election', informational: true, check: () => this.leading });
      this.elector.start();
      await this.leadership.promise;
    }
    for (const c of this.controllers) c.start();
    logger.info('operator started', { workers: config.workers, bucket: config.s3Bucket, namespaces: config.watchNamespaces });
  }

  private async checkAws(): Promise<void> {
    const gauge = this.awsAccess;
    try {
      this.aws = await checkAwsAccess(this.store, this.o.config.s3Bucket);
    } catch (err) {
      this.aws = { bucketReachable: false, bucketError: String(err) };
    }
    gauge.set({ bucket: this.o.config.s3Bucket }, this.aws.bucketReachable ? 1 : 0);
    const fields = { bucket: this.o.config.s3Bucket, ...this.aws };
    if (this.aws.bucketReachable) this.o.logger.info('aws access ok', fields);
    else this.o.logger.warn('aws access failed: runs will wait to record their artifacts until S3 is reachable', fields);
  }

  async stop(): Promise<void> {
    await Promise.all(this.controllers.map((c) => c.stop()));
    await Promise.all([...this.informersByName.values()].map((i) => i.stop()));
    // Runs still queued will not be reconciled by this process, so their burst never ends here.
    this.events.release();
    await this.events.flush();
    if (this.elector) await this.elector.release();
    await this.health.stop();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody awaits it without leader election; a failure is still reported through start().
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Counts every S3 request of the operator in lathe_s3_requests_total, by operation and outcome: ok
 * (a missing object is an answer, so ok too), invalid (the object is not JSON: the trainer's fault,
 * not S3's) or error (S3 unreachable, refused, throttled). aws/ knows nothing of metrics.
 */
export function countingStore(store: ObjectStore, registry: Registry): ObjectStore {
  const requests = getOrCreateCounter(registry, {
    name: 'lathe_s3_requests_total',
    help: 'S3 requests the operator made (progress.json and metadata.json reads, run.json writes, the bucket check), by operation and outcome (ok, invalid, error).',
    labelNames: ['operation', 'outcome'],
  });
  for (const operation of ['get', 'put', 'head']) for (const outcome of ['ok', 'invalid', 'error']) requests.inc({ operation, outcome }, 0);
  const counted = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    try {
      const out = await call();
      requests.inc({ operation, outcome: 'ok' });
      return out;
    } catch (err) {
      requests.inc({ operation, outcome: err instanceof MalformedObjectError ? 'invalid' : 'error' });
      throw err;
    }
  };
  return {
    getJson: (bucket, key) => counted('get', () => store.getJson(bucket, key)),
    putJson: (bucket, key, value, opts) => counted('put', () => store.putJson(bucket, key, value, opts)),
    headBucket: (bucket) => counted('head', () => store.headBucket(bucket)),
  };
}

/** Counts the EventRecorder's writes in lathe_api_writes_total, beside the reconcilers' own. */
function countingSink(sink: EventSink, writer: KubeWriter): EventSink {
  return {
    create: (ns, ev) => writer.count('events', 'create', () => sink.create(ns, ev)),
    getCount: (ns, name) => sink.getCount(ns, name),
    patchCount: (ns, name, count, ts) => writer.count('events', 'patch', () => sink.patchCount(ns, name, count, ts)),
  };
}
