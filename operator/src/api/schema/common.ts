// Building blocks shared by the TrainingRun and InferenceService schemas: string forms (URIs, DNS
// names, quantities, durations), CEL rules, resources, pod scheduling (node selector, tolerations,
// affinity, priority class) and metav1.Condition.
//
// Every admission rule is written once, here, as a regular expression or a predicate, and used
// twice: as a CEL rule (`x-kubernetes-validations`, evaluated by the API server) and as a zod
// refinement (so `TrainingRunSpecSchema.parse` in the operator agrees with admission). The regular
// expressions are restricted to the common subset of RE2 (CEL) and JavaScript: no lookaround, no
// backreferences.
import { z } from 'zod';
import { DURATION_PATTERN, isValidDuration } from '../duration.js';

/** One CEL validation rule, as in apiextensions.k8s.io/v1 ValidationRule. */
export interface CelRule {
  rule: string;
  message: string;
  /**
   * A CEL expression giving the message, for messages that must name what only the object knows
   * (a map key); `message` stays as the fallback should it fail to evaluate.
   */
  messageExpression?: string;
  /** Relative JSON path (`.model`) of the field the error is reported on. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

/** Metadata key zod passes through to the JSON Schema; the post-processor keeps it. */
export const CEL_KEY = 'x-kubernetes-validations';

/** The rule on metadata.name of a kind: a maximum length and a CEL rule on the name itself. */
export interface NameRule {
  maxLength: number;
  rule: string;
  message: string;
}

/** Names must be RFC 1035 labels (Service names) of at most `maxLength` characters. */
export function nameRule(maxLength: number, why: string): NameRule {
  return {
    maxLength,
    rule: `self.matches(${celRegex(DNS_1035_LABEL_RE)})`,
    message: `metadata.name must start with a letter and contain only a-z, 0-9 and '-' (at most ${maxLength} characters): ${why}`,
  };
}

/** JavaScript twin of nameRule, for the operator and tests. */
export function isValidName(name: string, rule: NameRule): boolean {
  return name.length <= rule.maxLength && DNS_1035_LABEL_RE.test(name);
}

export function cel(...rules: CelRule[]): { [CEL_KEY]: CelRule[] } {
  return { [CEL_KEY]: rules };
}

/** A CEL raw string literal holding `re`'s source (the regexes here never contain a quote). */
export function celRegex(re: RegExp): string {
  if (re.source.includes("'")) throw new Error(`regex ${re.source} contains a quote`);
  // RegExp.prototype.source escapes '/' as '\\/'; RE2 accepts that too, but the CRD reads better without.
  return `r'${re.source.replaceAll('\\/', '/')}'`;
}

// ---------------------------------------------------------------------------------------------
// String forms

export const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain (dot-separated DNS labels): PriorityClass and Secret names. */
export const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** RFC 1035 label (starts with a letter): what Service names need. */
export const DNS_1035_LABEL_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const BUCKET = '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]';
const HF_PART = '[A-Za-z0-9][A-Za-z0-9._-]{0,95}';
export const HF_URI_RE = new RegExp(`^hf://${HF_PART}/${HF_PART}$`);
/**
 * `s3://bucket/prefix`: a bucket name and a non-empty key or prefix without spaces or control
 * characters. Written as an explicit class, not `\S`: RE2 (CEL) and JavaScript disagree on which
 * characters `\S` excludes (JavaScript's also excludes \v and Unicode spaces such as U+00A0).
 */
export const S3_URI_RE = new RegExp(`^s3://${BUCKET}/[^\\x00-\\x20\\x7f]+$`);
export const RUN_URI_RE = /^run:\/\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const BUILTIN_DATASETS = ['mnist'] as const;
export const BUILTIN_DATASET_RE = new RegExp(`^builtin:(${BUILTIN_DATASETS.join('|')})$`);
/**
 * Container image reference: printable ASCII without spaces (references are ASCII); the registry
 * judges the rest. Not `\S+`, which RE2 (CEL) and JavaScript read differently (see S3_URI_RE).
 */
export const IMAGE_RE = /^[!-~]+$/;
/** Environment variable name (C identifier), as Kubernetes requires for `env[].name`. */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A non-negative resource quantity (`4`, `500m`, `16Gi`, `1e3`, `+2`): a leading + is Kubernetes' too. */
export const QUANTITY_RE =
  /^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
/** Metric name as Prometheus adapters expose them. */
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Label or annotation key: optional DNS-subdomain prefix, then a name of at most 63 characters. */
export const LABEL_KEY_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** The prefix of a label key is a DNS subdomain, so at most 253 characters: what LABEL_KEY_RE cannot say. */
export const LABEL_KEY_PREFIX_RE = /^([^/]{1,253}\/)?[^/]*$/;
export const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** A label key as Kubernetes checks it: `[prefix/]name`, the prefix at most 253 characters, the name at most 63. */
export function isLabelKey(s: string): boolean {
  return s.length <= 317 && LABEL_KEY_RE.test(s) && LABEL_KEY_PREFIX_RE.test(s);
}

/** CEL twin of isLabelKey for the string expression `x`. */
export function labelKeyCel(x: string): string {
  return `size(${x}) <= 317 && ${x}.matches(${celRegex(LABEL_KEY_RE)}) && ${x}.matches(${celRegex(LABEL_KEY_PREFIX_RE)})`;
}

// ---------------------------------------------------------------------------------------------
// Reusable field schemas. `path` is the field's full path (`spec.queue`), used in messages so that
// every rejection names the field even when the API server reports it on a parent object.

export function dnsLabel(path: string, description: string): z.ZodString {
  const message = `${path} must be a lower-case DNS label (a-z, 0-9 and '-', at most 63 characters)`;
  return z
    .string()
    .min(1)
    .max(63)
    .refine((s) => DNS_LABEL_RE.test(s), message)
    .meta({ description, ...cel({ rule: `self.matches(${celRegex(DNS_LABEL_RE)})`, message }) });
}

export function dnsSubdomain(path: string, description: string): z.ZodString {
  const message = `${path} must be a lower-case DNS subdomain (a-z, 0-9, '-' and '.', at most 253 characters)`;
  return z
    .string()
    .min(1)
    .max(253)
    .refine((s) => DNS_SUBDOMAIN_RE.test(s), message)
    .meta({ description, ...cel({ rule: `self.matches(${celRegex(DNS_SUBDOMAIN_RE)})`, message }) });
}

/**
 * Go-style duration (`90m`, `2h`, `1h30m`): see duration.ts, which parses it for the reconcilers
 * with the same regular expression.
 */
export function duration(path: string, description: string): z.ZodString {
  const message = `${path} must be a positive duration such as 90m, 2h or 1h30m (units h, m, s, in that order)`;
  return z
    .string()
    .max(32)
    .refine(isValidDuration, message)
    .meta({
      description,
      ...cel({ rule: `self.matches(${celRegex(DURATION_PATTERN)}) && !self.matches(r'^(0+[hms])*$')`, message }),
    });
}

/**
 * A positive resource quantity, as an integer or a string (`4`, `500m`, `16Gi`).
 * `x-kubernetes-int-or-string`; the post-processor reduces the union to the structural
 * `anyOf: [{type: integer}, {type: string}]`.
 */
export function quantity(path: string, description: string) {
  const message = `${path} must be a positive quantity such as 4, 500m or 16Gi`;
  return z
    .union([z.int().positive(), z.string().max(64).regex(QUANTITY_RE)])
    .refine((q) => (typeof q === 'number' ? q > 0 : isPositiveQuantity(q)), message)
    .meta({
      description,
      'x-kubernetes-int-or-string': true,
      ...cel({
        rule: `type(self) == int ? self > 0 : (size(self) <= 64 && isQuantity(self) && quantity(self).isGreaterThan(quantity('0')))`,
        message,
      }),
    });
}

/** True for a quantity string whose value is above zero (its mantissa has a non-zero digit). */
export function isPositiveQuantity(s: string): boolean {
  const m = QUANTITY_RE.exec(s);
  return m !== null && s.length <= 64 && /[1-9]/.test(m[1] ?? '');
}

export function stringMap(path: string, description: string, valueMax: number) {
  return z
    .record(z.string().max(317), z.string().max(valueMax))
    .refine((m) => Object.keys(m).length <= 64, `${path} may hold at most 64 entries`)
    .meta({ description, maxProperties: 64 });
}

/** Labels or annotations: keys (and, for labels, values) checked like Kubernetes does. */
/**
 * Bytes (UTF-8) the keys and values of a pod's annotations may take in all: Kubernetes allows
 * 256 KiB (TotalAnnotationSizeLimitB), and 2 KiB stay free for the operator's own annotation (the
 * model URI of a serving pod). The CEL rule sums sizes with the list library's sum(): joining the
 * strings instead is estimated far over the API server's cost budget.
 */
export const POD_ANNOTATIONS_MAX_BYTES = 256 * 1024 - 2048;

function utf8Bytes(m: Record<string, string>): number {
  const enc = new TextEncoder();
  return Object.entries(m).reduce((n, [k, v]) => n + enc.encode(k).length + enc.encode(v).length, 0);
}

/**
 * Labels or annotations: keys (and, for labels, values) checked like Kubernetes does, and the
 * annotations' total size. `reserved`: label keys the user may not set (another controller's).
 */
export function metadataMap(path: string, description: string, kind: 'labels' | 'annotations', reserved: readonly string[] = []) {
  const keyMessage = `${path} keys must be valid label keys ([prefix/]name, prefix at most 253 characters, name at most 63)`;
  const valueMessage = `${path} values must be valid label values (at most 63 characters: a-z, A-Z, 0-9, '-', '_', '.')`;
  const sizeMessage = `${path} may take at most ${POD_ANNOTATIONS_MAX_BYTES} bytes of keys and values in all (a pod's annotations are limited to 256 KiB, and the operator adds its own)`;
  const reservedMessage = `${path} must not set ${reserved.join(', ')}: the Job controller sets them`;
  const rules: CelRule[] = [{ rule: `self.all(k, ${labelKeyCel('k')})`, message: keyMessage }];
  if (kind === 'labels') rules.push({ rule: `self.all(k, self[k].matches(${celRegex(LABEL_VALUE_RE)}))`, message: valueMessage });
  if (kind === 'annotations') rules.push({ rule: `self.map(k, size(bytes(k)) + size(bytes(self[k]))).sum() <= ${POD_ANNOTATIONS_MAX_BYTES}`, message: sizeMessage });
  if (reserved.length) rules.push({ rule: `!self.exists(k, k in [${reserved.map((k) => `'${k}'`).join(', ')}])`, message: reservedMessage });
  const valueMax = kind === 'labels' ? 63 : 4096;
  return z
    .record(z.string(), z.string().max(valueMax))
    .refine((m) => Object.keys(m).length <= 64, `${path} may hold at most 64 entries`)
    .refine((m) => Object.keys(m).every(isLabelKey), keyMessage)
    .refine((m) => kind !== 'labels' || Object.values(m).every((v) => LABEL_VALUE_RE.test(v)), valueMessage)
    .refine((m) => kind !== 'annotations' || utf8Bytes(m) <= POD_ANNOTATIONS_MAX_BYTES, sizeMessage)
    .refine((m) => !Object.keys(m).some((k) => reserved.includes(k)), reservedMessage)
    .meta({ description, maxProperties: 64, ...cel(...rules) });
}

/** `reservedLabels`: pod label keys another controller sets (the Job controller's, for a TrainingRun). */
export function podMetadata(path: string, suffix = '', reservedLabels: readonly string[] = []) {
  return z
    .strictObject({
      labels: metadataMap(`${path}.labels`, 'Labels added to every pod (for example cost-allocation labels).', 'labels', reservedLabels).optional(),
      annotations: metadataMap(
        `${path}.annotations`,
        `Annotations added to every pod (for example sidecar injection settings); at most ${POD_ANNOTATIONS_MAX_BYTES} bytes of keys and values in all.`,
        'annotations',
      ).optional(),
    })
    .meta({
      description:
        "Labels and annotations copied onto the pods the operator creates. The operator's own labels (lathe.dev/*) take precedence." + suffix,
    });
}

export function resources(path: string, perWhat: string, suffix = '') {
  return z
    .strictObject({
      gpus: z
        .int()
        .min(0)
        .max(16)
        .meta({
          description: `NVIDIA GPUs ${perWhat} (0 to 16), requested as the nvidia.com/gpu limit; pods with GPUs tolerate the GPU node taint. Default: 0.`,
        })
        .optional(),
      cpu: quantity(`${path}.cpu`, `CPU request ${perWhat}, as a quantity (\`4\`, \`500m\`). Default: the operator's per-task default.`).optional(),
      memory: quantity(
        `${path}.memory`,
        `Memory request and limit ${perWhat}, as a quantity (\`16Gi\`). Default: the operator's per-task default.`,
      ).optional(),
    })
    .meta({ description: `Compute resources ${perWhat}. Every field is optional; see each field for its default.${suffix}` });
}

// ---------------------------------------------------------------------------------------------
// Pod scheduling: nodeSelector, tolerations, affinity and priorityClassName, the fields of a
// Kubernetes PodSpec that KServe's predictor spec carries too. The renderers merge them with
// Lathe's own GPU and spot placement (k8s/scheduling.ts). Affinity is typed in full, down to the
// label selectors of pod (anti-)affinity, so that a mistake is refused at admission, naming the
// field, and never as a Job or Deployment the API server rejects later. Every list has maxItems:
// the API server multiplies a CEL rule's cost by the number of times it can run and refuses a CRD
// whose total is too high or unbounded.

const LABEL_KEY_RULE = labelKeyCel('self');
const LABEL_KEY_PROBLEM = 'is not a valid label key ([prefix/]name, prefix at most 253 characters, name at most 63)';
const LABEL_VALUE_PROBLEM = 'is not a valid label value (at most 63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit)';
/** The value of a Gt or Lt requirement: an integer that is also a label value, so not negative. */
const INTEGER_RE = /^[0-9]+$/;

/** A label key (`[prefix/]name`): topology keys, selector keys, taint keys. */
function labelKey(path: string, description: string) {
  const message = `${path} ${LABEL_KEY_PROBLEM}`;
  return z
    .string()
    .min(1)
    .max(317)
    .refine(isLabelKey, message)
    .meta({ description, ...cel({ rule: LABEL_KEY_RULE, message }) });
}

/**
 * A list of strings each of which must match `re` (label values, node names): the API server checks
 * the values of a pod's selectors, so a value it would refuse in the Job or Deployment is refused
 * here, naming the field.
 */
function matchingList(path: string, re: RegExp, what: string, max: number, itemMax: number, description: string) {
  const message = `${path} must be ${what}`;
  return z
    .array(
      z
        .string()
        .max(itemMax)
        .refine((s) => re.test(s), message)
        .meta({ description: 'A value.', ...cel({ rule: `self.matches(${celRegex(re)})`, message }) }),
    )
    .max(max)
    .meta({ description, 'x-kubernetes-list-type': 'atomic' });
}

/**
 * Label keys to label values, all of which must match (a nodeSelector). The API server reports a
 * map's rules on the map itself, so the message names the offending entry through a
 * messageExpression (`spec.nodeSelector["bad key"] is not a valid label key ...`); zod says the same.
 */
export function labelMatchMap(path: string, description: string) {
  const validKey = labelKeyCel('k');
  const validValue = `self[k].matches(${celRegex(LABEL_VALUE_RE)})`;
  const firstBad = (valid: string, problem: string) => {
    if (problem.includes("'")) throw new Error(`message ${problem} contains a quote`); // it goes into a CEL string literal
    return `'${path}["' + self.filter(k, !(${valid}))[0] + '"] ${problem}'`;
  };
  const named = (k: string) => `${path}["${k}"]`;
  return z
    .record(z.string(), z.string().max(63))
    .superRefine((m, ctx) => {
      const entries = Object.entries(m);
      if (entries.length > 64) ctx.addIssue({ code: 'custom', message: `${path} may hold at most 64 entries` });
      for (const [k, v] of entries) {
        if (!isLabelKey(k)) ctx.addIssue({ code: 'custom', message: `${named(k)} ${LABEL_KEY_PROBLEM}` });
        else if (!LABEL_VALUE_RE.test(v)) ctx.addIssue({ code: 'custom', message: `${named(k)} ${LABEL_VALUE_PROBLEM}` });
      }
    })
    .meta({
      description,
      maxProperties: 64,
      ...cel(
        { rule: `self.all(k, ${validKey})`, message: `${path} keys must be valid label keys`, messageExpression: firstBad(validKey, LABEL_KEY_PROBLEM) },
        { rule: `self.all(k, ${validValue})`, message: `${path} values must be valid label values`, messageExpression: firstBad(validValue, LABEL_VALUE_PROBLEM) },
      ),
    });
}

export const TOLERATION_OPERATORS = ['Exists', 'Equal'] as const;
export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

/** spec.tolerations: Kubernetes Tolerations, with the API server's own cross-field checks as CEL. */
export function tolerations(path: string, suffix = '') {
  const item = `${path}[]`;
  const rules = {
    key: {
      rule: "(has(self.key) && size(self.key) > 0) || (has(self.operator) && self.operator == 'Exists')",
      message: `${item}.key may be empty only when ${item}.operator is Exists (which then tolerates every taint)`,
      fieldPath: '.key',
    },
    value: {
      rule: "!has(self.operator) || self.operator != 'Exists' || !has(self.value) || size(self.value) == 0",
      message: `${item}.value must be empty when ${item}.operator is Exists`,
      fieldPath: '.value',
    },
    seconds: {
      rule: "!has(self.tolerationSeconds) || (has(self.effect) && self.effect == 'NoExecute')",
      message: `${item}.tolerationSeconds may be set only with ${item}.effect NoExecute`,
      fieldPath: '.tolerationSeconds',
    },
  } satisfies Record<string, CelRule>;
  const keyMessage = `${item}.key must be empty or a label key ([prefix/]name, prefix at most 253 characters, name at most 63)`;
  const valueMessage = `${item}.value must be a label value (at most 63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit)`;
  const toleration = z
    .strictObject({
      key: z
        .string()
        .max(317)
        .refine((s) => s === '' || isLabelKey(s), keyMessage)
        .meta({
          description: 'Taint key to tolerate. Empty, with operator Exists, tolerates every taint.',
          ...cel({ rule: `size(self) == 0 || ${LABEL_KEY_RULE}`, message: keyMessage }),
        })
        .optional(),
      operator: z.enum(TOLERATION_OPERATORS).meta({ description: 'Exists (any value of the taint) or Equal (the value below). Default: Equal.' }).optional(),
      value: z
        .string()
        .max(63)
        .refine((s) => LABEL_VALUE_RE.test(s), valueMessage)
        .meta({ description: 'Taint value to tolerate with operator Equal; empty with Exists.', ...cel({ rule: `self.matches(${celRegex(LABEL_VALUE_RE)})`, message: valueMessage }) })
        .optional(),
      effect: z.enum(TAINT_EFFECTS).meta({ description: 'Taint effect to tolerate: NoSchedule, PreferNoSchedule or NoExecute. Default: every effect.' }).optional(),
      tolerationSeconds: z
        .int()
        .meta({ description: 'With effect NoExecute: seconds the pod stays on a node after the taint appears. Default: forever.' })
        .optional(),
    })
    .superRefine((t, ctx) => {
      const exists = t.operator === 'Exists';
      if (!t.key && !exists) ctx.addIssue({ code: 'custom', path: ['key'], message: rules.key.message });
      if (exists && t.value) ctx.addIssue({ code: 'custom', path: ['value'], message: rules.value.message });
      if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') ctx.addIssue({ code: 'custom', path: ['tolerationSeconds'], message: rules.seconds.message });
    })
    .meta({ description: 'A Kubernetes Toleration.', ...cel(rules.key, rules.value, rules.seconds) });
  return z
    .array(toleration)
    .max(64)
    .meta({
      description: `Tolerations of the pods, added after Lathe's own (the GPU taint when GPUs are asked for, the spot taint with spot: true); exact duplicates are dropped. Default: none.${suffix}`,
      'x-kubernetes-list-type': 'atomic',
    });
}

/** Whether a selector requirement's values fit its operator (the API server's rules for pods). */
export function valuesFitOperator(operator: string, values: readonly string[] | undefined): boolean {
  const n = values?.length ?? 0;
  if (operator === 'In' || operator === 'NotIn') return n > 0;
  if (operator === 'Exists' || operator === 'DoesNotExist') return n === 0;
  return n === 1 && INTEGER_RE.test(values![0]!); // Gt, Lt
}

const VALUES_FIT_OPERATOR =
  "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : " +
  "self.operator in ['Exists', 'DoesNotExist'] ? (!has(self.values) || size(self.values) == 0) : " +
  `(has(self.values) && size(self.values) == 1 && self.values[0].matches(${celRegex(INTEGER_RE)}))`;

export const NODE_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] as const;
export const LABEL_SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** A matchExpressions entry: of a node selector term (Gt and Lt allowed) or of a label selector. */
function selectorRequirement<const O extends readonly [string, ...string[]]>(path: string, operators: O, what: string) {
  const gtLt = operators.includes('Gt');
  const rule: CelRule = {
    rule: VALUES_FIT_OPERATOR,
    message: `${path}.values must be non-empty for operator In or NotIn and empty for Exists or DoesNotExist${gtLt ? ', and one non-negative integer for Gt or Lt' : ''}`,
    fieldPath: '.values',
  };
  return z
    .strictObject({
      key: labelKey(`${path}.key`, `The ${what} label key.`),
      operator: z.enum(operators).meta({ description: `How the label's value is compared: ${operators.join(', ')}.` }),
      values: matchingList(
        `${path}.values[]`,
        LABEL_VALUE_RE,
        'label values (at most 63 characters: letters, digits, -, _ and ., starting and ending with a letter or digit)',
        64,
        63,
        `Values for In and NotIn${gtLt ? ', one non-negative integer for Gt and Lt' : ''}; none for Exists and DoesNotExist.`,
      ).optional(),
    })
    .superRefine((r, ctx) => {
      if (!valuesFitOperator(r.operator, r.values)) ctx.addIssue({ code: 'custom', path: ['values'], message: rule.message });
    })
    .meta({ description: `A requirement on a ${what} label.`, ...cel(rule) });
}

