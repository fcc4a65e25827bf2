// The process around the controllers: informers (shared between controllers by name), leader
// election, the health and metrics server and the AWS access check. Each controller declares its
// own watches in its folder (trainingrun/controller.ts, inferenceservice/controller.ts). `main.ts`
// runs it as a process; the integration tests and the benchmark run it in-process the same way.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { KubeClient } from './client/kube-client.js';
import { checkAwsAccess, type AwsAccess } from './aws/identity.js';
import { S3ObjectStore, type ObjectStore } from './aws/s3-store.js';
import type { OperatorConfig } from './config/operator-config.js';
import type { ControllerContext, InformerSpec } from './controller-context.js';
import { setupInferenceServiceController } from './inferenceservice/controller.js';
import { KubeWriter } from './k8s/kube-writer.js';
import { StringPool } from './k8s/shared-strings.js';
import { slimCustomResource } from './k8s/slim.js';
import { Controller } from './runtime/controller.js';
import { EventRecorder, kubeEventSink, type EventSink } from './runtime/events.js';
import { HealthServer } from './runtime/health-server.js';
import { requireGatewayApi } from './k8s/gateway-api.js';
import { requireKueueApi } from './k8s/kueue.js';
import { DEFAULT_INFORMER_TIMINGS, ResilientInformer } from './runtime/informer.js';
import { LeaderElector, kubeLeaseLock } from './runtime/leader-election.js';
import { apiListWatch } from './runtime/list-watch.js';
import type { Logger } from './runtime/logger.js';
import { createRegistry, getOrCreateGauge } from './runtime/metrics.js';
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

  constructor(private readonly o: ManagerOptions) {
    this.registry = o.registry ?? createRegistry();
    this.writer = new KubeWriter(o.client, this.registry);
    this.store = o.store ?? new S3ObjectStore();
    this.events = new EventRecorder({ sink: countingSink(kubeEventSink(o.client), this.writer), logger: o.logger, hold: () => this.burst.active() });
    this.health = new HealthServer({ registry: this.registry, logger: o.logger, port: o.config.metricsPort });
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
      ...timings,
    });
    this.informersByName.set(spec.name, inf as unknown as ResilientInformer<KubernetesObject>);
    return inf;
  }

  /** Builds informers and controllers (each declares its own watches); `start` runs them. */
  async start(): Promise<void> {
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

    this.health.addReadinessCheck({ name: 'informers-synced', check: () => [...this.informersByName.values()].every((i) => i.hasSynced()) });
    this.health.addReadinessCheck({ name: 'aws-access', informational: true, check: () => this.aws?.bucketReachable ?? false });
    this.health.addLivenessCheck({ name: 'informers', check: () => true });
    await this.health.start();
    void this.checkAws();

    if (config.kueue) await requireKueueApi(this.o.client);
    if (config.gatewayApi) await requireGatewayApi(this.o.client);
    // Caches fill before leadership is won, so a standby takes over with warm caches.
    await Promise.all([...this.informersByName.values()].map((i) => i.start()));
    if (config.leaderElection) {
      await new Promise<void>((resolve, reject) => {
        this.elector = new LeaderElector({
          lock: kubeLeaseLock(this.o.client, config.leaseNamespace, config.leaseName),
          name: config.leaseName,
          identity: config.identity,
          logger,
          registry: this.registry,
          onStartedLeading: () => {
            this.leading = true;
            resolve();
          },
          onFatal: reject,
          onStoppedLeading: (reason) => {
            if (reason === 'lost') {
              // Another replica may already lead: stop at once, as controller-runtime does.
              logger.error('leader election lost; exiting');
              process.exit(1);
            }
          },
        });
        this.health.addReadinessCheck({ name: 'leader-election', informational: true, check: () => this.leading });
        this.elector.start();
      });
    }
    for (const c of this.controllers) c.start();
    logger.info('operator started', { workers: config.workers, bucket: config.s3Bucket, namespaces: config.watchNamespaces });
  }

  private async checkAws(): Promise<void> {
    const gauge = getOrCreateGauge(this.registry, {
      name: 'lathe_aws_access',
      help: '1 when the start-up check could reach the artifact bucket (S3 HeadBucket), else 0.',
      labelNames: ['bucket'],
    });
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

/** Counts the EventRecorder's writes in lathe_api_writes_total, beside the reconcilers' own. */
function countingSink(sink: EventSink, writer: KubeWriter): EventSink {
  return {
    create: (ns, ev) => writer.count('events', 'create', () => sink.create(ns, ev)),
    getCount: (ns, name) => sink.getCount(ns, name),
    patchCount: (ns, name, count, ts) => writer.count('events', 'patch', () => sink.patchCount(ns, name, count, ts)),
  };
}
