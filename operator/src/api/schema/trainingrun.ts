// TrainingRun: trains (or fine-tunes) a model as a batch/v1 Job and records the result in S3.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { z } from 'zod';
import {
  BUILTIN_DATASET_RE,
  HF_URI_RE,
  IMAGE_RE,
  RUN_URI_RE,
  S3_URI_RE,
  cel,
  celRegex,
  conditions,
  DateTime,
  dnsLabel,
  dnsSubdomain,
  duration,
  podMetadata,
  podScheduling,
  resources,
  stringMap,
  nameRule,
  type CelRule,
  type NameRule,
} from './common.js';
import { API_VERSION, DEFAULTS, KINDS, MAX_TRAINING_RUN_NAME_LENGTH, TRAINING_RUN_PHASES, TRAINING_TASKS } from '../constants.js';

// ---------------------------------------------------------------------------------------------
// spec.model: each URI form is checked on its own, so the message says what is wrong with it.

const MODEL_SCHEMES = [
  { prefix: 'hf://', re: HF_URI_RE, message: 'spec.model: an hf:// model must be hf://<org>/<name>' },
  { prefix: 's3://', re: S3_URI_RE, message: 'spec.model: an s3:// model must be s3://<bucket>/<prefix>' },
  { prefix: 'run://', re: RUN_URI_RE, message: 'spec.model: a run:// model must be run://<trainingrun-name> (a TrainingRun in the same namespace)' },
] as const;
const MODEL_SCHEME_MESSAGE = 'spec.model must start with hf://, s3:// or run://';

const modelUri = z
  .string()
  .max(512)
  .superRefine((s, ctx) => {
    const scheme = MODEL_SCHEMES.find((f) => s.startsWith(f.prefix));
    if (scheme === undefined) ctx.addIssue({ code: 'custom', message: MODEL_SCHEME_MESSAGE });
    else if (!scheme.re.test(s)) ctx.addIssue({ code: 'custom', message: scheme.message });
  })
  .meta({
    description:
      'The base model to start from: `hf://<org>/<name>` (Hugging Face Hub), `s3://<bucket>/<prefix>` (a Hugging Face ' +
      'save_pretrained directory in S3) or `run://<trainingrun-name>` (the artifact of a Succeeded TrainingRun in the same ' +
      'namespace). Required unless task is image-classification, which trains from scratch when it is absent. Immutable.',
    ...cel(
      {
        rule: MODEL_SCHEMES.map((f) => `self.startsWith('${f.prefix}')`).join(' || '),
        message: MODEL_SCHEME_MESSAGE,
      },
      ...MODEL_SCHEMES.map(
        (f): CelRule => ({ rule: `!self.startsWith('${f.prefix}') || self.matches(${celRegex(f.re)})`, message: f.message }),
      ),
    ),
  });

const DATASET_MESSAGE = 'spec.dataset.uri must be s3://<bucket>/<key-or-prefix>, hf://<org>/<name> or builtin:mnist';
const DatasetSchema = z
  .strictObject({
    uri: z
      .string()
      .max(1024)
      .refine((s) => S3_URI_RE.test(s) || HF_URI_RE.test(s) || BUILTIN_DATASET_RE.test(s), DATASET_MESSAGE)
      .meta({
        description:
          'Where the training data is: `s3://<bucket>/<key>` (a file, e.g. JSON lines) or `s3://<bucket>/<prefix>/`, ' +
          '`hf://<org>/<name>` (a Hugging Face Hub dataset) or `builtin:mnist`.',
        ...cel({
          rule: [S3_URI_RE, HF_URI_RE, BUILTIN_DATASET_RE].map((re) => `self.matches(${celRegex(re)})`).join(' || '),
          message: DATASET_MESSAGE,
        }),
      }),
  })
  .meta({ description: 'The training data. Immutable.' });

