import { describe, expect, it } from 'vitest';
import scheduling from '../../../schemas/scheduling.json' with { type: 'json' };
import { mergeAffinity, mergeTolerations, placement } from './scheduling.js';

const gpu = { key: scheduling.gpuTaint.key, operator: 'Exists', effect: scheduling.gpuTaint.effect };

describe('mergeTolerations', () => {
  it("keeps Lathe's first and drops only tolerations that say the same thing", () => {
    const merged = mergeTolerations(
      [gpu],
      [
        { ...gpu },
        { key: 'dedicated', value: 'ml' },
        { key: 'dedicated', operator: 'Equal', value: 'ml' }, // Equal is what no operator means
        { key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoExecute', tolerationSeconds: 60 },
        { key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoExecute', tolerationSeconds: 120 },
      ],
    );
    expect(merged).toEqual([
      gpu,
      { key: 'dedicated', value: 'ml' },
      { key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoExecute', tolerationSeconds: 60 },
      { key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoExecute', tolerationSeconds: 120 },
    ]);
  });
});

describe('mergeAffinity', () => {
  it('is absent when neither side asks for anything', () => {
    expect(mergeAffinity(undefined, false)).toBeUndefined();
    expect(mergeAffinity({}, false)).toBeUndefined();
    expect(mergeAffinity({ nodeAffinity: {} }, false)).toBeUndefined();
  });

  it("appends the spot preference to the user's preferred node terms and keeps the rest as written", () => {
    const required = { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] };
    const antiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname' }] };
    const user = {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: required, preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, preference: {} }] },
      podAntiAffinity: antiAffinity,
    };
    const merged = mergeAffinity(user, true)!;
    expect(merged.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution).toBe(required);
    expect(merged.nodeAffinity!.preferredDuringSchedulingIgnoredDuringExecution!.map((t) => t.weight)).toEqual([5, 100]);
    expect(merged.podAntiAffinity).toBe(antiAffinity);
    expect(user.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1); // the spec is not changed
  });
});

describe('placement', () => {
  it('returns only the fields that have content', () => {
    expect(placement({ gpus: 0, spot: false }, {})).toEqual({});
    expect(placement({ gpus: 0, spot: false }, { nodeSelector: {}, tolerations: [], priorityClassName: '' })).toEqual({});
    expect(Object.keys(placement({ gpus: 1, spot: true }, { nodeSelector: { a: 'b' }, priorityClassName: 'high' }))).toEqual([
      'nodeSelector',
      'tolerations',
      'affinity',
      'priorityClassName',
    ]);
  });
});
