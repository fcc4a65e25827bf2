// The operator's own settings: what the platform team chooses at install time (the Helm chart sets
// these as environment variables), as opposed to what a data scientist writes in a TrainingRun.
import { z } from 'zod';

const durationMs = z.coerce.number().int().positive();

export const OperatorConfigSchema = z.object({
  /** Image that runs `python -m lathe_trainer` (trainer-image/). */
  trainerImage: z.string().min(1).default('ghcr.io/lathe-dev/lathe-trainer:0.1.0'),
  /** Image that runs `python -m lathe_inference` (inference-image/). */
  inferenceImage: z.string().min(1).default('ghcr.io/lathe-dev/lathe-inference:0.1.0'),
  /** ServiceAccount of training pods, in the run's namespace (IRSA: read datasets, read/write models/). */
  trainerServiceAccount: z.string().min(1).default('lathe-trainer'),
  /** ServiceAccount of serving pods, in the service's namespace (IRSA: read-only models/). */
  inferenceServiceAccount: z.string().min(1).default('lathe-inference'),
  /** Artifact bucket: run prefixes live under s3://<bucket>/models/. */
  s3Bucket: z.string().min(1).default('lathe-artifacts'),
  /** Namespaces to watch; empty means all (the chart's default is cluster-wide). */
  watchNamespaces: z.array(z.string()).default([]),
  /** Parallel reconciles per controller. */
  workers: z.coerce.number().int().min(1).max(64).default(8),
  /** How often a running run's progress.json is read; reads are also capped globally (progressQps). */
  progressPollMs: durationMs.default(15_000),
  progressQps: z.coerce.number().positive().default(20),
  /** Every cached object is re-reconciled this often (level-triggered drift repair). */
  resyncMs: durationMs.default(10 * 60_000),
  /** Grace period a trainer gets to checkpoint on SIGTERM (spot interruption, drain). */
  trainerGracePeriodSeconds: z.coerce.number().int().min(0).default(120),
  /** Port of /metrics, /healthz, /readyz. */
  metricsPort: z.coerce.number().int().min(0).max(65535).default(8080),
  leaderElection: z.coerce.boolean().default(true),
  leaseNamespace: z.string().default('lathe-system'),
  leaseName: z.string().default('lathe-operator'),
  /** Identity in the Lease; the pod name on Kubernetes. */
  identity: z.string().min(1).default(`lathe-${process.pid}`),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});
export type OperatorConfig = z.infer<typeof OperatorConfigSchema>;

/** Environment variable for each setting (the Helm chart's contract). */
export const CONFIG_ENV: Record<keyof OperatorConfig, string> = {
  trainerImage: 'LATHE_TRAINER_IMAGE',
  inferenceImage: 'LATHE_INFERENCE_IMAGE',
  trainerServiceAccount: 'LATHE_TRAINER_SERVICE_ACCOUNT',
  inferenceServiceAccount: 'LATHE_INFERENCE_SERVICE_ACCOUNT',
  s3Bucket: 'LATHE_S3_BUCKET',
  watchNamespaces: 'LATHE_WATCH_NAMESPACES',
  workers: 'LATHE_WORKERS',
  progressPollMs: 'LATHE_PROGRESS_POLL_MS',
  progressQps: 'LATHE_PROGRESS_QPS',
  resyncMs: 'LATHE_RESYNC_MS',
  trainerGracePeriodSeconds: 'LATHE_TRAINER_GRACE_PERIOD_SECONDS',
  metricsPort: 'LATHE_METRICS_PORT',
  leaderElection: 'LATHE_LEADER_ELECTION',
  leaseNamespace: 'LATHE_LEASE_NAMESPACE',
  leaseName: 'LATHE_LEASE_NAME',
  identity: 'POD_NAME',
  logLevel: 'LATHE_LOG_LEVEL',
};

/** Reads the settings from the environment; a bad value fails start-up with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(CONFIG_ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (key === 'watchNamespaces') raw[key] = value.split(',').map((s) => s.trim()).filter(Boolean);
    else if (key === 'leaderElection') raw[key] = !['false', '0', 'no'].includes(value.toLowerCase());
    else raw[key] = value;
  }
  const parsed = OperatorConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const key = String(i.path[0]) as keyof OperatorConfig;
      return `${CONFIG_ENV[key] ?? key}: ${i.message}`;
    });
    throw new Error(`invalid operator configuration: ${issues.join('; ')}`);
  }
  return parsed.data;
}