const HyperparametersSchema = z
  .strictObject({
    epochs: z.int().min(1).max(1000).meta({ description: 'Passes over the dataset (1 to 1000). Default: the trainer\'s per-task default.' }).optional(),
    batchSize: z.int().min(1).max(65536).meta({ description: 'Examples per optimizer step per worker (1 to 65536).' }).optional(),
    learningRate: z.number().gt(0).lt(10).meta({ description: 'Peak learning rate (greater than 0, less than 10), e.g. 5.0e-5.' }).optional(),
    maxSeqLength: z.int().min(1).max(1048576).meta({ description: 'Longest token sequence for text tasks (1 to 1048576).' }).optional(),
    weightDecay: z.number().min(0).max(1).meta({ description: 'AdamW weight decay (0 to 1).' }).optional(),
    warmupSteps: z.int().min(0).max(10_000_000).meta({ description: 'Linear learning-rate warm-up steps (0 or more).' }).optional(),
    seed: z.int().min(0).max(4294967295).meta({ description: 'Random seed (0 to 2^32-1), for reproducible runs.' }).optional(),
    gradientAccumulationSteps: z
      .int()
      .min(1)
      .max(1024)
      .meta({ description: 'Micro-batches accumulated per optimizer step (1 to 1024).' })
      .optional(),
    extra: stringMap(
      'spec.hyperparameters.extra',
      'Further hyperparameters as strings, passed through to the trainer (and recorded in metadata.json) unchanged.',
      1024,
    ).optional(),
  })
  .meta({
    description:
      'Hyperparameters for the built-in trainer; absent ones take the trainer\'s defaults. Unknown fields are rejected ' +
      '(use `extra` for anything else). Passed to the trainer as the JSON object LATHE_HYPERPARAMETERS. Immutable.',
  });

/** Pod labels the Job controller sets to the Job's name and uid; the API server refuses a Job whose template has others. */
export const JOB_CONTROLLER_LABELS = ['job-name', 'controller-uid', 'batch.kubernetes.io/job-name', 'batch.kubernetes.io/controller-uid'] as const;

/** Spec fields that may change after creation. Every other field is immutable. */
export const TRAINING_RUN_MUTABLE_FIELDS = ['suspend'] as const;

const immutable = (field: string): CelRule => ({ rule: 'self == oldSelf', message: `spec.${field} is immutable` });

