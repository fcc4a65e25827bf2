// The InferenceService reconciler without a cluster: the rollback of a stalled model change to the
// template that last served, the hold that keeps it rolled back for that generation, and an edit of
// the spec trying again.
import type { V1Deployment, V1Ingress, V1ReplicaSet, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { HttpRoute } from '../k8s/gateway-api.js';
import type { NetworkPolicy } from '../k8s/network-policy.js';
import { describe, expect, it } from 'vitest';
import { FakeWriter, MemoryCache, RecordingEvents, TestClock } from '../../../test/support/fakes.js';
import { T0, makeInferenceService, makeTrainingRun } from '../../../test/support/builders.js';
import type { InferenceService, InferenceServiceStatus } from '../api/schema/inferenceservice.js';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { configWith } from '../../../test/support/config.js';
import { ANNOTATIONS, LABELS } from '../k8s/labels.js';
import { silentLogger } from '../runtime/logger.js';
import { InferenceServiceReconciler } from './reconciler.js';
import { render } from './render.js';
import { KubeApiError } from '../client/errors.js';

const V1 = 's3://lathe-artifacts/models/m/v1/checkpoint/';
const V2 = 's3://lathe-artifacts/models/m/v2/checkpoint/';
const KEY = 'ml/chat';

function deploymentServing(model: string, status: NonNullable<V1Deployment['status']>): V1Deployment {
  return {
    metadata: { name: 'chat', namespace: 'ml', generation: 4, labels: { [LABELS.inferenceService]: 'chat' } },
    spec: { replicas: 1, selector: {}, template: { metadata: { annotations: { [ANNOTATIONS.modelUri]: model } } } },
    status: { observedGeneration: 4, ...status },
  };
}

const stalled = { replicas: 1, updatedReplicas: 1, readyReplicas: 0, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] };

function harness(isvc: InferenceService, deployment: V1Deployment, o: { gatewayApi?: boolean; networkPolicies?: boolean; scrape?: (url: string) => Promise<string> } = {}) {
  const clock = new TestClock(T0.getTime());
  const services = new MemoryCache<InferenceService>([isvc]);
  const deployments = new MemoryCache<V1Deployment>([deployment]);
  const runs = new MemoryCache<TrainingRun>();
  const hpas = new MemoryCache<V2HorizontalPodAutoscaler>();
  const ingresses = new MemoryCache<V1Ingress>();
  const httpRoutes = o.gatewayApi ? new MemoryCache<HttpRoute>() : undefined;
  const networkPolicies = o.networkPolicies ? new MemoryCache<NetworkPolicy>() : undefined;
  const writer = new FakeWriter(clock.now);
  // The ReplicaSet that served v1: what a rollback restores (as `kubectl rollout undo`).
  const v1Set: V1ReplicaSet = {
    metadata: { name: 'chat-v1', annotations: { 'deployment.kubernetes.io/revision': '3' } },
    spec: { selector: {}, template: { metadata: { labels: { app: 'chat', 'pod-template-hash': 'abc' }, annotations: { [ANNOTATIONS.modelUri]: V1, marker: 'v1-template' } }, spec: { containers: [] } } },
  };
  writer.server.set('/apis/apps/v1/namespaces/ml/replicasets', { items: [v1Set] });
  const events = new RecordingEvents();
  const reconciler = new InferenceServiceReconciler({
    config: configWith({ gatewayApi: o.gatewayApi ?? false, networkPolicies: o.networkPolicies ?? false }),
    writer,
    events,
    logger: silentLogger(),
    services,
    runs,
    deployments,
    kubeServices: new MemoryCache<V1Service>(),
    hpas,
    ingresses,
    ...(httpRoutes ? { httpRoutes } : {}),
    ...(networkPolicies ? { networkPolicies } : {}),
    ...(o.scrape ? { scrape: o.scrape } : {}),
    now: clock.now,
  });
  const deploymentWrites = () => writer.writesOf('apply', 'Deployment').map((w) => w.body as V1Deployment);
  const last = () => writer.writesOf('apply', 'InferenceService/status').at(-1)?.body as InferenceServiceStatus | undefined;
  const cond = (type: string) => last()?.conditions?.find((c) => c.type === type);
  return { clock, services, deployments, runs, hpas, ingresses, httpRoutes, networkPolicies, writer, events, reconciler, deploymentWrites, last, cond };
}

