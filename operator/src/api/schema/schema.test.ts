// The zod schemas agree with admission: the valid objects of the integration test parse, and every
// malformed spec the API server rejects (operator/test/api/cases.ts) is rejected by zod too.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { BAD_INFERENCE_SERVICES, BAD_TRAINING_RUNS, HTTP_ROUTE_EXPOSE, applyCase, validInferenceService, type BadCase } from '../../../test/api/cases.js';
import { InferenceServiceSchema, InferenceServiceSpecSchema } from './inferenceservice.js';
import { TRAINING_RUN_NAME_RULE, TrainingRunSchema, TrainingRunSpecSchema } from './trainingrun.js';
import { isValidName } from './common.js';
import { makeTrainingRun } from '../../../../test/support/builders.js';

/** An issue's path written as the API server writes field paths: spec.tolerations[0].value. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((p, k) => (typeof k === 'number' ? `${p}[${k}]` : `${p}.${String(k)}`), 'spec');
}

function expectRejectedNamingField(result: z.ZodSafeParseResult<unknown>, c: BadCase): void {
  expect(result.success).toBe(false);
  if (!result.success) {
    const paths = result.error.issues.map((i) => fieldPath(i.path));
    const text = result.error.issues.map((i) => i.message).join('\n');
    // zod names the field either by the issue path or in the message
    expect(paths.some((p) => c.field.startsWith(p) || p.startsWith(c.field)) || text.includes(c.field), `${paths.join(', ')}: ${text}`).toBe(true);
  }
}

describe('TrainingRun zod schema', () => {
  it('parses the valid example', () => {
    expect(TrainingRunSchema.parse(makeTrainingRun('smol-llama-stories').everyField().manifest()).spec.workers).toBe(2);
  });
  it('parses minimal runs', () => {
    expect(TrainingRunSpecSchema.safeParse({ task: 'image-classification', dataset: { uri: 'builtin:mnist' } }).success).toBe(true);
    expect(
      TrainingRunSpecSchema.safeParse({ task: 'custom', model: 'run://base-run', dataset: { uri: 'hf://org/data' }, command: ['python', 'x.py'] }).success,
    ).toBe(true);
    expect(TrainingRunSpecSchema.safeParse({ task: 'text-generation', model: 's3://bucket/models/x/', dataset: { uri: 's3://ml-data/d/' } }).success).toBe(true);
  });
  it.each(BAD_TRAINING_RUNS.filter((c) => c.zodRejects !== false).map((c) => [c.name, c] as const))('rejects %s', (_n, c) => {
    expectRejectedNamingField(TrainingRunSpecSchema.safeParse(applyCase(makeTrainingRun('smol-llama-stories').everyField().manifest(), c).spec), c);
  });
});

describe('InferenceService zod schema', () => {
  it('parses the valid example and a trainingRun reference', () => {
    expect(InferenceServiceSchema.parse(validInferenceService()).spec.task).toBe('text-generation');
    expect(InferenceServiceSpecSchema.safeParse({ model: { trainingRun: 'smol-llama-stories' }, task: 'text-to-image', replicas: { min: 0 } }).success).toBe(true);
  });
  it('parses spec.expose as an HTTPRoute, a bare Ingress, and wildcard route hostnames', () => {
    const spec = validInferenceService().spec;
    expect(InferenceServiceSpecSchema.safeParse({ ...spec, expose: HTTP_ROUTE_EXPOSE }).success).toBe(true);
    expect(InferenceServiceSpecSchema.safeParse({ ...spec, expose: { ingress: {} } }).success).toBe(true);
    const wildcard = { httpRoute: { parentRefs: [{ name: 'gw' }], hostnames: ['*.models.example.com'] } };
    expect(InferenceServiceSpecSchema.safeParse({ ...spec, expose: wildcard }).success).toBe(true);
    // An Ingress host has no wildcard form here: it names the one host of the URL.
    expect(InferenceServiceSpecSchema.safeParse({ ...spec, expose: { ingress: { host: '*.models.example.com' } } }).success).toBe(false);
  });
  it.each(BAD_INFERENCE_SERVICES.filter((c) => c.zodRejects !== false).map((c) => [c.name, c] as const))('rejects %s', (_n, c) => {
    expectRejectedNamingField(InferenceServiceSpecSchema.safeParse(applyCase(validInferenceService(), c).spec), c);
  });
});

describe('metadata.name rule', () => {
  it.each([
    ['smol-llama-stories', true],
    ['a', true],
    ['x'.repeat(52), true],
    ['x'.repeat(53), false],
    ['1st-run', false],
    ['run-', false],
    ['Run', false],
    ['run.v2', false],
  ] as const)('%s -> %s', (name, ok) => {
    expect(isValidName(name, TRAINING_RUN_NAME_RULE)).toBe(ok);
  });
});
