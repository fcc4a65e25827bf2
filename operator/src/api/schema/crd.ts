// Turns the zod schemas into CustomResourceDefinitions.
//
// z.toJSONSchema (target openapi-3.0, io input, reused inline) gets most of the way; toStructural
// below makes the result a valid *structural* schema, as apiextensions.k8s.io/v1 requires, and
// refuses (throws) where it cannot, so a schema change that would need a hand edit fails the
// generator instead of producing a CRD the API server rejects:
//   - `$schema`, `$id`, `propertyNames`, `title`: dropped (not allowed in a CRD, or noise).
//   - `$ref`, `$defs`: refused (schemas are inlined with reused: 'inline'; a recursive schema throws).
//   - `additionalProperties: false`: dropped; a structural schema prunes unknown fields, and
//     `additionalProperties` may not stand beside `properties`.
//   - `additionalProperties: {}` / `true` and the empty schema `{}`: x-kubernetes-preserve-unknown-fields.
//   - `const`: a one-value `enum`.
//   - `anyOf: [X, {type: null}]` (zod's nullable): X with `nullable: true`.
//   - `x-kubernetes-int-or-string` nodes: the union becomes exactly
//     `anyOf: [{type: integer}, {type: string}]`, the only anyOf with types a structural schema allows.
//   - every other `anyOf`/`oneOf`/`allOf`/`not`: refused (express alternatives as one object + CEL).
//   - `default`: refused (defaults live in the operator's rendering, see constants.ts DEFAULTS).
//   - zod's `z.int()` bounds of ±(2^53-1): dropped.
//   - every node gets a `type`, except int-or-string and preserve-unknown-fields nodes; object
//     nodes must have `properties` or `additionalProperties`; arrays must have `items`.
//   - keys are written in a fixed order, so the output is deterministic and readable.
import { z } from 'zod';
import { CATEGORIES, CRD_NAMES, GROUP, KINDS, PLURALS, SHORT_NAMES, SINGULARS, VERSION, type Kind } from '../constants.js';
import {
  INFERENCE_SERVICE_DESCRIPTION,
  INFERENCE_SERVICE_NAME_RULE,
  InferenceServiceSpecSchema,
  InferenceServiceStatusSchema,
} from './inferenceservice.js';
import { TRAINING_RUN_DESCRIPTION, TRAINING_RUN_NAME_RULE, TrainingRunSpecSchema, TrainingRunStatusSchema } from './trainingrun.js';
import type { NameRule } from './common.js';

export type JSONSchemaProps = { [key: string]: unknown };

const KEY_ORDER = [
  'description',
  'type',
  'format',
  'nullable',
  'enum',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'anyOf',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'items',
  'additionalProperties',
  'properties',
  'required',
  'x-kubernetes-validations',
];
const ALLOWED_KEYS = new Set(KEY_ORDER);
const DROPPED_KEYS = new Set(['$schema', '$id', 'id', 'propertyNames', 'title', 'examples']);
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class StructuralSchemaError extends Error {}

