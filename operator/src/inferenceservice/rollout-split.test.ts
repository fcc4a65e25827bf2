import { describe, expect, it } from 'vitest';
import { shareOf, splitReplicas } from './rollout-split.js';

describe('splitReplicas', () => {
  it.each([
    // stable, weight -> canary, share: the nearest share a whole pod count can give
    [9, 10, 1, 10],
    [9, 50, 9, 50],
    [4, 10, 1, 20], // 4 × 10/90 = 0.44: one pod at least
    [4, 20, 1, 20],
    [4, 50, 4, 50],
    [3, 25, 1, 25],
    [2, 10, 1, 33],
    [1, 10, 1, 50], // one stable pod: 50% at any weight
    [1, 90, 9, 90],
    [18, 10, 2, 10],
    [10, 33, 5, 33],
    [100, 1, 1, 1],
  ])('%i stable at %i%% -> %i canary pods, %i%%', (stable, weight, canary, share) => {
    expect(splitReplicas(stable, weight)).toEqual({ stable, canary, share });
  });

  it('the share never moves away from the weight as the stable count grows past 100 / weight', () => {
    for (const weight of [10, 25, 50]) {
      for (let stable = Math.ceil(100 / weight); stable <= 40; stable++) {
        const { share } = splitReplicas(stable, weight);
        // Within half a pod's share of the weight.
        expect(Math.abs(share - weight)).toBeLessThanOrEqual(Math.ceil(50 / (stable + 1)) + 1);
      }
    }
  });

  it('refuses weights admission refuses, and impossible counts', () => {
    expect(() => splitReplicas(3, 0)).toThrow(/1 to 99/);
    expect(() => splitReplicas(3, 100)).toThrow(/1 to 99/);
    expect(() => splitReplicas(-1, 10)).toThrow(/whole number/);
    expect(() => splitReplicas(1.5, 10)).toThrow(/whole number/);
  });

  it('shareOf rounds to whole percent and is 0 with no pods', () => {
    expect(shareOf(2, 1)).toBe(33);
    expect(shareOf(0, 0)).toBe(0);
    expect(shareOf(0, 3)).toBe(100);
  });
});
