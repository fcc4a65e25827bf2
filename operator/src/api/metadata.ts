// Validation of the trainer's S3 records against the shared JSON Schemas in <repo>/schemas/:
// metadata.json (schemas/metadata.schema.json), progress.json (schemas/progress.schema.json) and
// metrics-history.json (schemas/metrics-history.schema.json, read by kubectl-lathe in cli/).
// The Python trainer validates against the same files; see docs/contracts.md.
//
// Where the schemas are found: $LATHE_SCHEMAS_DIR if set, else the first `schemas/` directory
// holding metadata.schema.json found by walking up from this module. That is <repo>/schemas both
// from the sources (operator/src/api/) and from the compiled tree (dist/operator/src/api/); an
// operator image must therefore ship `schemas/` at (or above) the directory that holds `dist/`, or
// set LATHE_SCHEMAS_DIR. The files are read and compiled once, on first use.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

/**
 * The `task` enum of schemas/metadata.schema.json, in its order (metadata.test.ts fails when they
 * differ): every TrainingRun task, plus `text-to-image` (image generation, spelled as
 * InferenceService `spec.task` and the inference server spell it).
 */
export const METADATA_TASKS = ['text-generation', 'image-classification', 'custom', 'text-to-image'] as const;
export type MetadataTask = (typeof METADATA_TASKS)[number];

/** metadata.json, schemaVersion 1 (hand-written to match schemas/metadata.schema.json). */
export interface RunMetadata {
  schemaVersion: 1;
  /** `YYYYMMDD-HHMMSS-xxxxxx`. */
  runId: string;
  /** Model slug of the S3 prefix. */
  model: string;
  /** `hf://org/name`, `s3://...` or `scratch`. */
  baseModel: string;
  task: MetadataTask;
  datasetUri: string;
  /** Hyperparameters actually used, defaults included. */
  hyperparameters: Record<string, number | string | boolean>;
  metrics: {
    epochs: Array<{ epoch: number; loss: number; step?: number } & Record<string, number>>;
    final: { loss: number } & Record<string, number>;
  };
  artifact: { uri: string; format: 'safetensors' };
  /** Every object under checkpoint/, relative to it. */
  files: Array<{ path: string; size: number; sha256: string }>;
  attempt?: number;
  resumedFromStep?: number | null;
  worldSize?: number;
  startedAt: string;
  finishedAt: string;
  frameworks: { python: string; torch: string } & Record<string, string>;
}

/** progress.json, schemaVersion 1 (hand-written to match schemas/progress.schema.json). */
export interface RunProgress {
  schemaVersion: 1;
  runId: string;
  epoch: number;
  epochs: number;
  step: number;
  totalSteps?: number;
  loss?: number | null;
  evalMetric?: { name: string; value: number } | null;
  startedAt?: string;
  updatedAt: string;
}

/** One point of metrics-history.json: `step`, `epoch`, `time`, optional curves, other evaluation metrics. */
export type MetricsPoint = { step: number; epoch: number; time: string; loss?: number; learningRate?: number; evalLoss?: number } & Record<string, number | string | undefined>;

/** metrics-history.json, schemaVersion 1 (hand-written to match schemas/metrics-history.schema.json). */
export interface MetricsHistory {
  schemaVersion: 1;
  runId: string;
  maxPoints: number;
  thinned: number;
  /** In increasing step order. */
  points: MetricsPoint[];
  updatedAt: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export const METADATA_SCHEMA_FILE = 'metadata.schema.json';
export const PROGRESS_SCHEMA_FILE = 'progress.schema.json';
export const METRICS_HISTORY_SCHEMA_FILE = 'metrics-history.schema.json';

/** The directory holding the shared JSON Schemas (see the file comment). */
export function schemasDir(): string {
  const fromEnv = process.env.LATHE_SCHEMAS_DIR;
  if (fromEnv) return path.resolve(fromEnv);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'schemas');
    if (existsSync(path.join(candidate, METADATA_SCHEMA_FILE))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find schemas/${METADATA_SCHEMA_FILE} above ${fileURLToPath(import.meta.url)}; set LATHE_SCHEMAS_DIR`);
    dir = parent;
  }
}

// ajv-formats is CommonJS; its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => Ajv2020;

interface Validators {
  metadata: ValidateFunction;
  progress: ValidateFunction;
  history: ValidateFunction;
}

let validators: Validators | undefined;

function compiled(): Validators {
  if (validators === undefined) {
    const dir = schemasDir();
    const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strict: true });
    addFormats(ajv);
    const load = (file: string): ValidateFunction =>
      ajv.compile(JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>);
    validators = { metadata: load(METADATA_SCHEMA_FILE), progress: load(PROGRESS_SCHEMA_FILE), history: load(METRICS_HISTORY_SCHEMA_FILE) };
  }
  return validators;
}

/** One line per Ajv error, naming the JSON pointer of the offending value. */
export function formatErrors(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath === '' ? '(root)' : e.instancePath;
    let detail = e.message ?? 'is invalid';
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'additionalProperty' || e.keyword === 'additionalProperties') detail += `: ${String(params.additionalProperty)}`;
    else if (e.keyword === 'enum' || e.keyword === 'const') detail += `: ${JSON.stringify(params.allowedValues ?? params.allowedValue)}`;
    return `${where} ${detail}`;
  });
}

function parseWith<T>(validate: ValidateFunction, input: unknown, what: string): ParseResult<T> {
  let value = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      value = JSON.parse(typeof input === 'string' ? input : new TextDecoder().decode(input));
    } catch (err) {
      return { ok: false, errors: [`${what} is not valid JSON: ${(err as Error).message}`] };
    }
  }
  if (validate(value)) return { ok: true, value: value as T };
  return { ok: false, errors: formatErrors(validate.errors).map((e) => `${what}: ${e}`) };
}

/** Validates metadata.json (an object, or its text). */
export function parseMetadata(json: unknown): ParseResult<RunMetadata> {
  return parseWith<RunMetadata>(compiled().metadata, json, 'metadata.json');
}

/** Validates progress.json (an object, or its text). */
export function parseProgress(json: unknown): ParseResult<RunProgress> {
  return parseWith<RunProgress>(compiled().progress, json, 'progress.json');
}

/**
 * Validates metrics-history.json (an object, or its text). The schema cannot say that the points
 * are in increasing step order, which a curve needs; that is checked here.
 */
export function parseMetricsHistory(json: unknown): ParseResult<MetricsHistory> {
  const parsed = parseWith<MetricsHistory>(compiled().history, json, 'metrics-history.json');
  if (!parsed.ok) return parsed;
  const points = parsed.value.points;
  for (let i = 1; i < points.length; i++) {
    if (points[i]!.step <= points[i - 1]!.step) return { ok: false, errors: [`metrics-history.json: /points/${i}/step ${points[i]!.step} is not after the step before it (${points[i - 1]!.step})`] };
  }
  return parsed;
}
