// Building blocks shared by the TrainingRun and InferenceService schemas: string forms (URIs, DNS
// names, quantities, durations), CEL rules, resources and metav1.Condition.
//
// Every admission rule is written once, here, as a regular expression or a predicate, and used
// twice: as a CEL rule (`x-kubernetes-validations`, evaluated by the API server) and as a zod
// refinement (so `TrainingRunSpecSchema.parse` in the operator agrees with admission). The regular
// expressions are restricted to the common subset of RE2 (CEL) and JavaScript: no lookaround, no
// backreferences.
import { z } from 'zod';
import { DURATION_PATTERN, isValidDuration } from './duration.js';

/** One CEL validation rule, as in apiextensions.k8s.io/v1 ValidationRule. */
export interface CelRule {
  rule: string;
  message: string;
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
/** RFC 1035 label (starts with a letter): what Service names need. */
export const DNS_1035_LABEL_RE = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const BUCKET = '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]';
const HF_PART = '[A-Za-z0-9][A-Za-z0-9._-]{0,95}';
export const HF_URI_RE = new RegExp(`^hf://${HF_PART}/${HF_PART}$`);
/** `s3://bucket/prefix`: a bucket name and a non-empty key or prefix without whitespace. */
export const S3_URI_RE = new RegExp(`^s3://${BUCKET}/\\S+$`);
export const RUN_URI_RE = /^run:\/\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const BUILTIN_DATASETS = ['mnist'] as const;
export const BUILTIN_DATASET_RE = new RegExp(`^builtin:(${BUILTIN_DATASETS.join('|')})$`);
/** Container image reference: no whitespace; the registry judges the rest. */
export const IMAGE_RE = /^\S+$/;
/** Environment variable name (C identifier), as Kubernetes requires for `env[].name`. */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A non-negative resource quantity (`4`, `500m`, `16Gi`, `1e3`); no sign. */
export const QUANTITY_RE =
  /^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
/** Metric name as Prometheus adapters expose them. */
export const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Label or annotation key: optional DNS-subdomain prefix, then a name of at most 63 characters. */
export const LABEL_KEY_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

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
export function metadataMap(path: string, description: string, kind: 'labels' | 'annotations') {
  const keyMessage = `${path} keys must be valid label keys ([prefix/]name, name at most 63 characters)`;
  const valueMessage = `${path} values must be valid label values (at most 63 characters: a-z, A-Z, 0-9, '-', '_', '.')`;
  const rules: CelRule[] = [{ rule: `self.all(k, size(k) <= 317 && k.matches(${celRegex(LABEL_KEY_RE)}))`, message: keyMessage }];
  if (kind === 'labels') rules.push({ rule: `self.all(k, self[k].matches(${celRegex(LABEL_VALUE_RE)}))`, message: valueMessage });
  const valueMax = kind === 'labels' ? 63 : 4096;
  return z
    .record(z.string(), z.string().max(valueMax))
    .refine((m) => Object.keys(m).length <= 64, `${path} may hold at most 64 entries`)
    .refine((m) => Object.keys(m).every((k) => k.length <= 317 && LABEL_KEY_RE.test(k)), keyMessage)
    .refine((m) => kind !== 'labels' || Object.values(m).every((v) => LABEL_VALUE_RE.test(v)), valueMessage)
    .meta({ description, maxProperties: 64, ...cel(...rules) });
}

export function podMetadata(path: string, suffix = '') {
  return z
    .strictObject({
      labels: metadataMap(`${path}.labels`, 'Labels added to every pod (for example cost-allocation labels).', 'labels').optional(),
      annotations: metadataMap(
        `${path}.annotations`,
        'Annotations added to every pod (for example sidecar injection settings).',
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
