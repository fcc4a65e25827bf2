/* eslint-disable @typescript-eslint/no-explicit-any */
// Valid objects and a table of malformed ones, shared by the admission integration test (the real
// API server must reject each, naming the field) and the unit test operator/src/api/schema/schema.test.ts
// (the zod schemas must reject the same specs, so the operator's parse agrees with admission).
import { API_VERSION, KINDS } from '../../src/api/constants.js';

export type Obj = Record<string, unknown> & { metadata: { name: string; namespace?: string }; spec: Record<string, unknown> };

export function validInferenceService(name = 'story-writer'): Obj {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.InferenceService,
    metadata: { name },
    spec: {
      model: { uri: 'hf://BEE-spoke-data/smol_llama-101M-GQA' },
      task: 'text-generation',
      replicas: { min: 1, max: 4 },
      resources: { gpus: 1, memory: '16Gi' },
      runtime: { image: 'vllm/vllm-openai:v0.6.3', args: ['--port', '8000'], port: 8000, env: [{ name: 'VLLM_LOGGING_LEVEL', value: 'INFO' }] },
      autoscaling: { targetCPUUtilization: 70 },
      progressDeadlineSeconds: 300,
      nodeSelector: { 'lathe.dev/node-pool': 'gpu' },
      tolerations: [{ operator: 'Exists' }],
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'example.com/gpu-memory-gb', operator: 'Gt', values: ['20'] }] },
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['gpu-node-1'] }] },
            ],
          },
        },
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              topologyKey: 'topology.kubernetes.io/zone',
              labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['vector-db'] }] },
              namespaceSelector: {},
              matchLabelKeys: ['app.kubernetes.io/version'],
            },
          ],
        },
      },
      priorityClassName: 'serving-critical',
      expose: {
        ingress: {
          className: 'alb',
          host: 'story-writer.models.example.com',
          path: '/',
          tls: {},
          annotations: { 'alb.ingress.kubernetes.io/scheme': 'internet-facing' },
        },
      },
      rollout: {
        strategy: 'Canary',
        steps: [{ weight: 10, duration: '2m' }, { weight: 50, hold: true }],
        stepDuration: '5m',
        analysis: { maxErrorRate: 0.05, maxLatencyP95Seconds: 2.5, minRequests: 20 },
      },
    },
  };
}

/** spec.expose as an HTTPRoute, for the cases that need one. */
export const HTTP_ROUTE_EXPOSE = {
  httpRoute: { parentRefs: [{ name: 'public', namespace: 'gateway-system', sectionName: 'https' }], hostnames: ['story-writer.models.example.com'], path: '/v1', scheme: 'https' },
};

export interface BadCase {
  /** What is wrong, for the test name. */
  name: string;
  /** The field path the API server's message must contain. */
  field: string;
  /** Changes a valid object into the malformed one. */
  mutate: (obj: Obj) => void;
  /** Unknown fields are only an error under fieldValidation=Strict (kubectl's default). */
  strict?: boolean;
  /** false when the rule is not part of the spec schema (metadata.name rules). */
  zodRejects?: boolean;
}

const spec = (o: Obj) => o.spec as Record<string, any>;

/**
 * The scheduling fields (common.ts podScheduling), the same on both kinds. Each mutation sets the
 * whole field, so it applies to either valid object.
 */
