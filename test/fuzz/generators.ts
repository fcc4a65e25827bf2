// fast-check arbitraries of TrainingRun and InferenceService objects: specs the schemas admit
// (boundary values, the longest strings and lists, every optional field, the label keys and env
// names the operator itself uses), and mutations of them (wrong types, out-of-range numbers, bad
// enums, bad names, quantities, durations and URIs, missing required fields, unknown fields,
// oversized strings and lists, nulls, cross-field mistakes), each with the field it breaks.
//
// Everything is data (a mutation is a list of set/delete operations on the object), so a case
// prints as the exact JSON sent and replays from its seed and index.
import fc from 'fast-check';
import { POD_ANNOTATIONS_MAX_BYTES } from '../../operator/src/api/schema/common.js';
import type { JSONSchemaProps } from '../../operator/src/api/schema/crd.js';
import { isOperatorEnv } from '../../operator/src/api/schema/inferenceservice.js';
import { JOB_CONTROLLER_LABELS } from '../../operator/src/api/schema/trainingrun.js';
import { schemaType, targets, valueAt, type Kind, type Path, type Target } from './schema.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Spec = Record<string, Json>;

export type Op = { op: 'set'; path: Path; value: Json } | { op: 'delete'; path: Path };

export interface Mutation {
  /** wrongType, outOfRange, badEnum, badString, oversizedString, oversizedList, missingRequired, ... */
  kind: string;
  /** The field the mutation breaks: a refusal must name it. */
  field: Path;
  ops: Op[];
}

/** What happens to an admitted object afterwards. */
export type Update =
  /** TrainingRun: change, add or remove an immutable field; must be refused naming it. */
  | { kind: 'immutable'; field: string; ops: Op[] }
  /** TrainingRun: spec.suspend flips (the only mutable field); must be admitted and acknowledged. */
  | { kind: 'suspend'; ops: Op[] }
  /** InferenceService: a new valid spec; must be admitted and acknowledged. */
  | { kind: 'respec'; ops: Op[] }
  /** InferenceService: a mutated spec; refused naming the field, or admitted and acknowledged. */
  | { kind: 'mutate'; mutation: Mutation };

export interface FuzzCase {
  kind: Kind;
  /** POST (create), or server-side apply (PATCH application/apply-patch+yaml) of a new object. */
  via: 'create' | 'apply';
  /** The short name t-<index> (i-<index>), or one padded to the longest name the kind allows. */
  longName: boolean;
  spec: Spec;
  /** A status sent with the create, which the status subresource must ignore. */
  status?: Json;
  mutation?: Mutation;
  update?: Update;
}

/** Placeholder the harness replaces with the case's name (mutations of metadata.name replace it). */
export const NAME = '<name>';

// ---------------------------------------------------------------------------------------------
// strings

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = LOWER.toUpperCase();
const DIGITS = '0123456789';
const ALNUM = LOWER + UPPER + DIGITS;
/** Printable ASCII without the space: what image references and URIs are mostly made of. */
const VISIBLE = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('');

const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const text = (alphabet: string, minLength: number, maxLength: number) => fc.string({ unit: chars(alphabet), minLength, maxLength });

/** `first middle* last` of at most `max` characters; one in twelve is exactly `max` long. */
function shaped(first: string, middle: string, last: string, max: number, typical = 12): fc.Arbitrary<string> {
  const mid = (min: number, maxMid: number) => fc.tuple(chars(first), text(middle, min, maxMid), chars(last)).map(([a, m, z]) => a + m + z);
  const options: fc.WeightedArbitrary<string>[] = [{ weight: 10, arbitrary: mid(0, Math.max(0, Math.min(typical, max - 2))) }];
  if (first.split('').some((c) => last.includes(c))) options.push({ weight: 2, arbitrary: chars(first).filter((c) => last.includes(c)) });
  if (max > 2) options.push({ weight: 1, arbitrary: mid(max - 2, max - 2) });
  return fc.oneof(...options);
}

/** Any text: ASCII, unicode (accents, CJK, emoji), quotes and control characters. */
const anyText = (maxLength: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: Math.min(maxLength, 40) }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: Math.min(maxLength, 20) }) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a b', '"quoted"', "it's", 'line\nbreak', 'tab\there', 'ünïcödé', '日本語', '🚀', '\\', '${HOME}', '$(rm -rf /)').filter((s) => s.length <= maxLength) },
    { weight: 1, arbitrary: fc.constantFrom('x', 'é', '日').map((c) => c.repeat(maxLength)) },
  ).chain((s) => (s.length > 200 ? fc.oneof({ weight: 1, arbitrary: fc.constant(s) }, { weight: 6, arbitrary: fc.constant(s.slice(0, 8)) }) : fc.constant(s)));

