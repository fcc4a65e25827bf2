import { describe, expect, it } from 'vitest';
import { BurstTracker } from './burst.js';
import { FIRST_STATUS_DELAY_MS, firstStatusDelay } from './first-status.js';

const now = 100_000;
const quiet = new BurstTracker(() => now);
const base = { current: undefined, desired: { phase: 'Pending' as const }, urgent: false, now, burst: quiet };

describe('firstStatusDelay', () => {
  it('holds a new run\'s first status until its Job is 2 s old', () => {
    expect(firstStatusDelay({ ...base, jobCreatedAt: now - 500 })).toBe(FIRST_STATUS_DELAY_MS - 500);
    expect(firstStatusDelay({ ...base, jobCreatedAt: now - FIRST_STATUS_DELAY_MS })).toBeUndefined();
  });

  it('writes at once a status that is not a first one, a terminal one, or an urgent one', () => {
    expect(firstStatusDelay({ ...base, current: { phase: 'Pending' }, jobCreatedAt: now })).toBeUndefined();
    expect(firstStatusDelay({ ...base, desired: { phase: 'Failed' }, jobCreatedAt: now })).toBeUndefined();
    expect(firstStatusDelay({ ...base, urgent: true, jobCreatedAt: now })).toBeUndefined();
  });

  it('holds during a burst, for at most the burst tracker\'s limit', () => {
    const burst = new BurstTracker(() => now);
    burst.arrived('ml/other');
    expect(firstStatusDelay({ ...base, burst, jobCreatedAt: now - 5_000 })).toBe(FIRST_STATUS_DELAY_MS);
    expect(firstStatusDelay({ ...base, burst, jobCreatedAt: now - 60_000 })).toBeUndefined();
  });
});