const BAD_SCHEDULING: BadCase[] = [
  { name: 'nodeSelector key that is not a label key', field: 'spec.nodeSelector["bad key"]', mutate: (o) => (spec(o).nodeSelector = { zone: 'a', 'bad key': 'x' }) },
  { name: 'nodeSelector value that is not a label value', field: 'spec.nodeSelector["team"]', mutate: (o) => (spec(o).nodeSelector = { team: 'not a label value!' }) },
  { name: 'toleration with an unknown operator', field: 'spec.tolerations[0].operator', mutate: (o) => (spec(o).tolerations = [{ key: 'a', operator: 'Equals', value: 'b' }]) },
  {
    name: 'toleration with operator Exists and a value',
    field: 'spec.tolerations[0].value',
    mutate: (o) => (spec(o).tolerations = [{ key: 'example.com/dedicated', operator: 'Exists', value: 'ml' }]),
  },
  { name: 'toleration without a key and not Exists', field: 'spec.tolerations[0].key', mutate: (o) => (spec(o).tolerations = [{ operator: 'Equal', value: 'ml' }]) },
  {
    name: 'tolerationSeconds without effect NoExecute',
    field: 'spec.tolerations[1].tolerationSeconds',
    mutate: (o) =>
      (spec(o).tolerations = [
        { key: 'a', operator: 'Exists' },
        { key: 'b', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 },
      ]),
  },
  {
    name: 'node affinity with an unknown operator',
    field: 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator',
    mutate: (o) => (spec(o).affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'Contains', values: ['a'] }] }] } } }),
  },
  {
    name: 'node affinity In without values',
    field: 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values',
    mutate: (o) => (spec(o).affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In' }] }] } } }),
  },
  {
    name: 'node affinity Gt with a word',
    field: 'spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].preference.matchExpressions[0].values',
    mutate: (o) =>
      (spec(o).affinity = {
        nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'gpu-memory', operator: 'Gt', values: ['lots'] }] } }] },
      }),
  },
  {
    name: 'required node affinity without terms',
    field: 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms',
    mutate: (o) => (spec(o).affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } }),
  },
  {
    name: 'pod affinity selector Exists with values',
    field: 'spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].values',
    mutate: (o) =>
      (spec(o).affinity = {
        podAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['db'] }] } },
          ],
        },
      }),
  },
  {
    name: 'pod anti-affinity topologyKey that is not a label key',
    field: 'spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey',
    mutate: (o) => (spec(o).affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes io/host name' }] } }),
  },
  { name: 'priorityClassName that is not a DNS subdomain', field: 'spec.priorityClassName', mutate: (o) => (spec(o).priorityClassName = 'High_Priority') },
];

