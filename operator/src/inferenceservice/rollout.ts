// The canary rollout's state machine (spec.rollout.strategy Canary). One pass takes where the
// rollout stood (status.rollout), what the canary Deployment shows and, once its pods are ready,
// their counts; it gives the next status.rollout, the canary's replicas, what the reconciler must do
// (run the canary, promote it into the stable Deployment, roll it back, or finish) and the Event to
// record. The steps: Starting (the canary pods of the step becoming ready) -> Running (the step's
// window, judged by rollout-analysis.ts) -> Held (a passed step with hold: true) or the next step ->
// Promoting (the stable Deployment takes the canary's template) -> Succeeded; a broken bound or a
// canary that never becomes ready -> RolledBack. The state lives in status, so an operator restart
// goes on where it was. Pure.
import { durationSeconds } from '../api/duration.js';
import type { InferenceServiceRollout, RolloutCounts, RolloutStatus, StepResult } from '../api/schema/inferenceservice.js';
import { REASONS } from './reasons.js';
import { judgeStep, type StepFigures } from './rollout-analysis.js';
import { splitReplicas } from './rollout-split.js';
import { countsSince } from './serving-metrics.js';

export const DEFAULT_STEP_DURATION = '5m';
/** How often a running canary is looked at again (its analysis is read each time). */
export const ROLLOUT_REQUEUE_MS = 5_000;

export interface CanaryObservation {
  /** The canary Deployment runs `replicas` ready pods of its current template. */
  ready: boolean;
  /** Its Deployment gave up (progressDeadlineSeconds passed without its pods becoming ready). */
  stalled: boolean;
}

export interface RolloutInput {
  spec: InferenceServiceRollout;
  /** status.rollout as last written; another templateHash (or none) starts a new rollout. */
  previous: RolloutStatus | undefined;
  templateHash: string;
  /** Replicas of the stable Deployment: the canary's share is of these plus its own. */
  stableReplicas: number;
  canary: CanaryObservation;
  /** The canary pods' counters summed, when read this pass; `countsError` says why not. */
  counts?: RolloutCounts;
  countsError?: string;
  /** Promoting: the stable Deployment runs the canary's template, all its pods ready. */
  stablePromoted: boolean;
  progressDeadlineSeconds: number;
  now: Date;
}

export type RolloutAction = 'canary' | 'promote' | 'rollback' | 'done';

export interface RolloutDecision {
  rollout: RolloutStatus;
  action: RolloutAction;
  /** Replicas of the canary Deployment to apply (for 'canary' and 'promote'). */
  canaryReplicas: number;
  /** For 'rollback': the RolledBack condition's reason. */
  rollbackReason?: string;
  event?: { type: 'Normal' | 'Warning'; reason: string; message: string };
}

/** Seconds step `i` runs before it is judged. */
export function stepSeconds(spec: InferenceServiceRollout, i: number): number {
  const step = spec.steps?.[i];
  return durationSeconds(step?.duration ?? spec.stepDuration ?? DEFAULT_STEP_DURATION, 'spec.rollout.stepDuration');
}

/** Whether `previous` is this rollout, still going (not a finished one, not another template). */
export function isOngoing(previous: RolloutStatus | undefined, templateHash: string): previous is RolloutStatus {
  return previous !== undefined && previous.templateHash === templateHash && previous.phase !== 'RolledBack' && previous.phase !== 'Succeeded';
}

function withFigures(r: StepResult, f: StepFigures | undefined): StepResult {
  if (!f) return r;
  const out: StepResult = { ...r, requests: f.requests };
  if (f.errorRate !== undefined) out.errorRate = round(f.errorRate, 4);
  if (f.latencyP95Seconds !== undefined) out.latencyP95Seconds = round(f.latencyP95Seconds, 4);
  return out;
}

function round(x: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(x * m) / m;
}