const specShape = {
  model: modelUri.optional(),
  task: z.enum(TRAINING_TASKS).meta({
    description:
      'What to train: `text-generation` (causal language model fine-tuning), `image-classification` (a vision ' +
      'classifier) or `custom` (your own image and command). Immutable.',
  }),
  dataset: DatasetSchema,
  hyperparameters: HyperparametersSchema.optional(),
  workers: z
    .int()
    .min(1)
    .max(64)
    .meta({
      description:
        'Number of worker pods (1 to 64). More than one runs distributed data parallel training (torchrun over an ' +
        `Indexed Job). Default: ${DEFAULTS.workers}. Immutable.`,
    })
    .optional(),
  resources: resources('spec.resources', 'per worker', ' Immutable.').optional(),
  spot: z
    .boolean()
    .meta({
      description:
        'Allow spot GPU nodes. A spot interruption or node drain does not count as a failure: the run resumes from its ' +
        `newest checkpoint. Default: ${DEFAULTS.spot}. Immutable.`,
    })
    .optional(),
  maxRuntime: duration(
    'spec.maxRuntime',
    'Wall-clock limit of one attempt, as a duration (`90m`, `2h`, `1h30m`; units h, m, s); becomes the Job\'s ' +
      'activeDeadlineSeconds. Default: no limit. Immutable.',
  ).optional(),
  retries: z
    .int()
    .min(0)
    .max(20)
    .meta({
      description: `Attempts after a failure (0 to 20). Preemptions (spot interruptions, drains) do not count. Default: ${DEFAULTS.retries}. Immutable.`,
    })
    .optional(),
  queue: dnsLabel(
    'spec.queue',
    'Kueue LocalQueue to submit the Job to (a DNS label); the Job waits, suspended, until Kueue admits it. Default: none (no Kueue). Immutable.',
  ).optional(),
  workloadPriorityClassName: dnsSubdomain(
    'spec.workloadPriorityClassName',
    'Kueue WorkloadPriorityClass of the run (the Job\'s kueue.x-k8s.io/priority-class label): its order in the queue and ' +
      'which workloads it may preempt, without changing the pods\' scheduling priority (spec.priorityClassName, which ' +
      'Kueue also reads when this is unset). Requires spec.queue. Default: none. Immutable.',
  ).optional(),
  ttlAfterFinished: duration(
    'spec.ttlAfterFinished',
    'How long a finished Job (and its pods) is kept, as a duration (`1h`); the TrainingRun and its S3 records stay. Default: the Job is kept. Immutable.',
  ).optional(),
  suspend: z
    .boolean()
    .meta({
      description:
        'Suspend the run: the Job is suspended (its pods are deleted) and resumes from the newest checkpoint when set back ' +
        `to false. The only field that may change after creation. Default: ${DEFAULTS.suspend}.`,
    })
    .optional(),
  image: z
    .string()
    .min(1)
    .max(512)
    .refine((s) => IMAGE_RE.test(s), 'spec.image must be a container image reference (printable ASCII without spaces)')
    .meta({
      description: "Trainer container image override. Default: the operator's trainer image. Required in practice for task custom. Immutable.",
      ...cel({ rule: `self.matches(${celRegex(IMAGE_RE)})`, message: 'spec.image must be a container image reference (printable ASCII without spaces)' }),
    })
    .optional(),
  command: z
    .array(z.string().max(4096))
    .min(1)
    .max(64)
    .meta({
      description:
        "Your training program and its arguments, given to the container as args. With Lathe's trainer image, " +
        '`python -m lathe_trainer` runs it with the LATHE_* environment and the S3 upload helpers; with your own image ' +
        '(spec.image), its entrypoint receives them. Required when task is custom. Immutable.',
      'x-kubernetes-list-type': 'atomic',
    })
    .optional(),
  outputModel: dnsLabel(
    'spec.outputModel',
    'Name of the trained model: the model slug of the S3 prefix `models/<outputModel>/<runId>/`. Default: the TrainingRun\'s name. Immutable.',
  ).optional(),
  podMetadata: podMetadata('spec.podMetadata', ' Immutable.', JOB_CONTROLLER_LABELS).optional(),
  // Immutable like every field of the pod template: a Job's pods cannot change once it exists.
  ...podScheduling(' Immutable.'),
};

type SpecField = keyof typeof specShape;
const SPEC_FIELDS = Object.keys(specShape) as SpecField[];
const IMMUTABLE_FIELDS = SPEC_FIELDS.filter((f) => !(TRAINING_RUN_MUTABLE_FIELDS as readonly string[]).includes(f));
const OPTIONAL_IMMUTABLE_FIELDS = IMMUTABLE_FIELDS.filter((f) => specShape[f].safeParse(undefined).success);

// Each immutable field gets `self == oldSelf` (which only runs when the field exists before and
// after the update); the spec gets one rule per optional field against adding or removing it.
const withImmutability = Object.fromEntries(
  SPEC_FIELDS.map((f) => {
    const schema = specShape[f];
    if (!IMMUTABLE_FIELDS.includes(f)) return [f, schema];
    const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
    const meta = (inner.meta() ?? {}) as Record<string, unknown>;
    const rules = [...((meta['x-kubernetes-validations'] as CelRule[] | undefined) ?? []), immutable(f)];
    const withRule = inner.meta({ ...meta, 'x-kubernetes-validations': rules });
    return [f, schema instanceof z.ZodOptional ? withRule.optional() : withRule];
  }),
) as typeof specShape;