/** Makes a JSON Schema produced by z.toJSONSchema a structural CRD schema (see the file comment). */
export function toStructural(input: JSONSchemaProps, path = '<root>'): JSONSchemaProps {
  const fail = (why: string): never => {
    throw new StructuralSchemaError(`${path}: ${why}`);
  };
  let node: JSONSchemaProps = { ...input };
  for (const k of DROPPED_KEYS) delete node[k];
  if ('$ref' in node || '$defs' in node || 'definitions' in node) fail('$ref/$defs are not allowed in a CRD schema (use reused: "inline"; recursive schemas are not supported)');
  if ('default' in node) fail('`default` is not allowed: defaults live in the operator\'s rendering');
  if ('oneOf' in node || 'allOf' in node || 'not' in node) fail('oneOf/allOf/not are not supported; use one object and CEL rules');

  if ('const' in node) {
    node.enum = [node.const];
    delete node.const;
  }

  if (node['x-kubernetes-int-or-string'] === true) {
    delete node.type;
    node.anyOf = [{ type: 'integer' }, { type: 'string' }];
  } else if (Array.isArray(node.anyOf)) {
    const branches = node.anyOf as JSONSchemaProps[];
    const nonNull = branches.filter((b) => b.type !== 'null');
    if (nonNull.length === 1 && branches.length === 2) {
      const { description, ...rest } = node;
      delete rest.anyOf;
      node = { ...nonNull[0], ...rest, nullable: true };
      if (description !== undefined) node.description = description;
    } else {
      fail('anyOf is only supported for nullable values and x-kubernetes-int-or-string; use one object and CEL rules');
    }
  }

  if (node.type === 'integer') {
    if (node.minimum === -MAX_SAFE) delete node.minimum;
    if (node.maximum === MAX_SAFE) delete node.maximum;
  }
  if (Array.isArray(node.type)) fail(`type must be a single type, got ${JSON.stringify(node.type)}`);

  // additionalProperties
  if (node.additionalProperties === false) delete node.additionalProperties;
  if (node.additionalProperties === true || isEmptySchema(node.additionalProperties)) {
    delete node.additionalProperties;
    node['x-kubernetes-preserve-unknown-fields'] = true;
  }
  if (node.additionalProperties !== undefined && node.properties !== undefined) {
    fail('additionalProperties and properties cannot both be set');
  }

  // the empty schema (z.unknown(), z.any())
  if (node.type === undefined && node['x-kubernetes-int-or-string'] !== true) {
    const keys = Object.keys(node).filter((k) => k !== 'description');
    if (keys.length === 0 || (keys.length === 1 && node['x-kubernetes-preserve-unknown-fields'] === true)) {
      node['x-kubernetes-preserve-unknown-fields'] = true;
    } else if (node.properties !== undefined || node.additionalProperties !== undefined) {
      node.type = 'object';
    } else {
      fail(`every node needs a type (keys: ${keys.join(', ')})`);
    }
  }

  // recurse
  if (node.properties !== undefined) {
    const props = node.properties as Record<string, JSONSchemaProps>;
    node.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, toStructural(v, `${path}.${k}`)]));
    if (Array.isArray(node.required) && node.required.length === 0) delete node.required;
  }
  if (typeof node.additionalProperties === 'object' && node.additionalProperties !== null) {
    node.additionalProperties = toStructural(node.additionalProperties as JSONSchemaProps, `${path}[*]`);
  }
  if (node.items !== undefined) {
    if (Array.isArray(node.items)) fail('tuple items are not supported');
    node.items = toStructural(node.items as JSONSchemaProps, `${path}[]`);
  }
  if (node.type === 'object' && node.properties === undefined && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true) {
    fail('an object needs properties, additionalProperties or x-kubernetes-preserve-unknown-fields');
  }
  if (node.type === 'array' && node.items === undefined) fail('an array needs items');

  for (const k of Object.keys(node)) if (!ALLOWED_KEYS.has(k)) fail(`unsupported keyword ${k}`);
  return orderKeys(node);
}

function isEmptySchema(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}

function orderKeys(node: JSONSchemaProps): JSONSchemaProps {
  const out: JSONSchemaProps = {};
  for (const k of KEY_ORDER) if (node[k] !== undefined) out[k] = node[k];
  return out;
}

/** A zod schema as a structural CRD schema. */
export function crdSchema(schema: z.ZodType, path: string): JSONSchemaProps {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', reused: 'inline', unrepresentable: 'throw' });
  return toStructural(json, path);
}

// ---------------------------------------------------------------------------------------------
// The two CRDs

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
  format?: string;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    scope: 'Namespaced';
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: { status: Record<string, never>; scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string } };
      additionalPrinterColumns: PrinterColumn[];
    }>;
  };
}

function rootSchema(kind: string, description: string, spec: z.ZodType, status: z.ZodType, nameRule: NameRule): JSONSchemaProps {
  return {
    description,
    type: 'object',
    properties: {
      apiVersion: {
        description: 'APIVersion defines the versioned schema of this representation of an object: lathe.dev/v1alpha1.',
        type: 'string',
      },
      kind: { description: `Kind is the REST resource this object represents: ${kind}.`, type: 'string' },
      // Only name and generateName may be constrained here; the operator derives child names from it.
      metadata: {
        type: 'object',
        properties: {
          name: { type: 'string', maxLength: nameRule.maxLength, 'x-kubernetes-validations': [{ rule: nameRule.rule, message: nameRule.message }] },
        },
      },
      spec: crdSchema(spec, `${kind}.spec`),
      status: crdSchema(status, `${kind}.status`),
    },
    required: ['spec'],
  };
}

