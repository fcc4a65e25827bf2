// Wires the operator together: informers (shared between the two controllers), the controllers,
// leader election, the health and metrics server and the AWS access check. `main.ts` runs it as a
// process; the integration tests and the benchmark run it in-process the same way.
import type { CoreV1Event, KubernetesObject, V1Deployment, V1Job, V1Pod, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { InferenceService } from './api/inferenceservice.js';
import type { TrainingRun } from './api/trainingrun.js';
import type { KubeClient, Resource } from './client/kube-client.js';
import { checkAwsAccess, type AwsAccess } from './aws/identity.js';
import { S3ObjectStore, type ObjectStore } from './aws/s3-store.js';
import type { OperatorConfig } from './config/operator-config.js';
import { InferenceServiceReconciler } from './inferenceservice/reconciler.js';
import { KubeWriter } from './k8s/kube-writer.js';
import { LABELS, MANAGED_BY } from './k8s/labels.js';
import { RESOURCES } from './k8s/resources.js';
import { StringPool } from './k8s/shared-strings.js';
import { JOB_FAILED_CREATE_EVENTS } from './k8s/pod-create-failure.js';
import { slimCustomResource, slimDeployment, slimEvent, slimJob, slimPod, slimToMetadata } from './k8s/slim.js';
import { Controller } from './runtime/controller.js';
import { EventRecorder, kubeEventSink, type EventSink } from './runtime/events.js';
import { HealthServer } from './runtime/health-server.js';
import { DEFAULT_INFORMER_TIMINGS, ResilientInformer, keyOf, objectKey } from './runtime/informer.js';
import { LeaderElector, kubeLeaseLock } from './runtime/leader-election.js';
import { apiListWatch } from './runtime/list-watch.js';
import type { Logger } from './runtime/logger.js';
import { createRegistry, getOrCreateGauge } from './runtime/metrics.js';
import { WorkQueue } from './runtime/workqueue.js';
import { BurstTracker } from './trainingrun/burst.js';
import { ModelDependents } from './trainingrun/dependents.js';
import { TrainingRunReconciler, ownerRunKey } from './trainingrun/reconciler.js';

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
  private readonly informers: ResilientInformer<KubernetesObject>[] = [];
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

  private informer<T extends KubernetesObject>(name: string, resource: Resource, labelSelector?: string, transform: (obj: T) => T = slimCustomResource, fieldSelector?: string): ResilientInformer<T> {
    const timings = this.o.timings ?? { ...DEFAULT_INFORMER_TIMINGS, resyncMs: this.o.config.resyncMs };
    const namespaces = this.o.config.watchNamespaces;
    if (namespaces.length > 1) {
      throw new Error('LATHE_WATCH_NAMESPACES: watching several namespaces is not supported yet; give one namespace or none (all)');
    }
    const inf = new ResilientInformer<T>({
      name,
      listWatch: apiListWatch<T>(this.o.client, { resource, ...(namespaces[0] ? { namespace: namespaces[0] } : {}), ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) }),
      logger: this.o.logger,
      registry: this.registry,
      metrics: this.registry,
      // Slim first, then share the strings that repeat across the cache (k8s/shared-strings.ts).
      transform: (obj) => this.strings.shareIn(transform(obj)),
      ...timings,
    });
    this.informers.push(inf as unknown as ResilientInformer<KubernetesObject>);
    return inf;
  }

  /** Builds informers and controllers; `start` runs them. */
  async start(): Promise<void> {
    const { config, logger } = this.o;
    const managed = `${LABELS.managedBy}=${MANAGED_BY}`;
    const runs = this.informer<TrainingRun>('trainingruns', RESOURCES.trainingRuns);
    const services = this.informer<InferenceService>('inferenceservices', RESOURCES.inferenceServices);
    // Children are cached slim (k8s/slim.ts): the reconcilers re-render them and read only status.
    const jobs = this.informer<V1Job>('jobs', RESOURCES.jobs, managed, slimJob);
    const pods = this.informer<V1Pod>('pods', RESOURCES.pods, LABELS.trainingRun, slimPod);
    // A Job that cannot create pods says why only in its Events (pod-create-failure.ts).
    const jobEvents = this.informer<CoreV1Event>('job-events', RESOURCES.events, undefined, slimEvent, JOB_FAILED_CREATE_EVENTS);
    const deployments = this.informer<V1Deployment>('deployments', RESOURCES.deployments, managed, slimDeployment);
    const kubeServices = this.informer<V1Service>('services', RESOURCES.services, managed, slimToMetadata);
    const hpas = this.informer<V2HorizontalPodAutoscaler>('hpas', RESOURCES.horizontalPodAutoscalers, managed, slimToMetadata);

    const trQueue = new WorkQueue({ name: 'trainingrun', registry: this.registry });
    const isQueue = new WorkQueue({ name: 'inferenceservice', registry: this.registry });
    const tr = new TrainingRunReconciler({ config, writer: this.writer, store: this.store, events: this.events, logger: logger.child({ controller: 'trainingrun' }), runs, jobs, pods, jobEvents, burst: this.burst });
    const is = new InferenceServiceReconciler({
      config,
      writer: this.writer,
      events: this.events,
      logger: logger.child({ controller: 'inferenceservice' }),
      services,
      runs,
      deployments,
      kubeServices,
      hpas,
    });

    // Handlers only enqueue keys; all the work happens in reconcile.
    const enqueueRun = (obj: TrainingRun) => {
      tr.observeRun(obj);
      trQueue.add(objectKey(obj));
    };
    // Services serving a run, and runs starting from its model, wait on its phase: they are
    // re-queued when that phase changes (or a run appears after the first list), not on every
    // status write or resync.
    const dependents = new ModelDependents();
    const enqueueDependents = (obj: TrainingRun) => {
      for (const k of is.servicesReferencing(obj.metadata.namespace!, obj.metadata.name!)) isQueue.add(k);
      for (const k of dependents.of(obj.metadata.namespace!, obj.metadata.name!)) trQueue.add(k);
    };
    runs.on('add', (obj) => {
      dependents.set(obj);
      enqueueRun(obj);
      if (runs.hasSynced()) enqueueDependents(obj);
    });
    runs.on('update', (old, obj) => {
      dependents.set(obj);
      enqueueRun(obj);
      if (old.status?.phase !== obj.status?.phase) enqueueDependents(obj);
    });
    runs.on('delete', (obj) => {
      dependents.delete(obj);
      trQueue.add(objectKey(obj));
      enqueueDependents(obj);
    });
    const enqueueOwnerRun = (obj: KubernetesObject) => {
      const k = ownerRunKey(obj);
      if (k) trQueue.add(k);
    };
    for (const inf of [jobs, pods] as ResilientInformer<KubernetesObject>[]) {
      inf.on('add', enqueueOwnerRun);
      inf.on('update', (_o, obj) => enqueueOwnerRun(obj));
      inf.on('delete', enqueueOwnerRun);
    }
    const enqueueEventJobRun = (e: CoreV1Event) => {
      const job = jobs.get(e.involvedObject.namespace ?? e.metadata?.namespace, e.involvedObject.name ?? '');
      if (job) enqueueOwnerRun(job);
    };
    jobEvents.on('add', enqueueEventJobRun);
    jobEvents.on('update', (_o, e) => enqueueEventJobRun(e));
    const enqueueService = (obj: InferenceService) => {
      is.observeService(obj);
      isQueue.add(objectKey(obj));
    };
    services.on('add', enqueueService);
    services.on('update', (_old, obj) => enqueueService(obj));
    services.on('delete', (obj) => isQueue.add(objectKey(obj)));
    const enqueueOwnerService = (obj: KubernetesObject) => {
      const name = obj.metadata?.labels?.[LABELS.inferenceService];
      if (name && obj.metadata?.namespace) isQueue.add(keyOf(obj.metadata.namespace, name));
    };
    for (const inf of [deployments, kubeServices, hpas] as ResilientInformer<KubernetesObject>[]) {
      inf.on('add', enqueueOwnerService);
      inf.on('update', (_o, obj) => enqueueOwnerService(obj));
      inf.on('delete', enqueueOwnerService);
    }

    this.controllers.push(
      new Controller({ name: 'trainingrun', queue: trQueue, reconcile: (k) => tr.reconcile(k), logger, workers: config.workers, registry: this.registry }),
      new Controller({ name: 'inferenceservice', queue: isQueue, reconcile: (k) => is.reconcile(k), logger, workers: config.workers, registry: this.registry }),
    );

    this.health.addReadinessCheck({ name: 'informers-synced', check: () => this.informers.every((i) => i.hasSynced()) });
    this.health.addReadinessCheck({ name: 'aws-access', informational: true, check: () => this.aws?.bucketReachable ?? false });
    this.health.addLivenessCheck({ name: 'informers', check: () => true });
    await this.health.start();
    void this.checkAws();

    // Caches fill before leadership is won, so a standby takes over with warm caches.
    await Promise.all(this.informers.map((i) => i.start()));
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
    await Promise.all(this.informers.map((i) => i.stop()));
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
