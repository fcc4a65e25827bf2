/* eslint-disable @typescript-eslint/no-explicit-any */
// Valid objects and a table of malformed ones, shared by the admission integration test (the real
// API server must reject each, naming the field) and the unit test operator/src/api/schema.test.ts
// (the zod schemas must reject the same specs, so the operator's parse agrees with admission).
import { API_VERSION, KINDS } from '../../src/api/constants.js';

export type Obj = Record<string, unknown> & { metadata: { name: string; [k: string]: unknown }; spec: Record<string, unknown> };

export function validTrainingRun(name = 'smol-llama-stories'): Obj {
  return {
    apiVersion: API_VERSION,
    kind: KINDS.TrainingRun,
    metadata: { name },
    spec: {
      model: 'hf://BEE-spoke-data/smol_llama-101M-GQA',
      task: 'text-generation',
      dataset: { uri: 's3://ml-data/tinystories.jsonl' },
      hyperparameters: { epochs: 3, batchSize: 8, learningRate: 5.0e-5, extra: { scheduler: 'cosine' } },
      workers: 2,
      resources: { gpus: 1, cpu: '4', memory: '16Gi' },
      spot: true,
      maxRuntime: '2h',
      retries: 2,
      queue: 'team-a',
      ttlAfterFinished: '1h',
      suspend: true,
      outputModel: 'smol-llama-stories',
      podMetadata: { labels: { 'cost-center': 'ml-research' }, annotations: { 'example.com/note': 'hello world' } },
    },
  };
}

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
    },
  };
}

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
  { name: 'name starting with a digit', field: 'metadata.name', zodRejects: false, mutate: (o) => (o.metadata.name = '9-writer') },
];

export function applyCase(base: Obj, c: BadCase): Obj {
  const copy = structuredClone(base);
  c.mutate(copy);
  return copy;
}