/** A NodeSelectorTerm: its requirements are ANDed. */
function nodeSelectorTerm(path: string, description: string) {
  const fieldRequirement = z
    .strictObject({
      key: z.enum(['metadata.name']).meta({ description: 'The node field: metadata.name, the only one Kubernetes supports.' }),
      operator: z.enum(['In', 'NotIn']).meta({ description: 'In or NotIn.' }),
      values: matchingList(`${path}.matchFields[].values[]`, DNS_SUBDOMAIN_RE, 'node names (lower-case DNS subdomains)', 1, 253, 'Exactly one node name.').min(1),
    })
    .meta({ description: 'A requirement on a node field.' });
  return z
    .strictObject({
      matchExpressions: z
        .array(selectorRequirement(`${path}.matchExpressions[]`, NODE_SELECTOR_OPERATORS, 'node'))
        .max(16)
        .meta({ description: 'Requirements on node labels, all of which must hold.', 'x-kubernetes-list-type': 'atomic' })
        .optional(),
      matchFields: z
        .array(fieldRequirement)
        .max(4)
        .meta({ description: 'Requirements on node fields (metadata.name), all of which must hold.', 'x-kubernetes-list-type': 'atomic' })
        .optional(),
    })
    .meta({ description });
}

const weight = (what: string) => z.int().min(1).max(100).meta({ description: `Weight (1 to 100) added to a node's score when ${what}.` });

