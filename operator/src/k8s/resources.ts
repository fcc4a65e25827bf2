// Every kind of object the reconcilers read or write, in one table: the informers, the writer and
// direct reads build their paths from these, so a group or version is spelled once. (The Event
// sink and the Lease lock in runtime/ name their own: runtime/ knows nothing of Lathe.)
import { GROUP, PLURALS, VERSION } from '../api/constants.js';
import type { Resource } from '../client/kube-client.js';
import { GATEWAY_GROUP, GATEWAY_VERSION } from './gateway-api.js';
import { KUEUE_GROUP, KUEUE_VERSION } from './kueue.js';

export const RESOURCES = {
  trainingRuns: { group: GROUP, version: VERSION, plural: PLURALS.TrainingRun },
  inferenceServices: { group: GROUP, version: VERSION, plural: PLURALS.InferenceService },
  jobs: { group: 'batch', version: 'v1', plural: 'jobs' },
  pods: { version: 'v1', plural: 'pods' },
  events: { version: 'v1', plural: 'events' },
  services: { version: 'v1', plural: 'services' },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments' },
  replicaSets: { group: 'apps', version: 'v1', plural: 'replicasets' },
  horizontalPodAutoscalers: { group: 'autoscaling', version: 'v2', plural: 'horizontalpodautoscalers' },
  /** spec.expose.ingress of an InferenceService. */
  ingresses: { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses' },
  /** LATHE_NETWORK_POLICIES: serving pods' and distributed runs' policies. */
  networkPolicies: { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies' },
  /** spec.expose.httpRoute, only with LATHE_GATEWAY_API=true. */
  httpRoutes: { group: GATEWAY_GROUP, version: GATEWAY_VERSION, plural: 'httproutes' },
  /** Kueue's, read and `spec.active` patched only with LATHE_KUEUE=true. */
  workloads: { group: KUEUE_GROUP, version: KUEUE_VERSION, plural: 'workloads' },
} as const satisfies Record<string, Resource>;