export const BAD_TRAINING_RUNS: BadCase[] = [
  { name: 'model with an unknown scheme', field: 'spec.model', mutate: (o) => (spec(o).model = 'ftp://models/llama') },
  { name: 'hf:// model without a name', field: 'spec.model', mutate: (o) => (spec(o).model = 'hf://just-an-org') },
  { name: 's3:// model without a prefix', field: 'spec.model', mutate: (o) => (spec(o).model = 's3://bucket') },
  { name: 'run:// model that is not a DNS name', field: 'spec.model', mutate: (o) => (spec(o).model = 'run://My_Run') },
  { name: 'no model for text-generation', field: 'spec.model', mutate: (o) => delete spec(o).model },
  { name: 'no task', field: 'spec.task', mutate: (o) => delete spec(o).task },
  { name: 'unknown task', field: 'spec.task', mutate: (o) => (spec(o).task = 'summarization') },
  { name: 'no dataset', field: 'spec.dataset', mutate: (o) => delete spec(o).dataset },
  { name: 'dataset with an unknown scheme', field: 'spec.dataset.uri', mutate: (o) => (spec(o).dataset = { uri: 'gs://bucket/data.jsonl' }) },
  { name: 'unknown builtin dataset', field: 'spec.dataset.uri', mutate: (o) => (spec(o).dataset = { uri: 'builtin:cifar10' }) },
  { name: 'zero workers', field: 'spec.workers', mutate: (o) => (spec(o).workers = 0) },
  { name: 'too many workers', field: 'spec.workers', mutate: (o) => (spec(o).workers = 65) },
  { name: 'workers as a string', field: 'spec.workers', mutate: (o) => (spec(o).workers = 'two') },
  { name: 'negative GPUs', field: 'spec.resources.gpus', mutate: (o) => (spec(o).resources.gpus = -1) },
  { name: 'too many GPUs', field: 'spec.resources.gpus', mutate: (o) => (spec(o).resources.gpus = 17) },
  { name: 'fractional GPUs', field: 'spec.resources.gpus', mutate: (o) => (spec(o).resources.gpus = 0.5) },
  { name: 'cpu that is not a quantity', field: 'spec.resources.cpu', mutate: (o) => (spec(o).resources.cpu = 'lots') },
  { name: 'zero memory', field: 'spec.resources.memory', mutate: (o) => (spec(o).resources.memory = '0Gi') },
  { name: 'negative memory', field: 'spec.resources.memory', mutate: (o) => (spec(o).resources.memory = -1) },
  { name: 'maxRuntime in words', field: 'spec.maxRuntime', mutate: (o) => (spec(o).maxRuntime = '2 hours') },
  { name: 'zero maxRuntime', field: 'spec.maxRuntime', mutate: (o) => (spec(o).maxRuntime = '0s') },
  { name: 'ttlAfterFinished in days', field: 'spec.ttlAfterFinished', mutate: (o) => (spec(o).ttlAfterFinished = '1d') },
  { name: 'too many retries', field: 'spec.retries', mutate: (o) => (spec(o).retries = 21) },
  { name: 'negative retries', field: 'spec.retries', mutate: (o) => (spec(o).retries = -1) },
  { name: 'queue that is not a DNS label', field: 'spec.queue', mutate: (o) => (spec(o).queue = 'Team_A') },
  { name: 'workload priority class without a queue', field: 'spec.workloadPriorityClassName', mutate: (o) => ((spec(o).workloadPriorityClassName = 'high'), delete spec(o).queue) },
  { name: 'workload priority class that is not a DNS name', field: 'spec.workloadPriorityClassName', mutate: (o) => (spec(o).workloadPriorityClassName = 'High Priority') },
  { name: 'zero learning rate', field: 'spec.hyperparameters.learningRate', mutate: (o) => (spec(o).hyperparameters.learningRate = 0) },
  { name: 'learning rate of 10', field: 'spec.hyperparameters.learningRate', mutate: (o) => (spec(o).hyperparameters.learningRate = 10) },
  { name: 'zero epochs', field: 'spec.hyperparameters.epochs', mutate: (o) => (spec(o).hyperparameters.epochs = 0) },
  { name: 'fractional batch size', field: 'spec.hyperparameters.batchSize', mutate: (o) => (spec(o).hyperparameters.batchSize = 1.5) },
  { name: 'negative weight decay', field: 'spec.hyperparameters.weightDecay', mutate: (o) => (spec(o).hyperparameters.weightDecay = -0.1) },
  { name: 'zero gradient accumulation', field: 'spec.hyperparameters.gradientAccumulationSteps', mutate: (o) => (spec(o).hyperparameters.gradientAccumulationSteps = 0) },
  { name: 'non-string extra hyperparameter', field: 'spec.hyperparameters.extra.dropout', mutate: (o) => (spec(o).hyperparameters.extra = { dropout: 0.1 }) },
  { name: 'unknown hyperparameter', field: 'spec.hyperparameters.dropout', strict: true, mutate: (o) => (spec(o).hyperparameters.dropout = 0.1) },
  { name: 'unknown spec field', field: 'spec.gpus', strict: true, mutate: (o) => (spec(o).gpus = 1) },
  { name: 'custom task without command', field: 'spec.command', mutate: (o) => (spec(o).task = 'custom') },
  { name: 'empty command', field: 'spec.command', mutate: (o) => (spec(o).command = []) },
  { name: 'outputModel with spaces', field: 'spec.outputModel', mutate: (o) => (spec(o).outputModel = 'My Model') },
  { name: 'image with whitespace', field: 'spec.image', mutate: (o) => (spec(o).image = 'my image:latest') },
  { name: 'spot as a string', field: 'spec.spot', mutate: (o) => (spec(o).spot = 'yes') },
  { name: 'invalid pod label value', field: 'spec.podMetadata.labels', mutate: (o) => (spec(o).podMetadata.labels = { team: 'not a label value!' }) },
  { name: 'invalid pod annotation key', field: 'spec.podMetadata.annotations', mutate: (o) => (spec(o).podMetadata.annotations = { 'bad key': 'x' }) },
  ...BAD_SCHEDULING,
  { name: 'toleration with an unknown effect', field: 'spec.tolerations[1].effect', mutate: (o) => (spec(o).tolerations[1].effect = 'NoRun') },
  {
    name: 'preferred node term of weight 0',
    field: 'spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight',
    mutate: (o) => (spec(o).affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight = 0),
  },
  {
    name: 'pod anti-affinity term without topologyKey',
    field: 'spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey',
    mutate: (o) => delete spec(o).affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey,
  },
  { name: 'priorityClassName longer than 253 characters', field: 'spec.priorityClassName', mutate: (o) => (spec(o).priorityClassName = 'p'.repeat(254)) },
  {
    name: 'name longer than 52 characters',
    field: 'metadata.name',
    zodRejects: false,
    mutate: (o) => (o.metadata.name = `run-${'x'.repeat(50)}`),
  },
  { name: 'name starting with a digit', field: 'metadata.name', zodRejects: false, mutate: (o) => (o.metadata.name = '1st-run') },
];