function nodeAffinity(path: string) {
  const required = `${path}.requiredDuringSchedulingIgnoredDuringExecution`;
  const preferred = `${path}.preferredDuringSchedulingIgnoredDuringExecution[]`;
  return z
    .strictObject({
      requiredDuringSchedulingIgnoredDuringExecution: z
        .strictObject({
          nodeSelectorTerms: z
            .array(nodeSelectorTerm(`${required}.nodeSelectorTerms[]`, 'A term; a node matches it when all its requirements hold.'))
            .min(1)
            .max(8)
            .meta({ description: 'The terms, ORed: a node must match at least one.', 'x-kubernetes-list-type': 'atomic' }),
        })
        .meta({ description: 'Nodes the pods may run on at all; taken from here as written.' })
        .optional(),
      preferredDuringSchedulingIgnoredDuringExecution: z
        .array(
          z
            .strictObject({
              weight: weight('the preference matches'),
              preference: nodeSelectorTerm(`${preferred}.preference`, 'The node selector term preferred.'),
            })
            .meta({ description: 'A weighted node preference.' }),
        )
        .max(16)
        .meta({
          description: "Nodes the scheduler prefers; Lathe appends its spot preference (spot: true) after these.",
          'x-kubernetes-list-type': 'atomic',
        })
        .optional(),
    })
    .meta({ description: 'Node affinity: required terms as written, preferred terms followed by Lathe\'s spot preference.' });
}

