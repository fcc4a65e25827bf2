/* eslint-disable @typescript-eslint/no-explicit-any */
import { mkdtempSync, writeFileSync, cpSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { INFERENCE_TASKS, TRAINING_TASKS } from './constants.js';
import { METADATA_SCHEMA_FILE, METADATA_TASKS, parseMetadata, parseMetricsHistory, parseProgress, schemasDir, type MetricsHistory, type RunMetadata, type RunProgress } from './metadata.js';

const sha = 'a'.repeat(64);

// Typed as RunMetadata: if the hand-written type and the schema drift apart, either this stops
// compiling or the validation below fails.
const goodMetadata: RunMetadata = {
  schemaVersion: 1,
  runId: '20261122-154210-a1b2c3',
  model: 'smol-llama-stories',
  baseModel: 'hf://BEE-spoke-data/smol_llama-101M-GQA',
  task: 'text-generation',
  datasetUri: 's3://ml-data/tinystories.jsonl',
  hyperparameters: { epochs: 3, batchSize: 8, learningRate: 5e-5, scheduler: 'cosine', fp16: false },
  metrics: {
    epochs: [
      { epoch: 1, loss: 2.1, step: 100 },
      { epoch: 2, loss: 1.4, step: 200, perplexity: 4.1 },
    ],
    final: { loss: 1.4, perplexity: 4.1 },
  },
  artifact: { uri: 's3://lathe-artifacts/models/smol-llama-stories/20261122-154210-a1b2c3/checkpoint/', format: 'safetensors' },
  files: [
    { path: 'model.safetensors', size: 1234, sha256: sha },
    { path: 'config.json', size: 10, sha256: sha },
  ],
  attempt: 2,
  resumedFromStep: 100,
  worldSize: 2,
  startedAt: '2026-11-22T15:42:10Z',
  finishedAt: '2026-11-22T16:42:10.123Z',
  frameworks: { python: '3.12.3', torch: '2.5.1', transformers: '4.46.0' },
};

const goodProgress: RunProgress = {
  schemaVersion: 1,
  runId: '20261122-154210-a1b2c3',
  epoch: 2,
  epochs: 3,
  step: 150,
  totalSteps: 300,
  loss: 1.7,
  evalMetric: { name: 'accuracy', value: 0.91 },
  startedAt: '2026-11-22T15:42:10Z',
  updatedAt: '2026-11-22T16:02:10Z',
};

function withChange<T>(base: T, change: (copy: Record<string, any>) => void): unknown {
  const copy = structuredClone(base) as Record<string, any>;
  change(copy);
  return copy;
}

describe('parseMetadata', () => {
  it('accepts a complete metadata.json, as an object or as text', () => {
    expect(parseMetadata(goodMetadata)).toEqual({ ok: true, value: goodMetadata });
    expect(parseMetadata(JSON.stringify(goodMetadata)).ok).toBe(true);
    expect(parseMetadata(new TextEncoder().encode(JSON.stringify(goodMetadata))).ok).toBe(true);
    expect(parseMetadata({ ...goodMetadata, resumedFromStep: null }).ok).toBe(true);
  });

  it.each([
    ['wrong schemaVersion', (m: Record<string, any>) => (m.schemaVersion = 2), '/schemaVersion'],
    ['bad run id', (m: Record<string, any>) => (m.runId = 'run-1'), '/runId'],
    ['missing files', (m: Record<string, any>) => delete m.files, "required property 'files'"],
    ['empty files', (m: Record<string, any>) => (m.files = []), '/files'],
    ['bad sha256', (m: Record<string, any>) => (m.files[0].sha256 = 'XYZ'), '/files/0/sha256'],
    ['negative size', (m: Record<string, any>) => (m.files[1].size = -1), '/files/1/size'],
    ['artifact not a checkpoint/ prefix', (m: Record<string, any>) => (m.artifact.uri = 's3://b/models/x/weights'), '/artifact/uri'],
    ['unknown task', (m: Record<string, any>) => (m.task = 'regression'), '/task'],
    ['bad timestamp', (m: Record<string, any>) => (m.finishedAt = 'yesterday'), '/finishedAt'],
    ['unknown top-level field', (m: Record<string, any>) => (m.color = 'blue'), 'color'],
    ['non-numeric epoch metric', (m: Record<string, any>) => (m.metrics.epochs[0].accuracy = 'high'), '/metrics/epochs/0/accuracy'],
    ['missing torch version', (m: Record<string, any>) => delete m.frameworks.torch, "required property 'torch'"],
    ['hyperparameter that is an object', (m: Record<string, any>) => (m.hyperparameters.nested = { a: 1 }), '/hyperparameters/nested'],
  ])('rejects %s, naming the field', (_name, change, expected) => {
    const result = parseMetadata(withChange(goodMetadata, change));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.join('\n')).toContain(expected);
      for (const e of result.errors) expect(e).toMatch(/^metadata\.json: /);
    }
  });

  it.each(METADATA_TASKS)('accepts task %s', (task) => {
    const doc: RunMetadata = { ...goodMetadata, task };
    expect(parseMetadata(doc)).toEqual({ ok: true, value: doc });
  });

  it('accepts a text-to-image run (the Sana Sprint reference model)', () => {
    const doc: RunMetadata = {
      ...goodMetadata,
      model: 'sana-sprint-pets',
      baseModel: 'hf://Efficient-Large-Model/Sana_Sprint_1.6B_1024px',
      task: 'text-to-image',
    };
    expect(parseMetadata(doc).ok).toBe(true);
  });

  it.each(['text-to-video', 'text2image', 'Text-To-Image', 'image-generation', ''])('rejects unknown task %j, listing the allowed ones', (task) => {
    const result = parseMetadata({ ...goodMetadata, task });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([`metadata.json: /task must be equal to one of the allowed values: ${JSON.stringify(METADATA_TASKS)}`]);
  });

  it('METADATA_TASKS (and so RunMetadata.task) is the schema\'s task enum', () => {
    const schema = JSON.parse(readFileSync(path.join(schemasDir(), METADATA_SCHEMA_FILE), 'utf8')) as { properties: { task: { enum: unknown } } };
    expect(schema.properties.task.enum).toEqual([...METADATA_TASKS]);
  });

  it('can record every task a TrainingRun trains and an InferenceService serves', () => {
    for (const task of [...TRAINING_TASKS, ...INFERENCE_TASKS]) expect(METADATA_TASKS).toContain(task);
  });

  it('rejects text that is not JSON', () => {
    const result = parseMetadata('{"schemaVersion": 1,');
    expect(result).toMatchObject({ ok: false });
    if (!result.ok) expect(result.errors[0]).toMatch(/not valid JSON/);
  });
});

