// The canary state machine through its phases, pass by pass, as the reconciler drives it.
import { describe, expect, it } from 'vitest';
import type { InferenceServiceRollout, RolloutCounts } from '../api/schema/inferenceservice.js';
import { decideRollout, type RolloutDecision, type RolloutInput } from './rollout.js';

const T0 = Date.parse('2026-12-02T12:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);
const counts = (n: number, errors = 0): RolloutCounts => ({ requests: n, errors, buckets: [{ le: '0.1', count: n }, { le: '+Inf', count: n }] });
const SPEC: InferenceServiceRollout = { strategy: 'Canary', steps: [{ weight: 10 }, { weight: 50 }], stepDuration: '60s', analysis: { maxErrorRate: 0.05, minRequests: 10 } };

function pass(d: RolloutDecision | undefined, o: Partial<RolloutInput>): RolloutDecision {
  return decideRollout({
    spec: SPEC,
    previous: d?.rollout,
    templateHash: 'h2',
    stableReplicas: 9,
    canary: { ready: true, stalled: false },
    stablePromoted: false,
    progressDeadlineSeconds: 600,
    now: at(0),
    ...o,
  });
}

describe('decideRollout', () => {
  it('a good canary: starts, runs 10% then 50%, and is promoted, with each step\'s figures', () => {
    let d = pass(undefined, { canary: { ready: false, stalled: false } });
    expect(d).toMatchObject({ action: 'canary', canaryReplicas: 1, rollout: { phase: 'Starting', step: 0, canaryWeight: 10, canaryShare: 10 }, event: { reason: 'CanaryStarted' } });
    d = pass(d, { now: at(5), counts: counts(0) });
    expect(d.rollout).toMatchObject({ phase: 'Running', stepStartedAt: at(5).toISOString(), baseline: counts(0) });
    d = pass(d, { now: at(30), counts: counts(20) });
    expect(d.rollout.phase).toBe('Running');
    expect(d.rollout.steps![0]).toMatchObject({ verdict: 'Running', requests: 20, errorRate: 0 });
    d = pass(d, { now: at(66), counts: counts(40) });
    expect(d).toMatchObject({ action: 'canary', canaryReplicas: 9, rollout: { phase: 'Starting', step: 1 }, event: { reason: 'CanaryStepPassed' } });
    expect(d.rollout.steps![0]).toMatchObject({ verdict: 'Passed', requests: 40, finishedAt: at(66).toISOString() });
    // Step 2 counts from the counters as they stand when its pods are ready.
    d = pass(d, { now: at(80), counts: counts(45) });
    expect(d.rollout).toMatchObject({ phase: 'Running', step: 1, canaryShare: 50, baseline: counts(45) });
    d = pass(d, { now: at(141), counts: counts(145, 1) });
    expect(d).toMatchObject({ action: 'promote', rollout: { phase: 'Promoting' } });
    expect(d.rollout.steps![1]).toMatchObject({ verdict: 'Passed', requests: 100, errorRate: 0.01 });
    d = pass(d, { now: at(150) });
    expect(d.action).toBe('promote');
    d = pass(d, { now: at(170), stablePromoted: true });
    expect(d).toMatchObject({ action: 'done', rollout: { phase: 'Succeeded' }, event: { reason: 'CanaryPromoted' } });
    expect(d.rollout.canaryShare).toBeUndefined();
    expect(d.rollout.steps).toHaveLength(2);
  });

  it('a canary whose error rate breaks the bound is rolled back within its first step, with the figures', () => {
    let d = pass(undefined, { counts: counts(0) });
    d = pass(d, { now: at(1), counts: counts(0) });
    d = pass(d, { now: at(20), counts: counts(12, 4) });
    expect(d).toMatchObject({ action: 'rollback', canaryReplicas: 0, rollbackReason: 'CanaryAnalysisFailed', rollout: { phase: 'RolledBack', step: 0 }, event: { type: 'Warning', reason: 'RolledBack' } });
    expect(d.rollout.steps![0]).toMatchObject({ verdict: 'Failed', requests: 12, errorRate: 0.3333 });
    expect(d.event!.message).toContain('error rate 33.3% is above maxErrorRate 5.0%');
    expect(d.rollout.canaryShare).toBeUndefined();
  });

  it('a canary that never becomes ready is rolled back on its progress deadline', () => {
    const d = pass(pass(undefined, { canary: { ready: false, stalled: false } }), { canary: { ready: false, stalled: true } });
    expect(d).toMatchObject({ action: 'rollback', rollbackReason: 'ProgressDeadlineExceeded', rollout: { phase: 'RolledBack' } });
  });

  it('a hold step stays held (analysis still guarding it) until the spec removes the hold', () => {
    const spec: InferenceServiceRollout = { ...SPEC, steps: [{ weight: 50, hold: true }] };
    let d = pass(undefined, { spec, counts: counts(0) });
    d = pass(d, { spec, now: at(1), counts: counts(0) });
    d = pass(d, { spec, now: at(70), counts: counts(30) });
    expect(d).toMatchObject({ action: 'canary', canaryReplicas: 9, rollout: { phase: 'Held', canaryShare: 50 }, event: { reason: 'CanaryHeld' } });
    d = pass(d, { spec, now: at(7000), counts: counts(3000) });
    expect(d.rollout.phase).toBe('Held');
    expect(d.event).toBeUndefined();
    // Still judged while held: errors roll it back.
    expect(pass(d, { spec, now: at(7100), counts: counts(4000, 900) }).action).toBe('rollback');
    // The spec drops the hold (same template): it goes on and is promoted.
    const released = { ...spec, steps: [{ weight: 50 }] };
    expect(pass(d, { spec: released, now: at(7100), counts: counts(3100) })).toMatchObject({ action: 'promote', rollout: { phase: 'Promoting' } });
  });

  it('a new template starts over; a finished rollout of the same template is not resumed', () => {
    let d = pass(undefined, { counts: counts(0) });
    d = pass(d, { now: at(1), counts: counts(0) });
    const other = pass(d, { templateHash: 'h3', canary: { ready: false, stalled: false } });
    expect(other.rollout).toMatchObject({ templateHash: 'h3', phase: 'Starting', step: 0, steps: [] });
    const failed = pass(d, { now: at(2), counts: counts(20, 20) });
    expect(pass(failed, { now: at(3), canary: { ready: false, stalled: false } }).rollout).toMatchObject({ phase: 'Starting', steps: [] });
  });

  it('a canary pod restart (counters going down) restarts the count, not a failure', () => {
    let d = pass(undefined, { counts: counts(40) });
    d = pass(d, { now: at(1), counts: counts(50) });
    expect(d.rollout.steps![0]!.requests).toBe(10);
    d = pass(d, { now: at(30), counts: counts(5) });
    expect(d.rollout).toMatchObject({ phase: 'Running', baseline: counts(5) });
    expect(d.rollout.steps![0]!.requests).toBe(0);
  });

  it('waits past the step for minRequests and says so', () => {
    let d = pass(undefined, { counts: counts(0) });
    d = pass(d, { now: at(1), counts: counts(0) });
    d = pass(d, { now: at(100), counts: counts(3) });
    expect(d.rollout.phase).toBe('Running');
    expect(d.rollout.steps![0]).toMatchObject({ verdict: 'Waiting', message: expect.stringContaining('3 of the 10') });
  });
});