const AGE: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** The parts in which Lathe's two CRDs differ; names, scope and version come from constants.ts. */
type CrdVersion = CustomResourceDefinition['spec']['versions'][number];
type CrdParts = Pick<CrdVersion, 'subresources' | 'additionalPrinterColumns'> & { openAPIV3Schema: JSONSchemaProps };

function crd(kind: Kind, parts: CrdParts): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAMES[kind], labels: { 'app.kubernetes.io/part-of': 'lathe' } },
    spec: {
      group: GROUP,
      names: {
        kind,
        listKind: `${kind}List`,
        plural: PLURALS[kind],
        singular: SINGULARS[kind],
        shortNames: [...SHORT_NAMES[kind]],
        categories: [...CATEGORIES],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: parts.openAPIV3Schema },
          subresources: parts.subresources,
          additionalPrinterColumns: parts.additionalPrinterColumns,
        },
      ],
    },
  };
}

export function trainingRunCrd(): CustomResourceDefinition {
  const kind = KINDS.TrainingRun;
  return crd(kind, {
    openAPIV3Schema: rootSchema(kind, TRAINING_RUN_DESCRIPTION, TrainingRunSpecSchema, TrainingRunStatusSchema, TRAINING_RUN_NAME_RULE),
    subresources: { status: {} },
    additionalPrinterColumns: [
      { name: 'Model', type: 'string', jsonPath: '.spec.model', description: 'Base model' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Pending, Queued, Running, Succeeded, Failed or Suspended' },
      { name: 'Progress', type: 'string', jsonPath: '.status.progress.summary', description: 'Epoch / epochs' },
      { name: 'Loss', type: 'number', jsonPath: '.status.progress.loss', description: 'Running mean training loss' },
      { name: 'GPUs', type: 'integer', jsonPath: '.status.gpus', description: 'Total GPUs (workers × GPUs per worker)' },
      AGE,
      { name: 'Task', type: 'string', jsonPath: '.spec.task', priority: 1 },
      { name: 'Attempts', type: 'integer', jsonPath: '.status.attempts', priority: 1 },
      { name: 'Run ID', type: 'string', jsonPath: '.status.runId', priority: 1 },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ],
  });
}

export function inferenceServiceCrd(): CustomResourceDefinition {
  const kind = KINDS.InferenceService;
  return crd(kind, {
    openAPIV3Schema: rootSchema(kind, INFERENCE_SERVICE_DESCRIPTION, InferenceServiceSpecSchema, InferenceServiceStatusSchema, INFERENCE_SERVICE_NAME_RULE),
    subresources: {
      status: {},
      scale: { specReplicasPath: '.spec.replicas.min', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    },
    additionalPrinterColumns: [
      { name: 'Model', type: 'string', jsonPath: '.status.modelUri', description: 'Resolved model URI' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Ready condition' },
      { name: 'Replicas', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready replicas' },
      { name: 'URL', type: 'string', jsonPath: '.status.url', description: 'In-cluster URL' },
      { name: 'Canary', type: 'integer', jsonPath: '.status.rollout.canaryShare', description: "The canary's share of the pods in percent, while a canary rollout runs (spec.rollout)" },
      AGE,
      { name: 'Task', type: 'string', jsonPath: '.spec.task', priority: 1 },
      { name: 'Desired', type: 'integer', jsonPath: '.status.replicas', priority: 1 },
      { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
      { name: 'Rollout', type: 'string', jsonPath: '.status.rollout.phase', description: 'Phase of the last canary rollout', priority: 1 },
      { name: 'External-URL', type: 'string', jsonPath: '.status.externalUrl', description: 'URL from outside the cluster (spec.expose)', priority: 1 },
    ],
  });
}

export function allCrds(): CustomResourceDefinition[] {
  return [trainingRunCrd(), inferenceServiceCrd()];
}