const SPEC_RULES: CelRule[] = [
  {
    rule: "self.task == 'image-classification' || has(self.model)",
    message: 'spec.model is required unless spec.task is image-classification',
    fieldPath: '.model',
    reason: 'FieldValueRequired',
  },
  {
    rule: '!has(self.workloadPriorityClassName) || has(self.queue)',
    message: 'spec.workloadPriorityClassName needs spec.queue: only Kueue reads it',
    fieldPath: '.workloadPriorityClassName',
    reason: 'FieldValueRequired',
  },
  {
    rule: "self.task != 'custom' || has(self.command)",
    message: 'spec.command is required when spec.task is custom',
    fieldPath: '.command',
    reason: 'FieldValueRequired',
  },
  ...OPTIONAL_IMMUTABLE_FIELDS.map(
    (f): CelRule => ({
      rule: `has(self.${f}) == has(oldSelf.${f})`,
      message: `spec.${f} is immutable: it cannot be added or removed after creation`,
      fieldPath: `.${f}`,
    }),
  ),
];

export const TrainingRunSpecSchema = z
  .strictObject(withImmutability)
  .superRefine((spec, ctx) => {
    if (spec.task !== 'image-classification' && spec.model === undefined) {
      ctx.addIssue({ code: 'custom', path: ['model'], message: SPEC_RULES[0]!.message });
    }
    if (spec.workloadPriorityClassName !== undefined && spec.queue === undefined) {
      ctx.addIssue({ code: 'custom', path: ['workloadPriorityClassName'], message: SPEC_RULES[1]!.message });
    }
    if (spec.task === 'custom' && spec.command === undefined) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: SPEC_RULES[2]!.message });
    }
  })
  .meta({
    description:
      'What to train and how. Every field except `suspend` is immutable once the TrainingRun exists; to change a run, ' +
      'create a new one. Defaults are applied by the operator when it renders the Job and never written back here.',
    ...cel(...SPEC_RULES),
  });
export type TrainingRunSpec = z.infer<typeof TrainingRunSpecSchema>;
export type TrainingRunHyperparameters = z.infer<typeof HyperparametersSchema>;
export type TrainingRunDataset = z.infer<typeof DatasetSchema>;

// ---------------------------------------------------------------------------------------------
// status (written only by the operator)

const ProgressSchema = z
  .object({
    epoch: z.int().min(0).meta({ description: 'The epoch in progress (1-based), or the last finished one.' }).optional(),
    epochs: z.int().min(0).meta({ description: 'Total epochs of the run.' }).optional(),
    step: z.int().min(0).meta({ description: 'Global optimizer step.' }).optional(),
    totalSteps: z.int().min(0).meta({ description: 'Total optimizer steps of the run, when known.' }).optional(),
    loss: z.number().meta({ description: 'Running mean training loss of the current epoch.' }).optional(),
    evalMetric: z
      .object({
        name: z.string().max(128).meta({ description: 'Metric name, e.g. accuracy.' }),
        value: z.number().meta({ description: 'Metric value.' }),
      })
      .meta({ description: 'Latest evaluation metric.' })
      .optional(),
    summary: z.string().max(64).meta({ description: 'Short progress for the PROGRESS column: `<epoch>/<epochs>` (e.g. `2/3`).' }).optional(),
    updatedAt: DateTime('When the trainer last reported progress.').optional(),
  })
  .meta({ description: "Training progress, copied from the trainer's progress.json while the run is active." });
export type TrainingRunProgress = z.infer<typeof ProgressSchema>;

const ArtifactSchema = z
  .object({
    uri: z.string().max(1024).meta({ description: 'The final weights: `s3://<bucket>/models/<model>/<runId>/checkpoint/`.' }).optional(),
    metadataUri: z.string().max(1024).meta({ description: 'The metadata.json the trainer wrote beside the weights.' }).optional(),
    recordUri: z.string().max(1024).meta({ description: "The operator's durable record of the run (run.json)." }).optional(),
  })
  .meta({ description: 'Where the trained model and its records are, once the run has Succeeded.' });