describe('InferenceServiceReconciler', () => {
  it('rolls a stalled model change back to the template that last served, and says so', async () => {
    const isvc = makeInferenceService('chat').model(V2).generation(2).status({ lastReadyModelUri: V1, observedGeneration: 1 }).obj();
    const h = harness(isvc, deploymentServing(V2, stalled));
    await h.reconciler.reconcile(KEY);
    const [applied] = h.deploymentWrites();
    expect(applied!.spec!.template.metadata!.annotations).toMatchObject({ [ANNOTATIONS.modelUri]: V1, marker: 'v1-template' });
    expect(applied!.spec!.template.metadata!.labels!['pod-template-hash']).toBeUndefined();
    expect(h.cond('RolledBack')).toMatchObject({ status: 'True', reason: 'ProgressDeadlineExceeded', observedGeneration: 2 });
    expect(h.cond('Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expect(h.last()).toMatchObject({ servingModelUri: V1, modelUri: V2 });
    expect(h.events.events.find((e) => e.reason === 'RolledBack')).toMatchObject({ type: 'Warning', message: expect.stringContaining(`rolled back to ${V1}`) });
  });

  it('holds the rollback for that generation (no re-apply of the broken model), and an edit tries again', async () => {
    const rolledBack = {
      lastReadyModelUri: V1,
      observedGeneration: 2,
      conditions: [{ type: 'RolledBack', status: 'True' as const, reason: 'ProgressDeadlineExceeded', message: 'rolled back', observedGeneration: 2, lastTransitionTime: T0.toISOString() }],
    };
    const serving = { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
    const h = harness(makeInferenceService('chat').model(V2).generation(2).status(rolledBack).obj(), deploymentServing(V1, serving));
    await h.reconciler.reconcile(KEY);
    await h.reconciler.reconcile(KEY);
    expect(h.deploymentWrites()).toEqual([]);
    expect(h.cond('Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });

    // The user edits the spec (a new generation): the new model is applied again.
    h.services.set(makeInferenceService('chat').model(V2).generation(3).status(rolledBack).obj());
    await h.reconciler.reconcile(KEY);
    expect(h.deploymentWrites().map((d) => d.spec!.template.metadata!.annotations![ANNOTATIONS.modelUri])).toEqual([V2]);
    expect(h.cond('RolledBack')).toMatchObject({ status: 'False', reason: 'NewGeneration' });
  });

  it('never serves a failed TrainingRun: no Deployment, Stalled, and the run\'s message', async () => {
    const isvc = makeInferenceService('chat').obj();
    isvc.spec.model = { trainingRun: 'broken' };
    const h = harness(isvc, deploymentServing(V1, { replicas: 0 }));
    h.deployments.delete('ml', 'chat');
    h.runs.set(makeTrainingRun('broken').status({ phase: 'Failed', message: 'the trainer rejected its input (exit code 2)' }).obj());
    await h.reconciler.reconcile(KEY);
    expect(h.deploymentWrites()).toEqual([]);
    expect(h.cond('Stalled')).toMatchObject({ status: 'True', reason: 'TrainingRunFailed' });
    expect(h.last()?.message).toContain('TrainingRun broken failed (the trainer rejected its input (exit code 2)); there is no model to serve');
  });

  it('removes the autoscaler when replicas.max drops to replicas.min', async () => {
    const isvc = makeInferenceService('chat').model(V1).obj();
    const h = harness(isvc, deploymentServing(V1, { replicas: 1, updatedReplicas: 1, readyReplicas: 1 }));
    h.hpas.set({ metadata: { name: 'chat', namespace: 'ml', labels: { [LABELS.inferenceService]: 'chat' } } });
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writesOf('delete', 'HorizontalPodAutoscaler').map((w) => w.name)).toEqual(['chat']);
  });

  it('shows a Deployment the API server refuses, and keeps saying what still serves', async () => {
    const isvc = makeInferenceService('chat').model(V2).status({ lastReadyModelUri: V1, observedGeneration: 1 }).obj();
    const h = harness(isvc, deploymentServing(V1, { replicas: 1, updatedReplicas: 1, readyReplicas: 1 }));
    h.writer.refuse.set('Deployment', new KubeApiError(422, { reason: 'Invalid', message: 'Deployment.apps "chat" is invalid: spec.template.spec.containers[0].env[3]: Duplicate value' }));
    expect(await h.reconciler.reconcile(KEY)).toEqual({ requeueAfterMs: 60_000 });
    expect(h.cond('Stalled')).toMatchObject({ status: 'True', reason: 'ChildRejected' });
    expect(h.last()).toMatchObject({ servingModelUri: V1, message: expect.stringContaining('the API server refused a child of this service: Deployment.apps "chat" is invalid') });
  });

  describe('spec.expose', () => {
    const serving = { replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 };
    const exposed = (expose: InferenceService['spec']['expose'], generation = 1) => {
      const isvc = makeInferenceService('chat').model(V1).generation(generation).obj();
      isvc.spec.expose = expose;
      return isvc;
    };
    /** What the informer would cache after an apply: the object as written, with the controller's status. */
    const cached = <T extends { metadata?: object }>(body: unknown, status?: object): T => ({ ...(body as T), ...(status ? { status } : {}) });

    it('applies the Ingress once, shows the URL once the controller publishes an address, and deletes it when expose is removed', async () => {
      const h = harness(exposed({ ingress: { className: 'alb', host: 'chat.models.example.com', tls: {} } }), deploymentServing(V1, serving));
      await h.reconciler.reconcile(KEY);
      const [applied] = h.writer.writesOf('apply', 'Ingress');
      expect(applied!.body).toMatchObject({ metadata: { name: 'chat', annotations: { 'alb.ingress.kubernetes.io/target-type': 'ip', 'lathe.dev/applied-hash': expect.any(String) } } });
      expect(h.cond('Exposed')).toMatchObject({ status: 'False', reason: 'WaitingForAddress' });
      expect(h.last()!.externalUrl).toBeUndefined();
      // Serving is not held up by the load balancer.
      expect(h.cond('Ready')).toMatchObject({ status: 'True' });

      // The ALB controller publishes its address: no new apply, the URL in status.
      h.ingresses.set(cached<V1Ingress>(applied!.body, { loadBalancer: { ingress: [{ hostname: 'internal-k8s-ml-chat-1.us-east-1.elb.amazonaws.com' }] } }));
      await h.reconciler.reconcile(KEY);
      expect(h.writer.writesOf('apply', 'Ingress')).toHaveLength(1);
      expect(h.last()!.externalUrl).toBe('https://chat.models.example.com');
      expect(h.cond('Exposed')).toMatchObject({ status: 'True', reason: 'AddressPublished', message: expect.stringContaining('internal-k8s-ml-chat-1') });
      // At rest: neither the Ingress nor status is written again.
      const writes = () => h.writer.writes.filter((w) => w.kind === 'Ingress' || w.kind === 'InferenceService/status').length;
      const before = writes();
      h.services.set({ ...h.services.get('ml', 'chat')!, status: h.last() });
      await h.reconciler.reconcile(KEY);
      expect(writes()).toBe(before);

      // expose removed: the Ingress is deleted, the URL and the condition leave status.
      h.services.set({ ...exposed(undefined, 2), status: h.last() });
      await h.reconciler.reconcile(KEY);
      expect(h.writer.writesOf('delete', 'Ingress').map((w) => w.name)).toEqual(['chat']);
      expect(h.last()!.externalUrl).toBeUndefined();
      expect(h.cond('Exposed')).toBeUndefined();
    });

    it('without LATHE_GATEWAY_API says an HTTPRoute needs it, and applies none', async () => {
      const h = harness(exposed({ httpRoute: { parentRefs: [{ name: 'public', namespace: 'gateway-system' }], hostnames: ['chat.models.example.com'] } }), deploymentServing(V1, serving));
      await h.reconciler.reconcile(KEY);
      expect(h.writer.writesOf('apply', 'HTTPRoute')).toEqual([]);
      expect(h.cond('Exposed')).toMatchObject({ status: 'False', reason: 'GatewayAPIDisabled', message: expect.stringContaining('LATHE_GATEWAY_API=true') });
    });

    it('with LATHE_GATEWAY_API applies the HTTPRoute, shows the URL once a Gateway accepts it, and swaps it for an Ingress', async () => {
      const spec = { httpRoute: { parentRefs: [{ name: 'public', namespace: 'gateway-system' }], hostnames: ['chat.models.example.com'], path: '/v1' } };
      const h = harness(exposed(spec), deploymentServing(V1, serving), { gatewayApi: true });
      await h.reconciler.reconcile(KEY);
      const [applied] = h.writer.writesOf('apply', 'HTTPRoute');
      expect(applied!.body).toMatchObject({ apiVersion: 'gateway.networking.k8s.io/v1', spec: { parentRefs: [{ name: 'public', namespace: 'gateway-system', kind: 'Gateway' }] } });
      expect(h.cond('Exposed')).toMatchObject({ status: 'False', reason: 'WaitingForGateway' });
      h.httpRoutes!.set(cached<HttpRoute>(applied!.body, { parents: [{ parentRef: { name: 'public', namespace: 'gateway-system' }, conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted' }] }] }));
      await h.reconciler.reconcile(KEY);
      expect(h.last()!.externalUrl).toBe('https://chat.models.example.com/v1');
      expect(h.cond('Exposed')).toMatchObject({ status: 'True', reason: 'RouteAccepted' });

      h.services.set({ ...exposed({ ingress: {} }, 2), status: h.last() });
      await h.reconciler.reconcile(KEY);
      expect(h.writer.writesOf('delete', 'HTTPRoute').map((w) => w.name)).toEqual(['chat']);
      expect(h.writer.writesOf('apply', 'Ingress')).toHaveLength(1);
    });

    it('shows an Ingress the API server refuses like any refused child', async () => {
      const h = harness(exposed({ ingress: { className: 'nginx' } }), deploymentServing(V1, serving));
      h.writer.refuse.set('Ingress', new KubeApiError(422, { reason: 'Invalid', message: 'Ingress.networking.k8s.io "chat" is invalid: metadata.annotations: Forbidden' }));
      expect(await h.reconciler.reconcile(KEY)).toEqual({ requeueAfterMs: 60_000 });
      expect(h.cond('Stalled')).toMatchObject({ status: 'True', reason: 'ChildRejected' });
      expect(h.last()!.message).toContain('Ingress.networking.k8s.io "chat" is invalid');
    });
  });

  it('applies the serving pods\' NetworkPolicy with LATHE_NETWORK_POLICIES, once', async () => {
    const h = harness(makeInferenceService('chat').model(V1).obj(), deploymentServing(V1, { replicas: 1, updatedReplicas: 1, readyReplicas: 1 }), { networkPolicies: true });
    await h.reconciler.reconcile(KEY);
    const [np] = h.writer.writesOf('apply', 'NetworkPolicy');
    expect(np!.body).toMatchObject({ metadata: { name: 'chat', namespace: 'ml' }, spec: { podSelector: { matchLabels: { 'lathe.dev/inference-service': 'chat' } }, policyTypes: ['Ingress'] } });
    h.networkPolicies!.set(np!.body as NetworkPolicy);
    await h.reconciler.reconcile(KEY);
    expect(h.writer.writesOf('apply', 'NetworkPolicy')).toHaveLength(1);
  });
});

describe('a canary rollout (spec.rollout.strategy Canary)', () => {
  const config = configWith({ gatewayApi: false, networkPolicies: false });
  const canaryService = (model: string, generation: number, steps: { weight: number; hold?: boolean }[] = [{ weight: 10 }, { weight: 50 }]) => {
    const isvc = makeInferenceService('chat').model(model).replicas(4).generation(generation).status({ lastReadyModelUri: V1, observedGeneration: generation - 1 }).obj();
    isvc.spec.rollout = { strategy: 'Canary', steps, stepDuration: '60s', analysis: { maxErrorRate: 0.05, minRequests: 10 } };
    return isvc;
  };
  /** The stable Deployment as the cluster has it: rendered for `model`, all pods ready. */
  const serving = (model: string, replicas = 4) => {
    const d = render({ isvc: canaryService(model, 1), modelUri: model, config }).deployment;
    return { ...d, metadata: { ...d.metadata, generation: 2 }, status: { observedGeneration: 2, replicas, updatedReplicas: replicas, readyReplicas: replicas } };
  };
  /** The canary pods' /metrics: `ok` 200s and `failed` 500s of /v1/completions, all fast. */
  let ok = 0;
  let failed = 0;
  const scrapes: string[] = [];
  const scrape = (url: string) => {
    scrapes.push(url);
    const n = ok + failed;
    return Promise.resolve(
      [
        `lathe_requests_total{code="200",method="POST",route="/v1/completions"} ${ok}`,
        `lathe_requests_total{code="500",method="POST",route="/v1/completions"} ${failed}`,
        `lathe_request_duration_seconds_bucket{le="0.5",route="/v1/completions"} ${n}`,
        `lathe_request_duration_seconds_bucket{le="+Inf",route="/v1/completions"} ${n}`,
      ].join('\n'),
    );
  };
  /** The canary as the Deployment controller reports it after the last apply: ready, one pod IP each. */
  const canaryReady = (h: ReturnType<typeof harness>) => {
    const applied = h.writer.writesOf('apply', 'Deployment').filter((w) => w.name === 'chat-canary').at(-1)!.body as V1Deployment;
    const n = applied.spec!.replicas!;
    h.deployments.set({ ...applied, metadata: { ...applied.metadata, generation: 1 }, status: { observedGeneration: 1, replicas: n, updatedReplicas: n, readyReplicas: n } });
    const pods = Array.from({ length: n }, (_, i) => ({ metadata: { name: `chat-canary-${i}` }, status: { phase: 'Running', podIP: `10.222.0.${10 + i}`, conditions: [{ type: 'Ready', status: 'True' }] } }));
    h.writer.server.set('/api/v1/namespaces/ml/pods', { items: pods });
  };
  const step = async (h: ReturnType<typeof harness>, seconds: number) => {
    h.clock.advance(seconds * 1000);
    return h.reconciler.reconcile(KEY);
  };
  const canaryWrites = (h: ReturnType<typeof harness>) => h.deploymentWrites().filter((d) => d.metadata!.name === 'chat-canary');
  const stableWrites = (h: ReturnType<typeof harness>) => h.deploymentWrites().filter((d) => d.metadata!.name === 'chat');

  it('a good canary runs beside the stable pods at 10% then 50% and is promoted, each step\'s figures in status', async () => {
    ok = 0;
    failed = 0;
    scrapes.length = 0;
    const h = harness(canaryService(V2, 2), serving(V1), { scrape });
    expect(await h.reconciler.reconcile(KEY)).toEqual({ requeueAfterMs: 5000 });
    // The canary: the new model, its own selector with the service's label, one pod beside four.
    const [first] = canaryWrites(h);
    expect(first!.spec!.replicas).toBe(1);
    expect(first!.spec!.selector.matchLabels).toEqual({ 'lathe.dev/inference-service': 'chat', 'lathe.dev/track': 'canary' });
    expect(first!.spec!.template.metadata!.annotations![ANNOTATIONS.modelUri]).toBe(V2);
    expect(first!.metadata!.ownerReferences![0]).toMatchObject({ kind: 'InferenceService', name: 'chat', controller: true });
    expect(stableWrites(h)).toEqual([]);
    expect(h.last()!.rollout).toMatchObject({ phase: 'Starting', step: 0, canaryWeight: 10, canaryShare: 20, canaryReplicas: 1, stableReplicas: 4 });
    expect(h.cond('Ready')).toMatchObject({ status: 'False', reason: 'CanaryProgressing' });
    expect(h.cond('Progressing')).toMatchObject({ status: 'True', reason: 'CanaryProgressing' });
    expect(h.last()).toMatchObject({ servingModelUri: V1, stableModel: { uri: V1 }, canaryModel: { uri: V2 } });
    expect(h.events.reasons()).toContain('CanaryStarted');

    canaryReady(h);
    await step(h, 5);
    expect(h.last()!.rollout).toMatchObject({ phase: 'Running', step: 0 });
    expect(scrapes.at(-1)).toBe('http://10.222.0.10:8080/metrics');
    ok = 40;
    await step(h, 61);
    expect(h.last()!.rollout).toMatchObject({ phase: 'Starting', step: 1 });
    expect(h.last()!.rollout!.steps![0]).toMatchObject({ verdict: 'Passed', weight: 10, share: 20, requests: 40, errorRate: 0 });
    // Step 2: 50% is as many canary pods as stable ones.
    expect(canaryWrites(h).at(-1)!.spec!.replicas).toBe(4);
    canaryReady(h);
    await step(h, 5);
    ok = 140;
    failed = 1;
    await step(h, 61);
    expect(h.last()!.rollout).toMatchObject({ phase: 'Promoting' });
    // Four canary pods, each answering the page above: their counts summed.
    expect(h.last()!.rollout!.steps![1]).toMatchObject({ verdict: 'Passed', share: 50, requests: 4 * 101 });
    // Promotion: the stable Deployment takes the canary's template; the canary serves meanwhile.
    const [promoted] = stableWrites(h);
    expect(promoted!.spec!.template.metadata!.annotations![ANNOTATIONS.modelUri]).toBe(V2);
    expect(h.writer.writesOf('delete', 'deployments')).toEqual([]);
    h.deployments.set({ ...promoted!, metadata: { ...promoted!.metadata, generation: 3 }, status: { observedGeneration: 3, replicas: 4, updatedReplicas: 4, readyReplicas: 4 } });
    await step(h, 5);
    expect(h.writer.writesOf('delete', 'deployments').map((w) => w.name)).toEqual(['chat-canary']);
    expect(h.last()).toMatchObject({ servingModelUri: V2, lastReadyModelUri: V2, stableModel: { uri: V2 }, rollout: { phase: 'Succeeded' } });
    expect(h.last()!.canaryModel).toBeUndefined();
    expect(h.last()!.rollout!.canaryShare).toBeUndefined();
    expect(h.cond('Ready')).toMatchObject({ status: 'True' });
    expect(h.events.reasons()).toEqual(expect.arrayContaining(['CanaryStepPassed', 'CanaryPromoted']));
  });

  it('a canary answering 5xx above the bound is rolled back within its first step: deleted, the stable never touched, Degraded', async () => {
    ok = 0;
    failed = 0;
    const h = harness(canaryService(V2, 2), serving(V1), { scrape });
    await h.reconciler.reconcile(KEY);
    canaryReady(h);
    await step(h, 5);
    ok = 8;
    failed = 4;
    expect(await step(h, 10)).toEqual({});
    expect(h.writer.writesOf('delete', 'deployments').map((w) => w.name)).toEqual(['chat-canary']);
    expect(h.cond('RolledBack')).toMatchObject({ status: 'True', reason: 'CanaryAnalysisFailed', observedGeneration: 2 });
    expect(h.cond('Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expect(h.cond('Stalled')).toMatchObject({ status: 'True' });
    expect(h.last()!.rollout!.steps![0]).toMatchObject({ verdict: 'Failed', requests: 12, errorRate: 0.3333 });
    expect(h.events.events.find((e) => e.reason === 'RolledBack')).toMatchObject({ type: 'Warning', message: expect.stringContaining('error rate 33.3% is above maxErrorRate 5.0%') });
    // Held for this generation: no canary again, no write of the stable Deployment.
    h.deployments.delete('ml', 'chat-canary');
    h.services.set({ ...h.services.get('ml', 'chat')!, status: h.last() });
    await step(h, 30);
    expect(canaryWrites(h)).toHaveLength(1);
    expect(stableWrites(h)).toEqual([]);
    expect(h.cond('Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });
  });

  it('the same model with another pod template (a new env) is a canary too, and its rollback holds', async () => {
    ok = 0;
    failed = 0;
    const isvc = canaryService(V1, 2);
    isvc.spec.runtime = { image: 'lathe.local/lathe-inference:local', env: [{ name: 'FAULT', value: '1' }] };
    const h = harness(isvc, serving(V1), { scrape });
    await h.reconciler.reconcile(KEY);
    expect(canaryWrites(h)).toHaveLength(1);
    canaryReady(h);
    await step(h, 5);
    failed = 20;
    await step(h, 5);
    h.deployments.delete('ml', 'chat-canary');
    await step(h, 5);
    expect(h.cond('Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expect(stableWrites(h)).toEqual([]);
  });

  it('a split held at 50% stays held across an operator restart (a new reconciler reading status)', async () => {
    ok = 0;
    failed = 0;
    const h = harness(canaryService(V2, 2, [{ weight: 50, hold: true }]), serving(V1), { scrape });
    await h.reconciler.reconcile(KEY);
    canaryReady(h);
    await step(h, 5);
    ok = 30;
    expect(await step(h, 61)).toEqual({ requeueAfterMs: 30_000 });
    expect(h.last()!.rollout).toMatchObject({ phase: 'Held', canaryShare: 50 });
    expect(h.cond('Ready')).toMatchObject({ status: 'False', reason: 'CanaryHeld' });
    // A new operator: only the status and the cluster carry the state.
    h.services.set({ ...h.services.get('ml', 'chat')!, status: h.last(), metadata: { ...h.services.get('ml', 'chat')!.metadata, resourceVersion: '99' } });
    const restarted = new InferenceServiceReconciler({
      config, writer: h.writer, events: h.events, logger: silentLogger(), services: h.services, runs: h.runs, deployments: h.deployments,
      kubeServices: new MemoryCache<V1Service>(), hpas: h.hpas, ingresses: h.ingresses, scrape, now: h.clock.now,
    });
    const writes = h.deploymentWrites().length;
    h.clock.advance(3600_000);
    ok = 3000;
    await restarted.reconcile(KEY);
    expect(h.last()!.rollout).toMatchObject({ phase: 'Held', canaryShare: 50, step: 0 });
    expect(h.deploymentWrites()).toHaveLength(writes);
  });

  it('a canary that cannot read its pods\' metrics waits, saying why, and is never promoted on no data', async () => {
    const h = harness(canaryService(V2, 2), serving(V1), { scrape: () => Promise.reject(new Error('connect ECONNREFUSED 10.222.0.10:8080')) });
    await h.reconciler.reconcile(KEY);
    canaryReady(h);
    await step(h, 5);
    await step(h, 120);
    expect(h.last()!.rollout).toMatchObject({ phase: 'Running', step: 0 });
    expect(h.last()!.rollout!.steps![0]).toMatchObject({ verdict: 'Waiting', message: expect.stringContaining('ECONNREFUSED') });
    expect(stableWrites(h)).toEqual([]);
  });

  it('without spec.rollout a new model still replaces the old in one rolling update, with no canary', async () => {
    const isvc = canaryService(V2, 2);
    delete isvc.spec.rollout;
    const h = harness(isvc, serving(V1));
    await h.reconciler.reconcile(KEY);
    expect(canaryWrites(h)).toEqual([]);
    expect(stableWrites(h).map((d) => d.spec!.template.metadata!.annotations![ANNOTATIONS.modelUri])).toEqual([V2]);
  });
});