export const dnsLabel = (max = 63) => shaped(LOWER + DIGITS, LOWER + DIGITS + '-', LOWER + DIGITS, max);
const LONGEST_SUBDOMAIN = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`; // 253
export const dnsSubdomain = fc.oneof(
  { weight: 10, arbitrary: fc.array(dnsLabel(20), { minLength: 1, maxLength: 4 }).map((l) => l.join('.')) },
  { weight: 1, arbitrary: fc.constant(LONGEST_SUBDOMAIN) },
);

/** The name part of a label key: 1-63 of [A-Za-z0-9-_.], alphanumeric at both ends. */
const labelName = shaped(ALNUM, ALNUM + '-_.', ALNUM, 63);

/**
 * Keys the operator, the Job controller, the Deployment controller or Kueue put on pods
 * themselves: a user's label with one of these keys meets theirs.
 */
export const SYSTEM_LABEL_KEYS = [
  'job-name',
  'controller-uid',
  'batch.kubernetes.io/job-name',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-completion-index',
  'pod-template-hash',
  'lathe.dev/training-run',
  'lathe.dev/inference-service',
  'lathe.dev/model-hash',
  'lathe.dev/run-id',
  'app.kubernetes.io/name',
  'app.kubernetes.io/managed-by',
  'kueue.x-k8s.io/queue-name',
];

/** Label keys as the schema admits them: `[prefix/]name`, the key at most 317 characters. */
export const labelKey = fc.oneof(
  { weight: 8, arbitrary: labelName },
  { weight: 6, arbitrary: fc.tuple(dnsSubdomain, labelName).map(([p, n]) => `${p}/${n}`).filter((k) => k.length <= 317) },
  { weight: 2, arbitrary: fc.constantFrom(...SYSTEM_LABEL_KEYS, 'kubernetes.io/hostname', 'topology.kubernetes.io/zone', 'example.com/team', 'nvidia.com/gpu.product') },
  // the longest key
  { weight: 1, arbitrary: fc.constant(`${LONGEST_SUBDOMAIN}/${'n'.repeat(63)}`) },
);
/** A prefix longer than a DNS subdomain may be, though the whole key is under 317 characters. */
const LONG_PREFIX_KEY = `${LONGEST_SUBDOMAIN}.eeeeeeee/n`;
export const labelValue = fc.oneof({ weight: 1, arbitrary: fc.constant('') }, { weight: 8, arbitrary: shaped(ALNUM, ALNUM + '-_.', ALNUM, 63) });

/** The S3 and Hugging Face URIs the schemas admit. */
const bucket = shaped(LOWER + DIGITS, LOWER + DIGITS + '.-', LOWER + DIGITS, 63, 14).filter((b) => b.length >= 3);
const s3Key = fc.oneof(
  { weight: 8, arbitrary: fc.array(shaped(ALNUM, ALNUM + '-_.', ALNUM, 30, 10), { minLength: 1, maxLength: 4 }).map((p) => p.join('/')) },
  { weight: 1, arbitrary: fc.constantFrom('models/x/20261122-154210-a1b2c3/checkpoint/', 'data/train.jsonl', 'd/', 'ünïcödé/日本語.jsonl', 'a%20b', "q'uote", 'x'.repeat(200), 'nbsp\u00a0key', '🚀/x') },
  { weight: 1, arbitrary: text(VISIBLE, 1, 40) },
);
export const s3Uri = fc.tuple(bucket, s3Key).map(([b, k]) => `s3://${b}/${k}`);
const hfPart = shaped(ALNUM, ALNUM + '._-', ALNUM + '._-', 96);
export const hfUri = fc.tuple(hfPart, hfPart).map(([o, n]) => `hf://${o}/${n}`);

/** A run name that may or may not exist among this fuzz run's objects. */
const runRef = fc.oneof({ weight: 4, arbitrary: fc.nat(999).map((n) => `t-${n}`) }, { weight: 1, arbitrary: dnsLabel(63) });

// ---------------------------------------------------------------------------------------------
// numbers, quantities, durations

/** Positive quantities: integers, decimals, binary and decimal SI suffixes, exponents (at most 64 characters). */
export const quantity: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 2 ** 31 - 1 })) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.oneof(
          text(DIGITS, 1, 6),
          fc.tuple(text(DIGITS, 1, 4), text(DIGITS, 1, 4)).map(([a, b]) => `${a}.${b}`),
          text(DIGITS, 1, 4).map((b) => `.${b}`),
          text(DIGITS, 1, 4).map((a) => `${a}.`),
        ),
        fc.oneof(
          fc.constantFrom('', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'n', 'u', 'm', 'k', 'M', 'G', 'T', 'P', 'E'),
          fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), text(DIGITS, 1, 2)).map((p) => p.join('')),
        ),
      )
      .map(([m, s]) => m + s)
      .filter((q) => /[1-9]/.test(q.split(/[eE]/)[0]!)),
  },
  { weight: 2, arbitrary: fc.constantFrom('4', '500m', '16Gi', '1e3', '.5', '1.', '100Mi', '256Mi', '0.001', '1n', '2Ei', '0001', `${'0'.repeat(63)}1`, '+2', '+.5') },
  // far beyond any node, but quantities all the same
  { weight: 1, arbitrary: fc.constantFrom('1e1000000', '9'.repeat(40), '123456789012345678901234567890Ei', '1e-30', '9223372036854775808') },
);

/** Go-style durations as the schema admits them (hours, minutes, seconds, in order, positive). */
export const duration = fc
  .tuple(fc.option(text(DIGITS, 1, 5), { nil: undefined }), fc.option(text(DIGITS, 1, 6), { nil: undefined }), fc.option(text(DIGITS, 1, 8), { nil: undefined }))
  .map(([h, m, s]) => `${h !== undefined ? `${h}h` : ''}${m !== undefined ? `${m}m` : ''}${s !== undefined ? `${s}s` : ''}`)
  .filter((d) => /[1-9]/.test(d))
  .map((d) => d)
  .chain((d) => fc.oneof({ weight: 8, arbitrary: fc.constant(d) }, { weight: 1, arbitrary: fc.constantFrom('99999h999999m99999999s', '1s', '90m', '2h', '1h30m') }));

const small = (max: number) =>
  fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 2, max: Math.min(4, max) }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max }) });
const bounded = (min: number, max: number) => fc.oneof({ weight: 6, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(min, max) });

/** Lists: mostly short, sometimes exactly as long as the schema allows. */
function list<T>(item: fc.Arbitrary<T>, max: number, min = 0, typical = 3): fc.Arbitrary<T[]> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.array(item, { minLength: min, maxLength: Math.max(min, Math.min(typical, max)) }) },
    { weight: 1, arbitrary: fc.array(item, { minLength: max, maxLength: max }) },
  );
}
function dict(key: fc.Arbitrary<string>, value: fc.Arbitrary<Json>, max: number, typical = 3): fc.Arbitrary<Record<string, Json>> {
  return fc.oneof(
    { weight: 30, arbitrary: fc.dictionary(key, value, { maxKeys: Math.min(typical, max), noNullPrototype: true }) },
    { weight: 1, arbitrary: fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, minLength: max, maxLength: max }).map((e) => Object.fromEntries(e)) },
  );
}