export function decideRollout(input: RolloutInput): RolloutDecision {
  const { spec, templateHash, now } = input;
  const steps = spec.steps ?? [];
  const at = now.toISOString();
  const prev: RolloutStatus = isOngoing(input.previous, templateHash) ? input.previous : { phase: 'Starting', templateHash, step: 0, steps: [] };
  const fresh = prev !== input.previous;
  const results = [...(prev.steps ?? [])];

  if (prev.phase === 'Promoting' || prev.step >= steps.length) {
    const rollout: RolloutStatus = { ...prev, phase: input.stablePromoted ? 'Succeeded' : 'Promoting', steps: results };
    if (input.stablePromoted) {
      delete rollout.canaryShare;
      delete rollout.canaryReplicas;
      rollout.message = 'promoted: the stable Deployment serves the canary\'s template';
      return { rollout, action: 'done', canaryReplicas: 0, event: { type: 'Normal', reason: REASONS.CanaryPromoted, message: `canary promoted after ${results.length} step(s): every step passed` } };
    }
    rollout.message = 'promoting: every step passed; the stable Deployment is taking the canary\'s template';
    return { rollout, action: 'promote', canaryReplicas: prev.canaryReplicas ?? 1 };
  }

  const i = prev.step;
  const step = steps[i]!;
  const split = splitReplicas(input.stableReplicas, step.weight);
  const duration = stepSeconds(spec, i);
  const label = `step ${i + 1}/${steps.length} (${step.weight}%, ${split.canary} canary and ${split.stable} stable pod(s): ${split.share}%)`;
  const base: RolloutStatus = { ...prev, step: i, canaryWeight: step.weight, canaryShare: split.share, canaryReplicas: split.canary, stableReplicas: split.stable, steps: results };
  const result = (r: Omit<StepResult, 'step' | 'weight' | 'share'>): StepResult => ({ step: i, weight: step.weight, share: split.share, ...r });
  const setResult = (r: StepResult) => {
    if (results.length > i) results[i] = r;
    else results.push(r);
  };
  const rollback = (reason: string, message: string, r: StepResult): RolloutDecision => {
    setResult(r);
    const rollout: RolloutStatus = { ...base, phase: 'RolledBack', steps: results, message };
    delete rollout.canaryShare;
    delete rollout.canaryReplicas;
    return { rollout, action: 'rollback', canaryReplicas: 0, rollbackReason: reason, event: { type: 'Warning', reason: REASONS.RolledBack, message } };
  };

  // Starting: the step's canary pods becoming ready (a new rollout, or more pods for a next step).
  // The step is counted from the moment they are all ready, from the counters as they stand then.
  const started = prev.phase !== 'Starting' && prev.stepStartedAt !== undefined;
  if (!started) {
    if (input.canary.stalled) {
      const message = `canary ${label} did not become ready within ${input.progressDeadlineSeconds}s; rolled back (the stable model kept serving)`;
      return rollback(REASONS.ProgressDeadlineExceeded, message, result({ verdict: 'Failed', finishedAt: at, message: 'the canary pods did not become ready' }));
    }
    if (!input.canary.ready) {
      const rollout: RolloutStatus = { ...base, phase: 'Starting', message: `starting ${label}: waiting for the canary pods to be ready` };
      const event = fresh ? { type: 'Normal' as const, reason: REASONS.CanaryStarted, message: `canary rollout started: ${label}` } : undefined;
      return { rollout, action: 'canary', canaryReplicas: split.canary, ...(event ? { event } : {}) };
    }
    setResult(result({ verdict: 'Running', startedAt: at, message: 'started' }));
    const rollout: RolloutStatus = { ...base, phase: 'Running', stepStartedAt: at, steps: results, message: `running ${label}` };
    if (input.counts) rollout.baseline = input.counts;
    else delete rollout.baseline;
    return { rollout, action: 'canary', canaryReplicas: split.canary };
  }

  // Running or Held: judge the counts since the step started.
  let baseline = prev.baseline;
  let counts: RolloutCounts | undefined;
  if (input.counts) {
    if (!baseline) baseline = input.counts; // unreadable at the start: counted from the first read
    counts = countsSince(baseline, input.counts);
    if (!counts) {
      // A canary pod restarted or went away: its counts are gone, so the step counts again from here.
      baseline = input.counts;
      counts = countsSince(baseline, input.counts);
    }
  }
  const elapsed = (now.getTime() - Date.parse(prev.stepStartedAt!)) / 1000;
  const decision = judgeStep({ analysis: spec.analysis, counts, ...(input.countsError ? { countsError: input.countsError } : {}), elapsedSeconds: elapsed, durationSeconds: duration });
  const startedAt = results[i]?.startedAt ?? prev.stepStartedAt!;
  const withBaseline = (r: RolloutStatus): RolloutStatus => (baseline ? { ...r, baseline } : r);

  if (decision.verdict === 'fail') {
    const message = `canary ${label} ${decision.message}; rolled back to the stable model`;
    return rollback(REASONS.CanaryAnalysisFailed, message, withFigures(result({ verdict: 'Failed', startedAt, finishedAt: at, message: decision.message }), decision.figures));
  }
  if (decision.verdict === 'pass' && step.hold) {
    const message = `held at ${label}: ${decision.message}; remove hold from spec.rollout.steps[${i}] to go on`;
    setResult(withFigures(result({ verdict: 'Held', startedAt, message: decision.message }), decision.figures));
    const event = prev.phase !== 'Held' ? { type: 'Normal' as const, reason: REASONS.CanaryHeld, message } : undefined;
    return { rollout: withBaseline({ ...base, phase: 'Held', steps: results, message }), action: 'canary', canaryReplicas: split.canary, ...(event ? { event } : {}) };
  }
  if (decision.verdict === 'pass') {
    setResult(withFigures(result({ verdict: 'Passed', startedAt, finishedAt: at, message: decision.message }), decision.figures));
    const next = i + 1;
    const rollout: RolloutStatus = { ...base, step: next, phase: next >= steps.length ? 'Promoting' : 'Starting', steps: results };
    delete rollout.stepStartedAt;
    delete rollout.baseline;
    const message = `canary ${label} ${decision.message}`;
    if (next >= steps.length) {
      rollout.message = 'promoting: every step passed; the stable Deployment is taking the canary\'s template';
      return { rollout, action: 'promote', canaryReplicas: split.canary, event: { type: 'Normal', reason: REASONS.CanaryStepPassed, message } };
    }
    const nextSplit = splitReplicas(input.stableReplicas, steps[next]!.weight);
    rollout.message = `starting step ${next + 1}/${steps.length} (${steps[next]!.weight}%)`;
    return { rollout, action: 'canary', canaryReplicas: nextSplit.canary, event: { type: 'Normal', reason: REASONS.CanaryStepPassed, message } };
  }
  const verdict = decision.verdict === 'wait' ? 'Waiting' : 'Running';
  setResult(withFigures(result({ verdict, startedAt, message: decision.message }), decision.figures));
  // A step that was Held and whose hold stays goes on Held; one whose counts are not yet enough runs.
  const phase = prev.phase === 'Held' && step.hold ? 'Held' : 'Running';
  return { rollout: withBaseline({ ...base, phase, steps: results, message: `${label}: ${decision.message}` }), action: 'canary', canaryReplicas: split.canary };
}
