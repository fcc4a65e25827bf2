// InferenceService: serves a model (from a TrainingRun, S3 or the Hugging Face Hub) as a GPU Deployment.
import type { V1ObjectMeta } from '@kubernetes/client-node';
import { z } from 'zod';
import {
  DNS_LABEL_RE,
  ENV_NAME_RE,
  HF_URI_RE,
  IMAGE_RE,
  METRIC_NAME_RE,
  S3_URI_RE,
  cel,
  celRegex,
  conditions,
  podMetadata,
  podScheduling,
  quantity,
  resources,
  nameRule,
  type CelRule,
  type NameRule,
} from './common.js';
import { API_VERSION, DEFAULTS, INFERENCE_TASKS, KINDS, MAX_INFERENCE_SERVICE_NAME_LENGTH } from '../constants.js';

const MODEL_REF_MESSAGE = 'spec.model.trainingRun must be the name of a TrainingRun in the same namespace (a DNS label)';
const MODEL_URI_MESSAGE = 'spec.model.uri must be s3://<bucket>/<prefix> or hf://<org>/<name>';
const MODEL_ONE_OF = { rule: 'has(self.trainingRun) != has(self.uri)', message: 'spec.model must set exactly one of spec.model.trainingRun or spec.model.uri' };

const ModelSchema = z
  .strictObject({
    trainingRun: z
      .string()
      .min(1)
      .max(63)
      .refine((s) => DNS_LABEL_RE.test(s), MODEL_REF_MESSAGE)
      .meta({
        description:
          'Serve the artifact of this TrainingRun (same namespace). The service is not Ready until the run has Succeeded; ' +
          'status.modelUri shows the resolved s3:// URI.',
        ...cel({ rule: `self.matches(${celRegex(DNS_LABEL_RE)})`, message: MODEL_REF_MESSAGE }),
      })
      .optional(),
    uri: z
      .string()
      .max(1024)
      .refine((s) => S3_URI_RE.test(s) || HF_URI_RE.test(s), MODEL_URI_MESSAGE)
      .meta({
        description:
          'Serve this model: `s3://<bucket>/<prefix>` (a Hugging Face save_pretrained directory, e.g. a run\'s ' +
          '`.../checkpoint/`) or `hf://<org>/<name>` (downloaded from the Hugging Face Hub).',
        ...cel({ rule: `self.matches(${celRegex(S3_URI_RE)}) || self.matches(${celRegex(HF_URI_RE)})`, message: MODEL_URI_MESSAGE }),
      })
      .optional(),
  })
  .refine((m) => (m.trainingRun === undefined) !== (m.uri === undefined), MODEL_ONE_OF.message)
  .meta({ description: 'The model to serve: exactly one of trainingRun or uri. Changing it rolls out the new model.', ...cel(MODEL_ONE_OF) });

const REPLICAS_RULE: CelRule = {
  rule: '!has(self.max) || self.max >= self.min',
  message: 'spec.replicas.max must be greater than or equal to spec.replicas.min',
  fieldPath: '.max',
};
const ReplicasSchema = z
  .strictObject({
    min: z.int().min(0).max(100).meta({
      description: 'Replicas (0 to 100), or the lower bound when autoscaling. `kubectl scale` sets this field.',
    }),
    max: z
      .int()
      .min(1)
      .max(100)
      .meta({ description: 'Upper bound (1 to 100, at least min). max greater than min adds a HorizontalPodAutoscaler. Default: min.' })
      .optional(),
  })
  .refine((r) => r.max === undefined || r.max >= r.min, REPLICAS_RULE.message)
  .meta({
    description:
      'How many serving pods: `{min: 1}` for a fixed count, `{min: 1, max: 4}` to autoscale. Required, so that the scale ' +
      'subresource (`kubectl scale`, which sets min) always has a value to read.',
    ...cel(REPLICAS_RULE),
  });

const ENV_NAME_MESSAGE = 'spec.runtime.env[].name must be a C identifier (letters, digits and _, not starting with a digit)';
/**
 * Variables the operator sets in the server container itself (inferenceservice/render.ts): a
 * user's variable of the same name would make the Deployment's env list hold a name twice, which
 * server-side apply refuses. (AWS_ENDPOINT_URL_S3 is the exception: the user's replaces the operator's.)
 */