// ---------------------------------------------------------------------------------------------
// the pod scheduling fields, shared by both kinds

/**
 * The real node (hack/node.sh) runs real containers and is tainted lathe.dev/real-node; none of
 * these tolerations matches that taint, so fuzzed pods stay on the simulated nodes.
 */
const tolerationKey = labelKey.filter((k) => k !== 'lathe.dev/real-node');
const toleration: fc.Arbitrary<Json> = fc
  .record(
    {
      key: tolerationKey,
      operator: fc.constantFrom('Equal', 'Exists'),
      value: labelValue,
      effect: fc.constantFrom('NoSchedule', 'PreferNoSchedule', 'NoExecute'),
      tolerationSeconds: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), fc.constantFrom(0, 300)),
    },
    { requiredKeys: ['key'] },
  )
  .map((t) => {
    const out: Record<string, Json> = { ...t };
    if (out.operator === 'Exists' && out.value) delete out.value;
    if (out.effect !== 'NoExecute') delete out.tolerationSeconds;
    return out;
  });

/** Values of selector requirements: label values (the API server checks them in a pod). */
const selectorValue = labelValue;
/** Values of Gt and Lt: non-negative integers (a label value cannot start with '-'). */
const integerText = fc.oneof(fc.nat(1000).map(String), text(DIGITS, 1, 30), fc.constant('0'.repeat(63)));

function requirement(withGtLt: boolean): fc.Arbitrary<Json> {
  const ops: fc.Arbitrary<Json>[] = [
    fc.record({ key: labelKey, operator: fc.constantFrom('In', 'NotIn'), values: list(selectorValue, 64, 1) }),
    fc.record({ key: labelKey, operator: fc.constantFrom('Exists', 'DoesNotExist'), values: fc.constant([] as Json[]) }, { requiredKeys: ['key', 'operator'] }),
  ];
  if (withGtLt) ops.push(fc.record({ key: labelKey, operator: fc.constantFrom('Gt', 'Lt'), values: integerText.map((v) => [v]) }));
  return fc.oneof(...ops);
}
const nodeName = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('gpu-node-1', 'gpu-node-2', 'cpu-node-1', 'gpu-spot-1') }, { weight: 2, arbitrary: dnsSubdomain });
const nodeSelectorTerm = fc.record(
  {
    matchExpressions: list(requirement(true), 16),
    matchFields: list(fc.record({ key: fc.constant('metadata.name'), operator: fc.constantFrom('In', 'NotIn'), values: nodeName.map((n) => [n]) }), 4, 0, 1),
  },
  { requiredKeys: [] },
);
const labelSelector = fc.record({ matchLabels: dict(labelKey, labelValue, 64), matchExpressions: list(requirement(false), 16) }, { requiredKeys: [] });
const selectorKeys = fc.constantFrom('app', 'team', 'app.kubernetes.io/version', 'lathe.dev/training-run');
const podAffinityTerm = fc
  .record(
    {
      labelSelector,
      namespaceSelector: labelSelector,
      namespaces: list(dnsLabel(), 32),
      topologyKey: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('kubernetes.io/hostname', 'topology.kubernetes.io/zone') }, { weight: 1, arbitrary: labelKey }),
      matchLabelKeys: list(fc.oneof(selectorKeys, labelKey), 16),
      mismatchLabelKeys: list(fc.oneof(selectorKeys, labelKey), 16),
    },
    { requiredKeys: ['topologyKey'] },
  )
  .map((t) => {
    // (mis)matchLabelKeys need a labelSelector, and no key may be in both
    const out: Record<string, Json> = { ...t };
    const match = (t.matchLabelKeys ?? []);
    if (t.mismatchLabelKeys) out.mismatchLabelKeys = (t.mismatchLabelKeys).filter((k) => !match.includes(k));
    if ((match.length || (out.mismatchLabelKeys as string[] | undefined)?.length) && !t.labelSelector) out.labelSelector = {};
    return out;
  });
const weight = fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constantFrom(1, 100));
const podAffinity = fc.record(
  {
    requiredDuringSchedulingIgnoredDuringExecution: list(podAffinityTerm, 8, 0, 2),
    preferredDuringSchedulingIgnoredDuringExecution: list(fc.record({ weight, podAffinityTerm }), 8, 0, 2),
  },
  { requiredKeys: [] },
);
const affinity = fc.record(
  {
    nodeAffinity: fc.record(
      {
        requiredDuringSchedulingIgnoredDuringExecution: fc.record({ nodeSelectorTerms: list(nodeSelectorTerm, 8, 1, 2) }),
        preferredDuringSchedulingIgnoredDuringExecution: list(fc.record({ weight, preference: nodeSelectorTerm }), 16, 0, 2),
      },
      { requiredKeys: [] },
    ),
    podAffinity,
    podAntiAffinity: podAffinity,
  },
  { requiredKeys: [] },
);
const priorityClassName = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('system-cluster-critical', 'ml-batch', 'does-not-exist') },
  { weight: 1, arbitrary: dnsSubdomain },
);
const scheduling = {
  nodeSelector: dict(labelKey, labelValue, 64),
  tolerations: list(toleration, 64),
  affinity,
  priorityClassName,
};

/** Pod annotations: the kwok simulation's (hack/kwok/pod-stages.yaml) among arbitrary ones. */
/** Annotations of `bytes` bytes of keys and values in all, in 61 entries of at most 4096 characters. */
export function annotationsOfSize(bytes: number): Record<string, string> {
  const out: Record<string, string> = {};
  let left = bytes;
  for (let i = 0; left > 0; i++) {
    const key = `example.com/a${i}`;
    const value = 'x'.repeat(Math.max(0, Math.min(4096, left - key.length)));
    out[key] = value;
    left -= key.length + value.length;
  }
  return out;
}

