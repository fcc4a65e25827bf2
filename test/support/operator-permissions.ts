// What the operator needs from the API server, derived from its code rather than written down:
// its own request code (the writer, the Event sink, the Lease lock, the informers' list/watch)
// runs against a client that records every request, and each request becomes the RBAC grant it
// needs. The chart test compares the chart's Roles with this, so a new call without a grant, or a
// grant nothing calls, fails there.
//
// What is driven, and how it is found:
// - informers: the controllers' own setups (trainingrun/controller.ts, inferenceservice/controller.ts)
//   run with a context that records every informer they ask for; each is built with the manager's
//   apiListWatch and listed and watched once.
// - writes: every method of KubeWriter (a method added without an entry in writerCalls() fails);
//   its generic reads (`exists`, `list`) and `applyStatus` with the resources and plurals named at
//   their call sites in operator/src.
// - Events: the Event sink's create, get (for aggregation) and count patch.
// - owner references: every child the two renders produce carries a controller reference with
//   blockOwnerDeletion; the OwnerReferencesPermissionEnforcement admission plugin (on in EKS) lets
//   only a user who may delete the child set them, and blockOwnerDeletion only one who may update
//   the owner's finalizers.
// - server-side apply of a whole object creates it when absent: patch and create.
// - the Lease: the leader-election lock's get, create and update.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { PLURALS } from '../../operator/src/api/constants.js';
import { CONTENT_TYPES, type KubeClient, type Query, type RequestOptions } from '../../operator/src/client/kube-client.js';
import type { ControllerContext, InformerSpec } from '../../operator/src/controller-context.js';
import { setupInferenceServiceController } from '../../operator/src/inferenceservice/controller.js';
import { render as renderService } from '../../operator/src/inferenceservice/render.js';
import { KubeWriter } from '../../operator/src/k8s/kube-writer.js';
import { RESOURCES } from '../../operator/src/k8s/resources.js';
import { kubeEventSink } from '../../operator/src/runtime/events.js';
import type { ResilientInformer } from '../../operator/src/runtime/informer.js';
import { kubeLeaseLock } from '../../operator/src/runtime/leader-election.js';
import { apiListWatch } from '../../operator/src/runtime/list-watch.js';
import { silentLogger } from '../../operator/src/runtime/logger.js';
import { BurstTracker } from '../../operator/src/trainingrun/burst.js';
import { setupTrainingRunController } from '../../operator/src/trainingrun/controller.js';
import { planRun } from '../../operator/src/trainingrun/plan.js';
import { render as renderRun } from '../../operator/src/trainingrun/render.js';
import { makeInferenceService, makeTrainingRun } from './builders.js';
import { repoRoot } from './cluster.js';
import { configWith } from './config.js';

/** One request as the API server authorizes it. */
export interface Request {
  method: string;
  path: string;
  contentType?: string;
  watch?: boolean;
}

/** `group/resource[/subresource]:verb`, the core group spelled `core`, as RBAC rules read. */
export type Grant = string;

const NS = 'ml';

/** A KubeClient that answers every request with an empty success and records it. */
export class RecordingClient {
  readonly requests: Request[] = [];

  request<T>(method: string, p: string, options: RequestOptions = {}): Promise<T> {
    this.requests.push({ method, path: p, ...(options.contentType ? { contentType: options.contentType } : {}) });
    const body = method === 'GET' ? { items: [], metadata: { resourceVersion: '1' } } : { metadata: { name: 'x', resourceVersion: '1' } };
    return Promise.resolve(body as T);
  }
  get<T>(p: string, query?: Query): Promise<T> {
    return this.request<T>('GET', p, { query });
  }
  create<T>(p: string, body: unknown): Promise<T> {
    return this.request<T>('POST', p, { body });
  }
  replace<T>(p: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', p, { body });
  }
  patch<T>(p: string, body: unknown, contentType: string): Promise<T> {
    return this.request<T>('PATCH', p, { body, contentType });
  }
  apply<T>(p: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', p, { body, contentType: CONTENT_TYPES.apply });
  }
  delete<T>(p: string): Promise<T> {
    return this.request<T>('DELETE', p);
  }
  watch(p: string): Promise<{ stop(): void }> {
    this.requests.push({ method: 'GET', path: p, watch: true });
    return Promise.resolve({ stop: () => undefined });
  }
  asKubeClient(): KubeClient {
    return this as unknown as KubeClient;
  }
}

