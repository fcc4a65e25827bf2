// The reasons an InferenceService's status and Events carry, spelled once (a contract with
// `kubectl wait`, alerts, dashboards and the e2e suites). The Deployment controller's own words
// (ProgressDeadlineExceeded) pass through as it says them.
export const REASONS = {
  TrainingRunNotFound: 'TrainingRunNotFound',
  TrainingRunFailed: 'TrainingRunFailed',
  WaitingForTrainingRun: 'WaitingForTrainingRun',
  Resolved: 'Resolved',
  Creating: 'Creating',
  RollingOut: 'RollingOut',
  RolloutComplete: 'RolloutComplete',
  Ready: 'Ready',
  RolledBack: 'RolledBack',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  NewGeneration: 'NewGeneration',
  // spec.rollout.strategy Canary (rollout.ts)
  CanaryStarted: 'CanaryStarted',
  CanaryProgressing: 'CanaryProgressing',
  CanaryStepPassed: 'CanaryStepPassed',
  CanaryHeld: 'CanaryHeld',
  CanaryPromoted: 'CanaryPromoted',
  CanaryAnalysisFailed: 'CanaryAnalysisFailed',
} as const;