const ispec = spec;

export const BAD_INFERENCE_SERVICES: BadCase[] = [
  { name: 'no model', field: 'spec.model', mutate: (o) => delete ispec(o).model },
  { name: 'model with both trainingRun and uri', field: 'spec.model', mutate: (o) => (ispec(o).model = { trainingRun: 'run-a', uri: 's3://bucket/models/a/' }) },
  { name: 'model with neither trainingRun nor uri', field: 'spec.model', mutate: (o) => (ispec(o).model = {}) },
  { name: 'model uri with an unknown scheme', field: 'spec.model.uri', mutate: (o) => (ispec(o).model = { uri: 'gs://bucket/model' }) },
  { name: 'run:// model uri (use trainingRun)', field: 'spec.model.uri', mutate: (o) => (ispec(o).model = { uri: 'run://my-run' }) },
  { name: 'trainingRun that is not a DNS name', field: 'spec.model.trainingRun', mutate: (o) => (ispec(o).model = { trainingRun: 'My_Run' }) },
  { name: 'unknown task', field: 'spec.task', mutate: (o) => (ispec(o).task = 'image-classification') },
  { name: 'no replicas', field: 'spec.replicas', mutate: (o) => delete ispec(o).replicas },
  { name: 'replicas without min', field: 'spec.replicas.min', mutate: (o) => (ispec(o).replicas = { max: 3 }) },
  { name: 'negative min replicas', field: 'spec.replicas.min', mutate: (o) => (ispec(o).replicas = { min: -1 }) },
  { name: 'too many replicas', field: 'spec.replicas.min', mutate: (o) => (ispec(o).replicas = { min: 101 }) },
  { name: 'max below min', field: 'spec.replicas.max', mutate: (o) => (ispec(o).replicas = { min: 3, max: 2 }) },
  { name: 'too many GPUs', field: 'spec.resources.gpus', mutate: (o) => (ispec(o).resources.gpus = 17) },
  { name: 'zero cpu', field: 'spec.resources.cpu', mutate: (o) => (ispec(o).resources.cpu = '0') },
  { name: 'runtime without image', field: 'spec.runtime.image', mutate: (o) => delete ispec(o).runtime.image },
  { name: 'runtime port out of range', field: 'spec.runtime.port', mutate: (o) => (ispec(o).runtime.port = 70000) },
  { name: 'env name that is not an identifier', field: 'spec.runtime.env[0].name', mutate: (o) => (ispec(o).runtime.env = [{ name: '1BAD', value: 'x' }]) },
  {
    name: 'duplicate env names',
    field: 'spec.runtime.env[1]',
    mutate: (o) => (ispec(o).runtime.env = [{ name: 'A', value: '1' }, { name: 'A', value: '2' }]),
  },
  {
    name: 'both autoscaling targets',
    field: 'spec.autoscaling',
    mutate: (o) => (ispec(o).autoscaling = { targetCPUUtilization: 50, podsMetric: { name: 'queue_depth', targetAverageValue: '4' } }),
  },
  { name: 'zero CPU utilization target', field: 'spec.autoscaling.targetCPUUtilization', mutate: (o) => (ispec(o).autoscaling = { targetCPUUtilization: 0 }) },
  {
    name: 'pods metric target that is not a quantity',
    field: 'spec.autoscaling.podsMetric.targetAverageValue',
    mutate: (o) => (ispec(o).autoscaling = { podsMetric: { name: 'queue_depth', targetAverageValue: 'four' } }),
  },
  { name: 'zero progress deadline', field: 'spec.progressDeadlineSeconds', mutate: (o) => (ispec(o).progressDeadlineSeconds = 0) },
  { name: 'unknown spec field', field: 'spec.minReplicas', strict: true, mutate: (o) => (ispec(o).minReplicas = 2) },
  { name: 'expose with both ingress and httpRoute', field: 'spec.expose', mutate: (o) => (ispec(o).expose.httpRoute = structuredClone(HTTP_ROUTE_EXPOSE.httpRoute)) },
  { name: 'expose with neither ingress nor httpRoute', field: 'spec.expose', mutate: (o) => (ispec(o).expose = {}) },
  { name: 'ingress host that is not a DNS name', field: 'spec.expose.ingress.host', mutate: (o) => (ispec(o).expose.ingress.host = 'Story_Writer.example.com') },
  { name: 'ingress host that is an IP address', field: 'spec.expose.ingress.host', mutate: (o) => (ispec(o).expose.ingress.host = '10.0.0.1') },
  { name: 'ingress path that is not absolute', field: 'spec.expose.ingress.path', mutate: (o) => (ispec(o).expose.ingress.path = 'v1') },
  { name: 'ingress path with a .. segment', field: 'spec.expose.ingress.path', mutate: (o) => (ispec(o).expose.ingress.path = '/v1/../admin') },
  { name: 'ingress path with //', field: 'spec.expose.ingress.path', mutate: (o) => (ispec(o).expose.ingress.path = '/v1//x') },
  { name: 'ingress TLS without a host', field: 'spec.expose.ingress.tls', mutate: (o) => delete ispec(o).expose.ingress.host },
  { name: 'ingress TLS Secret that is not a DNS name', field: 'spec.expose.ingress.tls.secretName', mutate: (o) => (ispec(o).expose.ingress.tls = { secretName: 'My_Cert' }) },
  { name: 'ingress className that is not a DNS name', field: 'spec.expose.ingress.className', mutate: (o) => (ispec(o).expose.ingress.className = 'AWS ALB') },
  { name: 'ingress annotation key that is not a label key', field: 'spec.expose.ingress.annotations', mutate: (o) => (ispec(o).expose.ingress.annotations = { 'bad key': 'x' }) },
  { name: 'unknown ingress field', field: 'spec.expose.ingress.port', strict: true, mutate: (o) => (ispec(o).expose.ingress.port = 80) },
  { name: 'httpRoute without parentRefs', field: 'spec.expose.httpRoute.parentRefs', mutate: (o) => (ispec(o).expose = { httpRoute: { parentRefs: [] } }) },
  {
    name: 'httpRoute parentRef name that is not a DNS name',
    field: 'spec.expose.httpRoute.parentRefs[0].name',
    mutate: (o) => (ispec(o).expose = { httpRoute: { parentRefs: [{ name: 'Public GW' }] } }),
  },
  {
    name: 'httpRoute hostname that is not a DNS name',
    field: 'spec.expose.httpRoute.hostnames[0]',
    mutate: (o) => (ispec(o).expose = { httpRoute: { ...structuredClone(HTTP_ROUTE_EXPOSE.httpRoute), hostnames: ['models example com'] } }),
  },
  { name: 'httpRoute scheme that is not http or https', field: 'spec.expose.httpRoute.scheme', mutate: (o) => (ispec(o).expose = { httpRoute: { ...structuredClone(HTTP_ROUTE_EXPOSE.httpRoute), scheme: 'grpc' } }) },
  { name: 'rollout strategy that is not Replace or Canary', field: 'spec.rollout.strategy', mutate: (o) => (ispec(o).rollout.strategy = 'BlueGreen') },
  { name: 'canary rollout without steps', field: 'spec.rollout.steps', mutate: (o) => delete ispec(o).rollout.steps },
  { name: 'canary rollout with no step', field: 'spec.rollout.steps', mutate: (o) => (ispec(o).rollout.steps = []) },
  { name: 'rollout step weight of 100', field: 'spec.rollout.steps[1].weight', mutate: (o) => (ispec(o).rollout.steps[1].weight = 100) },
  { name: 'rollout step weight of 0', field: 'spec.rollout.steps[0].weight', mutate: (o) => (ispec(o).rollout.steps[0].weight = 0) },
  { name: 'rollout step weights that go down', field: 'spec.rollout.steps', mutate: (o) => (ispec(o).rollout.steps = [{ weight: 50 }, { weight: 10 }]) },
  { name: 'rollout step weight twice', field: 'spec.rollout.steps', mutate: (o) => (ispec(o).rollout.steps = [{ weight: 20 }, { weight: 20 }]) },
  { name: 'rollout with too many steps', field: 'spec.rollout.steps', mutate: (o) => (ispec(o).rollout.steps = Array.from({ length: 11 }, (_, i) => ({ weight: i + 1 }))) },
  { name: 'rollout step duration that is not a duration', field: 'spec.rollout.steps[0].duration', mutate: (o) => (ispec(o).rollout.steps[0].duration = '2 minutes') },
  { name: 'rollout stepDuration that is not a duration', field: 'spec.rollout.stepDuration', mutate: (o) => (ispec(o).rollout.stepDuration = '0s') },
  { name: 'rollout error rate above 1', field: 'spec.rollout.analysis.maxErrorRate', mutate: (o) => (ispec(o).rollout.analysis.maxErrorRate = 5) },
  { name: 'rollout latency bound of 0', field: 'spec.rollout.analysis.maxLatencyP95Seconds', mutate: (o) => (ispec(o).rollout.analysis.maxLatencyP95Seconds = 0) },
  { name: 'rollout negative minRequests', field: 'spec.rollout.analysis.minRequests', mutate: (o) => (ispec(o).rollout.analysis.minRequests = -1) },
  { name: 'unknown rollout step field', field: 'spec.rollout.steps[0].pause', strict: true, mutate: (o) => (ispec(o).rollout.steps[0].pause = true) },
  { name: 'steps with strategy Replace', field: 'spec.rollout.strategy', mutate: (o) => (ispec(o).rollout.strategy = 'Replace') },
  { name: 'canary rollout with no serving replicas', field: 'spec.replicas.min', mutate: (o) => (ispec(o).replicas = { min: 0, max: 4 }) },
  ...BAD_SCHEDULING,
  {
    name: 'node field requirement with two values',
    field: 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchFields[0].values',
    mutate: (o) => (ispec(o).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchFields[0].values = ['gpu-node-1', 'gpu-node-2']),
  },
  {
    name: 'pod affinity namespace that is not a DNS label',
    field: 'spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaces[0]',
    mutate: (o) => (ispec(o).affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].namespaces = ['Team_A']),
  },
  { name: 'name starting with a digit', field: 'metadata.name', zodRejects: false, mutate: (o) => (o.metadata.name = '9-writer') },
];

export function applyCase(base: Obj, c: BadCase): Obj {
  const copy = structuredClone(base);
  c.mutate(copy);
  return copy;
}
