import { describe, expect, it } from 'vitest';
import { MemoryCache } from '../../../test/support/fakes.js';
import { makeTrainingRun } from '../../../test/support/builders.js';
import type { TrainingRun } from '../api/schema/trainingrun.js';
import { resolveModel } from './model-ref.js';

describe('resolveModel', () => {
  const runs = new MemoryCache<TrainingRun>([
    makeTrainingRun('done').status({ phase: 'Succeeded', artifact: { uri: 's3://b/models/done/1/checkpoint/', metadataUri: 'm', recordUri: 'r' } }).obj(),
    makeTrainingRun('broken').status({ phase: 'Failed' }).obj(),
    makeTrainingRun('busy').status({ phase: 'Running' }).obj(),
  ]);
  const from = (model: string) => resolveModel(runs, makeTrainingRun('r').model(model).obj());

  it('passes other models through', () => {
    expect(from('hf://org/name')).toEqual({ uri: 'hf://org/name' });
  });

  it('serves a finished run\'s artifact, and says why it waits otherwise', () => {
    expect(from('run://done')).toEqual({ uri: 's3://b/models/done/1/checkpoint/' });
    expect(from('run://busy')).toEqual({ waiting: { reason: 'WaitingForModel', message: 'spec.model: waiting for TrainingRun busy to succeed' } });
    expect(from('run://broken')).toMatchObject({ waiting: { reason: 'ModelFailed' } });
    expect(from('run://nope')).toMatchObject({ waiting: { reason: 'ModelNotFound', message: 'spec.model: TrainingRun nope does not exist' } });
  });
});
