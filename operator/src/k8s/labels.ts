// Labels and annotations Lathe puts on the objects it creates. Selectors of informers and Services
// are built from these, so a child is always traceable to its parent without reading owner refs.

export const MANAGED_BY = 'lathe-operator';
/** The one field manager of every server-side apply and status write: conflicts are then real ones. */
export const FIELD_MANAGER = 'lathe-operator';

export const LABELS = {
  name: 'app.kubernetes.io/name',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  trainingRun: 'lathe.dev/training-run',
  runId: 'lathe.dev/run-id',
  attempt: 'lathe.dev/attempt',
  inferenceService: 'lathe.dev/inference-service',
  modelHash: 'lathe.dev/model-hash',
  /** `canary` on the pods of an InferenceService's canary Deployment (spec.rollout). */
  track: 'lathe.dev/track',
} as const;

export const ANNOTATIONS = {
  /** The Job's completion index on each Indexed Job pod (set by the Job controller). */
  completionIndex: 'batch.kubernetes.io/job-completion-index',
  modelUri: 'lathe.dev/model-uri',
  /** Hash of the pod template an InferenceService's Deployment was rendered with: which rollout it is. */
  templateHash: 'lathe.dev/template-hash',
} as const;