function podMetadata(sim: fc.Arbitrary<Record<string, string>>, podLabelKey: fc.Arbitrary<string>) {
  const annotations = fc
    // now and then the most the schema admits: the sum of their sizes at the limit
    .tuple(sim, fc.oneof({ weight: 20, arbitrary: dict(labelKey, anyText(4096), 63, 2) }, { weight: 1, arbitrary: fc.constant(annotationsOfSize(POD_ANNOTATIONS_MAX_BYTES - 64)) }))
    .map(([s, a]) => (Object.keys(a).length + Object.keys(s).length <= 64 ? { ...a, ...s } : a));
  return fc.record({ labels: dict(podLabelKey, labelValue, 64), annotations }, { requiredKeys: [] });
}

// ---------------------------------------------------------------------------------------------
// TrainingRun

const command = list(anyText(4096), 64, 1);
const image = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('registry.example.com/team/trainer:1.2.3', 'busybox', 'vllm/vllm-openai:v0.6.3', 'nvcr.io/nvidia/tritonserver@sha256:' + 'a'.repeat(64)) },
  { weight: 2, arbitrary: text(VISIBLE, 1, 40) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(512)) },
);

/** Annotations that make the simulated trainer keep running, fail, or succeed at once. */
const trainerSim = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ 'sim.lathe.dev/hold': 'true' }) },
  { weight: 1, arbitrary: fc.constant({ 'sim.lathe.dev/exit': '2', 'sim.lathe.dev/message': 'dataset: no such file' }) },
  { weight: 1, arbitrary: fc.constant({ 'sim.lathe.dev/exit': '1', 'sim.lathe.dev/message': 'CUDA out of memory' }) },
  { weight: 1, arbitrary: fc.constant({}) },
);

const hyperparameters = fc.record(
  {
    epochs: bounded(1, 1000),
    batchSize: bounded(1, 65536),
    learningRate: fc.oneof(fc.double({ min: 1e-8, max: 10, maxExcluded: true, noNaN: true }), fc.constantFrom(5e-5, 9.999999, Number.MIN_VALUE)),
    maxSeqLength: bounded(1, 1048576),
    weightDecay: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1)),
    warmupSteps: bounded(0, 10_000_000),
    seed: bounded(0, 4294967295),
    gradientAccumulationSteps: bounded(1, 1024),
    extra: dict(anyText(317), anyText(1024), 64),
  },
  { requiredKeys: [] },
);

/** Every field of a TrainingRun spec, each with the values the schema admits. */
export const TRAINING_RUN_FIELDS: Record<string, fc.Arbitrary<Json>> = {
  model: fc.oneof(hfUri, s3Uri, runRef.map((r) => `run://${r}`)),
  dataset: fc.record({ uri: fc.oneof(s3Uri, hfUri, fc.constant('builtin:mnist')) }),
  hyperparameters,
  workers: small(64),
  resources: fc.record({ gpus: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 16 }) }), cpu: quantity, memory: quantity }, { requiredKeys: [] }),
  spot: fc.boolean(),
  maxRuntime: duration,
  retries: bounded(0, 20),
  queue: dnsLabel(),
  ttlAfterFinished: duration,
  suspend: fc.boolean(),
  image,
  command,
  outputModel: dnsLabel(),
  // the Job controller's own labels are refused (JOB_CONTROLLER_LABELS), so the generator leaves them out
  podMetadata: podMetadata(trainerSim, labelKey.filter((k) => !(JOB_CONTROLLER_LABELS as readonly string[]).includes(k))),
  ...scheduling,
};

export const trainingRunSpec: fc.Arbitrary<Spec> = fc
  .tuple(fc.constantFrom('text-generation', 'image-classification', 'custom'), fc.record(TRAINING_RUN_FIELDS, { requiredKeys: ['dataset'] }))
  .chain(([task, fields]) => {
    // model is required unless the task is image-classification; command when it is custom
    const needs: Record<string, fc.Arbitrary<Json>> = {};
    if (task !== 'image-classification' && fields.model === undefined) needs.model = TRAINING_RUN_FIELDS.model!;
    if (task === 'custom' && fields.command === undefined) needs.command = command;
    return fc.record(needs).map((extra) => ({ task, ...fields, ...extra }));
  });

// ---------------------------------------------------------------------------------------------
// InferenceService

/** Variables the operator sets in the server container itself (inferenceservice/render.ts): refused, but AWS_ENDPOINT_URL_S3. */
export const OPERATOR_ENV_NAMES = ['LATHE_MODEL_URI', 'LATHE_TASK', 'LATHE_MODEL_NAME', 'PORT', 'HF_HOME', 'LATHE_MODEL_CACHE', 'LATHE_X'];
const envName = fc.oneof(
  { weight: 6, arbitrary: shaped(UPPER + LOWER + '_', UPPER + LOWER + DIGITS + '_', UPPER + LOWER + DIGITS + '_', 256).filter((n) => !isOperatorEnv(n)) },
  { weight: 1, arbitrary: fc.constantFrom('AWS_ENDPOINT_URL_S3', 'lathe_lower', 'PORT_', 'HF_HOME2') },
);
const env = fc.oneof(
  { weight: 12, arbitrary: fc.uniqueArray(fc.record({ name: envName, value: anyText(200) }), { selector: (e) => e.name, maxLength: 4 }) },
  { weight: 1, arbitrary: fc.uniqueArray(fc.record({ name: envName, value: anyText(32768) }), { selector: (e) => e.name, minLength: 64, maxLength: 64 }) },
);
const replicas = fc
  .tuple(fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 8, arbitrary: fc.constant(1) }, { weight: 3, arbitrary: fc.integer({ min: 2, max: 3 }) }, { weight: 1, arbitrary: fc.constant(100) }), fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }))
  .map(([min, extra]): Json => (extra === undefined ? { min } : { min, max: Math.max(1, Math.min(100, min + extra)) }));
