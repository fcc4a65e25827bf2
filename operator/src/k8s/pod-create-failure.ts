// A Job or ReplicaSet that cannot create its pods says so only in its own Events (Jobs) or in a
// ReplicaFailure condition (ReplicaSets, copied onto the Deployment): a TrainingRun or
// InferenceService that only looked at pods would show "waiting for pods" forever. These helpers
// turn what the controller said into the run's or service's status, with what to do about it.
import type { CoreV1Event, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { KubeApiError, statusCode } from '../client/errors.js';

/** The reason in status and Events: the word the Job and ReplicaSet controllers use themselves. */
export const FAILED_CREATE = 'FailedCreate';

/** The field selector of the Events informer: only Job controllers' pod-creation failures. */
export const JOB_FAILED_CREATE_EVENTS = `involvedObject.kind=Job,reason=${FAILED_CREATE}`;

export interface CreateFailure {
  reason: typeof FAILED_CREATE;
  message: string;
}

/** What to do, for the refusals a user meets on a new namespace. */
function hint(detail: string): string {
  const sa = /serviceaccount "([^"]+)" not found/.exec(detail);
  if (sa) {
    return `the namespace has no ServiceAccount ${sa[1]}: add it to the chart's trainingNamespaces (which creates the ServiceAccounts with their IRSA roles) and upgrade the release, or create the ServiceAccount`;
  }
  if (/exceeded quota/.test(detail)) return "the namespace's ResourceQuota has no room for the pod: raise the quota or wait for other workloads to finish";
  if (/violates PodSecurity/.test(detail)) return "the namespace's Pod Security admission refused the pod: check its pod-security.kubernetes.io labels (Lathe's pods meet \"restricted\")";
  if (/(maximum|minimum) .* per (Container|Pod)|LimitRange/.test(detail)) return "a LimitRange of the namespace refuses the pod's requests or limits: widen it, or change spec.resources";
  return 'kubectl describe shows the controller\'s Events';
}

function describe(kind: 'Job' | 'Deployment', name: string, detail: string): CreateFailure {
  const said = detail.replace(/^Error creating: /, '').trim();
  return { reason: FAILED_CREATE, message: `${kind} ${name} cannot create pods: ${said}; ${hint(said)}` };
}

function eventTime(e: CoreV1Event): number {
  const t = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/**
 * The Job's newest FailedCreate Event, if no pod of the Job was created after it: once the cause is
 * fixed the Job controller's next try creates the pod, and the Event (kept for an hour) is history.
 */
export function jobCreateFailure(job: { name: string; uid?: string }, events: readonly CoreV1Event[], pods: readonly V1Pod[]): CreateFailure | undefined {
  let newest: CoreV1Event | undefined;
  for (const e of events) {
    const o = e.involvedObject;
    if (e.reason !== FAILED_CREATE || o.kind !== 'Job' || o.name !== job.name || (job.uid && o.uid && o.uid !== job.uid)) continue;
    if (!newest || eventTime(e) > eventTime(newest)) newest = e;
  }
  if (!newest) return undefined;
  const failedAt = eventTime(newest);
  const lastPod = Math.max(0, ...pods.map((p) => (p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0)));
  if (lastPod >= failedAt) return undefined;
  return describe('Job', job.name, newest.message ?? 'no message');
}

/** The Deployment's ReplicaFailure condition (its ReplicaSet's, copied by the Deployment controller). */
export function deploymentCreateFailure(d: V1Deployment | undefined): CreateFailure | undefined {
  const c = d?.status?.conditions?.find((x) => x.type === 'ReplicaFailure' && x.status === 'True');
  if (!c) return undefined;
  return describe('Deployment', d?.metadata?.name ?? '', c.message ?? c.reason ?? 'no message');
}

/** The reason when the API server refuses a child the operator rendered (a 400 or 422). */
export const CHILD_REJECTED = 'ChildRejected';

/** How often children the API server refused are created or applied again. */
export const REJECTED_RETRY_MS = 60_000;

/**
 * Reasons a person must act on while the controller keeps retrying: kstatus Stalled, not
 * Reconciling, and a Warning when the object first shows one.
 */
export function needsAPerson(reason: string | undefined): reason is typeof FAILED_CREATE | typeof CHILD_REJECTED {
  return reason === FAILED_CREATE || reason === CHILD_REJECTED;
}

/**
 * A child the API server refused as invalid: admission let the parent's spec through, but what it
 * renders to is not a valid Job or Deployment. Retrying cannot help, so it is shown, not looped on.
 */
export function childRejection(err: unknown, what: string): { reason: typeof CHILD_REJECTED; message: string } | undefined {
  const code = statusCode(err);
  if (code !== 400 && code !== 422) return undefined;
  const said = (err instanceof KubeApiError ? err.status?.message : undefined) ?? String(err);
  return { reason: CHILD_REJECTED, message: `the API server refused ${what}: ${said}; change the spec (admission should have refused it: please report this)` };
}
