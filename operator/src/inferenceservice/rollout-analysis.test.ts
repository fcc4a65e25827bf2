import { describe, expect, it } from 'vitest';
import type { RolloutCounts } from '../api/schema/inferenceservice.js';
import { figuresOf, judgeStep } from './rollout-analysis.js';

/** `n` requests, `errors` of them 5xx, a fraction `slow` of them slower than 1 s (the rest under 0.1 s). */
function counts(n: number, errors = 0, slow = 0): RolloutCounts {
  const fast = Math.round(n * (1 - slow));
  return { requests: n, errors, buckets: [{ le: '0.1', count: fast }, { le: '1', count: fast }, { le: '5', count: n }, { le: '+Inf', count: n }] };
}
const analysis = { maxErrorRate: 0.05, maxLatencyP95Seconds: 1, minRequests: 20 };
const step = { analysis, elapsedSeconds: 30, durationSeconds: 60 };

describe('judgeStep', () => {
  it('fails as soon as the step has minRequests and the error rate is above the bound, before its end', () => {
    const d = judgeStep({ ...step, counts: counts(20, 2) });
    expect(d).toMatchObject({ verdict: 'fail', figures: { requests: 20, errorRate: 0.1 } });
    expect(d.message).toContain('error rate 10.0% is above maxErrorRate 5.0%');
  });
  it('fails on latency p95 above its bound', () => {
    const d = judgeStep({ ...step, counts: counts(40, 0, 0.5) });
    expect(d.verdict).toBe('fail');
    expect(d.message).toMatch(/latency p95 [\d.]+s is above maxLatencyP95Seconds 1.000s/);
  });
  it('does not judge a bound on fewer than minRequests requests (one early error is not a verdict)', () => {
    expect(judgeStep({ ...step, counts: counts(5, 5) }).verdict).toBe('running');
  });
  it('an error rate exactly at the bound passes', () => {
    expect(judgeStep({ ...step, elapsedSeconds: 60, counts: counts(100, 5) }).verdict).toBe('pass');
  });
  it('runs on within the step, then passes with the figures', () => {
    expect(judgeStep({ ...step, counts: counts(30, 1) })).toMatchObject({ verdict: 'running', message: expect.stringContaining('30s left of 60s') });
    const d = judgeStep({ ...step, elapsedSeconds: 61, counts: counts(30, 1) });
    expect(d).toMatchObject({ verdict: 'pass', figures: { requests: 30 } });
    expect(d.figures!.errorRate).toBeCloseTo(1 / 30);
    expect(d.figures!.latencyP95Seconds).toBeLessThanOrEqual(0.1);
  });
  it('waits past its duration for minRequests, and for metrics it cannot read', () => {
    expect(judgeStep({ ...step, elapsedSeconds: 90, counts: counts(3) })).toMatchObject({ verdict: 'wait', message: expect.stringContaining('3 of the 20 (minRequests)') });
    expect(judgeStep({ ...step, elapsedSeconds: 90, counts: undefined, countsError: 'connect ECONNREFUSED 10.222.0.7:8080' })).toMatchObject({
      verdict: 'wait',
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(judgeStep({ ...step, counts: undefined }).verdict).toBe('running');
  });
  it('without analysis a step passes on time alone, metrics or not', () => {
    expect(judgeStep({ analysis: undefined, counts: undefined, elapsedSeconds: 10, durationSeconds: 60 }).verdict).toBe('running');
    expect(judgeStep({ analysis: undefined, counts: counts(0), elapsedSeconds: 60, durationSeconds: 60 }).verdict).toBe('pass');
  });
  it('minRequests 0 still needs one request to pass a bound', () => {
    expect(judgeStep({ analysis: { maxErrorRate: 0.1, minRequests: 0 }, counts: counts(0), elapsedSeconds: 99, durationSeconds: 60 }).verdict).toBe('wait');
  });
  it('bounds that are not set are not judged', () => {
    expect(judgeStep({ analysis: { minRequests: 1 }, counts: counts(10, 10, 1), elapsedSeconds: 60, durationSeconds: 60 }).verdict).toBe('pass');
  });
});

describe('figuresOf', () => {
  it('no error rate without requests', () => {
    expect(figuresOf({ requests: 0, errors: 0, buckets: [] })).toEqual({ requests: 0 });
  });
});
