// The pure half of the InferenceService controller: from a service, the model it should serve and
// the operator's settings to the Deployment, Service and (when autoscaling) HPA that should exist,
// and with spec.expose the Ingress or HTTPRoute (expose.ts), with LATHE_NETWORK_POLICIES the pods'
// NetworkPolicy (network-policy.ts).
import type { V1Deployment, V1EnvVar, V1Ingress, V1OwnerReference, V1Service, V2HorizontalPodAutoscaler, V2MetricSpec } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { DEFAULTS, KINDS } from '../api/constants.js';
import type { InferenceService } from '../api/schema/inferenceservice.js';
import type { OperatorConfig } from '../config/operator-config.js';
import { containerResources, controllerReference } from '../k8s/children.js';
import { ANNOTATIONS, LABELS, MANAGED_BY } from '../k8s/labels.js';
import { restrictedContainerSecurity, restrictedPodSecurity, scratchVolumes } from '../k8s/pod-security.js';
import { placement } from '../k8s/scheduling.js';
import { podS3Access } from '../k8s/pod-s3.js';
import type { HttpRoute } from '../k8s/gateway-api.js';
import type { NetworkPolicy } from '../k8s/network-policy.js';
import { renderHttpRoute, renderIngress } from './expose.js';
import { renderServingNetworkPolicy, type NetworkPolicyConfig } from './network-policy.js';

export const SERVER_CONTAINER = 'server';
export const SERVICE_PORT = 80;
/** LATHE_SHUTDOWN_DELAY_S of the serving pods Lathe renders (a runtime.env entry of that name wins). */
export const SHUTDOWN_DELAY_S = 5;

const TASK_RESOURCES: Record<string, { cpu: string; memory: string }> = {
  'text-generation': { cpu: '2', memory: '16Gi' },
  'text-to-image': { cpu: '4', memory: '24Gi' },
};

export interface RenderInput {
  isvc: InferenceService;
  /** The model the pods should serve now: the resolved spec model, or the last ready one after a rollback. */
  modelUri: string;
  config: Pick<OperatorConfig, 'inferenceImage' | 'inferenceServiceAccount' | 'podS3Endpoint' | 'podEnvSecret'> &
    Partial<Pick<OperatorConfig, 'networkPolicies' | 'leaseNamespace'> & NetworkPolicyConfig>;
}

export interface RenderedService {
  deployment: V1Deployment;
  service: V1Service;
  /** Present only when replicas.max > replicas.min. */
  hpa?: V2HorizontalPodAutoscaler;
  /** spec.expose.ingress. */
  ingress?: V1Ingress;
  /** spec.expose.httpRoute (applied only with LATHE_GATEWAY_API). */
  httpRoute?: HttpRoute;
  /** LATHE_NETWORK_POLICIES. */
  networkPolicy?: NetworkPolicy;
}

/** Deployment, Service and HPA all carry the service's own name: one name to look for. */
export function childName(isvc: InferenceService): string {
  return isvc.metadata.name!;
}

export function serviceUrl(isvc: InferenceService): string {
  return `http://${childName(isvc)}.${isvc.metadata.namespace}.svc.cluster.local`;
}

export function selectorLabels(isvc: InferenceService): Record<string, string> {
  return { [LABELS.inferenceService]: isvc.metadata.name! };
}

export function selectorString(isvc: InferenceService): string {
  return Object.entries(selectorLabels(isvc)).map(([k, v]) => `${k}=${v}`).join(',');
}

/** Short, label-safe fingerprint of a model URI: which pods serve which model. */
export function modelHash(uri: string): string {
  return createHash('sha256').update(uri).digest('hex').slice(0, 10);
}

/** Hash of a rendered pod template (the Deployment's lathe.dev/template-hash annotation). */
export function templateHash(template: object): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 16);
}

export function replicaBounds(isvc: InferenceService): { min: number; max: number; autoscaling: boolean } {
  const min = isvc.spec.replicas?.min ?? DEFAULTS.inferenceReplicasMin;
  const max = Math.max(isvc.spec.replicas?.max ?? min, min);
  return { min, max, autoscaling: max > min };
}

