// metav1.Condition bookkeeping: lastTransitionTime moves only when status flips, so conditions stay
// stable across reconciles and a status write happens only when something a person sees changed.

// The one Condition type: the API's (metav1.Condition as api/common.ts declares it; a type-only
// import, so the operator does not load zod).
import type { Condition } from '../api/schema/common.js';

export type { Condition };

export type ConditionInput = Omit<Condition, 'lastTransitionTime'>;

/** Returns a new list with `input` set; keeps the old transition time when the status is unchanged. */
export function setCondition(conditions: readonly Condition[], input: ConditionInput, now: Date): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const lastTransitionTime =
    existing && existing.status === input.status ? existing.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  // The API server rejects a Condition with an empty reason; CamelCase "Unknown" is the convention.
  const next: Condition = { ...input, reason: input.reason || 'Unknown', lastTransitionTime };
  const out = conditions.filter((c) => c.type !== input.type);
  out.push(next);
  return out.sort((a, b) => a.type.localeCompare(b.type));
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