/** The resource a request path names: `/api/v1/namespaces/ns/pods/name`, `/apis/g/v/plural/name/sub`, ... */
export function parsePath(p: string): { group: string; resource: string; subresource?: string; namespace?: string; name?: string } {
  const parts = p.split('?')[0]!.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api') {
    group = 'core';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    group = parts[1]!;
    rest = parts.slice(3);
  } else {
    throw new Error(`not a resource path: ${p}`);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  return { group, resource: resource!, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}), ...(subresource ? { subresource } : {}) };
}

/** The grants one request needs. */
export function grantsOf(r: Request): Grant[] {
  const { group, resource, subresource, name } = parsePath(r.path);
  const res = `${group}/${resource}${subresource ? `/${subresource}` : ''}`;
  switch (r.method) {
    case 'GET':
      return [`${res}:${r.watch ? 'watch' : name ? 'get' : 'list'}`];
    case 'POST':
      return [`${res}:create`];
    case 'PUT':
      return [`${res}:update`];
    case 'DELETE':
      return [`${res}:delete`];
    case 'PATCH':
      // Server-side apply of an absent object creates it (a subresource is never created).
      return r.contentType === CONTENT_TYPES.apply && !subresource ? [`${res}:patch`, `${res}:create`] : [`${res}:patch`];
    default:
      throw new Error(`unexpected method ${r.method} ${r.path}`);
  }
}

function operatorSources(dir = path.join(repoRoot, 'operator/src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return operatorSources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [readFileSync(p, 'utf8')] : [];
  });
}

/** The `RESOURCES.x` / `PLURALS.X` named as the first argument of `method(` in the operator's code. */
function callSiteArgs(sources: string[], method: string, table: 'RESOURCES' | 'PLURALS'): string[] {
  const re = new RegExp(`\\.${method}(?:<[^>(]*>)?\\(\\s*${table}\\.(\\w+)`, 'g');
  return [...new Set(sources.flatMap((s) => [...s.matchAll(re)].map((m) => m[1]!)))];
}