export const OPERATOR_ENV = { prefix: 'LATHE_', names: ['PORT', 'HF_HOME'] } as const;
const OPERATOR_ENV_MESSAGE = `spec.runtime.env[].name must not start with ${OPERATOR_ENV.prefix} or be ${OPERATOR_ENV.names.join(' or ')}: the operator sets those (spec.runtime.port sets PORT)`;
export function isOperatorEnv(name: string): boolean {
  return name.startsWith(OPERATOR_ENV.prefix) || (OPERATOR_ENV.names as readonly string[]).includes(name);
}
const IMAGE_MESSAGE = 'spec.runtime.image must be a container image reference (printable ASCII without spaces)';
const RuntimeSchema = z
  .strictObject({
    image: z
      .string()
      .min(1)
      .max(512)
      .refine((s) => IMAGE_RE.test(s), IMAGE_MESSAGE)
      .meta({
        description: 'Serving image, e.g. vllm/vllm-openai:v0.6.3, nvcr.io/nvidia/tritonserver or pytorch/torchserve.',
        ...cel({ rule: `self.matches(${celRegex(IMAGE_RE)})`, message: IMAGE_MESSAGE }),
      }),
    command: z
      .array(z.string().max(4096))
      .max(64)
      .meta({ description: "Container entrypoint, replacing the image's.", 'x-kubernetes-list-type': 'atomic' })
      .optional(),
    args: z
      .array(z.string().max(4096))
      .max(128)
      .meta({ description: 'Container arguments, e.g. ["--model", "/models", "--port", "8080"].', 'x-kubernetes-list-type': 'atomic' })
      .optional(),
    port: z
      .int()
      .min(1)
      .max(65535)
      .meta({ description: `HTTP port the server listens on (1 to 65535); probes and the Service target it. Default: ${DEFAULTS.inferencePort}.` })
      .optional(),
    env: z
      .array(
        z
          .strictObject({
            name: z
              .string()
              .min(1)
              .max(256)
              .refine((s) => ENV_NAME_RE.test(s), ENV_NAME_MESSAGE)
              .refine((s) => !isOperatorEnv(s), OPERATOR_ENV_MESSAGE)
              .meta({
                description: `Variable name; not ${OPERATOR_ENV.names.join(' or ')} nor ${OPERATOR_ENV.prefix}*, which the operator sets.`,
                ...cel(
                  { rule: `self.matches(${celRegex(ENV_NAME_RE)})`, message: ENV_NAME_MESSAGE },
                  {
                    rule: `!self.startsWith('${OPERATOR_ENV.prefix}') && !(self in [${OPERATOR_ENV.names.map((n) => `'${n}'`).join(', ')}])`,
                    message: OPERATOR_ENV_MESSAGE,
                  },
                ),
              }),
            value: z.string().max(32768).meta({ description: 'Variable value.' }),
          })
          .meta({ description: 'An environment variable.' }),
      )
      .max(64)
      .refine((env) => new Set(env.map((e) => e.name)).size === env.length, 'spec.runtime.env names must be unique')
      .meta({
        description: 'Extra environment variables for the server container (the LATHE_* variables are always set).',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
      })
      .optional(),
  })
  .meta({
    description:
      "Bring your own server (vLLM, Triton, TorchServe, ...). Default: the project's inference image. The operator " +
      'still sets LATHE_MODEL_URI, LATHE_TASK, LATHE_MODEL_NAME and PORT, and probes /healthz and /readyz unless the image is overridden (then the port is probed over TCP).',
  });

const AUTOSCALING_ONE_OF: CelRule = {
  rule: '!(has(self.targetCPUUtilization) && has(self.podsMetric))',
  message: 'spec.autoscaling may set at most one of targetCPUUtilization or podsMetric',
};
const METRIC_NAME_MESSAGE = 'spec.autoscaling.podsMetric.name must be a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)';
const AutoscalingSchema = z
  .strictObject({
    targetCPUUtilization: z
      .int()
      .min(1)
      .max(100)
      .meta({ description: `Target average CPU utilization in percent (1 to 100). Default when podsMetric is absent: ${DEFAULTS.autoscalingTargetCPUUtilization}.` })
      .optional(),
    podsMetric: z
      .strictObject({
        name: z
          .string()
          .min(1)
          .max(256)
          .refine((s) => METRIC_NAME_RE.test(s), METRIC_NAME_MESSAGE)
          .meta({
            description: 'Per-pod metric served by a custom metrics adapter, e.g. lathe_inference_queue_depth.',
            ...cel({ rule: `self.matches(${celRegex(METRIC_NAME_RE)})`, message: METRIC_NAME_MESSAGE }),
          }),
        targetAverageValue: quantity('spec.autoscaling.podsMetric.targetAverageValue', 'Target average value of the metric per pod, as a quantity.'),
      })
      .meta({ description: 'Scale on a per-pod custom metric instead of CPU.' })
      .optional(),
  })
  .refine((a) => !(a.targetCPUUtilization !== undefined && a.podsMetric !== undefined), AUTOSCALING_ONE_OF.message)
  .meta({
    description: 'How the HorizontalPodAutoscaler scales when replicas.max > replicas.min: at most one of targetCPUUtilization or podsMetric.',
    ...cel(AUTOSCALING_ONE_OF),
  });

