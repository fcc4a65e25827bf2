// The fuzzer's view of the two CRDs: the structural schemas generated from the zod schemas (what
// the API server validates against), walked alongside an object so that every mutation targets a
// field that exists in the schema, and field paths written the way the API server writes them.
import { inferenceServiceCrd, trainingRunCrd, type JSONSchemaProps } from '../../operator/src/api/schema/crd.js';

export type Kind = 'TrainingRun' | 'InferenceService';
/** A field path: property names and map keys as strings, array indices as numbers. */
export type Path = readonly (string | number)[];

const ROOTS: Record<Kind, JSONSchemaProps> = {
  TrainingRun: trainingRunCrd().spec.versions[0]!.schema.openAPIV3Schema,
  InferenceService: inferenceServiceCrd().spec.versions[0]!.schema.openAPIV3Schema,
};

export type SchemaType = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'map' | 'array' | 'int-or-string';

export function schemaType(s: JSONSchemaProps): SchemaType {
  if (s['x-kubernetes-int-or-string'] === true) return 'int-or-string';
  if (s.type === 'object') return s.properties ? 'object' : 'map';
  return s.type as SchemaType;
}

function child(s: JSONSchemaProps, seg: string | number): JSONSchemaProps | undefined {
  if (typeof seg === 'number') return s.items as JSONSchemaProps | undefined;
  const props = s.properties as Record<string, JSONSchemaProps> | undefined;
  if (props) return props[seg];
  return s.additionalProperties as JSONSchemaProps | undefined;
}

/** The schema of the field at `path` (`['spec', 'tolerations', 0, 'key']`), if the CRD has one. */
export function schemaAt(kind: Kind, path: Path): JSONSchemaProps | undefined {
  let s: JSONSchemaProps | undefined = ROOTS[kind];
  for (const seg of path) {
    if (!s) return undefined;
    s = child(s, seg);
  }
  return s;
}

/** The JSON value at `path`, or undefined. */
export function valueAt(obj: unknown, path: Path): unknown {
  let v: unknown = obj;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** One place in an object a mutation can aim at: a field that is there, or one that could be. */
export interface Target {
  path: Path;
  schema: JSONSchemaProps;
  present: boolean;
  /** The path ends in a map key (nodeSelector["k"]) rather than a property or an index. */
  mapEntry: boolean;
}

/**
 * Every field of `obj` under spec and metadata.name, with its schema, plus the optional properties
 * of each present object that are absent (a mutation may add them with a bad value).
 */
export function targets(kind: Kind, obj: { metadata: { name: string }; spec: unknown }): Target[] {
  const out: Target[] = [];
  const nameSchema = schemaAt(kind, ['metadata', 'name']);
  if (nameSchema) out.push({ path: ['metadata', 'name'], schema: nameSchema, present: true, mapEntry: false });
  const walk = (value: unknown, schema: JSONSchemaProps, path: Path, mapEntry: boolean) => {
    out.push({ path, schema, present: true, mapEntry });
    const t = schemaType(schema);
    if (t === 'object' && value && typeof value === 'object' && !Array.isArray(value)) {
      const props = schema.properties as Record<string, JSONSchemaProps>;
      for (const [k, s] of Object.entries(props)) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) out.push({ path: [...path, k], schema: s, present: false, mapEntry: false });
        else walk(v, s, [...path, k], false);
      }
    } else if (t === 'map' && value && typeof value === 'object' && !Array.isArray(value)) {
      const s = schema.additionalProperties as JSONSchemaProps;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(v, s, [...path, k], true);
    } else if (t === 'array' && Array.isArray(value)) {
      value.forEach((v, i) => walk(v, schema.items as JSONSchemaProps, [...path, i], false));
    }
  };
  walk(obj.spec, schemaAt(kind, ['spec'])!, ['spec'], false);
  return out;
}

/** The path as the API server prints it: spec.tolerations[0].key, spec.nodeSelector[zone]. */
export function renderPath(kind: Kind, path: Path): string {
  let out = '';
  let s: JSONSchemaProps | undefined = ROOTS[kind];
  for (const seg of path) {
    const isMapKey = typeof seg === 'string' && s !== undefined && schemaType(s) === 'map';
    if (typeof seg === 'number' || isMapKey) out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
    s = s ? child(s, seg) : undefined;
  }
  return out;
}

/**
 * The name a refusal must mention for a mutation at `path`: the path without trailing indices and
 * map keys (a map's rules, and a list's duplicate check, are reported on the map or list), with
 * every index written `[]`, since CEL messages write `spec.tolerations[].key`.
 */
export function fieldName(kind: Kind, path: Path): string {
  let end = path.length;
  let s: JSONSchemaProps | undefined = ROOTS[kind];
  const kinds: ('prop' | 'index' | 'key')[] = [];
  for (const seg of path) {
    kinds.push(typeof seg === 'number' ? 'index' : s && schemaType(s) === 'map' ? 'key' : 'prop');
    s = s ? child(s, seg) : undefined;
  }
  while (end > 1 && kinds[end - 1] !== 'prop') end--;
  return normalize(renderPath(kind, path.slice(0, end)));
}

/** Indices written as `[]`, so `spec.tolerations[3].key` and `spec.tolerations[].key` compare equal. */
export function normalize(text: string): string {
  return text.replace(/\[\d+\]/g, '[]');
}

/** Whether the API server's message names the field (as a whole path, not the start of a longer name). */
export function namesField(message: string, field: string): boolean {
  const text = normalize(message);
  for (let i = text.indexOf(field); i >= 0; i = text.indexOf(field, i + 1)) {
    const next = text[i + field.length];
    if (next === undefined || !/[A-Za-z0-9_]/.test(next)) return true;
  }
  return false;
}