/** What each KubeWriter method is called with here; the generic ones get what their call sites pass. */
function writerCalls(
  sources: string[],
  run: ReturnType<typeof renderRun>,
  svc: ReturnType<typeof renderService>,
  routed: ReturnType<typeof renderService>,
  opts: { kueue: boolean; gatewayApi: boolean; networkPolicies: boolean },
): Record<string, ((w: KubeWriter) => Promise<unknown>)[]> {
  const { kueue } = opts;
  const resource = (k: string) => {
    const r = (RESOURCES as Record<string, (typeof RESOURCES)[keyof typeof RESOURCES]>)[k];
    if (!r) throw new Error(`RESOURCES.${k} is not in k8s/resources.ts`);
    return r;
  };
  const plural = (k: string) => (PLURALS as Record<string, string>)[k]!;
  return {
    exists: callSiteArgs(sources, 'exists', 'RESOURCES').map((k) => (w) => w.exists(resource(k), NS, 'x')),
    list: callSiteArgs(sources, 'list', 'RESOURCES').map((k) => (w) => w.list(resource(k), NS, 'a=b')),
    count: [], // runs the call it is given; every call it wraps is one of the others
    createJob: [(w) => w.createJob(run.job)],
    createService: run.service ? [(w) => w.createService(run.service!)] : [],
    patchJob: [(w) => w.patchJob(NS, run.job.metadata!.name!, { spec: { suspend: true } })],
    // Only with LATHE_KUEUE (the chart's kueue.enabled): suspend of a queued run.
    patchWorkload: kueue ? [(w) => w.patchWorkload(NS, 'job-r-1', { spec: { active: false } })] : [],
    applyDeployment: [(w) => w.applyDeployment(svc.deployment)],
    applyService: [(w) => w.applyService(svc.service)],
    applyHpa: [(w) => w.applyHpa(svc.hpa!)],
    deleteHpa: [(w) => w.deleteHpa(NS, svc.deployment.metadata!.name!)],
    applyStatus: callSiteArgs(sources, 'applyStatus', 'PLURALS').map((k) => (w) => w.applyStatus(plural(k), k, NS, 'x', {})),
    // The generic children: spec.expose's Ingress (always) or HTTPRoute (LATHE_GATEWAY_API),
    // applied and deleted when expose goes; NetworkPolicies (LATHE_NETWORK_POLICIES): a serving
    // pod's applied, a distributed run's created once.
    applyObject: [
      (w) => w.applyObject(RESOURCES.ingresses, svc.ingress!),
      ...(opts.gatewayApi ? [(w: KubeWriter) => w.applyObject(RESOURCES.httpRoutes, routed.httpRoute!)] : []),
      ...(opts.networkPolicies ? [(w: KubeWriter) => w.applyObject(RESOURCES.networkPolicies, svc.networkPolicy!)] : []),
    ],
    deleteObject: [
      (w) => w.deleteObject(RESOURCES.ingresses, NS, svc.ingress!.metadata!.name!),
      // A canary rollout's Deployment, once promoted or rolled back.
      (w) => w.deleteObject(RESOURCES.deployments, NS, `${svc.deployment.metadata!.name!}-canary`),
      ...(opts.gatewayApi ? [(w: KubeWriter) => w.deleteObject(RESOURCES.httpRoutes, NS, routed.httpRoute!.metadata!.name!)] : []),
    ],
    createObject: opts.networkPolicies ? [(w) => w.createObject(RESOURCES.networkPolicies, run.networkPolicy!)] : [],
  };
}

export interface OperatorPermissions {
  /** Everything but the Lease, cluster-wide or in the one watched namespace. */
  workload: Grant[];
  /** The Lease of leader election, in the release namespace. */
  lease: Grant[];
  /** The requests behind them, for messages. */
  requests: Request[];
}

/**
 * Drives the operator's request code against a recording client and returns the grants it needs,
 * with the optional integrations as asked (`kueue`: LATHE_KUEUE, the chart's kueue.enabled;
 * `gatewayApi`: LATHE_GATEWAY_API, gatewayApi.enabled; `networkPolicies`: LATHE_NETWORK_POLICIES,
 * networkPolicy.workloads.enabled).
 */
