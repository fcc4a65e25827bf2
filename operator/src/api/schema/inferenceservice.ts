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
  DNS_SUBDOMAIN_RE,
  cel,
  celRegex,
  conditions,
  DateTime,
  dnsLabel,
  duration,
  dnsSubdomain,
  metadataMap,
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

// ---- spec.expose: an Ingress or a Gateway API HTTPRoute in front of the service's Service -------

/** A host name as Ingress and HTTPRoute take it: a lower-case DNS subdomain, not an IP address. */
export const HOST_RE = DNS_SUBDOMAIN_RE;
/** An Ingress or HTTPRoute hostname may not be an IP address (the API server refuses one). */
export const IP_LIKE_RE = /^[0-9.]+$/;
/** An HTTPRoute hostname may start with a wildcard label (`*.example.com`). */
export const WILDCARD_HOST_RE = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An absolute URL path of non-empty segments (no `//`), unreserved characters only. */
export const EXPOSE_PATH_RE = /^\/([A-Za-z0-9._~-]+\/)*[A-Za-z0-9._~-]*$/;
/** `.` and `..` segments, which the Gateway API refuses and an Ingress path should not hold. */
export const DOT_SEGMENT_RE = /(^|\/)\.\.?(\/|$)/;

function exposePath(path: string) {
  const message = `${path} must be an absolute path such as / or /v1/story-writer (segments of letters, digits, '.', '_', '~' and '-'; no '//', '.' or '..' segments)`;
  return z
    .string()
    .min(1)
    .max(1024)
    .refine((s) => EXPOSE_PATH_RE.test(s) && !DOT_SEGMENT_RE.test(s), message)
    .meta({
      description: `Path prefix routed to the service (PathPrefix). Default: ${DEFAULTS.exposePath}.`,
      ...cel({ rule: `self.matches(${celRegex(EXPOSE_PATH_RE)}) && !self.matches(${celRegex(DOT_SEGMENT_RE)})`, message }),
    });
}

function hostName(path: string, description: string, wildcard: boolean) {
  const re = wildcard ? WILDCARD_HOST_RE : HOST_RE;
  const message = `${path} must be a lower-case DNS name such as models.example.com${wildcard ? ' (optionally *.example.com)' : ''}, not an IP address`;
  return z
    .string()
    .min(1)
    .max(253)
    .refine((s) => re.test(s) && !IP_LIKE_RE.test(s), message)
    .meta({ description, ...cel({ rule: `self.matches(${celRegex(re)}) && !self.matches(${celRegex(IP_LIKE_RE)})`, message }) });
}

const TLS_NEEDS_HOST: CelRule = {
  rule: '!has(self.tls) || has(self.host)',
  message: 'spec.expose.ingress.tls needs spec.expose.ingress.host (the certificate is for a host)',
  fieldPath: '.tls',
};
const IngressExposeSchema = z
  .strictObject({
    className: dnsSubdomain(
      'spec.expose.ingress.className',
      "IngressClass of the Ingress (spec.ingressClassName). `alb` (the AWS Load Balancer Controller's) adds Lathe's ALB defaults to the annotations. Default: the cluster's default IngressClass.",
    ).optional(),
    host: hostName('spec.expose.ingress.host', 'Host the Ingress answers for, e.g. story-writer.models.example.com. Default: any host (status.externalUrl then uses the load balancer\'s address).', false).optional(),
    path: exposePath('spec.expose.ingress.path').optional(),
    tls: z
      .strictObject({
        secretName: dnsSubdomain(
          'spec.expose.ingress.tls.secretName',
          "Secret (kubernetes.io/tls, in the service's namespace) with the host's certificate, for controllers that terminate TLS with a Secret (ingress-nginx, Traefik). Leave it out for the AWS Load Balancer Controller, which finds an ACM certificate for the host.",
        ).optional(),
      })
      .meta({ description: 'Serve HTTPS for host (spec.tls of the Ingress); status.externalUrl is then https://. Needs host.' })
      .optional(),
    annotations: metadataMap(
      'spec.expose.ingress.annotations',
      'Annotations of the Ingress, over the defaults (with className alb: alb.ingress.kubernetes.io/scheme internal, target-type ip, healthcheck-path the readiness path). Set alb.ingress.kubernetes.io/scheme: internet-facing for a public load balancer.',
      'annotations',
    ).optional(),
  })
  .refine((i) => i.tls === undefined || i.host !== undefined, { message: TLS_NEEDS_HOST.message, path: ['tls'] })
  .meta({ description: 'A networking.k8s.io/v1 Ingress to the service\'s Service (port 80).', ...cel(TLS_NEEDS_HOST) });

