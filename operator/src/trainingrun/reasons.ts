// The reasons a TrainingRun's status and Events carry: a contract with whoever reads them (kubectl
// wait, alerts, dashboards, the e2e suites), so each is spelled once. Kubernetes' own words
// (Unschedulable, ImagePullBackOff, BackoffLimitExceeded, ...) pass through as the Job and pods say them.
export const REASONS = {
  // Pending
  CreatingJob: 'CreatingJob',
  PodsPending: 'PodsPending',
  ModelNotFound: 'ModelNotFound',
  ModelFailed: 'ModelFailed',
  WaitingForModel: 'WaitingForModel',
  // Queued and Suspended (queueing.ts: what the Job's Kueue Workload says)
  WaitingForAdmission: 'WaitingForAdmission',
  Preempted: 'Preempted',
  LocalQueueNotFound: 'LocalQueueNotFound',
  Inadmissible: 'Inadmissible',
  WorkloadDeactivated: 'WorkloadDeactivated',
  SuspendNeedsKueue: 'SuspendNeedsKueue',
  Suspended: 'Suspended',
  Resumed: 'Resumed',
  // Running
  Training: 'Training',
  RecordingArtifact: 'RecordingArtifact',
  S3Unavailable: 'S3Unavailable',
  // Ended
  Succeeded: 'Succeeded',
  JobFailed: 'JobFailed',
  MetadataMissing: 'MetadataMissing',
  MetadataInvalid: 'MetadataInvalid',
  // Events only
  JobCreated: 'JobCreated',
  JobDeleted: 'JobDeleted',
} as const;