export async function operatorPermissions(opts: { kueue?: boolean; gatewayApi?: boolean; networkPolicies?: boolean } = {}): Promise<OperatorPermissions> {
  const sources = operatorSources();
  const rec = new RecordingClient();
  const client = rec.asKubeClient();
  const config = configWith({ s3Bucket: 'artifacts', kueue: opts.kueue ?? false, gatewayApi: opts.gatewayApi ?? false, networkPolicies: opts.networkPolicies ?? false });
  const writer = new KubeWriter(client, new Registry());

  // The informers the controllers declare, listed and watched as the manager does.
  const specs = new Map<string, InformerSpec<KubernetesObject>>();
  const stubInformer = { on: () => undefined, get: () => undefined, list: () => [], hasSynced: () => true };
  const ctx: ControllerContext = {
    config,
    logger: silentLogger(),
    registry: new Registry(),
    writer,
    events: {} as ControllerContext['events'],
    store: {} as ControllerContext['store'],
    burst: new BurstTracker(),
    informer: <T extends KubernetesObject>(spec: InformerSpec<T>) => {
      specs.set(spec.name, spec as unknown as InformerSpec<KubernetesObject>);
      return stubInformer as unknown as ResilientInformer<T>;
    },
  };
  setupTrainingRunController(ctx);
  setupInferenceServiceController(ctx);
  for (const spec of specs.values()) {
    const lw = apiListWatch<KubernetesObject>(client, { resource: spec.resource, labelSelector: spec.labelSelector, fieldSelector: spec.fieldSelector });
    await lw.list();
    await lw.watch('1', () => undefined, () => undefined);
  }

  // Every writer method, with the children the renders produce (a distributed run has its headless Service).
  const tr = makeTrainingRun('r').workers(2).obj();
  const run = renderRun({ plan: planRun(tr, config.s3Bucket, 1), config, modelUri: tr.spec.model ?? 'scratch' });
  const isvc = makeInferenceService('s').replicas(1, 3).obj();
  isvc.spec.expose = { ingress: { className: 'alb' } };
  const svc = renderService({ isvc, modelUri: 's3://b/m/', config });
  const routedIsvc = makeInferenceService('r').obj();
  routedIsvc.spec.expose = { httpRoute: { parentRefs: [{ name: 'gw' }] } };
  const routed = renderService({ isvc: routedIsvc, modelUri: 's3://b/m/', config });
  const calls = writerCalls(sources, run, svc, routed, { kueue: config.kueue, gatewayApi: config.gatewayApi, networkPolicies: config.networkPolicies });
  const methods = Object.getOwnPropertyNames(KubeWriter.prototype).filter((m) => m !== 'constructor');
  const unknown = methods.filter((m) => !(m in calls));
  if (unknown.length) throw new Error(`KubeWriter methods with no entry in operator-permissions.ts: ${unknown.join(', ')}`);
  for (const m of methods) for (const call of calls[m]!) await call(writer);

  // Events: created, read for their count, the count patched.
  const sink = kubeEventSink(client);
  await sink.create(NS, { metadata: { name: 'e' }, involvedObject: {} });
  await sink.getCount(NS, 'e');
  await sink.patchCount(NS, 'e', 2, new Date());

  const workload = new Set(rec.requests.flatMap(grantsOf));
  // Owner references on every rendered child.
  const children = [
    run.job,
    run.service,
    run.networkPolicy,
    svc.deployment,
    svc.service,
    svc.hpa,
    svc.ingress,
    svc.networkPolicy,
    ...(config.gatewayApi ? [routed.httpRoute] : []),
  ].filter((c): c is NonNullable<typeof c> => c !== undefined);
  const byKind: Record<string, string> = {
    Job: 'batch/jobs',
    Service: 'core/services',
    Deployment: 'apps/deployments',
    HorizontalPodAutoscaler: 'autoscaling/horizontalpodautoscalers',
    Ingress: 'networking.k8s.io/ingresses',
    HTTPRoute: 'gateway.networking.k8s.io/httproutes',
    NetworkPolicy: 'networking.k8s.io/networkpolicies',
  };
  const ownerPlural: Record<string, string> = { TrainingRun: PLURALS.TrainingRun, InferenceService: PLURALS.InferenceService };
  for (const c of children) {
    const owners = c.metadata?.ownerReferences ?? [];
    if (owners.length) workload.add(`${byKind[(c as KubernetesObject).kind!] ?? `unknown kind ${(c as KubernetesObject).kind}`}:delete`);
    for (const o of owners) if (o.blockOwnerDeletion) workload.add(`${o.apiVersion.split('/')[0]}/${ownerPlural[o.kind] ?? `unknown kind ${o.kind}`}/finalizers:update`);
  }
  const workloadRequests = [...rec.requests];

  // The Lease lock.
  rec.requests.length = 0;
  const lock = kubeLeaseLock(client, 'lathe-system', 'lathe-operator');
  await lock.get();
  const record = { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: 0, renewTime: 0, leaseTransitions: 0 };
  await lock.create(record);
  await lock.update(record, '1');
  const lease = [...new Set(rec.requests.flatMap(grantsOf))];

  return { workload: [...workload].sort(), lease: lease.sort(), requests: [...workloadRequests, ...rec.requests] };
}
