// `spec.model: run://<name>`: a run that starts from another run's model waits, creating nothing,
// until that run has succeeded, and says which run it waits on (or that it can never start).
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { modelRunName } from './names.js';
import { REASONS } from './reasons.js';

export type ModelResolution = { uri: string } | { waiting: { reason: string; message: string } };

export function resolveModel(runs: { get(namespace: string | undefined, name: string): TrainingRun | undefined }, run: TrainingRun): ModelResolution {
  const model = run.spec.model ?? 'scratch';
  const refName = modelRunName(model);
  if (refName === undefined) return { uri: model };
  const ref = runs.get(run.metadata.namespace, refName);
  if (!ref) return { waiting: { reason: REASONS.ModelNotFound, message: `spec.model: TrainingRun ${refName} does not exist` } };
  if (ref.status?.phase === 'Failed') {
    return { waiting: { reason: REASONS.ModelFailed, message: `spec.model: TrainingRun ${refName} failed; it has no model to start from` } };
  }
  const uri = ref.status?.phase === 'Succeeded' ? ref.status.artifact?.uri : undefined;
  if (!uri) return { waiting: { reason: REASONS.WaitingForModel, message: `spec.model: waiting for TrainingRun ${refName} to succeed` } };
  return { uri };
}
