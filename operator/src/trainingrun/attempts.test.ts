import { describe, expect, it } from 'vitest';
import { FakeWriter, RecordingEvents } from '../../../test/support/fakes.js';
import { makeTrainingRun } from '../../../test/support/builders.js';
import { silentLogger } from '../runtime/logger.js';
import { attemptForMissingJob } from './attempts.js';
import { planRun } from './plan.js';

describe('attemptForMissingJob', () => {
  const plan = planRun(makeTrainingRun('r').obj(), 'b', 1);
  const deps = () => ({ reads: new FakeWriter(), events: new RecordingEvents(), log: silentLogger() });

  it('keeps the attempt of a run that has not started (its Job is still to be made, or the cache lags)', async () => {
    expect((await attemptForMissingJob(deps(), plan, undefined)).attempt).toBe(1);
    expect((await attemptForMissingJob(deps(), plan, { phase: 'Pending', jobName: 'r-1' })).attempt).toBe(1);
  });

  it('keeps the attempt while the API server still has the Job (only the cache lags)', async () => {
    const d = deps();
    d.reads.server.set('/apis/batch/v1/namespaces/ml/jobs/r-1', {});
    expect((await attemptForMissingJob(d, plan, { phase: 'Running', jobName: 'r-1' })).attempt).toBe(1);
    expect(d.events.events).toEqual([]);
  });

  it('starts the next attempt, with a Warning, when the Job of a live run is gone', async () => {
    const d = deps();
    const next = await attemptForMissingJob(d, plan, { phase: 'Running', jobName: 'r-1' });
    expect([next.attempt, next.jobName, next.runId]).toEqual([2, 'r-2', plan.runId]);
    expect(d.events.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'JobDeleted' })]);
  });
});