const ParentRefSchema = z
  .strictObject({
    name: dnsSubdomain('spec.expose.httpRoute.parentRefs[].name', 'Name of the Gateway.'),
    namespace: dnsLabel('spec.expose.httpRoute.parentRefs[].namespace', "Namespace of the Gateway (its listener must allow routes from this namespace). Default: the service's namespace.").optional(),
    sectionName: dnsSubdomain('spec.expose.httpRoute.parentRefs[].sectionName', 'Listener of the Gateway to attach to. Default: every listener that accepts the route.').optional(),
    port: z.int().min(1).max(65535).meta({ description: 'Port of the Gateway listener to attach to. Default: any.' }).optional(),
  })
  .meta({ description: 'A Gateway (gateway.networking.k8s.io) the route attaches to.' });

const HttpRouteExposeSchema = z
  .strictObject({
    parentRefs: z
      .array(ParentRefSchema)
      .min(1)
      .max(8)
      .meta({ description: 'Gateways the route attaches to (at least one).', 'x-kubernetes-list-type': 'atomic' }),
    hostnames: z
      .array(hostName('spec.expose.httpRoute.hostnames[]', 'A hostname.', true))
      .max(16)
      .meta({
        description:
          'Hostnames of the route. The first one without a wildcard makes status.externalUrl; without one the URL is the Gateway\'s address, which a route does not show. Default: every hostname of the listener.',
        'x-kubernetes-list-type': 'atomic',
      })
      .optional(),
    path: exposePath('spec.expose.httpRoute.path').optional(),
    scheme: z
      .enum(['http', 'https'])
      .meta({ description: "Scheme of the Gateway's listener, for status.externalUrl only (a route cannot see it). Default: https." })
      .optional(),
  })
  .meta({ description: 'A gateway.networking.k8s.io/v1 HTTPRoute to the service\'s Service (port 80). Needs the Gateway API CRDs and the operator\'s LATHE_GATEWAY_API=true.' });

const EXPOSE_ONE_OF: CelRule = {
  rule: 'has(self.ingress) != has(self.httpRoute)',
  message: 'spec.expose must set exactly one of spec.expose.ingress or spec.expose.httpRoute',
};
const ExposeSchema = z
  .strictObject({
    ingress: IngressExposeSchema.optional(),
    httpRoute: HttpRouteExposeSchema.optional(),
  })
  .refine((e) => (e.ingress === undefined) !== (e.httpRoute === undefined), EXPOSE_ONE_OF.message)
  .meta({
    description:
      'Expose the service outside the cluster: exactly one of ingress or httpRoute. The operator applies it next to the Service and deletes it when expose is removed; status.externalUrl shows the URL once the controller publishes an address.',
    ...cel(EXPOSE_ONE_OF),
  });

// ---- spec.rollout: how a change of model (or pod template) reaches the traffic ------------------

