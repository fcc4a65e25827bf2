// The decision on one step of a canary: from the canary pods' counts since the step started
// (serving-metrics.ts), the step's age and spec.rollout.analysis, whether the step fails now,
// passes, runs on, or waits past its duration for enough requests or readable metrics. A bound is
// judged as soon as the step has minRequests requests, so a bad canary is rolled back within the
// step, not at its end; a step passes only once its duration is over. Pure.
import type { RolloutAnalysis, RolloutCounts } from '../api/schema/inferenceservice.js';
import { quantile } from './serving-metrics.js';

export const DEFAULT_MIN_REQUESTS = 1;

export interface StepFigures {
  requests: number;
  errorRate?: number;
  latencyP95Seconds?: number;
}

export type StepDecision =
  | { verdict: 'fail'; figures: StepFigures; message: string }
  | { verdict: 'pass'; figures?: StepFigures; message: string }
  | { verdict: 'running' | 'wait'; figures?: StepFigures; message: string };

export interface StepInput {
  analysis: RolloutAnalysis | undefined;
  /** The canary's counts since the step started; undefined when they could not be read. */
  counts: RolloutCounts | undefined;
  /** Why they could not be read (for the message). */
  countsError?: string;
  elapsedSeconds: number;
  durationSeconds: number;
}

/** Requests, 5xx share and latency p95 of the counts. */
export function figuresOf(counts: RolloutCounts): StepFigures {
  const f: StepFigures = { requests: counts.requests };
  if (counts.requests > 0) f.errorRate = Math.min(1, counts.errors / counts.requests);
  const p95 = quantile(0.95, counts.buckets);
  if (p95 !== undefined) f.latencyP95Seconds = p95;
  return f;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const secs = (x: number) => `${x.toFixed(3)}s`;

/** The bounds `figures` break, in words; empty when none. */
export function brokenBounds(analysis: RolloutAnalysis, figures: StepFigures): string[] {
  const broken: string[] = [];
  if (analysis.maxErrorRate !== undefined && figures.errorRate !== undefined && figures.errorRate > analysis.maxErrorRate) {
    broken.push(`error rate ${pct(figures.errorRate)} is above maxErrorRate ${pct(analysis.maxErrorRate)}`);
  }
  if (analysis.maxLatencyP95Seconds !== undefined && figures.latencyP95Seconds !== undefined && figures.latencyP95Seconds > analysis.maxLatencyP95Seconds) {
    broken.push(`latency p95 ${secs(figures.latencyP95Seconds)} is above maxLatencyP95Seconds ${secs(analysis.maxLatencyP95Seconds)}`);
  }
  return broken;
}

function describe(f: StepFigures): string {
  const parts = [`${f.requests} request(s)`];
  if (f.errorRate !== undefined) parts.push(`error rate ${pct(f.errorRate)}`);
  if (f.latencyP95Seconds !== undefined) parts.push(`latency p95 ${secs(f.latencyP95Seconds)}`);
  return parts.join(', ');
}

export function judgeStep(s: StepInput): StepDecision {
  const over = s.elapsedSeconds >= s.durationSeconds;
  const left = `${Math.max(0, Math.ceil(s.durationSeconds - s.elapsedSeconds))}s left of ${s.durationSeconds}s`;
  if (!s.analysis) {
    return over ? { verdict: 'pass', message: `passed: ${s.durationSeconds}s without analysis` } : { verdict: 'running', message: `running, ${left}` };
  }
  if (!s.counts) {
    const why = `cannot read the canary pods' /metrics${s.countsError ? `: ${s.countsError}` : ''}`;
    return { verdict: over ? 'wait' : 'running', message: over ? `waiting: ${why}` : `running, ${left}; ${why}` };
  }
  const figures = figuresOf(s.counts);
  const minRequests = Math.max(s.analysis.minRequests ?? DEFAULT_MIN_REQUESTS, 1);
  if (figures.requests >= minRequests) {
    const broken = brokenBounds(s.analysis, figures);
    if (broken.length) return { verdict: 'fail', figures, message: `failed after ${describe(figures)}: ${broken.join('; ')}` };
  }
  if (!over) return { verdict: 'running', figures, message: `running, ${left}: ${describe(figures)}` };
  if (figures.requests < minRequests) {
    return { verdict: 'wait', figures, message: `waiting for requests: ${figures.requests} of the ${minRequests} (minRequests) the step needs` };
  }
  return { verdict: 'pass', figures, message: `passed: ${describe(figures)} within the bounds` };
}
