// The TrainingRun controller's metrics. The gauges are computed from the informer cache when
// Prometheus scrapes (a count over the cached runs: cheap, always right, no bookkeeping on events,
// and no write); the counters are incremented by the reconciler when it records a new preemption
// or a run's failure.
// Every replica reports the gauges from its own warm cache, standbys included, so dashboards and
// alerts take max() over replicas, never sum(); only the leader reconciles, so counters sum. The
// runs' namespace is the label object_namespace, not namespace: a scrape by the Prometheus Operator
// sets namespace to the operator's own (the target's), and would rename ours away.
import type { Counter, Registry } from 'prom-client';
import { CONDITION_TYPES, TRAINING_RUN_PHASES, type TrainingRunPhase } from '../api/constants.js';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import type { ObjectCache } from '../runtime/informer.js';
import { getOrCreateCounter, getOrCreateGauge } from '../runtime/metrics.js';

export const TRAINING_RUN_METRICS = {
  runs: 'lathe_trainingruns',
  waiting: 'lathe_trainingrun_waiting_seconds_max',
  preemptions: 'lathe_trainingrun_preemptions_total',
  failed: 'lathe_trainingruns_failed_total',
} as const;

/** Where a preemption came from: a disrupted pod, or Kueue preempting the run's Workload. */
export const PREEMPTION_SOURCES = ['pod', 'kueue'] as const;

/** Phases a run waits in before it trains: a run stuck in one for long is worth an alert. */
export const WAITING_PHASES: readonly TrainingRunPhase[] = ['Pending', 'Queued'];

export interface TrainingRunMetrics {
  /** Preemptions recorded in a run's status, by namespace and source (the reconciler increments it). */
  preemptions: Counter<'object_namespace' | 'source'>;
  /** Runs that reached Failed, once each (the reconciler increments it with the status that says so). */
  failed: Counter<'object_namespace'>;
}

/**
 * The run's phase for the gauges: its status phase, or Pending for a run not reconciled yet (it is
 * waiting as much as a Pending one, and an operator that never gets to it should show).
 */
export function phaseOf(run: TrainingRun): TrainingRunPhase {
  return run.status?.phase ?? 'Pending';
}

/**
 * When the run entered its waiting phase: its creation, or later when it left Queued (admitted by
 * Kueue) or Suspended (resumed), whichever happened last. A run never goes back to Pending once it
 * has trained (observe.ts), so no other transition starts a wait.
 */
export function waitingSince(run: TrainingRun): number | undefined {
  const times = [run.metadata.creationTimestamp, ...(run.status?.conditions ?? []).filter((c) => c.type === CONDITION_TYPES.Queued || c.type === CONDITION_TYPES.Suspended).map((c) => c.lastTransitionTime)]
    .map((t) => (t === undefined ? NaN : new Date(t).getTime()))
    .filter((t) => Number.isFinite(t));
  return times.length ? Math.max(...times) : undefined;
}

export function trainingRunMetrics(registry: Registry, runs: ObjectCache<TrainingRun>, now: () => number = Date.now): TrainingRunMetrics {
  getOrCreateGauge(registry, {
    name: TRAINING_RUN_METRICS.runs,
    help: 'TrainingRuns by namespace and phase, counted in the operator\'s cache at scrape time (a run without a status yet counts as Pending). Every replica reports it: take max() over replicas.',
    labelNames: ['object_namespace', 'phase'],
    collect() {
      this.reset();
      const counts = new Map<string, Map<TrainingRunPhase, number>>();
      for (const run of runs.list()) {
        const ns = run.metadata.namespace ?? '';
        let byPhase = counts.get(ns);
        if (!byPhase) counts.set(ns, (byPhase = new Map(TRAINING_RUN_PHASES.map((p) => [p, 0]))));
        const phase = phaseOf(run);
        byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
      }
      // Every phase of a namespace that has runs, zeros included, so a rise from 0 is a change.
      for (const [namespace, byPhase] of counts) for (const [phase, n] of byPhase) this.set({ object_namespace: namespace, phase }, n);
    },
  });
  getOrCreateGauge(registry, {
    name: TRAINING_RUN_METRICS.waiting,
    help: 'Seconds the longest-waiting TrainingRun has been Pending or Queued, by namespace and phase (absent when none waits). Every replica reports it: take max() over replicas.',
    labelNames: ['object_namespace', 'phase'],
    collect() {
      this.reset();
      const t = now();
      const longest = new Map<string, number>();
      for (const run of runs.list()) {
        const phase = phaseOf(run);
        if (!WAITING_PHASES.includes(phase) || run.metadata.deletionTimestamp) continue;
        const since = waitingSince(run);
        if (since === undefined) continue;
        const key = `${run.metadata.namespace ?? ''}/${phase}`;
        longest.set(key, Math.max(longest.get(key) ?? 0, Math.max(0, (t - since) / 1000)));
      }
      for (const [key, seconds] of longest) {
        const [namespace, phase] = key.split('/') as [string, string];
        this.set({ object_namespace: namespace, phase }, seconds);
      }
    },
  });
  return {
    preemptions: getOrCreateCounter(registry, {
      name: TRAINING_RUN_METRICS.preemptions,
      help: 'Preemptions recorded in TrainingRun statuses, by namespace and source: pod (a spot interruption, drain or eviction: each disrupted pod once) or kueue (the Workload evicted by Kueue\'s preemption), counted when a status carrying them is written.',
      labelNames: ['object_namespace', 'source'],
      // A zero for every namespace with runs, so increase() sees a namespace's first preemption.
      collect() {
        for (const run of runs.list()) for (const source of PREEMPTION_SOURCES) this.inc({ object_namespace: run.metadata.namespace ?? '', source }, 0);
      },
    }),
    // A count of failures, not the Failed gauge: a failed run deleted soon after still counts.
    failed: getOrCreateCounter(registry, {
      name: TRAINING_RUN_METRICS.failed,
      help: 'TrainingRuns that reached Failed, by namespace, each once, counted when the status saying so is written (only the leader writes: sum() over replicas).',
      labelNames: ['object_namespace'],
      collect() {
        for (const run of runs.list()) this.inc({ object_namespace: run.metadata.namespace ?? '' }, 0);
      },
    }),
  };
}