const servingSim = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.constant({ 'sim.lathe.dev/ready': 'false' }) },
);

const hostName = fc.constantFrom('models.example.com', 'story-writer.ml.example.org', 'x', 'a-1.b-2.example.com');
const exposePath = fc.constantFrom('/', '/v1', '/v1/models/story-writer', '/a.b_c~d-e/');
/** spec.expose: an Ingress (with or without TLS) or an HTTPRoute, valid; mutations come from the schema walk. */
const expose = fc.oneof(
  fc.record({
    ingress: fc.record(
      { className: fc.constantFrom('alb', 'nginx'), host: hostName, path: exposePath, annotations: fc.constantFrom({}, { 'alb.ingress.kubernetes.io/scheme': 'internet-facing' }) },
      { requiredKeys: [] },
    ),
  }),
  fc.record({ ingress: fc.record({ host: hostName, tls: fc.constantFrom({}, { secretName: 'story-writer-tls' }) }) }),
  fc.record({
    httpRoute: fc.record(
      {
        parentRefs: fc.array(fc.record({ name: fc.constantFrom('public', 'internal'), namespace: fc.constant('gateway-system'), sectionName: fc.constantFrom('http', 'https'), port: fc.constantFrom(80, 443) }, { requiredKeys: ['name'] }), { minLength: 1, maxLength: 2 }),
        hostnames: list(fc.oneof(hostName, fc.constant('*.models.example.com')), 16, 0, 2),
        path: exposePath,
        scheme: fc.constantFrom('http', 'https'),
      },
      { requiredKeys: ['parentRefs'] },
    ),
  }),
) as unknown as fc.Arbitrary<Json>;

export const INFERENCE_SERVICE_FIELDS: Record<string, fc.Arbitrary<Json>> = {
  model: fc.oneof(fc.record({ uri: fc.oneof(s3Uri, hfUri) }), fc.record({ trainingRun: runRef })),
  task: fc.constantFrom('text-generation', 'text-to-image'),
  replicas,
  resources: TRAINING_RUN_FIELDS.resources!,
  spot: fc.boolean(),
  runtime: fc.record(
    { image, command: list(anyText(4096), 64, 0, 3), args: list(anyText(4096), 128, 0, 4), port: fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(1, 8000, 65535)), env },
    { requiredKeys: ['image'] },
  ),
  autoscaling: fc.oneof(
    fc.record({ targetCPUUtilization: bounded(1, 100) }),
    fc.record({ podsMetric: fc.record({ name: shaped(LOWER + UPPER + '_:', ALNUM + '_:', ALNUM + '_:', 256), targetAverageValue: quantity }) }),
    fc.constant({}),
  ),
  progressDeadlineSeconds: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constantFrom(1, 600, 86400)),
  podMetadata: podMetadata(servingSim, labelKey),
  expose,
  ...scheduling,
};

export const inferenceServiceSpec: fc.Arbitrary<Spec> = fc.record(INFERENCE_SERVICE_FIELDS, { requiredKeys: ['model', 'task', 'replicas'] });

// ---------------------------------------------------------------------------------------------
// mutations

/** Strings that are wrong for most string fields, and some that are surprisingly right. */
const NASTY_STRINGS = [
  '',
  ' ',
  ' leading',
  'trailing ',
  'UPPER',
  'has space',
  'tab\tinside',
  'new\nline',
  'vertical\vtab',
  'nbsp\u00a0inside',
  'ideographic\u3000space',
  'next\u0085line',
  'zero\u200bwidth',
  'ünïcödé',
  '日本語',
  '🚀',
  '-leading-dash',
  'trailing-dash-',
  'under_score',
  'dot.ted',
  '..',
  '/',
  'a/b/c',
  '1',
  '0',
  '-1',
  '+1',
  '1.5',
  'null',
  'true',
  'NaN',
  'Infinity',
  '{}',
  '[]',
  "'; DROP TABLE runs; --",
  '%00',
  '\u0000',
];
const BAD_URIS = [
  's3://',
  's3://bucket',
  's3://bucket/',
  's3://ab/key',
  's3://Bucket/key',
  's3://-bucket/key',
  's3://bucket-/key',
  's3://bucket/has space',
  's3://bucket/nbsp\u00a0key',
  's3:/bucket/key',
  'S3://bucket/key',
  's3://buck_et/key',
  `s3://${'b'.repeat(64)}/key`,
  'hf://',
  'hf://org',
  'hf://org/',
  'hf://org/name/extra',
  'hf:///name',
  'hf://-org/name',
  `hf://${'o'.repeat(97)}/name`,
  'hf://org/na me',
  'run://',
  'run://My_Run',
  'run://run.v2',
  'run://-run',
  'builtin:',
  'builtin:cifar10',
  'builtin:MNIST',
  'gs://bucket/key',
  'https://huggingface.co/org/name',
  'file:///etc/passwd',
  '/local/path',
];
const BAD_QUANTITIES = ['0', '0Gi', '0.0', '00', '-1', '-1Gi', '1.5.5', '1kb', '1KB', '1 Gi', ' 1', '1 ', '1e', 'e3', '1e3Gi', 'Gi', '∞', '1_000', '0x10', '1,5', '.', '1Ki1', 'NaN', `1${'0'.repeat(64)}`, '1e1000000'];
const BAD_DURATIONS = ['', '0s', '0h0m0s', '90', 'h', '1.5h', '-1h', '1d', '30m1h', '1h 30m', '2H', '1ms', '100000h', 'PT1H', '1h1h', '1000000m', '999999999s', ' 1h'];
const BAD_NAMES = [
  '',
  'UPPER',
  '1st',
  '-lead',
  'trail-',
  'has space',
  'dot.ted',
  'under_score',
  'a/b',
  'ünï',
  'x'.repeat(53),
  `a${'b'.repeat(252)}`,
  'x'.repeat(300),
];

