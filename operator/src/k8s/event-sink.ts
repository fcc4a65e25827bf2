// What the reconcilers need from an event recorder: one call per transition. The runtime's
// EventRecorder implements it (aggregation, rate limit, never throws).
import type { KubernetesObject } from '@kubernetes/client-node';

export type EventType = 'Normal' | 'Warning';

export interface EventSink {
  record(obj: KubernetesObject, type: EventType, reason: string, message: string): void;
}
