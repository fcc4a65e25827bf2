import { dumpYaml, loadYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { CATEGORIES, SHORT_NAMES } from '../constants.js';
import { allCrds, crdSchema, inferenceServiceCrd, toStructural, trainingRunCrd, StructuralSchemaError, type JSONSchemaProps } from './crd.js';
import { defaultCrdDir, renderAll, staleFiles } from '../generate-crds.js';

type Visit = (node: JSONSchemaProps, path: string, parent: JSONSchemaProps | undefined) => void;

function walk(node: JSONSchemaProps, visit: Visit, path = '', parent?: JSONSchemaProps): void {
  visit(node, path, parent);
  const props = node.properties as Record<string, JSONSchemaProps> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) walk(v, visit, `${path}.${k}`, node);
  if (node.items) walk(node.items as JSONSchemaProps, visit, `${path}[]`, node);
  if (typeof node.additionalProperties === 'object') walk(node.additionalProperties as JSONSchemaProps, visit, `${path}[*]`, node);
}

const schemaOf = (crd = trainingRunCrd()) => crd.spec.versions[0]!.schema.openAPIV3Schema;

describe.each(allCrds().map((crd) => [crd.spec.names.kind, crd] as const))('%s CRD', (_kind, crd) => {
  const root = schemaOf(crd);

  it('is a structural schema', () => {
    const problems: string[] = [];
    walk(root, (node, path) => {
      const where = path || '<root>';
      for (const bad of ['$ref', '$defs', '$schema', 'oneOf', 'allOf', 'not', 'default', 'const', 'propertyNames', 'definitions']) {
        if (bad in node) problems.push(`${where}: has ${bad}`);
      }
      if (node.additionalProperties === false) problems.push(`${where}: additionalProperties: false`);
      if (node.additionalProperties !== undefined && node.properties !== undefined) problems.push(`${where}: additionalProperties beside properties`);
      const intOrString = node['x-kubernetes-int-or-string'] === true;
      if (node.anyOf !== undefined) {
        if (!intOrString) problems.push(`${where}: anyOf outside x-kubernetes-int-or-string`);
        else expect(node.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
      }
      if (node.type === undefined && !intOrString && node['x-kubernetes-preserve-unknown-fields'] !== true) problems.push(`${where}: no type`);
      if (Array.isArray(node.type)) problems.push(`${where}: type is a list`);
      if (node.type === 'object' && !node.properties && !node.additionalProperties && node['x-kubernetes-preserve-unknown-fields'] !== true && path !== '.metadata') {
        problems.push(`${where}: object without properties`);
      }
      if (node.type === 'array' && !node.items) problems.push(`${where}: array without items`);
      if (node.type === 'integer' && (node.maximum === Number.MAX_SAFE_INTEGER || node.minimum === -Number.MAX_SAFE_INTEGER)) {
        problems.push(`${where}: zod's safe-integer bound left in`);
      }
    });
    expect(problems).toEqual([]);
  });

  it('describes every field of spec and status', () => {
    const missing: string[] = [];
    for (const part of ['spec', 'status'] as const) {
      const top = (root.properties as Record<string, JSONSchemaProps>)[part]!;
      walk(top, (node, path, parent) => {
        // array items and map values of scalars are described by their parent
        const isItemOrValue = path.endsWith('[]') || path.endsWith('[*]');
        if (typeof node.description !== 'string' || node.description.length < 8) {
          if (!(isItemOrValue && node.type !== 'object') && parent !== undefined) missing.push(`${part}${path}`);
          if (parent === undefined) missing.push(part);
        }
      });
    }
    expect(missing).toEqual([]);
    expect(typeof root.description).toBe('string');
  });

  it('has no defaults anywhere (defaults live in the operator\'s rendering)', () => {
    expect(JSON.stringify(crd)).not.toContain('"default"');
  });

  it('has a status subresource, the short names and the shared category', () => {
    const v = crd.spec.versions[0]!;
    expect(v.subresources.status).toEqual({});
    expect(crd.spec.names.categories).toEqual([...CATEGORIES]);
    expect(crd.spec.scope).toBe('Namespaced');
    for (const taken of ['isvc', 'tr', 'pr', 'wf', 'ksvc', 'job', 'svc', 'deploy']) expect(crd.spec.names.shortNames).not.toContain(taken);
  });

  it('every CEL rule has a message naming a field', () => {
    const rules: Array<{ rule: string; message: string }> = [];
    walk(root, (node) => rules.push(...((node['x-kubernetes-validations'] as typeof rules | undefined) ?? [])));
    expect(rules.length).toBeGreaterThan(3);
    for (const r of rules) expect(r.message).toMatch(/^(spec|metadata)\.[A-Za-z]/);
  });
});

describe('printer columns', () => {
  it('TrainingRun: NAME MODEL PHASE PROGRESS LOSS GPUS AGE', () => {
    const cols = trainingRunCrd().spec.versions[0]!.additionalPrinterColumns.filter((c) => !c.priority);
    expect(cols.map((c) => c.name.toUpperCase())).toEqual(['MODEL', 'PHASE', 'PROGRESS', 'LOSS', 'GPUS', 'AGE']);
    expect(cols.map((c) => c.jsonPath)).toEqual([
      '.spec.model',
      '.status.phase',
      '.status.progress.summary',
      '.status.progress.loss',
      '.status.gpus',
      '.metadata.creationTimestamp',
    ]);
    expect(SHORT_NAMES.TrainingRun).toEqual(['trun']);
  });
  it('InferenceService: NAME MODEL READY REPLICAS URL CANARY AGE, and a scale subresource', () => {
    const v = inferenceServiceCrd().spec.versions[0]!;
    expect(v.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name.toUpperCase())).toEqual(['MODEL', 'READY', 'REPLICAS', 'URL', 'CANARY', 'AGE']);
    // The canary's share of the pods while a canary rollout runs (empty otherwise).
    expect(v.additionalPrinterColumns.find((c) => c.name === 'Canary')).toMatchObject({ jsonPath: '.status.rollout.canaryShare', type: 'integer' });
    expect(v.subresources.scale).toEqual({ specReplicasPath: '.spec.replicas.min', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
    // kubectl get -o wide adds the external URL of spec.expose.
    expect(v.additionalPrinterColumns.find((c) => c.name === 'External-URL')).toMatchObject({ jsonPath: '.status.externalUrl', priority: 1 });
  });
});

describe('spec immutability rules', () => {
  it('every TrainingRun spec field but suspend carries self == oldSelf naming the field', () => {
    const spec = (schemaOf().properties as Record<string, JSONSchemaProps>).spec!;
    for (const [field, node] of Object.entries(spec.properties as Record<string, JSONSchemaProps>)) {
      const rules = (node['x-kubernetes-validations'] as Array<{ rule: string; message: string }> | undefined) ?? [];
      const immutable = rules.find((r) => r.rule === 'self == oldSelf');
      if (field === 'suspend') expect(immutable).toBeUndefined();
      else expect(immutable?.message).toBe(`spec.${field} is immutable`);
    }
    const specRules = (spec['x-kubernetes-validations'] as Array<{ rule: string }>).map((r) => r.rule);
    const required = spec.required as string[];
    for (const field of Object.keys(spec.properties as object)) {
      if (field === 'suspend' || required.includes(field)) continue;
      expect(specRules).toContain(`has(self.${field}) == has(oldSelf.${field})`);
    }
  });
});

describe('generated files', () => {
  it('crds/ is up to date with the zod schemas (run `npm run gen:crds`)', () => {
    expect(staleFiles(defaultCrdDir())).toEqual([]);
  });
  it("survive client-node's typed (de)serialization (install them with loadYaml, not a plain object)", () => {
    for (const [, text] of renderAll()) expect(parse(dumpYaml(loadYaml(text)))).toEqual(parse(text));
  });
  it('renders deterministically', () => {
    expect([...renderAll()]).toEqual([...renderAll()]);
  });
});

describe('toStructural post-processor', () => {
  it('drops additionalProperties: false and propertyNames, keeps map values', () => {
    const out = crdSchema(z.strictObject({ m: z.record(z.string(), z.string()).meta({ description: 'a map' }) }), 't');
    expect(out).toEqual({ type: 'object', properties: { m: { description: 'a map', type: 'object', additionalProperties: { type: 'string' } } }, required: ['m'] });
  });
  it('turns const into enum and nullable unions into nullable', () => {
    const out = crdSchema(z.object({ v: z.literal(1), n: z.number().nullable() }), 't');
    expect(out.properties).toEqual({ v: { type: 'number', enum: [1] }, n: { type: 'number', nullable: true } });
  });
  it('turns an empty schema and open objects into x-kubernetes-preserve-unknown-fields', () => {
    const out = crdSchema(z.object({ any: z.unknown(), loose: z.looseObject({ a: z.string() }) }), 't');
    const props = out.properties as Record<string, JSONSchemaProps>;
    expect(props.any).toEqual({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(props.loose!['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });
  it('reduces int-or-string unions', () => {
    const out = crdSchema(z.union([z.int(), z.string().regex(/x/)]).meta({ 'x-kubernetes-int-or-string': true }), 't');
    expect(out).toEqual({ anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true });
  });
  it('refuses $ref, general unions, defaults and tuples', () => {
    expect(() => toStructural({ $ref: '#/$defs/x' })).toThrow(StructuralSchemaError);
    expect(() => crdSchema(z.object({ u: z.union([z.string(), z.object({ a: z.string() })]) }), 't')).toThrow(/anyOf/);
    expect(() => crdSchema(z.object({ d: z.string().default('x') }), 't')).toThrow(/default/);
    expect(() => crdSchema(z.object({ o: z.object({ a: z.string() }).or(z.object({ b: z.string() })) }), 't')).toThrow(StructuralSchemaError);
    expect(() => toStructural({ type: 'array', items: [{ type: 'string' }] })).toThrow(/tuple/);
  });
});
