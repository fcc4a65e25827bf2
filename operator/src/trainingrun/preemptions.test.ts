import { describe, expect, it } from 'vitest';
import { makePod } from '../../../test/support/builders.js';
import { PreemptionCounter, isDisrupted } from './preemptions.js';

describe('PreemptionCounter', () => {
  const evicted = makePod('p-1').of('r-1', 'r').disrupted().obj();
  const failed = makePod('p-2').of('r-1', 'r').phase('Failed').obj();

  it('counts a disrupted pod, not a failed one', () => {
    expect(isDisrupted(evicted)).toBe(true);
    expect(isDisrupted(failed)).toBe(false);
    expect(new PreemptionCounter().count('ml/r', [evicted, failed], 0)).toEqual({ count: 1, uids: ['uid-p-1'] });
  });

  it('counts a pod again until a status carrying it is committed, then never again', () => {
    const c = new PreemptionCounter();
    expect(c.count('ml/r', [evicted], 0).count).toBe(1);
    expect(c.count('ml/r', [evicted], 0).count).toBe(1); // the first pass's write failed: still counted
    c.commit('ml/r', ['uid-p-1']);
    expect(c.count('ml/r', [evicted], 1)).toEqual({ count: 1, uids: [] });
    c.forget('ml/r');
    expect(c.count('ml/r', [evicted], 1).count).toBe(2); // a forgotten run starts over (deleted and recreated)
  });
});