export const ROLLOUT_STRATEGIES = ['Replace', 'Canary'] as const;
export const MAX_ROLLOUT_STEPS = 10;
const STEPS_NEED_CANARY: CelRule = {
  rule: "self.strategy == 'Canary' || (!has(self.steps) && !has(self.stepDuration) && !has(self.analysis))",
  message: 'spec.rollout.steps, spec.rollout.stepDuration and spec.rollout.analysis apply only to strategy Canary',
  fieldPath: '.strategy',
};
const CANARY_NEEDS_STEPS: CelRule = {
  rule: "self.strategy != 'Canary' || has(self.steps)",
  message: 'spec.rollout.steps is required with strategy Canary (e.g. [{weight: 10}, {weight: 50}])',
  fieldPath: '.steps',
};
const STEPS_INCREASING: CelRule = {
  rule: 'self.map(s, s.weight).isSorted() && self.all(s, self.exists_one(t, t.weight == s.weight))',
  message: 'spec.rollout.steps[].weight must increase from one step to the next',
};
const AnalysisSchema = z
  .strictObject({
    maxErrorRate: z
      .number()
      .min(0)
      .max(1)
      .meta({ description: "Highest share (0 to 1) of the canary's generation requests that may answer 5xx in a step, e.g. 0.05." })
      .optional(),
    maxLatencyP95Seconds: z
      .number()
      .positive()
      .max(3600)
      .meta({ description: "Highest 95th percentile of the canary's request latency in a step, in seconds (from the server's lathe_request_duration_seconds histogram)." })
      .optional(),
    minRequests: z
      .int()
      .min(0)
      .max(1_000_000)
      .meta({
        description:
          'Requests the canary must have answered in a step before the step can pass, and before a bound can fail it; a step with fewer waits past its duration. Default: 1.',
      })
      .optional(),
  })
  .meta({
    description:
      "Bounds each step of the canary must keep, read by the operator from the canary pods' own /metrics (requests by status code and the latency histogram of the generation routes). A bound broken rolls the canary back at once; without analysis a step passes when its duration is over.",
  });
const StepSchema = z
  .strictObject({
    weight: z.int().min(1).max(99).meta({ description: "The canary's share of the service's pods in this step, in percent (1 to 99): set by replica counts, so as coarse as the replica count (status.rollout.canaryShare shows the share it got)." }),
    hold: z
      .boolean()
      .meta({ description: 'Hold here once the step has passed (an A/B comparison): the split stays until this is removed or set false; analysis goes on guarding it.' })
      .optional(),
    duration: duration('spec.rollout.steps[].duration', 'How long this step runs before it is judged. Default: spec.rollout.stepDuration.').optional(),
  })
  .meta({ description: 'One step of a canary rollout.' });
const RolloutSchema = z
  .strictObject({
    strategy: z.enum(ROLLOUT_STRATEGIES).meta({
      description:
        'Replace: the new pods replace the old ones in one rolling update (the default without spec.rollout). Canary: the new model runs as a second Deployment beside the serving one, through steps, and is promoted when every step passes or rolled back when one fails.',
    }),
    steps: z
      .array(StepSchema)
      .min(1)
      .max(MAX_ROLLOUT_STEPS)
      .refine((steps) => steps.every((s, i) => i === 0 || s.weight > steps[i - 1]!.weight), STEPS_INCREASING.message)
      .meta({ description: `The canary's shares, in increasing order (at most ${MAX_ROLLOUT_STEPS}), e.g. [{weight: 10}, {weight: 50}]. After the last one passes the canary is promoted.`, 'x-kubernetes-list-type': 'atomic', ...cel(STEPS_INCREASING) })
      .optional(),
    stepDuration: duration('spec.rollout.stepDuration', `How long each step runs before it is judged. Default: ${'5m'}.`).optional(),
    analysis: AnalysisSchema.optional(),
  })
  .refine((r) => r.strategy === 'Canary' || (r.steps === undefined && r.stepDuration === undefined && r.analysis === undefined), { message: STEPS_NEED_CANARY.message, path: ['strategy'] })
  .refine((r) => r.strategy !== 'Canary' || r.steps !== undefined, { message: CANARY_NEEDS_STEPS.message, path: ['steps'] })
  .meta({
    description:
      'How a change of the model or the pod template rolls out. Without it: Replace. A Canary runs the new pods as the Deployment <name>-canary behind the same Service; a change of only spec.rollout (e.g. removing a hold) goes on with the same canary.',
    ...cel(STEPS_NEED_CANARY, CANARY_NEEDS_STEPS),
  });
const CANARY_NEEDS_REPLICAS: CelRule = {
  rule: "!has(self.rollout) || self.rollout.strategy != 'Canary' || self.replicas.min >= 1",
  message: 'spec.replicas.min must be at least 1 with spec.rollout.strategy Canary (the canary\'s share is of the serving pods)',
  fieldPath: '.replicas.min',
};

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
    expose: ExposeSchema.optional(),
    rollout: RolloutSchema.optional(),
    // Mutable, as the rest of the spec: a change rolls the Deployment like any template change.
    ...podScheduling(' Changing it rolls out new pods.'),
  })
  .refine((s) => s.rollout?.strategy !== 'Canary' || s.replicas.min >= 1, { message: CANARY_NEEDS_REPLICAS.message, path: ['replicas', 'min'] })
  .meta({ description: 'What to serve and how. Defaults are applied by the operator when it renders the Deployment, never written back here.', ...cel(CANARY_NEEDS_REPLICAS) });