function labelSelector(path: string, description: string) {
  return z
    .strictObject({
      matchLabels: metadataMap(`${path}.matchLabels`, 'Labels that must all be present with these values.', 'labels').optional(),
      matchExpressions: z
        .array(selectorRequirement(`${path}.matchExpressions[]`, LABEL_SELECTOR_OPERATORS, 'selected object\'s'))
        .max(16)
        .meta({ description: 'Requirements on labels, all of which must hold.', 'x-kubernetes-list-type': 'atomic' })
        .optional(),
    })
    .meta({ description });
}

function podAffinityTerm(path: string, description: string) {
  // The API server's rules for a pod's affinity terms (the Job or Deployment would be refused).
  const needsSelector = (field: string): CelRule => ({
    rule: `!has(self.${field}) || size(self.${field}) == 0 || has(self.labelSelector)`,
    message: `${path}.${field} may be set only with ${path}.labelSelector`,
    fieldPath: `.${field}`,
  });
  const rules = {
    matchLabelKeys: needsSelector('matchLabelKeys'),
    mismatchLabelKeys: needsSelector('mismatchLabelKeys'),
    both: {
      rule: '!has(self.matchLabelKeys) || !has(self.mismatchLabelKeys) || !self.matchLabelKeys.exists(k, k in self.mismatchLabelKeys)',
      message: `${path}.mismatchLabelKeys must not repeat a key of ${path}.matchLabelKeys`,
      fieldPath: '.mismatchLabelKeys',
    },
  } satisfies Record<string, CelRule>;
  const keys = (field: string, what: string) =>
    z
      .array(labelKey(`${path}.${field}[]`, 'A pod label key.'))
      .max(16)
      .meta({ description: what, 'x-kubernetes-list-type': 'atomic' })
      .optional();
  return z
    .strictObject({
      labelSelector: labelSelector(`${path}.labelSelector`, 'The pods this term is about, by their labels. Default: none.').optional(),
      namespaceSelector: labelSelector(
        `${path}.namespaceSelector`,
        'Namespaces, by their labels, whose pods count besides those of namespaces; {} means every namespace.',
      ).optional(),
      namespaces: z
        .array(dnsLabel(`${path}.namespaces[]`, 'A namespace.'))
        .max(32)
        .meta({ description: "Namespaces whose pods count. Default (with no namespaceSelector): the pod's own.", 'x-kubernetes-list-type': 'atomic' })
        .optional(),
      topologyKey: labelKey(`${path}.topologyKey`, 'Node label whose value defines the domain: kubernetes.io/hostname (a node), topology.kubernetes.io/zone, ...'),
      matchLabelKeys: keys('matchLabelKeys', 'Label keys whose values, taken from the incoming pod, are added to labelSelector as In requirements. Needs labelSelector.'),
      mismatchLabelKeys: keys('mismatchLabelKeys', 'Label keys whose values, taken from the incoming pod, are added to labelSelector as NotIn requirements. Needs labelSelector; no key of matchLabelKeys.'),
    })
    .superRefine((t, ctx) => {
      for (const field of ['matchLabelKeys', 'mismatchLabelKeys'] as const) {
        if ((t[field]?.length ?? 0) > 0 && t.labelSelector === undefined) ctx.addIssue({ code: 'custom', path: [field], message: rules[field].message });
      }
      if (t.matchLabelKeys?.some((k) => t.mismatchLabelKeys?.includes(k))) ctx.addIssue({ code: 'custom', path: ['mismatchLabelKeys'], message: rules.both.message });
    })
    .meta({ description, ...cel(rules.matchLabelKeys, rules.mismatchLabelKeys, rules.both) });
}