export const InferenceServiceSpecSchema = z
  .strictObject({
    model: ModelSchema,
    task: z.enum(INFERENCE_TASKS).meta({ description: 'What the server does: `text-generation` or `text-to-image`.' }),
    replicas: ReplicasSchema,
    resources: resources('spec.resources', 'per replica').optional(),
    spot: z
      .boolean()
      .meta({ description: `Allow spot GPU nodes (replicas are spread and re-created elsewhere on interruption). Default: ${DEFAULTS.spot}.` })
      .optional(),
    runtime: RuntimeSchema.optional(),
    autoscaling: AutoscalingSchema.optional(),
    progressDeadlineSeconds: z
      .int()
      .min(1)
      .max(86400)
      .meta({
        description:
          'Seconds a rollout may take before it counts as stalled (Progressing=False, Stalled=True) and the service rolls back to ' +
          `the last model that was ready. Default: ${DEFAULTS.progressDeadlineSeconds}.`,
      })
      .optional(),
    podMetadata: podMetadata('spec.podMetadata').optional(),
    // Mutable, as the rest of the spec: a change rolls the Deployment like any template change.
    ...podScheduling(' Changing it rolls out new pods.'),
  })
  .meta({ description: 'What to serve and how. Defaults are applied by the operator when it renders the Deployment, never written back here.' });
export type InferenceServiceSpec = z.infer<typeof InferenceServiceSpecSchema>;
export type InferenceServiceModel = z.infer<typeof ModelSchema>;
export type InferenceServiceRuntime = z.infer<typeof RuntimeSchema>;
export type InferenceServiceAutoscaling = z.infer<typeof AutoscalingSchema>;

export const InferenceServiceStatusSchema = z
  .object({
    observedGeneration: z.int().min(0).meta({ description: 'The .metadata.generation this status was computed from.' }).optional(),
    conditions: conditions(
      'Standard conditions: ModelResolved, Ready (with a reason whenever it is not True), Progressing, RolledBack, ' +
        'Reconciling and Stalled (kstatus). Use `kubectl wait --for=condition=Ready`.',
    ).optional(),
    modelUri: z.string().max(1024).meta({ description: 'The resolved model URI (a TrainingRun reference becomes its artifact\'s s3:// URI).' }).optional(),
    servingModelUri: z.string().max(1024).meta({ description: 'The model URI the ready pods serve right now (differs from modelUri during a rollout).' }).optional(),
    lastReadyModelUri: z.string().max(1024).meta({ description: 'The last model URI that became Ready, to roll back to when a rollout stalls.' }).optional(),
    url: z.string().max(1024).meta({ description: 'In-cluster URL of the service, e.g. http://<name>.<namespace>.svc.cluster.local.' }).optional(),
    replicas: z.int().min(0).meta({ description: 'Current replicas (pods) of the Deployment; the scale subresource reports it.' }).optional(),
    readyReplicas: z.int().min(0).meta({ description: 'Replicas that are ready to serve.' }).optional(),
    selector: z.string().max(4096).meta({ description: 'Label selector of the serving pods, for the scale subresource (HPA, kubectl scale).' }).optional(),
    message: z.string().max(32768).meta({ description: 'Human-readable summary of the current state.' }).optional(),
  })
  .meta({ description: 'Observed state of the service, written by the operator.' });
export type InferenceServiceStatus = z.infer<typeof InferenceServiceStatusSchema>;

export const INFERENCE_SERVICE_NAME_RULE: NameRule = nameRule(MAX_INFERENCE_SERVICE_NAME_LENGTH, 'its Service and Deployment are named after it');

export const INFERENCE_SERVICE_DESCRIPTION =
  'An InferenceService serves a model over HTTP from a Deployment (GPU pods when resources.gpus > 0) behind a Service: ' +
  'the artifact of a TrainingRun, an s3:// prefix or a Hugging Face Hub model. Changing the model rolls it out and ' +
  'rolls back when the new one does not become ready.';

const ObjectMeta = z.custom<V1ObjectMeta>((v) => typeof v === 'object' && v !== null);

export const InferenceServiceSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(KINDS.InferenceService),
  metadata: ObjectMeta,
  spec: InferenceServiceSpecSchema,
  status: InferenceServiceStatusSchema.optional(),
});
export type InferenceService = z.infer<typeof InferenceServiceSchema>;