export function render(input: RenderInput): RenderedService {
  const { isvc, modelUri, config } = input;
  const name = childName(isvc);
  const namespace = isvc.metadata.namespace!;
  const spec = isvc.spec;
  const base = TASK_RESOURCES[spec.task] ?? TASK_RESOURCES['text-generation']!;
  const gpus = spec.resources?.gpus ?? DEFAULTS.gpus;
  const cpu = String(spec.resources?.cpu ?? base.cpu);
  const memory = String(spec.resources?.memory ?? base.memory);
  const port = spec.runtime?.port ?? DEFAULTS.inferencePort;
  const spot = spec.spot ?? DEFAULTS.spot;
  const { min, autoscaling } = replicaBounds(isvc);
  const labels = {
    [LABELS.name]: 'lathe-inference',
    [LABELS.component]: 'inference',
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.partOf]: 'lathe',
    ...selectorLabels(isvc),
  };
  const owner = [controllerReference(KINDS.InferenceService, isvc)];

  const userEnv = spec.runtime?.env ?? [];
  // After SIGTERM the server keeps serving, not ready, for this long before it closes its
  // listener: the endpoints drop a terminating pod at once, but every node's kube-proxy takes a
  // moment to see it, and a server that refused work at once answered the connections still sent
  // its way with errors (the canary suite saw them during a promotion's rolling update). Well
  // inside terminationGracePeriodSeconds, with the server's 25 s for in-flight requests.
  const serverDefaults: V1EnvVar[] = [{ name: 'LATHE_SHUTDOWN_DELAY_S', value: String(SHUTDOWN_DELAY_S) }];
  const s3 = podS3Access(config);
  const env: V1EnvVar[] = [
    { name: 'LATHE_MODEL_URI', value: modelUri },
    { name: 'LATHE_TASK', value: spec.task },
    { name: 'LATHE_MODEL_NAME', value: name },
    { name: 'PORT', value: String(port) },
    { name: 'HF_HOME', value: '/tmp/hf' },
    { name: 'LATHE_MODEL_CACHE', value: '/models' },
    // A bring-your-own server may name its own endpoint in runtime.env; env is a list map keyed by
    // name under server-side apply, so the same name twice would make every apply fail.
    ...[...s3.env, ...serverDefaults].filter((e) => !userEnv.some((u) => u.name === e.name)),
    ...userEnv.map((e) => ({ name: e.name, value: e.value })),
  ];
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels, ownerReferences: owner },
    spec: {
      // Under autoscaling the HPA owns replicas; leaving the field out of the applied object is what
      // keeps server-side apply from fighting it.
      ...(autoscaling ? {} : { replicas: min }),
      selector: { matchLabels: selectorLabels(isvc) },
      progressDeadlineSeconds: spec.progressDeadlineSeconds ?? DEFAULTS.progressDeadlineSeconds,
      revisionHistoryLimit: 5,
      // Never fewer ready pods than wanted during a rollout: a model that fails to load never
      // replaces one that serves.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: { ...(spec.podMetadata?.labels ?? {}), ...labels, [LABELS.modelHash]: modelHash(modelUri) },
          annotations: { ...(spec.podMetadata?.annotations ?? {}), [ANNOTATIONS.modelUri]: modelUri },
        },
        spec: {
          serviceAccountName: config.inferenceServiceAccount,
          automountServiceAccountToken: false,
          securityContext: restrictedPodSecurity(),
          terminationGracePeriodSeconds: 60,
          // The user's nodeSelector, tolerations, affinity and priorityClassName merged with the GPU
          // and spot placement (rules in k8s/scheduling.ts); a change is a template change, which
          // rolls out new pods like a new model does.
          ...placement({ gpus, spot }, spec),
          containers: [
            {
              name: SERVER_CONTAINER,
              image: spec.runtime?.image ?? config.inferenceImage,
              ...(spec.runtime?.command ? { command: spec.runtime.command } : {}),
              ...(spec.runtime?.args ? { args: spec.runtime.args } : {}),
              env,
              ...(s3.envFrom.length ? { envFrom: s3.envFrom } : {}),
              ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
              resources: containerResources({ cpu, memory, gpus }),
              securityContext: restrictedContainerSecurity(),
              // Startup allows a long model download (30 min) without liveness killing the pod;
              // readiness means "model loaded"; liveness only that the process answers.
              startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 180 },
              readinessProbe: { httpGet: { path: DEFAULTS.readinessPath, port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
              volumeMounts: [...scratchVolumes.mounts, { name: 'models', mountPath: '/models' }],
            },
          ],
          volumes: [...scratchVolumes.volumes, { name: 'models', emptyDir: {} }],
        },
      },
    },
  };

  // Which pod template this is: the canary rollout compares it with the stable Deployment's.
  deployment.metadata!.annotations = { [ANNOTATIONS.templateHash]: templateHash(deployment.spec!.template) };

  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels, ownerReferences: owner },
    spec: {
      type: 'ClusterIP',
      selector: selectorLabels(isvc),
      ports: [{ name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  };

  const result: RenderedService = { deployment, service };
  if (autoscaling) result.hpa = renderHpa(isvc, labels, owner);
  const child = { name, namespace, labels, owner, servicePort: SERVICE_PORT };
  if (spec.expose?.ingress) result.ingress = renderIngress(spec.expose.ingress, child);
  if (spec.expose?.httpRoute) result.httpRoute = renderHttpRoute(spec.expose.httpRoute, child);
  if (config.networkPolicies) {
    result.networkPolicy = renderServingNetworkPolicy(
      {
        name,
        namespace,
        labels,
        owner,
        podSelector: selectorLabels(isvc),
        port,
        // A canary's analysis: the operator (in the namespace of its Lease) reads the pods' /metrics.
        ...(spec.rollout?.strategy === 'Canary' && config.leaseNamespace ? { operatorNamespace: config.leaseNamespace } : {}),
      },
      {
        networkPolicyIngressNamespaces: config.networkPolicyIngressNamespaces ?? [],
        networkPolicyIngressCidrs: config.networkPolicyIngressCidrs ?? [],
        networkPolicyPrometheusNamespaces: config.networkPolicyPrometheusNamespaces ?? [],
      },
    );
  }
  return result;
}

function renderHpa(isvc: InferenceService, labels: Record<string, string>, owner: V1OwnerReference[]): V2HorizontalPodAutoscaler {
  const { min, max } = replicaBounds(isvc);
  const pods = isvc.spec.autoscaling?.podsMetric;
  const metric: V2MetricSpec = pods
    ? { type: 'Pods', pods: { metric: { name: pods.name }, target: { type: 'AverageValue', averageValue: String(pods.targetAverageValue) } } }
    : {
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: isvc.spec.autoscaling?.targetCPUUtilization ?? DEFAULTS.autoscalingTargetCPUUtilization },
        },
      };
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: childName(isvc), namespace: isvc.metadata.namespace!, labels, ownerReferences: owner },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: childName(isvc) },
      minReplicas: Math.max(min, 1),
      maxReplicas: max,
      metrics: [metric],
    },
  };
}