export type TrainingRunArtifact = z.infer<typeof ArtifactSchema>;

export const TrainingRunStatusSchema = z
  .object({
    phase: z.enum(TRAINING_RUN_PHASES).meta({ description: 'Pending, Queued, Running, Succeeded, Failed or Suspended.' }).optional(),
    runId: z
      .string()
      .max(64)
      .meta({ description: 'Run id (`YYYYMMDD-HHMMSS-xxxxxx`), assigned once; names the S3 prefix and is the same on every attempt.' })
      .optional(),
    observedGeneration: z.int().min(0).meta({ description: 'The .metadata.generation this status was computed from.' }).optional(),
    conditions: conditions(
      'Standard conditions: Ready (True once the model is trained and recorded), Succeeded, Failed (terminal), Queued, ' +
        'Suspended, Reconciling and Stalled (kstatus). Use `kubectl wait --for=condition=Succeeded`.',
    ).optional(),
    progress: ProgressSchema.optional(),
    attempts: z.int().min(0).meta({ description: 'Jobs created so far (attempt numbers are 1-based; the Job is `<run>-<attempt>`).' }).optional(),
    preemptions: z.int().min(0).meta({ description: 'Pods ended by a spot interruption, node drain or preemption, and Kueue preemptions of the Workload; they do not count against retries.' }).optional(),
    failures: z.int().min(0).meta({ description: 'Attempts that failed; the run fails when this exceeds spec.retries.' }).optional(),
    jobName: z.string().max(63).meta({ description: 'Name of the current (or last) Job.' }).optional(),
    queue: z
      .object({
        workload: z.string().max(253).meta({ description: "The Kueue Workload of the current Job." }),
        clusterQueue: z.string().max(253).meta({ description: 'The ClusterQueue that admitted it, once admitted.' }).optional(),
        preemptions: z.int().min(0).meta({ description: "Kueue's preemptions of this Workload, already counted in status.preemptions." }).optional(),
      })
      .meta({ description: 'Queued runs (spec.queue) with the operator reading Kueue: the Workload Kueue made of the Job.' })
      .optional(),
    startTime: DateTime('When the first attempt started running.').optional(),
    completionTime: DateTime('When the run reached Succeeded or Failed.').optional(),
    artifact: ArtifactSchema.optional(),
    message: z.string().max(32768).meta({ description: 'Human-readable summary of the current state (e.g. the trainer\'s error line).' }).optional(),
    gpus: z.int().min(0).meta({ description: 'Total GPUs of the run (workers × GPUs per worker, defaults applied), for the GPUS column.' }).optional(),
  })
  .meta({ description: 'Observed state of the run, written by the operator.' });
export type TrainingRunStatus = z.infer<typeof TrainingRunStatusSchema>;

// ---------------------------------------------------------------------------------------------
// the whole object

export const TRAINING_RUN_NAME_RULE: NameRule = nameRule(MAX_TRAINING_RUN_NAME_LENGTH, 'the Job, its pods and its Service are named after it');

export const TRAINING_RUN_DESCRIPTION =
  'A TrainingRun trains or fine-tunes a model as a Kubernetes Job (one pod per worker) and leaves the weights, ' +
  'metadata.json and a run record under s3://<bucket>/models/<outputModel>/<runId>/. Serve the result with an ' +
  'InferenceService whose spec.model.trainingRun names this run.';

const ObjectMeta = z.custom<V1ObjectMeta>((v) => typeof v === 'object' && v !== null);

export const TrainingRunSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KINDS.TrainingRun),
  metadata: ObjectMeta,
  spec: TrainingRunSpecSchema,
  status: TrainingRunStatusSchema.optional(),
});
export type TrainingRun = z.infer<typeof TrainingRunSchema>;
