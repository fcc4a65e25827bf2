// Names of the Lathe API: group, version, kinds, plurals, short names, condition types and phases.
// The reconcilers, the CRD generator and the tests import these instead of spelling strings.

export const GROUP = 'lathe.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const KINDS = {
  TrainingRun: 'TrainingRun',
  InferenceService: 'InferenceService',
} as const;
export type Kind = (typeof KINDS)[keyof typeof KINDS];

export const PLURALS = {
  TrainingRun: 'trainingruns',
  InferenceService: 'inferenceservices',
} as const;

export const SINGULARS = {
  TrainingRun: 'trainingrun',
  InferenceService: 'inferenceservice',
} as const;

/**
 * Short names. Checked against well-known CRDs: KServe owns `isvc`, Tekton owns `tr` (TaskRun) and
 * `pr`, Argo Workflows owns `wf`, Kubeflow Training owns `tfjob`/`pytorchjob`, Knative owns `ksvc`,
 * Seldon owns `sdep`. `trun` and `lisvc` are not taken by any of them.
 */
export const SHORT_NAMES = {
  TrainingRun: ['trun'],
  InferenceService: ['lisvc'],
} as const;

/** `kubectl get ml` (or `kubectl get lathe`) lists both kinds. */
export const CATEGORIES = ['ml', 'lathe'] as const;

/** Name of the CustomResourceDefinition object of each kind (`<plural>.<group>`). */
export const CRD_NAMES = {
  TrainingRun: `${PLURALS.TrainingRun}.${GROUP}`,
  InferenceService: `${PLURALS.InferenceService}.${GROUP}`,
} as const;

/**
 * Condition types. `Ready`, `Reconciling` and `Stalled` follow kstatus (Flux) and work with
 * `kubectl wait --for=condition=...`; `Succeeded`/`Failed` are the terminal conditions of a run.
 */
export const CONDITION_TYPES = {
  Ready: 'Ready',
  Reconciling: 'Reconciling',
  Stalled: 'Stalled',
  // TrainingRun
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Queued: 'Queued',
  Suspended: 'Suspended',
  // InferenceService
  ModelResolved: 'ModelResolved',
  Progressing: 'Progressing',
  RolledBack: 'RolledBack',
  /** spec.expose: True once the Ingress or HTTPRoute has an external address (status.externalUrl). */
  Exposed: 'Exposed',
} as const;
export type ConditionType = (typeof CONDITION_TYPES)[keyof typeof CONDITION_TYPES];

export const TRAINING_RUN_CONDITION_TYPES = [
  CONDITION_TYPES.Ready,
  CONDITION_TYPES.Succeeded,
  CONDITION_TYPES.Failed,
  CONDITION_TYPES.Queued,
  CONDITION_TYPES.Suspended,
  CONDITION_TYPES.Reconciling,
  CONDITION_TYPES.Stalled,
] as const;

export const INFERENCE_SERVICE_CONDITION_TYPES = [
  CONDITION_TYPES.ModelResolved,
  CONDITION_TYPES.Ready,
  CONDITION_TYPES.Progressing,
  CONDITION_TYPES.RolledBack,
  CONDITION_TYPES.Exposed,
  CONDITION_TYPES.Reconciling,
  CONDITION_TYPES.Stalled,
] as const;

export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

export const TRAINING_RUN_PHASES = ['Pending', 'Queued', 'Running', 'Succeeded', 'Failed', 'Suspended'] as const;
export type TrainingRunPhase = (typeof TRAINING_RUN_PHASES)[number];
/** Phases after which a run never changes again. */
export const TERMINAL_PHASES: readonly TrainingRunPhase[] = ['Succeeded', 'Failed'];

export const TRAINING_TASKS = ['text-generation', 'image-classification', 'custom'] as const;
export type TrainingTask = (typeof TRAINING_TASKS)[number];

export const INFERENCE_TASKS = ['text-generation', 'text-to-image'] as const;
export type InferenceTask = (typeof INFERENCE_TASKS)[number];

/**
 * Longest TrainingRun name. The operator names the Job `<run>-<attempt>` and an Indexed Job's pods
 * get the hostname `<job>-<index>`; both must stay DNS labels (63 characters), with room for a
 * three-digit attempt and a two-digit index.
 */
export const MAX_TRAINING_RUN_NAME_LENGTH = 52;
/** Longest InferenceService name: the Service and Deployment carry it, plus suffixes. */
export const MAX_INFERENCE_SERVICE_NAME_LENGTH = 52;

/**
 * Defaults the operator applies while rendering (never written into the CRD schema, so GitOps
 * tools see no drift). The field descriptions repeat them.
 */
export const DEFAULTS = {
  workers: 1,
  gpus: 0,
  retries: 0,
  spot: false,
  suspend: false,
  inferenceReplicasMin: 1,
  inferencePort: 8080,
  autoscalingTargetCPUUtilization: 80,
  progressDeadlineSeconds: 600,
  /** spec.expose.*.path */
  exposePath: '/',
  /** The serving pods' readiness path: the probe, and the load balancer's health check. */
  readinessPath: '/readyz',
} as const;