function podAffinity(path: string, toward: 'near' | 'away from') {
  const required = `${path}.requiredDuringSchedulingIgnoredDuringExecution[]`;
  const preferred = `${path}.preferredDuringSchedulingIgnoredDuringExecution[]`;
  return z
    .strictObject({
      requiredDuringSchedulingIgnoredDuringExecution: z
        .array(podAffinityTerm(required, `Pods the pods must be scheduled ${toward} (in the same topology domain${toward === 'near' ? '' : ' as none of them'}).`))
        .max(8)
        .meta({ description: 'Terms that must all hold.', 'x-kubernetes-list-type': 'atomic' })
        .optional(),
      preferredDuringSchedulingIgnoredDuringExecution: z
        .array(
          z
            .strictObject({
              weight: weight('the term holds'),
              podAffinityTerm: podAffinityTerm(`${preferred}.podAffinityTerm`, `Pods the pods should preferably be scheduled ${toward}.`),
            })
            .meta({ description: 'A weighted pod affinity term.' }),
        )
        .max(8)
        .meta({ description: 'Terms the scheduler prefers.', 'x-kubernetes-list-type': 'atomic' })
        .optional(),
    })
    .meta({ description: `Pod ${toward === 'near' ? 'affinity' : 'anti-affinity'}: schedule the pods ${toward} other pods. Taken as written.` });
}