/** Property names close to real ones (typos, case, plural), or plainly unknown. */
function unknownFieldNames(schema: JSONSchemaProps): string[] {
  const props = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
  const near = props.flatMap((p) => [`${p}s`, p.charAt(0).toUpperCase() + p.slice(1), p.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), p.slice(0, -1)]);
  return [...new Set([...near, 'gpus', 'minReplicas', 'namespace', 'apiVersion', 'status', 'x-unknown', 'ünknown'])].filter((n) => n && !props.includes(n));
}

/** A value of another JSON type than the schema's. */
function wrongTypeValue(schema: JSONSchemaProps): fc.Arbitrary<Json> {
  const t = schemaType(schema);
  const all: Record<string, fc.Arbitrary<Json>> = {
    string: fc.constantFrom('a', 'true', '1', ''),
    integer: fc.constantFrom(0, 1, -1, 7),
    float: fc.constantFrom(0.5, -2.25, 1e-7),
    boolean: fc.boolean(),
    object: fc.constantFrom<Json>({}, { a: 1 }),
    array: fc.constantFrom<Json>([], ['a'], [1, 2]),
  };
  const exclude: Record<string, string[]> = {
    string: ['string'],
    integer: ['integer'],
    number: ['integer', 'float'],
    boolean: ['boolean'],
    object: ['object'],
    map: ['object'],
    array: ['array'],
    'int-or-string': ['string', 'integer'],
  };
  return fc.oneof(...Object.entries(all).filter(([k]) => !exclude[t]!.includes(k)).map(([, a]) => a));
}

function outOfRange(schema: JSONSchemaProps): fc.Arbitrary<Json> | undefined {
  const t = schemaType(schema);
  if (t !== 'integer' && t !== 'number') return undefined;
  const values: number[] = [];
  const min = schema.minimum as number | undefined;
  const max = schema.maximum as number | undefined;
  if (min !== undefined) values.push(schema.exclusiveMinimum ? min : min - 1, min - 1000, -(2 ** 53 - 1));
  if (max !== undefined) values.push(schema.exclusiveMaximum ? max : max + 1, max * 2 + 1, 2 ** 53 - 1);
  if (t === 'integer') values.push((min ?? 0) + 0.5, 1.25);
  else values.push(1e308, -1e308);
  return values.length ? fc.constantFrom(...values) : undefined;
}

function badEnum(schema: JSONSchemaProps): fc.Arbitrary<Json> | undefined {
  const values = schema.enum as string[] | undefined;
  if (!values) return undefined;
  const near = values.flatMap((v) => [v.toUpperCase(), v.toLowerCase(), ` ${v}`, `${v} `, v.slice(0, -1), `${v}s`]).filter((v) => !values.includes(v));
  return fc.constantFrom(...near, '', 'unknown', 'Exist', 'Equals', 'summarization');
}

/** A string one character (or many) over maxLength, made of characters the field accepts. */
function oversizedString(path: Path, schema: JSONSchemaProps, current: unknown): fc.Arbitrary<Json> | undefined {
  const max = schema.maxLength as number | undefined;
  if (max === undefined || schemaType(schema) !== 'string') return undefined;
  const seed = typeof current === 'string' && current.length > 0 ? current : 'a';
  const pad = (n: number) => {
    const last = path[path.length - 1];
    if (last === 'model' || last === 'uri') return seed + 'x'.repeat(Math.max(1, n - seed.length));
    return 'a'.repeat(n);
  };
  return fc.constantFrom(pad(max + 1), pad(max * 2 + 7));
}

/** One item or entry more than maxItems / maxProperties; an empty list under minItems. */
function oversizedList(schema: JSONSchemaProps, current: unknown): fc.Arbitrary<Json> | undefined {
  const t = schemaType(schema);
  if (t === 'array' && Array.isArray(current)) {
    const max = schema.maxItems as number | undefined;
    const min = schema.minItems as number | undefined;
    const options: Json[] = [];
    if (min !== undefined && min > 0) options.push([]);
    if (max !== undefined && current.length > 0) {
      const keys = schema['x-kubernetes-list-map-keys'] as string[] | undefined;
      options.push(
        Array.from({ length: max + 1 }, (_, i) => {
          const item = structuredClone(current[i % current.length]) as Json;
          // list-map items need unique keys, or the error is the duplicate, not the length
          if (keys && item && typeof item === 'object' && !Array.isArray(item)) for (const k of keys) item[k] = `K${i}_${JSON.stringify(item[k])}`.replace(/[^A-Za-z0-9_]/g, '_');
          return item;
        }),
      );
    }
    return options.length ? fc.constantFrom(...options) : undefined;
  }
  if (t === 'map' && current && typeof current === 'object') {
    const max = schema.maxProperties as number | undefined;
    if (max === undefined) return undefined;
    const value = (schema.additionalProperties as JSONSchemaProps).type === 'string' ? 'v' : 1;
    const entries: Record<string, Json> = { ...(current as Record<string, Json>) };
    for (let i = 0; Object.keys(entries).length <= max; i++) entries[`example.com/k${i}`] = value;
    return fc.constant(entries);
  }
  return undefined;
}

/** Format-specific bad strings for fields that have rules (patterns or CEL). */
function badString(path: Path, schema: JSONSchemaProps): fc.Arbitrary<Json> | undefined {
  if (schemaType(schema) !== 'string' && schemaType(schema) !== 'int-or-string') return undefined;
  const last = String(path[path.length - 1]);
  const pools: string[][] = [NASTY_STRINGS];
  if (['model', 'uri', 'trainingRun'].includes(last)) pools.push(BAD_URIS);
  if (['cpu', 'memory', 'targetAverageValue'].includes(last)) pools.push(BAD_QUANTITIES);
  if (['maxRuntime', 'ttlAfterFinished'].includes(last)) pools.push(BAD_DURATIONS);
  if (path[0] === 'metadata') pools.push(BAD_NAMES);
  if (last === 'name' && path.includes('env')) pools.push(OPERATOR_ENV_NAMES);
  return fc.constantFrom(...pools.flat());
}

