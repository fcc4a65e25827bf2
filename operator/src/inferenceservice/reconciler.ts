// The effectful half of the InferenceService controller: resolve the model, apply the children
// when they differ from what was last applied, detect a stalled rollout and roll back to the last
// model that was ready, and write status once per pass.
import type { KubernetesObject, V1Deployment, V1Ingress, V1PodTemplateSpec, V1ReplicaSet, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { CONDITION_TYPES, KINDS, PLURALS } from '../api/constants.js';
import type { InferenceService, InferenceServiceStatus, ModelVersion, RolloutStatus } from '../api/schema/inferenceservice.js';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import type { OperatorConfig } from '../config/operator-config.js';
import { findCondition, setCondition, type Condition } from '../k8s/conditions.js';
import type { EventRecorder } from '../runtime/events.js';
import type { HttpRoute } from '../k8s/gateway-api.js';
import type { KubeWriter } from '../k8s/kube-writer.js';
import type { NetworkPolicy } from '../k8s/network-policy.js';
import { ANNOTATIONS, LABELS } from '../k8s/labels.js';
import { CHILD_REJECTED, FAILED_CREATE, REJECTED_RETRY_MS, childRejection, deploymentCreateFailure } from '../k8s/pod-create-failure.js';
import { RESOURCES } from '../k8s/resources.js';
import { statusEqual } from '../k8s/status-equal.js';
import { StatusOverlay } from '../k8s/status-overlay.js';
import type { ReconcileResult } from '../runtime/controller.js';
import { objectKey, type ObjectCache } from '../runtime/informer.js';
import type { Logger } from '../runtime/logger.js';
import { gatewayApiDisabled, httpRouteExposure, ingressExposure, type Exposure } from './expose.js';
import type { InferenceServiceMetrics } from './metrics.js';
import { REASONS } from './reasons.js';
import { childName, render, replicaBounds, selectorString, serviceUrl, type RenderedService } from './render.js';
import { fetchScrape, readCanaryCounts, type Scrape } from './canary-metrics.js';
import { canaryName, renderCanary } from './render-canary.js';
import { ROLLOUT_REQUEUE_MS, decideRollout, isOngoing, type RolloutDecision } from './rollout.js';
import { splitReplicas } from './rollout-split.js';

/** Hash of the last applied object, so an unchanged pass costs no write at all. */
export const APPLIED_HASH = 'lathe.dev/applied-hash';


export interface InferenceServiceReconcilerDeps {
  config: OperatorConfig;
  writer: Pick<KubeWriter, 'list' | 'applyService' | 'applyDeployment' | 'applyHpa' | 'deleteHpa' | 'applyObject' | 'deleteObject' | 'applyStatus'>;
  events: Pick<EventRecorder, 'record'>;
  logger: Logger;
  services: ObjectCache<InferenceService>;
  runs: ObjectCache<TrainingRun>;
  deployments: ObjectCache<V1Deployment>;
  kubeServices: ObjectCache<V1Service>;
  hpas: ObjectCache<V2HorizontalPodAutoscaler>;
  ingresses: ObjectCache<V1Ingress>;
  /** Only with LATHE_GATEWAY_API: without it spec.expose.httpRoute is reported, not applied. */
  httpRoutes?: ObjectCache<HttpRoute>;
  /** Only with LATHE_NETWORK_POLICIES. */
  networkPolicies?: ObjectCache<NetworkPolicy>;
  /** lathe_inferenceservice_rollbacks_total (inferenceservice/metrics.ts); tests may leave it out. */
  metrics?: InferenceServiceMetrics;
  /** Reads a canary pod's /metrics (spec.rollout analysis); tests give their own. Default: fetch. */
  scrape?: Scrape;
  now?: () => Date;
}

/** How often a canary held for an A/B comparison is looked at (its analysis still guards it). */
const HELD_REQUEUE_MS = 30_000;

type Resolution = { uri: string; version: ModelVersion } | { reason: string; message: string; failed?: boolean };

export function hashOf(obj: object): string {
  return createHash('sha256').update(JSON.stringify(obj)).digest('hex').slice(0, 16);
}

function withHash<T extends { metadata?: { annotations?: Record<string, string> } }>(obj: T): T {
  const h = hashOf(obj);
  obj.metadata = { ...obj.metadata, annotations: { ...(obj.metadata?.annotations ?? {}), [APPLIED_HASH]: h } };
  return obj;
}

export class InferenceServiceReconciler {
  private readonly overlay = new StatusOverlay<InferenceServiceStatus>();
  private readonly now: () => Date;

  constructor(private readonly d: InferenceServiceReconcilerDeps) {
    this.now = d.now ?? (() => new Date());
  }

  observeService(isvc: InferenceService): void {
    this.overlay.observe(objectKey(isvc), isvc.metadata.resourceVersion);
  }

  /** Services that reference a run by name, for re-queueing when the run changes. */
  servicesReferencing(namespace: string, runName: string): string[] {
    return this.d.services
      .list(namespace)
      .filter((s) => s.spec.model.trainingRun === runName)
      .map((s) => objectKey(s));
  }

  async reconcile(k: string): Promise<ReconcileResult | void> {
    const [namespace, name] = k.split('/') as [string, string];
    const cached = this.d.services.get(namespace, name);
    if (!cached || cached.metadata.deletionTimestamp) {
      this.overlay.forget(k);
      return;
    }
    const current = this.overlay.current(k, cached.status, cached.metadata.resourceVersion);
    const isvc: InferenceService = { ...cached, status: current };
    const generation = isvc.metadata.generation ?? 0;
    const log = this.d.logger.child({ inferenceService: k });
    const now = this.now();
    const resolution = this.resolve(isvc);
    const deployment = this.d.deployments.get(namespace, childName(isvc));
    const deployedModel = deployment?.spec?.template.metadata?.annotations?.[ANNOTATIONS.modelUri];
    let conds: Condition[] = (current?.conditions) ?? [];
    const set = (type: string, status: 'True' | 'False', reason: string, message: string) => {
      conds = setCondition(conds, { type, status, reason, message, observedGeneration: generation }, now);
    };
    const status: InferenceServiceStatus = {
      observedGeneration: generation,
      url: serviceUrl(isvc),
      selector: selectorString(isvc),
      ...(current?.lastReadyModelUri ? { lastReadyModelUri: current.lastReadyModelUri } : {}),
      // The last canary rollout's figures stay until the next one.
      ...(current?.rollout ? { rollout: withoutLiveShare(current.rollout) } : {}),
    };

    if (!('uri' in resolution)) {
      set(CONDITION_TYPES.ModelResolved, 'False', resolution.reason, resolution.message);
      set(CONDITION_TYPES.Ready, 'False', resolution.reason, resolution.message);
      set(CONDITION_TYPES.Stalled, resolution.failed ? 'True' : 'False', resolution.reason, resolution.message);
      set(CONDITION_TYPES.Reconciling, resolution.failed ? 'False' : 'True', resolution.reason, resolution.message);
      status.message = resolution.message;
      this.fillFromDeployment(status, deployment);
      conds = this.fillExposure(isvc, status, conds, now);
      await this.writeStatus(isvc, current, { ...status, conditions: conds }, log);
      return;
    }
    const wanted = resolution.uri;
    status.modelUri = wanted;
    set(CONDITION_TYPES.ModelResolved, 'True', REASONS.Resolved, `serving ${wanted}`);

    // A rollback holds for the generation whose model failed; editing the spec tries again.
    const rolledBack = findCondition(conds, CONDITION_TYPES.RolledBack);
    let target = wanted;
    let rollingBackNow = false;
    let holdRollback = false;
    if (rolledBack?.status === 'True' && rolledBack.observedGeneration === generation && current?.lastReadyModelUri) {
      target = current.lastReadyModelUri;
      holdRollback = true;
    } else if (
      deployment &&
      deployedModel === wanted &&
      isStalled(deployment) &&
      current?.lastReadyModelUri &&
      current.lastReadyModelUri !== wanted
    ) {
      target = current.lastReadyModelUri;
      rollingBackNow = true;
    }

    // A rollback restores the pod template that last served (as `kubectl rollout undo` does), not
    // the new spec with the old model: whatever else changed with the model may be what broke it.
    let template: V1PodTemplateSpec | undefined;
    if (rollingBackNow) template = await this.lastReadyTemplate(namespace, childName(isvc), target);
    let rejected: ReturnType<typeof childRejection>;
    const rendered = render({ isvc, modelUri: target, config: this.d.config });
    const canaryMode = !holdRollback && !rollingBackNow && this.inCanaryRollout(isvc, current?.rollout, deployment, rendered);
    if (canaryMode) {
      try {
        return await this.reconcileCanary(isvc, current, resolution.version, rendered, deployment!, { status, conds: () => conds, set, log, now });
      } catch (err) {
        rejected = childRejection(err, 'a child of this service');
        if (!rejected) throw err;
      }
    }
    try {
      if (!rejected) {
        await this.applyChildren(isvc, target, log, { template, skipDeployment: holdRollback && deployment !== undefined, rendered });
        // No canary runs outside a canary rollout: the spec went back to the stable template, the
        // strategy changed, or the canary was rolled back.
        if (this.d.deployments.get(namespace, canaryName(isvc))) await this.d.writer.deleteObject(RESOURCES.deployments, namespace, canaryName(isvc));
      }
    } catch (err) {
      rejected = childRejection(err, 'a child of this service');
      if (!rejected) throw err;
    }
    if (rollingBackNow) {
      const msg = `model ${wanted} did not become ready within ${isvc.spec.progressDeadlineSeconds ?? 600}s; rolled back to ${target}`;
      set(CONDITION_TYPES.RolledBack, 'True', REASONS.ProgressDeadlineExceeded, msg);
      this.d.events.record(isvc, 'Warning', REASONS.RolledBack, msg);
      log.warn('rolled back', { from: wanted, to: target });
      this.d.metrics?.rollbacks.inc({ object_namespace: namespace });
    } else if (target === wanted && rolledBack && rolledBack.status === 'True' && rolledBack.observedGeneration !== generation) {
      set(CONDITION_TYPES.RolledBack, 'False', REASONS.NewGeneration, 'the spec changed since the last rollback');
    }

    this.fillFromDeployment(status, deployment);
    const rolledBackNow = findCondition(conds, CONDITION_TYPES.RolledBack);
    const createFailure = deploymentCreateFailure(deployment);
    const onTarget = deployment !== undefined && deployedModel === target && rolloutComplete(deployment, isvc);
    // kstatus: Ready, Progressing, Reconciling and Stalled of one state, with one reason.
    const state = (s: { ready: boolean; progressing: boolean; reconciling: boolean; stalled: boolean }, reason: string, message: string, reasons: { ready?: string; progressing?: string } = {}) => {
      const b = (v: boolean) => (v ? 'True' : 'False');
      set(CONDITION_TYPES.Ready, b(s.ready), reasons.ready ?? reason, message);
      set(CONDITION_TYPES.Progressing, b(s.progressing), reasons.progressing ?? reason, message);
      set(CONDITION_TYPES.Reconciling, b(s.reconciling), reason, message);
      set(CONDITION_TYPES.Stalled, b(s.stalled), reason, message);
    };
    if (rejected) {
      // Shown, not looped on: tried again after a while (an edit of the spec re-queues at once).
      status.message = rejected.message;
      if (current?.lastReadyModelUri) status.servingModelUri = current.lastReadyModelUri;
      state({ ready: false, progressing: false, reconciling: false, stalled: true }, CHILD_REJECTED, status.message);
    } else if (onTarget && target === wanted && !holdRollback) {
      status.servingModelUri = wanted;
      status.lastReadyModelUri = wanted;
      status.message = `${status.readyReplicas ?? 0} replica(s) ready, serving ${wanted}`;
      state({ ready: true, progressing: false, reconciling: false, stalled: false }, REASONS.Ready, status.message, { progressing: REASONS.RolloutComplete });
    } else if (rolledBackNow?.status === 'True' && rolledBackNow.observedGeneration === generation) {
      status.servingModelUri = target;
      status.message = rolledBackNow.message;
      state({ ready: false, progressing: false, reconciling: false, stalled: true }, REASONS.RolledBack, rolledBackNow.message);
    } else if (deployment && isStalled(deployment)) {
      status.message = `model ${wanted} did not become ready within the progress deadline and there is no earlier ready model to roll back to`;
      if (current?.lastReadyModelUri) status.servingModelUri = current.lastReadyModelUri;
      state({ ready: false, progressing: false, reconciling: false, stalled: true }, REASONS.ProgressDeadlineExceeded, status.message);
    } else if (createFailure) {
      // Its ReplicaSet cannot create pods (no ServiceAccount, quota, Pod Security): a person must act.
      status.message = createFailure.message;
      if (current?.lastReadyModelUri) status.servingModelUri = current.lastReadyModelUri;
      state({ ready: false, progressing: true, reconciling: false, stalled: true }, FAILED_CREATE, status.message);
    } else {
      const ready = status.readyReplicas ?? 0;
      status.message = `rolling out ${wanted}: ${ready} replica(s) ready`;
      if (current?.lastReadyModelUri) status.servingModelUri = current.lastReadyModelUri;
      state({ ready: false, progressing: true, reconciling: true, stalled: false }, REASONS.RollingOut, status.message, { ready: deployment ? REASONS.RollingOut : REASONS.Creating });
    }
    this.fillStableModel(status, current, resolution.version);
    conds = this.fillExposure(isvc, status, conds, now);
    await this.writeStatus(isvc, current, { ...status, conditions: conds }, log);
    return rejected ? { requeueAfterMs: REJECTED_RETRY_MS } : undefined;
  }

  /**
   * A canary rollout applies: strategy Canary, a stable Deployment that serves, and a new pod
   * template for it (or this template's rollout already under way, promotion included).
   */
  private inCanaryRollout(isvc: InferenceService, previous: RolloutStatus | undefined, stable: V1Deployment | undefined, rendered: RenderedService): boolean {
    if (isvc.spec.rollout?.strategy !== 'Canary' || !stable) return false;
    const want = rendered.deployment.metadata!.annotations![ANNOTATIONS.templateHash]!;
    if (isOngoing(previous, want)) return true;
    const have = stable.metadata?.annotations?.[ANNOTATIONS.templateHash];
    // A Deployment from before template hashes: the same model counts as the same template.
    const differs = have !== undefined ? have !== want : stable.spec?.template.metadata?.annotations?.[ANNOTATIONS.modelUri] !== rendered.deployment.spec!.template.metadata!.annotations![ANNOTATIONS.modelUri];
    return differs && rolloutComplete(stable, isvc);
  }

  /** One pass of a canary rollout (rollout.ts decides; this applies, reads the canary's metrics and reports). */
  private async reconcileCanary(
    isvc: InferenceService,
    current: InferenceServiceStatus | undefined,
    version: ModelVersion,
    rendered: RenderedService,
    stable: V1Deployment,
    c: { status: InferenceServiceStatus; conds: () => Condition[]; set: (type: string, status: 'True' | 'False', reason: string, message: string) => void; log: Logger; now: Date },
  ): Promise<ReconcileResult> {
    const namespace = isvc.metadata.namespace!;
    const spec = isvc.spec.rollout!;
    const want = rendered.deployment.metadata!.annotations![ANNOTATIONS.templateHash]!;
    const { min, autoscaling } = replicaBounds(isvc);
    const stableReplicas = autoscaling ? (stable.spec?.replicas ?? min) : min;
    const previous = isOngoing(current?.rollout, want) ? current.rollout : undefined;
    const canary = this.d.deployments.get(namespace, canaryName(isvc));
    const expected = previous && previous.step < (spec.steps?.length ?? 0) ? splitReplicas(stableReplicas, spec.steps![previous.step]!.weight).canary : previous?.canaryReplicas;
    const canaryReady =
      canary !== undefined &&
      canary.metadata?.annotations?.[ANNOTATIONS.templateHash] === want &&
      canary.spec?.replicas === expected &&
      (canary.status?.observedGeneration ?? 0) >= (canary.metadata?.generation ?? 0) &&
      (canary.status?.readyReplicas ?? 0) >= (expected ?? 1) &&
      (canary.status?.updatedReplicas ?? 0) >= (expected ?? 1) &&
      (canary.status?.replicas ?? 0) === (canary.status?.updatedReplicas ?? 0);
    let read: Awaited<ReturnType<typeof readCanaryCounts>> | undefined;
    if (canaryReady && previous?.phase !== 'Promoting') read = await readCanaryCounts(this.d.writer, this.d.scrape ?? fetchScrape, isvc);
    const decision: RolloutDecision = decideRollout({
      spec,
      previous,
      templateHash: want,
      stableReplicas,
      canary: { ready: canaryReady, stalled: canary !== undefined && isStalled(canary) },
      ...(read && 'counts' in read ? { counts: read.counts } : {}),
      ...(read && 'error' in read ? { countsError: read.error } : {}),
      stablePromoted: stable.metadata?.annotations?.[ANNOTATIONS.templateHash] === want && rolloutComplete(stable, isvc),
      progressDeadlineSeconds: isvc.spec.progressDeadlineSeconds ?? 600,
      now: c.now,
    });

    const { status, log } = c;
    const deleteCanary = async () => {
      if (canary) await this.d.writer.deleteObject(RESOURCES.deployments, namespace, canaryName(isvc));
    };
    const promoting = decision.action === 'promote' || decision.action === 'done';
    await this.applyChildren(isvc, version.uri, log, { skipDeployment: !promoting, rendered });
    if (decision.action === 'canary' || decision.action === 'promote') {
      const want = withHash(renderCanary(isvc, rendered.deployment, decision.canaryReplicas));
      if (canary?.metadata?.annotations?.[APPLIED_HASH] !== want.metadata!.annotations![APPLIED_HASH]) await this.d.writer.applyDeployment(want);
    } else {
      await deleteCanary();
    }
    if (decision.event) this.d.events.record(isvc, decision.event.type, decision.event.reason, decision.event.message);
    status.rollout = decision.rollout;
    this.fillFromDeployment(status, stable);
    if (canary && decision.action !== 'rollback' && decision.action !== 'done') {
      status.replicas = (status.replicas ?? 0) + (canary.status?.replicas ?? 0);
      status.readyReplicas = (status.readyReplicas ?? 0) + (canary.status?.readyReplicas ?? 0);
    }
    if (current?.lastReadyModelUri) status.servingModelUri = current.lastReadyModelUri;
    const message = decision.rollout.message ?? '';
    const b = (v: boolean) => (v ? 'True' : 'False');
    const state = (s: { ready: boolean; progressing: boolean; stalled: boolean }, reason: string, msg: string) => {
      c.set(CONDITION_TYPES.Ready, b(s.ready), reason, msg);
      c.set(CONDITION_TYPES.Progressing, b(s.progressing), reason, msg);
      c.set(CONDITION_TYPES.Reconciling, b(s.progressing), reason, msg);
      c.set(CONDITION_TYPES.Stalled, b(s.stalled), reason, msg);
    };
    let requeueAfterMs: number | undefined = ROLLOUT_REQUEUE_MS;
    if (decision.action === 'rollback') {
      c.set(CONDITION_TYPES.RolledBack, 'True', decision.rollbackReason!, message);
      log.warn('canary rolled back', { reason: decision.rollbackReason, message });
      this.d.metrics?.rollbacks.inc({ object_namespace: namespace });
      status.message = message;
      state({ ready: false, progressing: false, stalled: true }, REASONS.RolledBack, message);
      requeueAfterMs = undefined;
    } else if (decision.action === 'done') {
      status.servingModelUri = version.uri;
      status.lastReadyModelUri = version.uri;
      status.message = `${status.readyReplicas ?? 0} replica(s) ready, serving ${version.uri} (${message})`;
      state({ ready: true, progressing: false, stalled: false }, REASONS.Ready, status.message);
      c.set(CONDITION_TYPES.Progressing, 'False', REASONS.RolloutComplete, status.message);
      requeueAfterMs = undefined;
    } else {
      status.canaryModel = version;
      status.message = message;
      const held = decision.rollout.phase === 'Held';
      state({ ready: false, progressing: true, stalled: false }, held ? REASONS.CanaryHeld : REASONS.CanaryProgressing, message);
      if (held) requeueAfterMs = HELD_REQUEUE_MS;
    }
    if (decision.action === 'done') this.fillStableModel(status, current, version);
    else this.fillStableModel(status, current, undefined);
    const conds = this.fillExposure(isvc, status, c.conds(), c.now);
    await this.writeStatus(isvc, current, { ...status, conditions: conds }, log);
    return requeueAfterMs ? { requeueAfterMs } : {};
  }

  /** status.stableModel: the model the stable pods serve, with the run that made it when known. */
  private fillStableModel(status: InferenceServiceStatus, current: InferenceServiceStatus | undefined, wanted: ModelVersion | undefined): void {
    const serving = status.servingModelUri;
    if (!serving) return;
    if (wanted && wanted.uri === serving) status.stableModel = wanted;
    else if (current?.stableModel?.uri === serving) status.stableModel = current.stableModel;
    else status.stableModel = { uri: serving };
  }

  private resolve(isvc: InferenceService): Resolution {
    const model = isvc.spec.model;
    if (model.uri) return { uri: model.uri, version: { uri: model.uri } };
    const runName = model.trainingRun!;
    const run = this.d.runs.get(isvc.metadata.namespace, runName);
    if (!run) return { reason: REASONS.TrainingRunNotFound, message: `spec.model.trainingRun: TrainingRun ${runName} does not exist` };
    const phase = run.status?.phase;
    if (phase === 'Failed') {
      return { reason: REASONS.TrainingRunFailed, message: `spec.model.trainingRun: TrainingRun ${runName} failed (${run.status?.message ?? 'no message'}); there is no model to serve`, failed: true };
    }
    const uri = phase === 'Succeeded' ? run.status?.artifact?.uri : undefined;
    if (!uri) return { reason: REASONS.WaitingForTrainingRun, message: `waiting for TrainingRun ${runName} to succeed (it is ${phase ?? 'Pending'})` };
    const version: ModelVersion = { uri, trainingRun: runName };
    if (run.status?.runId) version.runId = run.status.runId;
    if (run.status?.artifact?.recordUri) version.recordUri = run.status.artifact.recordUri;
    return { uri, version };
  }

  /** The pod template of the newest ReplicaSet that served `modelUri`, as the Deployment had it. */
  private async lastReadyTemplate(namespace: string, name: string, modelUri: string): Promise<V1PodTemplateSpec | undefined> {
    const sets = await this.d.writer.list<V1ReplicaSet>(RESOURCES.replicaSets, namespace, `${LABELS.inferenceService}=${name}`);
    const candidates = sets
      .filter((rs) => rs.spec?.template?.metadata?.annotations?.[ANNOTATIONS.modelUri] === modelUri)
      .sort((a, b) => Number(b.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0) - Number(a.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0));
    const template = candidates[0]?.spec?.template;
    if (!template) return undefined;
    const labels = { ...(template.metadata?.labels ?? {}) };
    delete labels['pod-template-hash'];
    return { ...template, metadata: { ...template.metadata, labels } };
  }

  private async applyChildren(
    isvc: InferenceService,
    modelUri: string,
    log: Logger,
    opts: { template?: V1PodTemplateSpec; skipDeployment?: boolean; rendered?: RenderedService } = {},
  ): Promise<void> {
    const namespace = isvc.metadata.namespace!;
    const name = childName(isvc);
    const rendered = opts.rendered ? structuredClone(opts.rendered) : render({ isvc, modelUri, config: this.d.config });
    if (opts.template) rendered.deployment.spec!.template = opts.template;
    const changed = (have: { metadata?: { annotations?: Record<string, string> } } | undefined, want: object) =>
      have?.metadata?.annotations?.[APPLIED_HASH] !== hashOf(want);

    if (changed(this.d.kubeServices.get(namespace, name), rendered.service)) {
      await this.d.writer.applyService(withHash(rendered.service));
    }
    const deployment = this.d.deployments.get(namespace, name);
    if (!opts.skipDeployment && changed(deployment, rendered.deployment)) {
      await this.d.writer.applyDeployment(withHash(rendered.deployment));
      log.info('deployment applied', { model: modelUri });
    }
    const hpa = this.d.hpas.get(namespace, name);
    if (rendered.hpa) {
      if (changed(hpa, rendered.hpa)) await this.d.writer.applyHpa(withHash(rendered.hpa));
    } else if (hpa) {
      await this.d.writer.deleteHpa(namespace, name);
    }
    // spec.expose: applied while asked for, deleted when removed (or switched to the other kind).
    await this.syncChild(RESOURCES.ingresses, this.d.ingresses, namespace, name, rendered.ingress);
    if (this.d.httpRoutes) await this.syncChild(RESOURCES.httpRoutes, this.d.httpRoutes, namespace, name, rendered.httpRoute);
    if (this.d.networkPolicies) await this.syncChild(RESOURCES.networkPolicies, this.d.networkPolicies, namespace, name, rendered.networkPolicy);
  }

  /** Applies `want` when it differs from what was last applied; deletes what exists when nothing is wanted. */
  private async syncChild<T extends KubernetesObject>(resource: (typeof RESOURCES)[keyof typeof RESOURCES], cache: ObjectCache<T>, namespace: string, name: string, want: T | undefined): Promise<void> {
    const have = cache.get(namespace, name);
    if (want) {
      if (have?.metadata?.annotations?.[APPLIED_HASH] !== hashOf(want)) await this.d.writer.applyObject(resource, withHash(want));
    } else if (have) {
      await this.d.writer.deleteObject(resource, namespace, name);
    }
  }

  /** status.externalUrl and the Exposed condition from the Ingress's or HTTPRoute's status; neither without spec.expose. */
  private fillExposure(isvc: InferenceService, status: InferenceServiceStatus, conds: Condition[], now: Date): Condition[] {
    const expose = isvc.spec.expose;
    const name = childName(isvc);
    const namespace = isvc.metadata.namespace!;
    let exposure: Exposure | undefined;
    if (expose?.ingress) exposure = ingressExposure(expose.ingress, this.d.ingresses.get(namespace, name));
    else if (expose?.httpRoute) exposure = this.d.httpRoutes ? httpRouteExposure(expose.httpRoute, this.d.httpRoutes.get(namespace, name)) : gatewayApiDisabled(isvc);
    if (!exposure) return conds.filter((c) => c.type !== CONDITION_TYPES.Exposed);
    if (exposure.externalUrl) status.externalUrl = exposure.externalUrl;
    return setCondition(
      conds,
      { type: CONDITION_TYPES.Exposed, status: exposure.exposed ? 'True' : 'False', reason: exposure.reason, message: exposure.message, observedGeneration: isvc.metadata.generation ?? 0 },
      now,
    );
  }

  private fillFromDeployment(status: InferenceServiceStatus, deployment: V1Deployment | undefined): void {
    status.replicas = deployment?.status?.replicas ?? 0;
    status.readyReplicas = deployment?.status?.readyReplicas ?? 0;
  }

  private async writeStatus(isvc: InferenceService, current: InferenceServiceStatus | undefined, desired: InferenceServiceStatus, log: Logger): Promise<void> {
    if (current && statusEqual(current, desired)) return;
    const k = objectKey(isvc);
    const updated = await this.d.writer.applyStatus(PLURALS.InferenceService, KINDS.InferenceService, isvc.metadata.namespace!, isvc.metadata.name!, desired);
    this.overlay.wrote(k, desired, (updated.metadata as { resourceVersion?: string } | undefined)?.resourceVersion);
    const was = findCondition(current?.conditions, CONDITION_TYPES.Ready);
    const now = findCondition(desired.conditions, CONDITION_TYPES.Ready);
    if (now && (was?.status !== now.status || was?.reason !== now.reason)) {
      this.d.events.record(isvc, now.status === 'True' ? 'Normal' : 'Warning', now.status === 'True' ? REASONS.Ready : now.reason, now.message);
      log.info('ready', { status: now.status, reason: now.reason, message: now.message });
    }
  }
}

/** The last rollout's status without the live share, outside a canary rollout (the CANARY column is empty when no canary runs). */
function withoutLiveShare(r: RolloutStatus): RolloutStatus {
  const out = { ...r };
  delete out.canaryShare;
  delete out.canaryReplicas;
  return out;
}

/** The Deployment controller gave up on the rollout (progressDeadlineSeconds passed). */
export function isStalled(d: V1Deployment): boolean {
  return Boolean(d.status?.conditions?.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === REASONS.ProgressDeadlineExceeded));
}

/** All wanted replicas run the current template and are ready. */
export function rolloutComplete(d: V1Deployment, isvc: InferenceService): boolean {
  const s = d.status;
  if (!s || (s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return false;
  const { min, autoscaling } = replicaBounds(isvc);
  const wanted = autoscaling ? (d.spec?.replicas ?? min) : min;
  return (s.updatedReplicas ?? 0) >= wanted && (s.readyReplicas ?? 0) >= wanted && (s.replicas ?? 0) === (s.updatedReplicas ?? 0);
}