export type InferenceServiceSpec = z.infer<typeof InferenceServiceSpecSchema>;
export type InferenceServiceModel = z.infer<typeof ModelSchema>;
export type InferenceServiceRuntime = z.infer<typeof RuntimeSchema>;
export type InferenceServiceAutoscaling = z.infer<typeof AutoscalingSchema>;
export type InferenceServiceExpose = z.infer<typeof ExposeSchema>;
export type IngressExpose = z.infer<typeof IngressExposeSchema>;
export type HttpRouteExpose = z.infer<typeof HttpRouteExposeSchema>;
export type InferenceServiceRollout = z.infer<typeof RolloutSchema>;
export type RolloutAnalysis = z.infer<typeof AnalysisSchema>;
export type RolloutStep = z.infer<typeof StepSchema>;

/** A model as status shows it: its URI and, for a TrainingRun's artifact, the run that made it. */
const ModelVersionSchema = z
  .object({
    uri: z.string().max(1024).meta({ description: 'The model URI.' }),
    trainingRun: z.string().max(63).meta({ description: 'The TrainingRun whose artifact it is (spec.model.trainingRun).' }).optional(),
    runId: z.string().max(128).meta({ description: "That run's id (status.runId of the TrainingRun)." }).optional(),
    recordUri: z.string().max(1024).meta({ description: "That run's record in S3 (run.json)." }).optional(),
  })
  .meta({ description: 'A model version.' });
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

export const ROLLOUT_PHASES = ['Starting', 'Running', 'Held', 'Promoting', 'Succeeded', 'RolledBack'] as const;
export type RolloutPhase = (typeof ROLLOUT_PHASES)[number];
export const STEP_VERDICTS = ['Running', 'Waiting', 'Held', 'Passed', 'Failed'] as const;
export type StepVerdict = (typeof STEP_VERDICTS)[number];

/** Counters of the canary pods summed, at the start of a step: what the step's figures are counted from. */
const CountsSchema = z
  .object({
    requests: z.number().min(0).meta({ description: 'Generation requests answered.' }),
    errors: z.number().min(0).meta({ description: 'Of them, answered 5xx.' }),
    buckets: z
      .array(z.object({ le: z.string().max(32).meta({ description: 'Upper bound in seconds, or +Inf.' }), count: z.number().min(0).meta({ description: 'Cumulative count.' }) }).meta({ description: 'A latency histogram bucket.' }))
      .max(64)
      .meta({ description: 'The latency histogram (cumulative buckets).', 'x-kubernetes-list-type': 'atomic' }),
  })
  .meta({ description: "Summed counters of the canary's pods." });
export type RolloutCounts = z.infer<typeof CountsSchema>;

const StepResultSchema = z
  .object({
    step: z.int().min(0).meta({ description: 'Index of the step in spec.rollout.steps.' }),
    weight: z.int().min(0).max(100).meta({ description: 'The share the step asked for, in percent.' }),
    share: z.int().min(0).max(100).meta({ description: 'The share of the pods the canary had, in percent.' }),
    verdict: z.enum(STEP_VERDICTS).meta({ description: 'Running (within its duration), Waiting (its duration is over, too few requests or no metrics yet), Held (passed, held by spec), Passed or Failed.' }),
    requests: z.number().min(0).meta({ description: 'Generation requests the canary answered in the step.' }).optional(),
    errorRate: z.number().min(0).max(1).meta({ description: 'Share of them answered 5xx.' }).optional(),
    latencyP95Seconds: z.number().min(0).meta({ description: '95th percentile of their latency, in seconds (interpolated within the histogram bucket).' }).optional(),
    startedAt: DateTime('When the step started (the canary pods ready at its share).').optional(),
    finishedAt: DateTime('When it passed or failed.').optional(),
    message: z.string().max(4096).meta({ description: 'What was decided, and why.' }).optional(),
  })
  .meta({ description: 'The figures of one step.' });
