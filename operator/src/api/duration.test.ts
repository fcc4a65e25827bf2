import { describe, expect, it } from 'vitest';
import { DURATION_EXAMPLES, DURATION_PATTERN, durationSeconds, formatDuration, isValidDuration, parseDurationSeconds } from './duration.js';
import { trainingRunCrd, type JSONSchemaProps } from './schema/crd.js';

describe('durations', () => {
  it.each(DURATION_EXAMPLES.valid)('%s is %d seconds', (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
    expect(isValidDuration(text)).toBe(true);
  });
  it.each(DURATION_EXAMPLES.invalid.map((s) => [s]))('%j is rejected', (text) => {
    expect(parseDurationSeconds(text)).toBeUndefined();
    expect(() => durationSeconds(text, 'spec.maxRuntime')).toThrow(/spec\.maxRuntime/);
  });
  it('round-trips through formatDuration', () => {
    for (const [, seconds] of DURATION_EXAMPLES.valid) expect(parseDurationSeconds(formatDuration(seconds))).toBe(seconds);
    expect(formatDuration(5400)).toBe('1h30m');
  });
  it('the CRD rule uses the same regular expression', () => {
    const spec = (trainingRunCrd().spec.versions[0]!.schema.openAPIV3Schema.properties as Record<string, JSONSchemaProps>).spec!;
    const node = (spec.properties as Record<string, JSONSchemaProps>).maxRuntime!;
    const rule = (node['x-kubernetes-validations'] as Array<{ rule: string }>)[0]!.rule;
    expect(rule).toContain(`self.matches(r'${DURATION_PATTERN.source}')`);
    // and the CEL rule's zero check agrees with the parser on the table
    const zero = /^(0+[hms])*$/;
    for (const s of DURATION_EXAMPLES.invalid) expect(DURATION_PATTERN.test(s) && !zero.test(s) && s.length <= 32).toBe(false);
    for (const [s] of DURATION_EXAMPLES.valid) expect(DURATION_PATTERN.test(s) && !zero.test(s)).toBe(true);
  });
});
