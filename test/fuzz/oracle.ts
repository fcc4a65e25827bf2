// What the fuzzer expects of an object before sending it: the operator's own zod schemas (from
// which the CRDs are generated) say whether admission should admit it. On a create or an update
// the API server prunes null-valued fields of a structural schema before validating (a null map
// value drops the key), so the oracle does the same; a server-side apply keeps them.
import { INFERENCE_SERVICE_NAME_RULE, InferenceServiceSpecSchema } from '../../operator/src/api/schema/inferenceservice.js';
import { TRAINING_RUN_NAME_RULE, TrainingRunSpecSchema } from '../../operator/src/api/schema/trainingrun.js';
import { isValidName } from '../../operator/src/api/schema/common.js';
import type { Kind } from './schema.js';

/** Drops null-valued properties of objects (not null items of lists), as the API server does. */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x);
    return out;
  }
  return v;
}

const ROOT_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/** Whether the zod schemas (and the name rule) accept the object; the first issues when not. */
export function zodVerdict(kind: Kind, obj: Record<string, unknown>, opts: { pruneNulls?: boolean } = {}): { valid: boolean; issues: string } {
  const problems: string[] = [];
  const unknown = Object.keys(obj).filter((k) => !ROOT_KEYS.has(k));
  if (unknown.length) problems.push(`unknown fields ${unknown.join(', ')}`);
  const name = (obj.metadata as { name?: unknown } | undefined)?.name;
  const rule = kind === 'TrainingRun' ? TRAINING_RUN_NAME_RULE : INFERENCE_SERVICE_NAME_RULE;
  if (typeof name !== 'string' || !isValidName(name, rule)) problems.push(`metadata.name ${JSON.stringify(name)?.slice(0, 60)}`);
  const spec = (opts.pruneNulls ?? true) ? dropNulls(obj.spec) : obj.spec;
  if (spec === undefined) problems.push('spec: required');
  else {
    const schema = kind === 'TrainingRun' ? TrainingRunSpecSchema : InferenceServiceSpecSchema;
    const result = schema.safeParse(spec);
    if (!result.success) {
      for (const i of result.error.issues.slice(0, 3)) problems.push(`spec.${i.path.join('.')}: ${i.message}`);
    }
  }
  return { valid: problems.length === 0, issues: problems.join('; ') };
}