function set(path: Path, value: Json): Op {
  return { op: 'set', path, value };
}

/** Every generic mutation that applies to the target, weighted towards the specific ones. */
function mutationsAt(t: Target, obj: { spec: Json }): fc.WeightedArbitrary<Mutation>[] {
  const out: fc.WeightedArbitrary<Mutation>[] = [];
  const at = (kind: string, weight: number, value: fc.Arbitrary<Json> | undefined) => {
    if (value) out.push({ weight, arbitrary: value.map((v) => ({ kind, field: t.path, ops: [set(t.path, v)] })) });
  };
  const current = t.present ? valueAt(obj, t.path) : undefined;
  if (t.path[0] === 'metadata') {
    at('badName', 4, fc.constantFrom(...BAD_NAMES));
    at('wrongType', 1, wrongTypeValue(t.schema));
    return out;
  }
  at('wrongType', 2, wrongTypeValue(t.schema));
  at('outOfRange', 5, outOfRange(t.schema));
  at('badEnum', 5, badEnum(t.schema));
  at('badString', 4, badString(t.path, t.schema));
  at('oversizedString', 3, oversizedString(t.path, t.schema, current));
  if (t.present) {
    at('oversizedList', 4, oversizedList(t.schema, current));
    out.push({ weight: 1, arbitrary: fc.constant({ kind: 'null', field: t.path, ops: [set(t.path, null)] }) });
    const type = schemaType(t.schema);
    if (type === 'object') {
      const required = (t.schema.required as string[] | undefined) ?? [];
      for (const r of required) out.push({ weight: 3, arbitrary: fc.constant({ kind: 'missingRequired', field: [...t.path, r], ops: [{ op: 'delete', path: [...t.path, r] }] }) });
      const names = unknownFieldNames(t.schema);
      out.push({ weight: 2, arbitrary: fc.constantFrom(...names).map((n) => ({ kind: 'unknownField', field: [...t.path, n], ops: [set([...t.path, n], 1)] })) });
    }
    if (type === 'map' && typeof current === 'object' && t.path.some((p) => ['nodeSelector', 'labels', 'annotations', 'matchLabels'].includes(String(p)))) {
      // map keys: label keys of bad shapes
      const badKeys = ['bad key', '-lead', 'a/b/c', `${'p'.repeat(254)}/n`, `example.com/${'n'.repeat(64)}`, '', 'ünï', 'UPPER.example.com/x', LONG_PREFIX_KEY, ...JOB_CONTROLLER_LABELS];
      out.push({ weight: 5, arbitrary: fc.constantFrom(...badKeys).map((k) => ({ kind: 'badKey', field: [...t.path, k], ops: [set([...t.path, k], 'v')] })) });
    }
    if (type === 'map' && t.path[t.path.length - 1] === 'annotations') {
      // one byte over what a pod's annotations may hold
      out.push({ weight: 3, arbitrary: fc.constant({ kind: 'oversizedMap', field: t.path, ops: [set(t.path, annotationsOfSize(POD_ANNOTATIONS_MAX_BYTES + 1))] }) });
    }
  }
  return out;
}

/** Mistakes that span fields, which the generic mutations do not make. */
function crossField(kind: Kind): fc.Arbitrary<Mutation>[] {
  const m = (mkind: string, field: Path, ops: Op[]) => fc.constant<Mutation>({ kind: mkind, field, ops });
  const out: fc.Arbitrary<Mutation>[] = [
    m('crossField', ['spec', 'tolerations', 0, 'value'], [set(['spec', 'tolerations'], [{ key: 'example.com/a', operator: 'Exists', value: 'x' }])]),
    m('crossField', ['spec', 'tolerations', 0, 'key'], [set(['spec', 'tolerations'], [{ operator: 'Equal', value: 'x' }])]),
    m('crossField', ['spec', 'tolerations', 0, 'tolerationSeconds'], [set(['spec', 'tolerations'], [{ key: 'a', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 5 }])]),
    m('crossField', ['spec', 'affinity', 'nodeAffinity', 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms', 0, 'matchExpressions', 0, 'values'], [
      set(['spec', 'affinity'], { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1', '2'] }] }] } } }),
    ]),
    m('crossField', ['spec', 'affinity', 'podAffinity', 'requiredDuringSchedulingIgnoredDuringExecution', 0, 'labelSelector', 'matchExpressions', 0, 'values'], [
      set(['spec', 'affinity'], { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }] } }),
    ]),
  ];
  if (kind === 'TrainingRun') {
    out.push(
      m('crossField', ['spec', 'model'], [set(['spec', 'task'], 'text-generation'), { op: 'delete', path: ['spec', 'model'] }]),
      m('crossField', ['spec', 'command'], [set(['spec', 'task'], 'custom'), { op: 'delete', path: ['spec', 'command'] }]),
    );
  } else {
    out.push(
      m('crossField', ['spec', 'model'], [set(['spec', 'model'], { trainingRun: 't-1', uri: 's3://lathe-artifacts/models/x/' })]),
      m('crossField', ['spec', 'model'], [set(['spec', 'model'], {})]),
      m('crossField', ['spec', 'replicas', 'max'], [set(['spec', 'replicas'], { min: 3, max: 2 })]),
      m('crossField', ['spec', 'autoscaling'], [set(['spec', 'autoscaling'], { targetCPUUtilization: 50, podsMetric: { name: 'queue_depth', targetAverageValue: '4' } })]),
      m('crossField', ['spec', 'runtime', 'env', 1], [set(['spec', 'runtime'], { image: 'busybox', env: [{ name: 'A', value: '1' }, { name: 'A', value: '2' }] })]),
    );
  }
  return out;
}

