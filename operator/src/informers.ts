// The kinds the operator watches, each spelled once: the controllers ask the manager for these by
// name, so the TrainingRun cache both controllers read is one informer. Children are cached slim
// (k8s/slim.ts): the reconcilers re-render them and read only status.
import type { CoreV1Event, KubernetesObject, V1Deployment, V1Ingress, V1Job, V1Pod, V1Service, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { InferenceService } from './api/schema/inferenceservice.js';
import type { TrainingRun } from './api/schema/trainingrun.js';
import type { InformerSpec } from './controller-context.js';
import { LABELS, MANAGED_BY } from './k8s/labels.js';
import { slimHttpRoute, type HttpRoute } from './k8s/gateway-api.js';
import { jobUidOfWorkload, slimWorkload, type Workload } from './k8s/kueue.js';
import type { NetworkPolicy } from './k8s/network-policy.js';
import { jobOfPod } from './k8s/job-pods.js';
import { JOB_FAILED_CREATE_EVENTS } from './k8s/pod-create-failure.js';
import { RESOURCES } from './k8s/resources.js';
import { slimDeployment, slimEvent, slimIngress, slimJob, slimPod, slimToMetadata } from './k8s/slim.js';

const managed = `${LABELS.managedBy}=${MANAGED_BY}`;
const spec = <T extends KubernetesObject>(s: InformerSpec<T>): InformerSpec<T> => s;

export const INFORMERS = {
  trainingRuns: spec<TrainingRun>({ name: 'trainingruns', resource: RESOURCES.trainingRuns }),
  inferenceServices: spec<InferenceService>({ name: 'inferenceservices', resource: RESOURCES.inferenceServices }),
  jobs: spec<V1Job>({ name: 'jobs', resource: RESOURCES.jobs, labelSelector: managed, transform: slimJob }),
  /** Indexed by their Job (k8s/job-pods.ts). */
  pods: spec<V1Pod>({ name: 'pods', resource: RESOURCES.pods, labelSelector: LABELS.trainingRun, transform: slimPod, indexBy: jobOfPod }),
  /** A Job that cannot create pods says why only in its Events (pod-create-failure.ts). */
  jobEvents: spec<CoreV1Event>({ name: 'job-events', resource: RESOURCES.events, fieldSelector: JOB_FAILED_CREATE_EVENTS, transform: slimEvent }),
  /**
   * Kueue's Workloads (LATHE_KUEUE only). Kueue copies none of the Job's labels onto them, so every
   * Workload of the watched namespaces is cached, slim: owner, spec.active, admission conditions;
   * indexed by the uid of its Job.
   */
  workloads: spec<Workload>({ name: 'workloads', resource: RESOURCES.workloads, transform: slimWorkload, indexBy: jobUidOfWorkload }),
  deployments: spec<V1Deployment>({ name: 'deployments', resource: RESOURCES.deployments, labelSelector: managed, transform: slimDeployment }),
  services: spec<V1Service>({ name: 'services', resource: RESOURCES.services, labelSelector: managed, transform: slimToMetadata }),
  hpas: spec<V2HorizontalPodAutoscaler>({ name: 'hpas', resource: RESOURCES.horizontalPodAutoscalers, labelSelector: managed, transform: slimToMetadata }),
  /** spec.expose.ingress: the applied hash and the load balancer address. */
  ingresses: spec<V1Ingress>({ name: 'ingresses', resource: RESOURCES.ingresses, labelSelector: managed, transform: slimIngress }),
  /** spec.expose.httpRoute (LATHE_GATEWAY_API only): the applied hash and which Gateways accepted it. */
  httpRoutes: spec<HttpRoute>({ name: 'httproutes', resource: RESOURCES.httpRoutes, labelSelector: managed, transform: slimHttpRoute }),
  /** Serving pods' NetworkPolicies (LATHE_NETWORK_POLICIES only): the applied hash. */
  networkPolicies: spec<NetworkPolicy>({ name: 'networkpolicies', resource: RESOURCES.networkPolicies, labelSelector: managed, transform: slimToMetadata }),
};