describe('parseProgress', () => {
  it('accepts progress.json, with null loss and evalMetric too', () => {
    expect(parseProgress(goodProgress)).toEqual({ ok: true, value: goodProgress });
    expect(parseProgress({ ...goodProgress, loss: null, evalMetric: null }).ok).toBe(true);
    const { totalSteps: _t, loss: _l, evalMetric: _e, startedAt: _s, ...minimal } = goodProgress;
    expect(parseProgress(minimal).ok).toBe(true);
  });
  it.each([
    ['epoch below 0', (p: Record<string, any>) => (p.epoch = -1), '/epoch'],
    ['zero epochs', (p: Record<string, any>) => (p.epochs = 0), '/epochs'],
    ['missing updatedAt', (p: Record<string, any>) => delete p.updatedAt, "required property 'updatedAt'"],
    ['loss as text', (p: Record<string, any>) => (p.loss = 'low'), '/loss'],
    ['evalMetric without value', (p: Record<string, any>) => (p.evalMetric = { name: 'accuracy' }), '/evalMetric'],
    ['fractional step', (p: Record<string, any>) => (p.step = 1.5), '/step'],
  ])('rejects %s, naming the field', (_name, change, expected) => {
    const result = parseProgress(withChange(goodProgress, change));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('\n')).toContain(expected);
  });
});

// What the trainer writes (trainer-image/lathe_trainer/history.py), typed: drift fails here.
const goodHistory: MetricsHistory = {
  schemaVersion: 1,
  runId: '20261122-154210-a1b2c3',
  maxPoints: 1000,
  thinned: 0,
  points: [
    { step: 1, epoch: 1, time: '2026-11-22T15:42:11.000Z', loss: 2.5, learningRate: 0.01 },
    { step: 4, epoch: 1, time: '2026-11-22T15:42:12.000Z', loss: 2.1, learningRate: 0.008, evalLoss: 2.2, perplexity: 9.0 },
  ],
  updatedAt: '2026-11-22T15:42:12.000Z',
};

describe('parseMetricsHistory', () => {
  it('accepts the history the trainer writes, as an object or as text', () => {
    expect(parseMetricsHistory(goodHistory)).toEqual({ ok: true, value: goodHistory });
    expect(parseMetricsHistory(JSON.stringify(goodHistory)).ok).toBe(true);
  });

  it.each([
    ['a step below 0', (h: Record<string, any>) => (h.points[0].step = -1), '/points/0/step'],
    ['a metric that is not a number', (h: Record<string, any>) => (h.points[1].accuracy = 'high'), '/points/1/accuracy'],
    ['a point without its time', (h: Record<string, any>) => delete h.points[0].time, "required property 'time'"],
    ['an unknown top-level field', (h: Record<string, any>) => (h.color = 'blue'), 'color'],
    ['points out of step order', (h: Record<string, any>) => (h.points[1].step = 1), '/points/1/step 1 is not after'],
  ])('refuses %s, naming where', (_what, change, where) => {
    const result = parseMetricsHistory(withChange(goodHistory, change));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join('\n')).toContain(where);
  });

  it('says when the text is not JSON', () => {
    const result = parseMetricsHistory('{"points": [');
    expect(result.ok === false && result.errors[0]).toMatch(/^metrics-history.json is not valid JSON/);
  });
});

describe('schemasDir', () => {
  afterEach(() => vi.unstubAllEnvs());
  it('finds <repo>/schemas by walking up from the module', () => {
    expect(schemasDir()).toBe(path.resolve(import.meta.dirname, '../../../schemas'));
  });
  it('honours LATHE_SCHEMAS_DIR', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lathe-schemas-'));
    cpSync(schemasDir(), dir, { recursive: true });
    writeFileSync(path.join(dir, 'marker'), '');
    vi.stubEnv('LATHE_SCHEMAS_DIR', dir);
    expect(schemasDir()).toBe(dir);
  });
});
