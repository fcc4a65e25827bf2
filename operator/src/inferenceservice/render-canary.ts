// The canary Deployment of a canary rollout (spec.rollout.strategy Canary): the Deployment render.ts
// makes for the new spec, named <name>-canary, its pods labelled lathe.dev/track=canary. They keep
// the service's selector label, so the one Service sends them their share of the connections; the
// canary's own selector adds the track label, and the stable Deployment's ReplicaSets select by
// their pod-template-hash, so neither Deployment adopts the other's pods. Pure.
import type { V1Deployment } from '@kubernetes/client-node';
import type { InferenceService } from '../api/schema/inferenceservice.js';
import { LABELS } from '../k8s/labels.js';
import { childName, selectorLabels } from './render.js';

export const CANARY_TRACK = 'canary';

export function canaryName(isvc: InferenceService): string {
  return `${childName(isvc)}-canary`;
}

/** The canary pods' selector, for listing them (their /metrics are the analysis). */
export function canarySelector(isvc: InferenceService): string {
  return Object.entries({ ...selectorLabels(isvc), [LABELS.track]: CANARY_TRACK }).map(([k, v]) => `${k}=${v}`).join(',');
}

/** `rendered` (render()'s Deployment for the new spec) as the canary, with `replicas` pods. */
export function renderCanary(isvc: InferenceService, rendered: V1Deployment, replicas: number): V1Deployment {
  const d = structuredClone(rendered);
  const track = { [LABELS.track]: CANARY_TRACK };
  d.metadata = { ...d.metadata, name: canaryName(isvc), labels: { ...d.metadata!.labels, ...track } };
  d.spec!.replicas = replicas;
  d.spec!.selector = { matchLabels: { ...selectorLabels(isvc), ...track } };
  d.spec!.template.metadata = { ...d.spec!.template.metadata, labels: { ...d.spec!.template.metadata!.labels, ...track } };
  return d;
}