/** One mutation of a valid object. */
export function mutation(kind: Kind, spec: Spec): fc.Arbitrary<Mutation> {
  const obj = { metadata: { name: NAME }, spec };
  // Pick the kind of field first (numbers, enums, strings, objects, lists and maps, booleans, the
  // name), then one of them: there are far more string paths (affinity) than numbers or enums.
  const groups = new Map<string, Target[]>();
  for (const t of targets(kind, obj)) {
    const type = schemaType(t.schema);
    const group = t.path[0] === 'metadata' ? 'name' : t.schema.enum ? 'enum' : type === 'int-or-string' ? 'string' : type === 'map' ? 'array' : type;
    groups.set(group, [...(groups.get(group) ?? []), t]);
  }
  const generic = fc.constantFrom(...groups.values()).chain((g) => fc.constantFrom(...g)).chain((t) => {
    const options = mutationsAt(t, obj);
    return options.length ? fc.oneof(...options) : fc.constant<Mutation>({ kind: 'null', field: t.path, ops: [set(t.path, null)] });
  });
  return fc.oneof(
    { weight: 12, arbitrary: generic },
    { weight: 2, arbitrary: fc.oneof(...crossField(kind)) },
    { weight: 1, arbitrary: fc.constantFrom<Mutation>({ kind: 'missingRequired', field: ['spec'], ops: [{ op: 'delete', path: ['spec'] }] }, { kind: 'unknownField', field: ['specs'], ops: [set(['specs'], {})] }) },
  );
}

// ---------------------------------------------------------------------------------------------
// updates

export const TRAINING_RUN_MUTABLE = ['suspend'];

function trainingRunUpdate(spec: Spec): fc.Arbitrary<Update> {
  const fields = Object.keys(TRAINING_RUN_FIELDS).filter((f) => !TRAINING_RUN_MUTABLE.includes(f));
  const immutable = fc.constantFrom(...fields, 'task').chain((field): fc.Arbitrary<Update> => {
    const path = ['spec', field];
    const arb = field === 'task' ? fc.constantFrom('text-generation', 'image-classification', 'custom') : TRAINING_RUN_FIELDS[field]!;
    const change = arb.filter((v) => JSON.stringify(v) !== JSON.stringify(spec[field]));
    const required = ['task', 'dataset'].includes(field);
    if (spec[field] === undefined) return change.map((v) => ({ kind: 'immutable', field, ops: [set(path, v)] }));
    return fc.oneof(
      change.map((v): Update => ({ kind: 'immutable', field, ops: [set(path, v)] })),
      ...(required ? [] : [fc.constant<Update>({ kind: 'immutable', field, ops: [{ op: 'delete', path }] })]),
    );
  });
  return fc.oneof(immutable, fc.constant<Update>({ kind: 'suspend', ops: [set(['spec', 'suspend'], !(spec.suspend ?? false))] }));
}

function inferenceServiceUpdate(spec: Spec): fc.Arbitrary<Update> {
  return fc.oneof(
    inferenceServiceSpec.map((s): Update => ({ kind: 'respec', ops: [set(['spec'], s)] })),
    mutation('InferenceService', spec).filter((m) => m.field[0] === 'spec').map((m): Update => ({ kind: 'mutate', mutation: m })),
  );
}

// ---------------------------------------------------------------------------------------------
// a case

const forged = { observedGeneration: 99, conditions: [{ type: 'Ready', status: 'True', reason: 'Forged', message: 'written by the client', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
const statusOnCreate: Record<Kind, fc.Arbitrary<Json>> = {
  TrainingRun: fc.constant({ ...forged, phase: 'Succeeded' }),
  InferenceService: fc.constant({ ...forged, readyReplicas: 7 }),
};

function caseOf(kind: Kind, specArb: fc.Arbitrary<Spec>, update: (s: Spec) => fc.Arbitrary<Update>): fc.Arbitrary<FuzzCase> {
  return fc
    .tuple(specArb, fc.boolean(), fc.integer({ min: 0, max: 99 }), fc.constantFrom<FuzzCase['via']>('create', 'create', 'apply'))
    .chain(([spec, longName, dice, via]) => {
      const base = { kind, via, longName: longName && dice % 5 === 0, spec };
      if (dice < 62) return mutation(kind, spec).map((m): FuzzCase => ({ ...base, mutation: m }));
      if (dice < 82) return update(spec).map((u): FuzzCase => ({ ...base, update: u }));
      if (dice < 86) return statusOnCreate[kind].map((status): FuzzCase => ({ ...base, status }));
      return fc.constant<FuzzCase>(base);
    });
}

/** A TrainingRun or an InferenceService, valid or mutated, perhaps with an update to try after it is admitted. */
export const fuzzCase: fc.Arbitrary<FuzzCase> = fc
  .oneof(caseOf('TrainingRun', trainingRunSpec, trainingRunUpdate), caseOf('InferenceService', inferenceServiceSpec, inferenceServiceUpdate))
  // plain JSON: fast-check may build null-prototype objects, and JSON is what goes over the wire
  .map((c) => JSON.parse(JSON.stringify(c)) as FuzzCase);

// ---------------------------------------------------------------------------------------------
// applying operations

export function applyOps<T>(obj: T, ops: Op[]): T {
  const copy = structuredClone(obj) as Record<string | number, unknown>;
  for (const op of ops) {
    let parent: Record<string | number, unknown> = copy;
    for (const seg of op.path.slice(0, -1)) {
      const next = parent[seg];
      if (next === null || typeof next !== 'object') parent[seg] = {};
      parent = parent[seg] as Record<string | number, unknown>;
    }
    const last = op.path[op.path.length - 1]!;
    if (op.op === 'delete') {
      if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
      else delete parent[last];
    } else parent[last] = structuredClone(op.value);
  }
  return copy as T;
}