/**
 * spec.affinity: a Kubernetes Affinity. Merged with Lathe's: podAffinity, podAntiAffinity and the
 * required node terms are taken as written; Lathe's spot preference (spot: true) is appended to the
 * preferred node terms.
 */
export function affinity(path: string, suffix = '') {
  return z
    .strictObject({
      nodeAffinity: nodeAffinity(`${path}.nodeAffinity`).optional(),
      podAffinity: podAffinity(`${path}.podAffinity`, 'near').optional(),
      podAntiAffinity: podAffinity(`${path}.podAntiAffinity`, 'away from').optional(),
    })
    .meta({
      description:
        "Affinity of the pods, as in a PodSpec. Required node terms, podAffinity and podAntiAffinity are taken as written; with spot: true, Lathe's preference for spot nodes follows the preferred node terms. Default: none." +
        suffix,
    });
}

/** The four scheduling fields, for both specs; `suffix` ends each description (" Immutable."). */
export function podScheduling(suffix = '') {
  return {
    nodeSelector: labelMatchMap(
      'spec.nodeSelector',
      `Node labels the pods require (the pods' nodeSelector); Kueue may add its resource flavor's labels. Default: none.${suffix}`,
    ).optional(),
    tolerations: tolerations('spec.tolerations', suffix).optional(),
    affinity: affinity('spec.affinity', suffix).optional(),
    priorityClassName: dnsSubdomain(
      'spec.priorityClassName',
      `PriorityClass of the pods: their scheduling order and whether they may preempt others. Default: none (the cluster's global default, if any).${suffix}`,
    ).optional(),
  };
}

// ---------------------------------------------------------------------------------------------
// metav1.Condition, as controller-gen renders it.

export const ConditionSchema = z
  .object({
    type: z
      .string()
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/)
      .meta({ description: 'Type of condition in CamelCase (Ready, Succeeded, Failed, ...).' }),
    status: z.enum(['True', 'False', 'Unknown']).meta({ description: 'Status of the condition: True, False or Unknown.' }),
    observedGeneration: z
      .int()
      .min(0)
      .meta({ description: 'The .metadata.generation the condition was set from.' })
      .optional(),
    lastTransitionTime: z
      .string()
      .meta({ format: 'date-time', description: 'Last time the condition changed from one status to another.' }),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
      .meta({ description: "Programmatic identifier (CamelCase) of the condition's last transition." }),
    message: z.string().max(32768).meta({ description: 'Human-readable details of the last transition.' }),
  })
  .meta({ description: 'A metav1.Condition.' });
export type Condition = z.infer<typeof ConditionSchema>;

export function conditions(description: string) {
  return z.array(ConditionSchema).max(32).meta({
    description,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });
}

export const DateTime = (description: string) => z.string().meta({ format: 'date-time', description });