export type StepResult = z.infer<typeof StepResultSchema>;

const RolloutStatusSchema = z
  .object({
    phase: z.enum(ROLLOUT_PHASES).meta({ description: 'Starting (the canary pods of a step becoming ready), Running, Held, Promoting (the serving Deployment taking the new template), Succeeded or RolledBack.' }),
    templateHash: z.string().max(64).meta({ description: 'Hash of the canary\'s pod template: the rollout it is (a change of only spec.rollout goes on with it).' }),
    step: z.int().min(0).meta({ description: 'Index of the current step in spec.rollout.steps.' }),
    canaryWeight: z.int().min(0).max(100).meta({ description: 'The share the current step asks for, in percent.' }).optional(),
    canaryShare: z.int().min(0).max(100).meta({ description: "The canary's share of the service's pods now, in percent (what the Service splits traffic by). Absent when no canary runs." }).optional(),
    canaryReplicas: z.int().min(0).meta({ description: 'Replicas of the canary Deployment.' }).optional(),
    stableReplicas: z.int().min(0).meta({ description: 'Replicas of the serving (stable) Deployment.' }).optional(),
    stepStartedAt: DateTime('When the current step started.').optional(),
    baseline: CountsSchema.optional(),
    steps: z.array(StepResultSchema).max(MAX_ROLLOUT_STEPS).meta({ description: 'The figures of each step so far.', 'x-kubernetes-list-type': 'atomic' }).optional(),
    message: z.string().max(4096).meta({ description: 'Where the rollout stands.' }).optional(),
  })
  .meta({ description: 'With spec.rollout.strategy Canary: the canary rollout, its steps and their figures (kept after it ends, until the next one).' });
export type RolloutStatus = z.infer<typeof RolloutStatusSchema>;

export const InferenceServiceStatusSchema = z
  .object({
    observedGeneration: z.int().min(0).meta({ description: 'The .metadata.generation this status was computed from.' }).optional(),
    conditions: conditions(
      'Standard conditions: ModelResolved, Ready (with a reason whenever it is not True), Progressing, RolledBack, ' +
        'Exposed (with spec.expose), Reconciling and Stalled (kstatus). Use `kubectl wait --for=condition=Ready`.',
    ).optional(),
    modelUri: z.string().max(1024).meta({ description: 'The resolved model URI (a TrainingRun reference becomes its artifact\'s s3:// URI).' }).optional(),
    servingModelUri: z.string().max(1024).meta({ description: 'The model URI the ready pods serve right now (differs from modelUri during a rollout).' }).optional(),
    lastReadyModelUri: z.string().max(1024).meta({ description: 'The last model URI that became Ready, to roll back to when a rollout stalls.' }).optional(),
    url: z.string().max(1024).meta({ description: 'In-cluster URL of the service, e.g. http://<name>.<namespace>.svc.cluster.local.' }).optional(),
    externalUrl: z
      .string()
      .max(2048)
      .meta({
        description:
          'With spec.expose: the URL from outside the cluster, once the Ingress controller published an address (status.loadBalancer of the Ingress) or a Gateway accepted the HTTPRoute (with a hostname). Condition Exposed says why it is missing.',
      })
      .optional(),
    replicas: z.int().min(0).meta({ description: 'Current replicas (pods) of the Deployment; the scale subresource reports it.' }).optional(),
    readyReplicas: z.int().min(0).meta({ description: 'Replicas that are ready to serve.' }).optional(),
    selector: z.string().max(4096).meta({ description: 'Label selector of the serving pods, for the scale subresource (HPA, kubectl scale).' }).optional(),
    message: z.string().max(32768).meta({ description: 'Human-readable summary of the current state.' }).optional(),
    stableModel: ModelVersionSchema.meta({ description: 'The model the serving (stable) pods run, with the TrainingRun that made it.' }).optional(),
    canaryModel: ModelVersionSchema.meta({ description: 'During a canary rollout: the model the canary pods run.' }).optional(),
    rollout: RolloutStatusSchema.optional(),
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
